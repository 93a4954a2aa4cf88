package ref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gobwas/glob"
)

// CompileGlob compiles a glob matched against canonical ref strings
// (refs.md §10, store.md §7): gobwas/glob with '/' as the only separator and
// globstar mode off, so '*' and '?' stay within a segment and "**/x" needs
// at least one segment before x. A pattern containing '#' is refused with
// "globs match refs, not fragments"; a malformed one with
// `invalid glob "<pattern>": <syntax error>`, wrapping the *glob.SyntaxError.
// Globs are never resolved relative to a repo.
func CompileGlob(pattern string) (*glob.Pattern, error) {
	if strings.IndexByte(pattern, '#') >= 0 {
		return nil, errors.New("globs match refs, not fragments")
	}
	g, err := glob.Compile(pattern, '/')
	if err != nil {
		return nil, fmt.Errorf("invalid glob %s: %w", quote(pattern), err)
	}
	return g, nil
}

// GlobLiteralPrefix returns the leading '/'-separated segments of pattern
// that contain no glob metacharacter or escape (* ? [ ] { } \), joined by
// '/': every string the pattern matches equals the prefix or lies below it
// ("prefix/…"), so a walk of the store can be limited to that subtree. It
// returns "" when the first segment holds a metacharacter, and pattern
// itself when the whole pattern is literal.
func GlobLiteralPrefix(pattern string) string {
	end := 0 // end of the literal prefix
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '*', '?', '[', ']', '{', '}', '\\':
			if end > 0 {
				return pattern[:end-1]
			}
			return ""
		case '/':
			end = i + 1
		}
	}
	return pattern
}
