package ref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gobwas/glob"
)

// CompileGlob compiles a glob matched against canonical ref strings
// (docs/refs.md §10, docs/store-format.md §7): gobwas/glob with '/' as the only separator and
// globstar mode off, so '*' and '?' stay within a segment and "**/x" needs
// at least one segment before x. A pattern containing '#' is refused with
// "globs match refs, not fragments"; a malformed one with
// `invalid glob "<pattern>": <syntax error>`, wrapping the *glob.SyntaxError.
// Globs are never resolved relative to a repo.
//
// Character classes match one character other than '/' (docs/store-format.md §7):
// "[!x]" is compiled as "[!x/]", and a class that could match '/' ("[/]",
// "[.-0]") is refused.
func CompileGlob(pattern string) (*glob.Pattern, error) {
	if strings.IndexByte(pattern, '#') >= 0 {
		return nil, errors.New("globs match refs, not fragments")
	}
	compiled, err := classesWithoutSlash(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid glob %s: %w", quote(pattern), err)
	}
	g, err := glob.Compile(compiled, '/')
	if err != nil {
		return nil, fmt.Errorf("invalid glob %s: %w", quote(pattern), err)
	}
	return g, nil
}

// classesWithoutSlash rewrites the character classes of a glob so that none
// matches '/': negated classes exclude it too; a class that includes it is
// an error.
func classesWithoutSlash(pattern string) (string, error) {
	if strings.IndexByte(pattern, '[') < 0 {
		return pattern, nil
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			b.WriteString(pattern[i : i+2])
			i++
			continue
		case c != '[':
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(pattern[i+1:], ']')
		if end < 0 {
			b.WriteString(pattern[i:]) // unclosed: the compiler reports it
			break
		}
		class := pattern[i+1 : i+1+end]
		negated := strings.HasPrefix(class, "!")
		body := strings.TrimPrefix(class, "!")
		// A class is a list of characters or one range "x-y".
		isRange := len(body) == 3 && body[1] == '-'
		hasSlash := strings.IndexByte(body, '/') >= 0 || (isRange && body[0] <= '/' && '/' <= body[2])
		switch {
		case !negated && hasSlash:
			return "", errors.New("a character class cannot match '/'")
		case negated && isRange && !hasSlash:
			return "", errors.New("a negated range would match '/'; list the characters instead")
		}
		b.WriteByte('[')
		b.WriteString(class)
		if negated && !hasSlash {
			b.WriteByte('/')
		}
		b.WriteByte(']')
		i += 1 + end
	}
	return b.String(), nil
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

// FilterGlobs returns the refs matching one of globs, in their order.
func FilterGlobs(refs, globs []string) ([]string, error) {
	pats := make([]*glob.Pattern, 0, len(globs))
	for _, g := range globs {
		p, err := CompileGlob(g)
		if err != nil {
			return nil, err
		}
		pats = append(pats, p)
	}
	var out []string
	for _, r := range refs {
		for _, p := range pats {
			if p.Match(r) {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}
