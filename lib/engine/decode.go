package engine

import (
	"encoding/json"
	"time"

	"github.com/ocu-team/ocu/lib/store"
)

// timestamp formats t as RFC 3339 with nanoseconds, UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// equalJSON compares two JSON values by value (numbers by value). Values
// already in the generic form of store.DecodeValue (what documents decode
// to) are compared as they are; others are converted first.
func equalJSON(a, b any) bool {
	if generic(a) && generic(b) {
		return jsonEqual(a, b)
	}
	na, err1 := normalize(a)
	nb, err2 := normalize(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return jsonEqual(na, nb)
}

// normalize converts a value to the generic form store.DecodeValue gives.
func normalize(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return store.DecodeValue(data)
}

// generic reports whether v holds only the types store.DecodeValue gives:
// nil, bool, string, json.Number, map[string]any and []any.
func generic(v any) bool {
	switch x := v.(type) {
	case nil, bool, string, json.Number:
		return true
	case map[string]any:
		for _, e := range x {
			if !generic(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !generic(e) {
				return false
			}
		}
		return true
	}
	return false
}
