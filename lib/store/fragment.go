package store

import (
	"strconv"
	"strings"
)

// applyFragment walks v along a '/'-separated fragment (docs/store-format.md §6).
// null is a value: reaching it succeeds.
func applyFragment(v any, fragment string) (any, error) {
	if fragment == "" {
		return v, nil
	}
	at := ""
	for seg := range strings.SplitSeq(fragment, "/") {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[seg]
			if !ok {
				return nil, notFound(": no key %q%s", seg, atSuffix(at))
			}
			v = next
		case []any:
			i, ok := arrayIndex(seg)
			if !ok {
				return nil, notFound(": %q is not an array index%s", seg, atSuffix(at))
			}
			if i >= len(cur) {
				return nil, notFound(": index %d out of range (length %d)%s", i, len(cur), atSuffix(at))
			}
			v = cur[i]
		case nil:
			return nil, notFound(": cannot index null%s", atSuffix(at))
		case string:
			return nil, notFound(": cannot index string%s", atSuffix(at))
		case bool:
			return nil, notFound(": cannot index boolean%s", atSuffix(at))
		default:
			return nil, notFound(": cannot index number%s", atSuffix(at))
		}
		if at == "" {
			at = seg
		} else {
			at += "/" + seg
		}
	}
	return v, nil
}

func atSuffix(at string) string {
	if at == "" {
		return ""
	}
	return " at " + at
}

// arrayIndex parses a decimal index without sign or leading zero.
func arrayIndex(s string) (int, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(s)
	return i, err == nil
}
