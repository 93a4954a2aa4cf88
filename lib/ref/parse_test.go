package ref

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEmpty(t *testing.T) {
	r, err := Parse("")
	if err != nil || !r.IsZero() {
		t.Errorf(`Parse("") = %+v, %v; want the zero Ref, nil`, r, err)
	}
	if r.String() != "" {
		t.Errorf(`zero Ref prints %q, want ""`, r.String())
	}
	for _, in := range []string{".", "./", ".#x", "/", "#", "#x", "./#a"} {
		if _, err := Parse(in); ClassOf(err) != EEmpty {
			t.Errorf("Parse(%q) = %v, want E_EMPTY", in, err)
		}
	}
}

// TestParseMore covers valid inputs beyond the vector table.
func TestParseMore(t *testing.T) {
	tests := []struct {
		in    string
		want  Ref
		canon string
	}{
		{"+", Ref{Global: true, Marker: Intent}, ""},
		{"@/", Ref{Global: true, Marker: State}, "@"},
		{"@v1#a", Ref{Global: true, Marker: State, Release: "v1", Fragment: "a"}, ""},
		{"./-", Ref{Repo: "."}, "./-/"},
		{"./-/#x", Ref{Repo: ".", Fragment: "x"}, ""},
		{"./-/@1", Ref{Repo: ".", Marker: State, Release: "1"}, ""},
		{"./@", Ref{File: ".", Marker: State}, ""},
		{"./@v3", Ref{File: ".", Marker: State, Release: "v3"}, ""},
		{"frontend", Ref{File: "frontend"}, ""},
		{"x/call/b", Ref{File: "x/call/b"}, ""},
		{"example/-/#frag", Ref{Repo: "example", Fragment: "frag"}, ""},
		{"example/-/f/@1/custom/-x", Ref{Repo: "example", File: "f", Marker: State, Release: "1", Type: "custom", Subpath: "-x"}, ""},
		{"example/-/f/@1/custom/a+b/c@d", Ref{Repo: "example", File: "f", Marker: State, Release: "1", Type: "custom", Subpath: "a+b/c@d"}, ""},
		{"example/-/f/@1#-/+x/a=b", Ref{Repo: "example", File: "f", Marker: State, Release: "1", Fragment: "-/+x/a=b"}, ""},
		{"example/-/f/@1_a.b-c", Ref{Repo: "example", File: "f", Marker: State, Release: "1_a.b-c"}, ""},
		{"example/-/f/@0", Ref{Repo: "example", File: "f", Marker: State, Release: "0"}, ""},
		{"example/-/f/@_", Ref{Repo: "example", File: "f", Marker: State, Release: "_"}, ""},
		{"example/-/f/@r1", Ref{Repo: "example", File: "f", Marker: State, Release: "r1"}, ""},
		{"+/deploy/x", Ref{Global: true, Marker: Intent, Type: "deploy", Subpath: "x"}, ""},
		{"r/-/é/~,%'\"/@1", Ref{Repo: "r", File: "é/~,%'\"", Marker: State, Release: "1"}, ""},
		{"+/custom/日本/😀/Ωx́", Ref{Global: true, Marker: Intent, Type: "custom", Subpath: "日本/😀/Ωx́"}, ""}, // visible characters, a combining mark
		{"+/custom/" + strings.Repeat("a", 255), Ref{Global: true, Marker: Intent, Type: "custom", Subpath: strings.Repeat("a", 255)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
			canon := tt.canon
			if canon == "" {
				canon = tt.in
			}
			if got.String() != canon {
				t.Errorf("String() = %q, want %q", got.String(), canon)
			}
		})
	}
}

