package store

import (
	"fmt"

	"github.com/ocu-team/ocu/lib/state"
)

// ParseValue decodes a value given as input (a command-line argument,
// stdin, a batch line): DecodeValue, after refusing text that is not valid
// UTF-8, \u escapes that are lone UTF-16 surrogates (both of which the
// decoder would silently turn into U+FFFD) and values nested deeper than
// state.MaxNesting. Errors are *state.ValueError or *JSONError.
func ParseValue(data []byte) (any, error) {
	return ParseWrapped(data, 0)
}

// ParseWrapped is ParseValue for input whose values sit inside wrappers
// levels of arrays or objects, such as a batch line {"ref": …, "value": …}
// (one level): the values may nest state.MaxNesting levels below the wrappers.
func ParseWrapped(data []byte, wrappers int) (any, error) {
	if err := state.CheckText(string(data)); err != nil {
		return nil, err
	}
	if err := checkJSON(data, state.MaxNesting+wrappers); err != nil {
		return nil, err
	}
	return DecodeValue(data)
}

// checkJSON scans JSON text for arrays and objects nested deeper than
// limit levels and for \u escapes of lone surrogates. Other syntax is left
// to the decoder: the scan only tells strings from the rest.
func checkJSON(data []byte, limit int) error {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '[', '{':
			if depth++; depth > limit {
				return &state.ValueError{Offset: int64(i), Reason: fmt.Sprintf("value nested deeper than %d levels", state.MaxNesting)}
			}
		case ']', '}':
			depth--
		case '"':
			end, err := scanString(data, i+1)
			if err != nil {
				return err
			}
			i = end
		}
	}
	return nil
}

// scanString scans the string whose text starts at data[i] (after the
// opening quote) and returns the offset of its closing quote (len(data) if
// there is none). A \u escape of a high surrogate must be followed by one
// of a low surrogate, and a low surrogate must follow a high one.
func scanString(data []byte, i int) (int, error) {
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			return i, nil
		case '\\':
			if i+1 < len(data) && data[i+1] == 'u' {
				r, ok := hex4(data, i+2)
				switch {
				case !ok:
				case r >= 0xD800 && r < 0xDC00:
					if low, ok := hex4(data, i+8); i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' || !ok || low < 0xDC00 || low >= 0xE000 {
						return 0, &state.ValueError{Offset: int64(i), Reason: `lone UTF-16 surrogate \u escape`}
					}
					i += 6
				case r >= 0xDC00 && r < 0xE000:
					return 0, &state.ValueError{Offset: int64(i), Reason: `lone UTF-16 surrogate \u escape`}
				}
			}
			i++ // the escaped byte
		}
	}
	return len(data), nil
}

// hex4 decodes the four hex digits at data[i:], if there are four.
func hex4(data []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// CheckNesting refuses a decoded value (maps, slices and scalars, as
// DecodeValue gives) whose arrays and objects nest deeper than state.MaxNesting.
// It stops looking below that depth, so its cost is bounded by the value's
// size, never by its depth.
func CheckNesting(v any) error {
	if nestsDeeper(v, state.MaxNesting) {
		return fmt.Errorf("value nested deeper than %d levels", state.MaxNesting)
	}
	return nil
}

// nestsDeeper reports whether v holds arrays or objects more than levels
// deep.
func nestsDeeper(v any, levels int) bool {
	switch x := v.(type) {
	case []any:
		if levels == 0 {
			return true
		}
		for _, e := range x {
			if nestsDeeper(e, levels-1) {
				return true
			}
		}
	case map[string]any:
		if levels == 0 {
			return true
		}
		for _, e := range x {
			if nestsDeeper(e, levels-1) {
				return true
			}
		}
	}
	return false
}
