package ref

import (
	"errors"
	"testing"

	"github.com/gobwas/glob"
)

func TestCompileGlob(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		nomatch []string
		err     string
	}{
		{pattern: "**", match: []string{"@", "example/-/f/@1/deploy/x"}},
		{pattern: "**/deploy/production",
			match:   []string{"example/-/f/+/deploy/production", "a/deploy/production"},
			nomatch: []string{"deploy/production", "a/deploy/production/1"}},
		{pattern: "example/-/frontend/release.ocu.star/@*/commit/*",
			match:   []string{relEx + "/@1/commit/" + sha, relEx + "/@/commit/x"},
			nomatch: []string{relEx + "/@1/commit/a/b", relEx + "/@1/call/x"}},
		{pattern: "@*", match: []string{"@", "@1", "@v1"}, nomatch: []string{"@/environment/x", "+"}},
		{pattern: "**/{@,+}*/deploy/*", match: []string{"r/-/f/@3/deploy/qa", "r/-/f/+/deploy/qa"}},
		{pattern: "+/custom/fl?g", match: []string{"+/custom/flag"}, nomatch: []string{"+/custom/fl/g"}},
		{pattern: `a/b\*/c`, match: []string{"a/b*/c"}, nomatch: []string{"a/bx/c"}},
		{pattern: "@/environment/[a-q]*", match: []string{"@/environment/prod"}, nomatch: []string{"@/environment/staging"}},
		{pattern: "+/custom/x#a", err: "globs match refs, not fragments"},
		{pattern: `a\#`, err: "globs match refs, not fragments"},
		{pattern: "{a,b", err: `invalid glob "{a,b": `},
		{pattern: "a/[", err: `invalid glob "a/[": `},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			g, err := CompileGlob(tt.pattern)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("CompileGlob(%q) succeeded", tt.pattern)
				}
				if got := err.Error(); len(got) < len(tt.err) || got[:len(tt.err)] != tt.err {
					t.Errorf("error = %q, want prefix %q", got, tt.err)
				}
				var se *glob.SyntaxError
				if isSyntax := errors.As(err, &se); isSyntax != (tt.err != "globs match refs, not fragments") {
					t.Errorf("errors.As(*glob.SyntaxError) = %v", isSyntax)
				} else if isSyntax && err.Error() != `invalid glob "`+tt.pattern+`": `+se.Error() {
					t.Errorf("error = %q, want the SyntaxError text after the prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CompileGlob(%q): %v", tt.pattern, err)
			}
			if g.Globstar() {
				t.Errorf("compiled in globstar mode")
			}
			for _, s := range tt.match {
				if !g.Match(s) {
					t.Errorf("%q does not match %q", tt.pattern, s)
				}
			}
			for _, s := range tt.nomatch {
				if g.Match(s) {
					t.Errorf("%q matches %q", tt.pattern, s)
				}
			}
		})
	}
}

func TestGlobLiteralPrefix(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"**/deploy/production", ""},
		{"**", ""},
		{"*", ""},
		{"", ""},
		{"example/-/frontend/release.ocu.star/@*/commit/*", "example/-/frontend/release.ocu.star"},
		{`a/b\*/c`, "a"},
		{`a\/b`, ""},
		{"{a,b}/x", ""},
		{"a/{b,c/d}/e", "a"},
		{"a/b[0-9]", "a"},
		{"a/b?/c", "a"},
		{"a/b}", "a"},
		{"a/b]", "a"},
		{"+/custom/x", "+/custom/x"},
		{"example/-/", "example/-/"},
		{"@", "@"},
		{"/x*", ""},
		{"@/environment/*", "@/environment"},
		{"a/**", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			if got := GlobLiteralPrefix(tt.pattern); got != tt.want {
				t.Errorf("GlobLiteralPrefix(%q) = %q, want %q", tt.pattern, got, tt.want)
			}
		})
	}
}

func TestGlobClassesNeverMatchSlash(t *testing.T) {
	tests := []struct {
		glob, s string
		want    bool
	}{
		{"+/custom/a[!x]b", "+/custom/a.b", true},
		{"+/custom/a[!x]b", "+/custom/a/b", false},
		{"+/custom/a[!x]b", "+/custom/axb", false},
		{"+/custom/a[bc]d", "+/custom/acd", true},
		{"+/custom/a[!.-0]b", "+/custom/a/b", false},
		{"+/custom/a[!.-0]b", "+/custom/aqb", true},
		{`+/custom/a\[b`, "+/custom/a[b", true},
	}
	for _, tt := range tests {
		g, err := CompileGlob(tt.glob)
		if err != nil {
			t.Errorf("%s: %v", tt.glob, err)
			continue
		}
		if got := g.Match(tt.s); got != tt.want {
			t.Errorf("%s matches %s: %v, want %v", tt.glob, tt.s, got, tt.want)
		}
	}
	for _, bad := range []string{"a[/]b", "a[.-0]b", "a[!a-z]b", "a[!"} {
		if _, err := CompileGlob(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
