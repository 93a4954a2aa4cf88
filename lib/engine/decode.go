package engine

import (
	"encoding/json"
	"time"

	"github.com/ocu-team/ocu/lib/store"
)

// timestamp formats t as RFC 3339 with nanoseconds, UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// equalJSON compares two JSON values by value (numbers by value).
func equalJSON(a, b any) bool {
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
