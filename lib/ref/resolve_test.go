package ref

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	release := relEx + "/@3"
	tests := []struct {
		base, in, want string
		class          Class
	}{
		// docs/refs.md §6, base R/-/F/@N.
		{release, "./call/build#output/image", relEx + "/@3/call/build#output/image", ""},
		{release, "./custom/approval", relEx + "/@3/custom/approval", ""},
		{release, "./@/deploy/staging#output/count", relEx + "/@/deploy/staging#output/count", ""},
		{release, "./@v1", relEx + "/@v1", ""},
		{release, "./+/custom/approval", relEx + "/+/custom/approval", ""},
		{release, "./+3/custom/approval", relEx + "/+3/custom/approval", ""},
		{release, "./-/backend/release.ocu.star/@/deploy/staging#output/url", "example/-/backend/release.ocu.star/@/deploy/staging#output/url", ""},
		{release, "backend/release.ocu.star/@/deploy/staging#output/url", "example/-/backend/release.ocu.star/@/deploy/staging#output/url", ""},
		{release, "./-/backend/release.ocu.star", "example/-/backend/release.ocu.star/@3", ""},
		{release, "@/environment/staging", "@/environment/staging", ""},
		{release, "+/custom/flag", "+/custom/flag", ""},
		{release, "other/-/svc.ocu.star/@1/deploy/staging", "other/-/svc.ocu.star/@1/deploy/staging", ""},
		// docs/refs.md §6, base R/-/ (command line).
		{"example/-/", "frontend/release.ocu.star/@1", relEx + "/@1", ""},
		{"example/-/", "frontend/release.ocu.star/+1/custom/approval", relEx + "/+1/custom/approval", ""},
		{"example/-/", "./-/frontend/release.ocu.star/@/deploy/staging", relEx + "/@/deploy/staging", ""},
		{"example/-/", "./@v3", "example/-/@v3", ""},
		{"example/-/", "frontend/release.ocu.star", relEx, ""},
		{"example/-/", "./call/build", "", ENoRelease},
		{"example/-/", "+/environment/qa", "+/environment/qa", ""},
		// No repo known.
		{"", "frontend/release.ocu.star/@1", "", ENoRepo},
		{"", "./call/build", "", ENoRepo},
		{"", "./-/f/@1", "", ENoRepo},
		{"", "+/environment/qa", "+/environment/qa", ""},
		{"", "other/-/f/@1", "other/-/f/@1", ""},
		// More.
		{"example/-/", "", "", ""},
		{"example/-/", "./-/", "example/-/", ""},
		{release, "./-/#x", relEx + "/@3#x", ""},
		{release, "frontend/@", "example/-/frontend/@", ""},
		{"example/-/", "./-/f/@1/custom/" + strings.Repeat("a", 255), "example/-/f/@1/custom/" + strings.Repeat("a", 255), ""},
		{strings.Repeat("r/", 1995) + "-/", "./-/f/@1/custom/abc", "", ETooLong},
	}
	for _, tt := range tests {
		name := tt.base + " " + tt.in
		if len(name) > 100 {
			name = name[:100]
		}
		t.Run(name, func(t *testing.T) {
			base, err := Parse(tt.base)
			if err != nil {
				t.Fatalf("Parse(base %q): %v", tt.base, err)
			}
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			got, err := r.Resolve(base)
			if tt.class != "" {
				if ClassOf(err) != tt.class {
					t.Fatalf("Resolve = %q, %v; want %s", got, err, tt.class)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.String() != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
			if tt.in != "" && got.IsRelative() {
				t.Errorf("Resolve = %q is still relative", got)
			}
		})
	}
}

func TestResolveErrorText(t *testing.T) {
	base, _ := Parse("example/-/")
	r, _ := Parse("./call/build")
	_, err := r.Resolve(base)
	want := `invalid ref "./call/build": "call/build" needs a release: write FILE/@N/call/build`
	if err == nil || err.Error() != want {
		t.Errorf("Resolve error = %v, want %s", err, want)
	}
	_, err = r.Resolve(Ref{})
	want = `invalid ref "./call/build": relative ref needs a repo: run inside a repo with repo.ocu.star or pass --repo`
	if err == nil || err.Error() != want {
		t.Errorf("Resolve error = %v, want %s", err, want)
	}
}

func TestIsRelative(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"@", false},
		{"+/custom/x", false},
		{"example/-/", false},
		{"example/-/f/@1", false},
		{"f/@1", true},
		{"f", true},
		{"./-/", true},
		{"./-/f", true},
		{"./@", true},
		{"./call/x", true},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := r.IsRelative(); got != tt.want {
			t.Errorf("%q.IsRelative() = %v, want %v", tt.in, got, tt.want)
		}
	}
}
