package state

import (
	"fmt"
	"unicode/utf8"
)

// MaxNesting bounds how deeply arrays and objects nest in a value written
// to a store: the outermost array or object is level 1. A document is
// stored indented, two spaces per level, so its size grows with the square
// of its depth: 512 levels, far more than any document needs, keep a small
// value small (a 20 KB value nested 10,000 levels deep is 200 MB stored).
// Values nested deeper are refused on every write; documents already
// stored deeper still read.
const MaxNesting = 512

// ValueError reports input a store refuses as a value: text that is not
// valid UTF-8, a lone UTF-16 surrogate escape, or arrays and objects nested
// deeper than MaxNesting.
type ValueError struct {
	Offset int64  // byte offset of the problem in the input, from 0
	Reason string // "invalid UTF-8", ...
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Reason, e.Offset)
}

// CheckText refuses a string that is not valid UTF-8 (JSON would hold it
// only with its bad bytes replaced by U+FFFD), naming the offset of the
// first bad byte.
func CheckText(s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return &ValueError{Offset: int64(i), Reason: "invalid UTF-8"}
		}
		i += size
	}
	return nil
}
