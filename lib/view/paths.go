package view

import (
	"net/url"
	"strings"
)

// URL paths of the pages (docs/cli.md §2.6).
const (
	prefixRef      = "/ref/"
	prefixMatch    = "/match/"
	prefixAPIGet   = "/api/get/"
	prefixAPIMatch = "/api/match/"
	pathWork       = "/work"
	prefixStatic   = "/static/"
)

// refPath is the page of a ref: /ref/<ref>.
func refPath(r string) string { return prefixRef + escapePath(r) }

// matchPath is the page of a glob: /match/<glob>.
func matchPath(glob string) string { return prefixMatch + escapePath(glob) }

// escapePath percent-encodes what a URL path cannot hold as is ('%', '#',
// '?', spaces, controls, non-ASCII, quotes, brackets); '/', '@', '+', '*',
// ',' and '{}' stay readable.
func escapePath(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepInPath(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func keepInPath(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~/@+*,:=!$&;{}", c) >= 0
}

// pathArg returns the rest of the request path after prefix, percent-decoded
// ('+' is a plus, not a space). ok is false for a malformed escape.
func pathArg(u *url.URL, prefix string) (string, bool) {
	raw := u.EscapedPath()
	rest, found := strings.CutPrefix(raw, prefix)
	if !found {
		// "/ref" without the slash: the root.
		return "", strings.TrimSuffix(prefix, "/") == raw
	}
	s, err := url.PathUnescape(rest)
	return s, err == nil
}