// TestParseErrors checks classes and the exact reason texts of docs/refs.md §9.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		class  Class
		reason string
	}{
		{"", EEmpty, "empty ref"},
		{"./", EEmpty, "empty ref"},
		{"+/custom/my approval", EBadChar, "character U+0020 at byte 11 is not allowed"},
		{"+/custom/a\tb", EBadChar, "character U+0009 at byte 10 is not allowed"},
		{"+/custom/a\u00a0b", EBadChar, "character U+00A0 at byte 10 is not allowed"},
		{"+/custom/a\u0085b", EBadChar, "character U+0085 at byte 10 is not allowed"},
		{"+/custom/a\u3000b", EBadChar, "character U+3000 at byte 10 is not allowed"},
		{"+/custom/a\x7fb", EBadChar, "character U+007F at byte 10 is not allowed"},
		{`+/custom/a\b`, EBadChar, "character U+005C at byte 10 is not allowed"},
		{"+/custom/a\u200bb", EBadChar, "character U+200B at byte 10 is not allowed"},
		{"+/custom/\u202egnp.exe", EBadChar, "character U+202E at byte 9 is not allowed"},
		{"+/custom/\ufeffx", EBadChar, "character U+FEFF at byte 9 is not allowed"},
		{"+/custom/co\u00adde", EBadChar, "character U+00AD at byte 11 is not allowed"},
		{"+/custom/a\u200db", EBadChar, "character U+200D at byte 10 is not allowed"},
		{"+/custom/a\u2066b\u2069", EBadChar, "character U+2066 at byte 10 is not allowed"},
		{"+/custom/a\u2028b", EBadChar, "character U+2028 at byte 10 is not allowed"},
		{"+/custom/a\u2007b", EBadChar, "character U+2007 at byte 10 is not allowed"},
		{"+/custom/a\ufe0fb", EBadChar, "character U+FE0F at byte 10 is not allowed"},
		{"+/custom/a\u3164b", EBadChar, "character U+3164 at byte 10 is not allowed"},
		{"+/custom/a\u034fb", EBadChar, "character U+034F at byte 10 is not allowed"},
		{"+/custom/x#\u200e", EBadChar, "character U+200E at byte 11 is not allowed"},
		{"example\u200b/-/f.ocu.star/@1", EBadChar, "character U+200B at byte 7 is not allowed"},
		{"+/custom/a\xffb", EBadChar, "invalid UTF-8 at byte 10"},
		{"+/custom/x#a#b", EBadChar, "more than one '#'"},
		{"a b*", EBadChar, "character U+0020 at byte 1 is not allowed"},
		{"**/deploy/production", EGlobChar, "glob character '*' is not allowed in a ref (to search, use ocu-match)"},
		{"a/@{1,2}", EGlobChar, "glob character '{' is not allowed in a ref (to search, use ocu-match)"},
		{"a/b?", EGlobChar, "glob character '?' is not allowed in a ref (to search, use ocu-match)"},
		{"a/[b]", EGlobChar, "glob character '[' is not allowed in a ref (to search, use ocu-match)"},
		{"+/custom/" + strings.Repeat("a", 256), ETooLong, "segment longer than 255 bytes"},
		{"+/custom/x#" + strings.Repeat("a", 256), ETooLong, "segment longer than 255 bytes"},
		{"+/custom/" + strings.Repeat("a/", 2000), ETooLong, "ref longer than 4000 bytes"},
		{"example/-/frontend//release.ocu.star/@1", EEmptySegment, "empty segment at byte 19 (doubled or leading '/')"},
		{"/example/-/f", EEmptySegment, "empty segment at byte 0 (doubled or leading '/')"},
		{"a/@1//", EEmptySegment, "empty segment at byte 5 (doubled or leading '/')"},
		{"a/@1#x//", EEmptySegment, "empty segment at byte 7 (doubled or leading '/')"},
		{"a/@1#/", EEmptySegment, "empty segment at byte 5 (doubled or leading '/')"},
		{"a/@1#//x", EEmptySegment, "empty segment at byte 5 (doubled or leading '/')"},
		{"example/-/frontend/../b", EDotSegment, "'..' segments are not allowed"},
		{"example/-/./b", EDotSegment, "'.' segments are not allowed (only a leading './')"},
		{"a/./-/b", EDotSegment, "'.' segments are not allowed (only a leading './')"},
		{"+/custom/x#.", EDotSegment, "'.' segments are not allowed (only a leading './')"},
		{"example/-/-frontend/release.ocu.star", EDashSegment, `segment "-frontend" may not start with '-' (only "/-/" separates repo and file)`},
		{"-x/-/f", EDashSegment, `segment "-x" may not start with '-' (only "/-/" separates repo and file)`},
		{"a/b/-/c/-/d/@1", ESeparator, `more than one "/-/" separator`},
		{"./-/a/-/b", ESeparator, `more than one "/-/" separator`},
		{"r/-/f/@1/custom/-", ESeparator, `more than one "/-/" separator`},
		{"-/frontend/release.ocu.star/@1", ESeparator, `missing repo before "/-/"`},
		{"-", ESeparator, `missing repo before "/-/"`},
		{"+/custom/a/-/b", ESeparator, `segment "-" is only allowed as the repo/file separator`},
		{"./custom/-", ESeparator, `segment "-" is only allowed as the repo/file separator`},
		{"repo.git/package@/deploy/hello", EMarkerInPath, `'@' or '+' inside "package@": a release marker must start a segment`},
		{"a/@1/-/x", EMarkerInPath, `'@' or '+' inside "@1": a release marker must start a segment`},
		{"example/-/f/@v1:beta", EBadRelease, `invalid release "v1:beta": use letters, digits, '.', '_' and '-', not starting with '.' or '-'`},
		{"example/-/f/@-1", EBadRelease, `invalid release "-1": use letters, digits, '.', '_' and '-', not starting with '.' or '-'`},
		{"@@", EBadRelease, `invalid release "@": use letters, digits, '.', '_' and '-', not starting with '.' or '-'`},
		{"example/-/f/@object.json", EBadRelease, `invalid release "object.json": the name is reserved for the store's object files`},
		{"example/-/f/@1/CUSTOM/x", EUnknownType, `unknown subpath type "CUSTOM" (expected call, commit, custom, deploy, environment or task)`},
		{"./x", EUnknownType, `unknown subpath type "x" (expected call, commit, custom, deploy, environment or task)`},
		{"example/-/f/@1/deploy/", EMissingSubpath, `"deploy" must be followed by a name, e.g. deploy/production`},
		{"@/environment", EMissingSubpath, `"environment" must be followed by a name, e.g. environment/production`},
		{"./call", EMissingSubpath, `"call" must be followed by a name, e.g. call/build`},
		{"example/-/f/@1/deploy/production/@2", EMarkerInSubpath, `subpath segment "@2" may not start with '@'`},
		{"example/-/f/@1/deploy/a=b", EEquals, `'=' is not allowed in a subpath`},
		{"example/-/f/@1/deploy/production#x/@y", EMarkerInFragment, `fragment segment "@y" may not start with '@'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseTool(tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseTool(%q) error = %v, want *Error", tt.in, err)
			}
			want := &Error{Input: tt.in, Class: tt.class, Reason: tt.reason}
			if diff := cmp.Diff(want, e); diff != "" {
				t.Errorf("ParseTool(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"x/-/p/@1/deploy/", `invalid ref "x/-/p/@1/deploy/": "deploy" must be followed by a name, e.g. deploy/production`},
		{"+/custom/a\x00b", `invalid ref "+/custom/a\x00b": character U+0000 at byte 10 is not allowed`},
		{"+/custom/a\x1b[31mb", `invalid ref "+/custom/a\x1b[31mb": character U+001B at byte 10 is not allowed`},
		{"+/custom/a\u0085b", `invalid ref "+/custom/a\xc2\x85b": character U+0085 at byte 10 is not allowed`},
		{"+/custom/a\u00a0b", `invalid ref "+/custom/a\xc2\xa0b": character U+00A0 at byte 10 is not allowed`},
		{"+/custom/a\xffb", `invalid ref "+/custom/a\xffb": invalid UTF-8 at byte 10`},
		{"+/custom/my approval", `invalid ref "+/custom/my approval": character U+0020 at byte 11 is not allowed`},
		{`+/custom/"é\`, `invalid ref "+/custom/"é\": character U+005C at byte 12 is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %s\nwant      %s", got, tt.want)
			}
		})
	}
}

