package ref

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics, that errors are *Error for the
// given input, and that printing is canonical: parse → print → parse gives
// an equal model and the print is stable.
func FuzzParse(f *testing.F) {
	for _, v := range testVectors() {
		f.Add(v.in)
	}
	for _, s := range []string{
		"./-", "./-/", "./@", "+", "@v1#a/b/", "example/-/#x", "r/-/f/@1/custom/-x",
		"./-/a/-/b", "a/./-/b", "./..", "./.", "@/-/x", "-", "#", "/", "a#/", "é/-/ü/@1",
		"+/custom/a\u00a0b", "a\xffb", "x/call/b", "frontend/@",
	} {
		f.Add(s)
	}
	base := Ref{Repo: "example", File: "frontend/release.ocu.star", Marker: State, Release: "3"}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T %v, want *Error", s, err, err)
			}
			if e.Input != s || e.Class == "" || e.Reason == "" {
				t.Fatalf("Parse(%q) error %+v", s, e)
			}
			_ = e.Error()
			if r != (Ref{}) {
				t.Fatalf("Parse(%q) returned %+v with an error", s, r)
			}
			return
		}
		p := r.String()
		if (p == "") != (s == "") {
			t.Fatalf("Parse(%q) prints %q", s, p)
		}
		r2, err := Parse(p)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v prints %q which does not parse: %v", s, r, p, err)
		}
		if diff := cmp.Diff(r, r2); diff != "" {
			t.Fatalf("Parse(%q) then Parse(%q) (-first +second):\n%s", s, p, diff)
		}
		if p2 := r2.String(); p2 != p {
			t.Fatalf("String() unstable: %q then %q", p, p2)
		}
		if r.Repo != "" && r.Repo != "." {
			if err := ValidateRepo(r.Repo); err != nil {
				t.Fatalf("Parse(%q) gives repo %q that ValidateRepo refuses: %v", s, r.Repo, err)
			}
		}
		if res, err := r.Resolve(base); err == nil {
			if _, err := Parse(res.String()); err != nil {
				t.Fatalf("%q resolved to %q which does not parse: %v", s, res, err)
			}
		} else if ClassOf(err) == "" {
			t.Fatalf("Resolve(%q) error %v is not an *Error", s, err)
		}
		b, _ := r.MarshalJSON()
		var r3 Ref
		if err := r3.UnmarshalJSON(b); err != nil || r3 != r {
			t.Fatalf("JSON round trip of %q: %s gives %+v, %v", s, b, r3, err)
		}
	})
}
