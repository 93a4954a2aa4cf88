package ref

import (
	"unicode"
	"unicode/utf8"
)

// checkChars applies the character and length rules of docs/refs.md §2 to the
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
		if !visible(r) {
			return -1, errBadChar(in, r, i)
		}
		i += n
	}
	if long || len(in)-start > MaxSegmentLen {
		return -1, errSegmentTooLong(in)
	}
	return hash, nil
}

// visible reports whether the non-ASCII r may appear in a ref. Refused are
// the characters that show nothing, or something else than themselves, so
// that two refs that look alike are alike: control characters (Cc), white
// space (the White_Space property: Zs, Zl, Zp, NEL, ...), and the default
// ignorable code points that text renders as nothing — format characters
// (Cf: U+00AD soft hyphen, U+200B zero width space, U+200D zero width
// joiner, U+2060 word joiner, U+FEFF byte order mark, the bidirectional
// controls U+200E, U+200F, U+202A–U+202E and U+2066–U+2069, ...), variation
// selectors, and the other ones Unicode lists (U+034F combining grapheme
// joiner, U+115F and U+3164 Hangul fillers, ...).
func visible(r rune) bool {
	return !unicode.IsControl(r) && !unicode.IsSpace(r) &&
		!unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}
