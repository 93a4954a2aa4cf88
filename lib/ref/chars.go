package ref

import (
	"unicode"
	"unicode/utf8"
)

// checkChars applies the character and length rules of refs.md §2 to the
// whole input and returns the offset of its '#' (-1 when there is none).
// Character errors report the first offender in byte order; a too long ref
// is reported before anything else, a too long segment after the character
// checks.
func checkChars(in string) (hash int, err *Error) {
	if len(in) > MaxLen {
		return -1, errRefTooLong(in)
	}
	hash = -1
	start, long := 0, false // start of the current segment
	for i := 0; i < len(in); {
		c := in[i]
		if c < utf8.RuneSelf {
			switch c {
			case '*', '?', '[', ']', '{', '}':
				return -1, errGlobChar(in, c)
			case '\\', ' ', 0x7f:
				return -1, errBadChar(in, rune(c), i)
			case '#':
				if hash >= 0 {
					return -1, errManyHashes(in)
				}
				hash = i
				fallthrough
			case '/':
				long = long || i-start > MaxSegmentLen
				start = i + 1
			default:
				if c < 0x20 {
					return -1, errBadChar(in, rune(c), i)
				}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(in[i:])
		if r == utf8.RuneError && n == 1 {
			return -1, errBadUTF8(in, i)
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return -1, errBadChar(in, r, i)
		}
		i += n
	}
	if long || len(in)-start > MaxSegmentLen {
		return -1, errSegmentTooLong(in)
	}
	return hash, nil
}