func TestValidateRepo(t *testing.T) {
	tests := []struct {
		name  string
		class Class
	}{
		{"example", ""},
		{"github.com/ocuroot/example", ""},
		{"localhost:8443/team/app", ""},
		{"tmp/repos/é", ""},
		{"", EEmpty},
		{".", EDotSegment},
		{"a/../b", EDotSegment},
		{"a/", EEmptySegment},
		{"/a", EEmptySegment},
		{"a//b", EEmptySegment},
		{"a/-/b", ESeparator},
		{"-a", EDashSegment},
		{"a@b", EMarkerInPath},
		{"@", EMarkerInPath},
		{"a+b", EMarkerInPath},
		{"a#b", EBadChar},
		{"a b", EBadChar},
		{"a*", EGlobChar},
		{strings.Repeat("a", 256), ETooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRepo(tt.name)
			if tt.class == "" {
				if err != nil {
					t.Errorf("ValidateRepo(%q) = %v, want nil", tt.name, err)
				}
				if r, err := Parse(tt.name + "/-/"); err != nil || r.Repo != tt.name {
					t.Errorf("Parse(%q) = %+v, %v", tt.name+"/-/", r, err)
				}
				return
			}
			if ClassOf(err) != tt.class {
				t.Errorf("ValidateRepo(%q) = %v, want %s", tt.name, err, tt.class)
			}
		})
	}
}
