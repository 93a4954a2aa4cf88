package ref

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vector is one row of the table of ref test vectors (docs/refs.md §5 shows a few).
type vector struct {
	n     int
	in    string
	want  Ref    // valid rows
	canon string // canonical print when it differs from in
	class Class  // error rows
}

const (
	rel   = "frontend/release.ocu.star"
	relEx = "example/-/frontend/release.ocu.star"
	sha   = "fa56a23554a75a7ab334f841c5f61f952e52930c"
)

// testVectors returns the 73 test vectors of refs (row 70 has two inputs).
func testVectors() []vector {
	return []vector{
		{n: 1, in: "github.com/ocuroot/example/-/frontend/release.ocu.star/@1/call/build#output/image",
			want: Ref{Repo: "github.com/ocuroot/example", File: rel, Marker: State, Release: "1", Type: "call", Subpath: "build", Fragment: "output/image"}},
		{n: 2, in: relEx + "/+/deploy/production",
			want: Ref{Repo: "example", File: rel, Marker: Intent, Type: "deploy", Subpath: "production"}},
		{n: 3, in: "@/environment/production",
			want: Ref{Global: true, Marker: State, Type: "environment", Subpath: "production"}},
		{n: 4, in: "+/environment/production",
			want: Ref{Global: true, Marker: Intent, Type: "environment", Subpath: "production"}},
		{n: 5, in: "@/environment/staging#attributes/type",
			want: Ref{Global: true, Marker: State, Type: "environment", Subpath: "staging", Fragment: "attributes/type"}},
		{n: 6, in: "+/custom/feature_flags/dark_mode",
			want: Ref{Global: true, Marker: Intent, Type: "custom", Subpath: "feature_flags/dark_mode"}},
		{n: 7, in: relEx + "/@1/call/build/1/functions/1/status/pending",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1", Type: "call", Subpath: "build/1/functions/1/status/pending"}},
		{n: 8, in: relEx + "/@/deploy/staging#output/count",
			want: Ref{Repo: "example", File: rel, Marker: State, Type: "deploy", Subpath: "staging", Fragment: "output/count"}},
		{n: 9, in: relEx + "/@v1",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "v1"}},
		{n: 10, in: relEx + "/@1/commit/" + sha,
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1", Type: "commit", Subpath: sha}},
		{n: 11, in: relEx,
			want: Ref{Repo: "example", File: rel}},
		{n: 12, in: "example/-", canon: "example/-/",
			want: Ref{Repo: "example"}},
		{n: 13, in: "example/-/",
			want: Ref{Repo: "example"}},
		{n: 14, in: "example/-/@1",
			want: Ref{Repo: "example", Marker: State, Release: "1"}},
		{n: 15, in: "frontend/release.ocu.star/@1",
			want: Ref{File: rel, Marker: State, Release: "1"}},
		{n: 16, in: "frontend/@",
			want: Ref{File: "frontend", Marker: State}},
		{n: 17, in: "./@/call/build#output/image",
			want: Ref{File: ".", Marker: State, Type: "call", Subpath: "build", Fragment: "output/image"}},
		{n: 18, in: "./call/build#output/image",
			want: Ref{File: ".", Type: "call", Subpath: "build", Fragment: "output/image"}},
		{n: 19, in: "./-/backend/release.ocu.star/@/deploy/staging#output/url",
			want: Ref{Repo: ".", File: "backend/release.ocu.star", Marker: State, Type: "deploy", Subpath: "staging", Fragment: "output/url"}},
		{n: 20, in: "./+/custom/approval",
			want: Ref{File: ".", Marker: Intent, Type: "custom", Subpath: "approval"}},
		{n: 21, in: "./-/backend/release.ocu.star/call/build",
			want: Ref{Repo: ".", File: "backend/release.ocu.star/call/build"}},
		{n: 22, in: relEx + "/@1/", canon: relEx + "/@1",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1"}},
		{n: 23, in: relEx + "/@1/deploy/production#output/url/", canon: relEx + "/@1/deploy/production#output/url",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1", Type: "deploy", Subpath: "production", Fragment: "output/url"}},
		{n: 24, in: relEx + "/@1/#commit", canon: relEx + "/@1#commit",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1", Fragment: "commit"}},
		{n: 25, in: relEx + "/@1/task/check_envs",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1", Type: "task", Subpath: "check_envs"}},
		{n: 26, in: relEx + "/@commitid.01JY1YT9R0EDV5EKQH5FVZF64B/custom/approval",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "commitid.01JY1YT9R0EDV5EKQH5FVZF64B", Type: "custom", Subpath: "approval"}},
		{n: 27, in: relEx + "/@1#", canon: relEx + "/@1",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1"}},
		{n: 28, in: "example/-/repo.ocu.star/@" + sha,
			want: Ref{Repo: "example", File: "repo.ocu.star", Marker: State, Release: sha}},
		{n: 29, in: relEx + "/+1/custom/approval",
			want: Ref{Repo: "example", File: rel, Marker: Intent, Release: "1", Type: "custom", Subpath: "approval"}},
		{n: 30, in: relEx + "/+v1/custom/approval",
			want: Ref{Repo: "example", File: rel, Marker: Intent, Release: "v1", Type: "custom", Subpath: "approval"}},
		{n: 31, in: "@/environment/production/", canon: "@/environment/production",
			want: Ref{Global: true, Marker: State, Type: "environment", Subpath: "production"}},
		{n: 32, in: relEx + "/@1/custom/user@example.com",
			want: Ref{Repo: "example", File: rel, Marker: State, Release: "1", Type: "custom", Subpath: "user@example.com"}},
		{n: 33, in: "localhost:8443/team/app/-/svc.ocu.star/@2",
			want: Ref{Repo: "localhost:8443/team/app", File: "svc.ocu.star", Marker: State, Release: "2"}},
		{n: 34, in: "@",
			want: Ref{Global: true, Marker: State}},

		{n: 35, in: relEx + "/@1/deploy/", class: EMissingSubpath},
		{n: 36, in: relEx + "/@1/deploy", class: EMissingSubpath},
		{n: 37, in: relEx + "/@1/deploy#output", class: EMissingSubpath},
		{n: 38, in: "@/environment", class: EMissingSubpath},
		{n: 39, in: "a/b/-/c/-/d/@1", class: ESeparator},
		{n: 40, in: "-/frontend/release.ocu.star/@1", class: ESeparator},
		{n: 41, in: "example/-/frontend/../backend/release.ocu.star/@1", class: EDotSegment},
		{n: 42, in: "../../../../tmp/x/-/y/+/custom/z", class: EDotSegment},
		{n: 43, in: "+/custom/../../escape", class: EDotSegment},
		{n: 44, in: relEx + "/@1/custom/./x", class: EDotSegment},
		{n: 45, in: "@/environment/staging#a/../b", class: EDotSegment},
		{n: 46, in: "example/-/frontend//release.ocu.star/@1", class: EEmptySegment},
		{n: 47, in: relEx + "/@1//", class: EEmptySegment},
		{n: 48, in: "/" + relEx, class: EEmptySegment},
		{n: 49, in: relEx + "/@1/deploy/production#a//b", class: EEmptySegment},
		{n: 50, in: `+/custom/a\b`, class: EBadChar},
		{n: 51, in: "+/custom/a\x00b", class: EBadChar},
		{n: 52, in: "+/custom/my approval", class: EBadChar},
		{n: 52, in: "+/custom/my\u200bapproval", class: EBadChar},     // invisible: looks like +/custom/myapproval
		{n: 52, in: "+/custom/\u202elavorppa", class: EBadChar},       // bidi override: shows as +/custom/approval
		{n: 52, in: "\ufeffexample/-/f.ocu.star/@1", class: EBadChar}, // byte order mark
		{n: 53, in: "+/custom/x#a#b", class: EBadChar},
		{n: 54, in: "**/deploy/production", class: EGlobChar},
		{n: 55, in: relEx + "/@{1,2}", class: EGlobChar},
		{n: 56, in: relEx + "/@1/CUSTOM/x", class: EUnknownType},
		{n: 57, in: relEx + "/@1/op/nightly", class: EUnknownType},
		{n: 58, in: "./x", class: EUnknownType},
		{n: 59, in: "repo.git/package@/deploy/hello", class: EMarkerInPath},
		{n: 60, in: "example/-/front+end/release.ocu.star", class: EMarkerInPath},
		{n: 61, in: "a/@1/-/x", class: EMarkerInPath},
		{n: 62, in: relEx + "/@1/deploy/production/@2", class: EMarkerInSubpath},
		{n: 63, in: relEx + "/@1/deploy/a=b", class: EEquals},
		{n: 64, in: relEx + "/@1/deploy/production#x/@y", class: EMarkerInFragment},
		{n: 65, in: "example/-/-frontend/release.ocu.star", class: EDashSegment},
		{n: 66, in: relEx + "/@-1", class: EBadRelease},
		{n: 67, in: relEx + "/@.", class: EBadRelease},
		{n: 68, in: relEx + "/@v1:beta", class: EBadRelease},
		{n: 69, in: relEx + "/@..", class: EBadRelease},
		{n: 70, in: "", class: EEmpty},
		{n: 70, in: "./", class: EEmpty},
		{n: 71, in: "+/custom/" + strings.Repeat("a", 256), class: ETooLong},
		{n: 72, in: "+/custom/a/-/b", class: ESeparator},
		{n: 73, in: relEx + "/@object.json", class: EBadRelease},
	}
}

func TestVectors(t *testing.T) {
	rows := map[int]bool{}
	for _, v := range testVectors() {
		rows[v.n] = true
		t.Run(fmt.Sprintf("%d/%q", v.n, v.in), func(t *testing.T) {
			got, err := ParseTool(v.in)
			if v.class != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("ParseTool(%q) = %+v, %v; want %s", v.in, got, err, v.class)
				}
				if e.Class != v.class || e.Input != v.in {
					t.Errorf("ParseTool(%q): class %s, input %q; want %s", v.in, e.Class, e.Input, v.class)
				}
				if got != (Ref{}) {
					t.Errorf("ParseTool(%q) returned %+v with its error", v.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTool(%q): %v", v.in, err)
			}
			if diff := cmp.Diff(v.want, got); diff != "" {
				t.Errorf("ParseTool(%q) (-want +got):\n%s", v.in, diff)
			}
			canon := v.canon
			if canon == "" {
				canon = v.in
			}
			if s := got.String(); s != canon {
				t.Errorf("String() = %q, want %q", s, canon)
			}
			if p, err := Parse(v.in); err != nil || p != got {
				t.Errorf("Parse(%q) = %+v, %v; want the ParseTool result", v.in, p, err)
			}
		})
	}
	if len(rows) != 73 {
		t.Errorf("table holds %d rows of test vectors, want 73", len(rows))
	}
}
