// Package storetest is the conformance suite every store.Store passes: the
// filesystem store, the git store and the combined store run the same tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// Opener returns a store seeded with files (paths relative to the store root,
// such as "refs/@/custom/x/@object.json", mapped to their content), and a
// function reading a file of the store back (ok false when absent).
type Opener func(t *testing.T, files map[string]string) (s store.Store, read func(path string) (string, bool))

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Opener) {
	t.Run("Format", func(t *testing.T) { testFormat(t, open) })
	t.Run("Get", func(t *testing.T) { testGet(t, open) })
	t.Run("Fragments", func(t *testing.T) { testFragments(t, open) })
	t.Run("Links", func(t *testing.T) { testLinks(t, open) })
	t.Run("LinkErrors", func(t *testing.T) { testLinkErrors(t, open) })
	t.Run("Fallback", func(t *testing.T) { testFallback(t, open) })
	t.Run("Match", func(t *testing.T) { testMatch(t, open) })
	t.Run("MatchSkipping", func(t *testing.T) { testMatchSkipping(t, open) })
	t.Run("Transactions", func(t *testing.T) { testTransactions(t, open) })
	t.Run("Legacy", func(t *testing.T) { testLegacy(t, open) })
	t.Run("Corrupt", func(t *testing.T) { testCorrupt(t, open) })
	t.Run("Children", func(t *testing.T) { testChildren(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("Expect", func(t *testing.T) { testExpect(t, open) })
}

// R parses a ref or fails the test.
func R(t testing.TB, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatalf("ref %q: %v", s, err)
	}
	return r
}

// J decodes JSON the way stores return values (json.Number).
func J(t testing.TB, s string) any {
	t.Helper()
	v, err := store.DecodeValue([]byte(s))
	if err != nil {
		t.Fatalf("json %q: %v", s, err)
	}
	return v
}

func commit(t *testing.T, s store.Store, tx *store.Tx) {
	t.Helper()
	if err := s.Commit(context.Background(), tx); err != nil {
		t.Fatalf("commit %q: %v", tx.Name, err)
	}
}

func get(t *testing.T, s store.Store, r string) (store.Doc, error) {
	t.Helper()
	return s.Get(context.Background(), R(t, r))
}

func wantValue(t *testing.T, s store.Store, r, want string) {
	t.Helper()
	d, err := get(t, s, r)
	if err != nil {
		t.Fatalf("get %s: %v", r, err)
	}
	if diff := cmp.Diff(J(t, want), d.Value); diff != "" {
		t.Errorf("get %s (-want +got):\n%s", r, diff)
	}
}

func wantErr(t *testing.T, err error, code store.Code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %q", code, msg)
	}
	if got := store.CodeOf(err); got != code {
		t.Fatalf("error %q has code %q, want %s", err, got, code)
	}
	var se *store.Error
	errors.As(err, &se)
	if msg != "" && se.Error() != msg {
		t.Errorf("error message %q, want %q", se.Error(), msg)
	}
}

func match(t *testing.T, s store.Store, noLinks bool, globs ...string) []string {
	t.Helper()
	got, err := s.Match(context.Background(), globs, noLinks)
	if err != nil {
		t.Fatalf("match %q: %v", globs, err)
	}
	return got
}

func testFormat(t *testing.T, open Opener) {
	s, read := open(t, nil)
	defer s.Close()
	tx := store.NewTx("format")
	tx.Put(R(t, "+/custom/doc"), J(t, `{"z":1,"a":[5.50,12345678901234567890],"html":"<b>&</b>","nested":{"y":true,"b":null}}`))
	tx.Put(R(t, "example/-/f.ocu.star/@1"), J(t, `{"commit":"c1"}`))
	tx.Link(R(t, "example/-/f.ocu.star/@v1"), R(t, "example/-/f.ocu.star/@1"))
	commit(t, s, tx)

	tests := []struct{ path, want string }{
		{".ocuroot-store", `{"version":1}`},
		{"refs/+/custom/doc/@object.json", `{
  "kind": "ref",
  "body": {
    "a": [
      5.50,
      12345678901234567890
    ],
    "html": "<b>&</b>",
    "nested": {
      "b": null,
      "y": true
    },
    "z": 1
  }
}`},
		{"refs/example/-/f.ocu.star/@1/@object.json", `{
  "kind": "ref",
  "links": [
    "example/-/f.ocu.star/@v1"
  ],
  "body": {
    "commit": "c1"
  }
}`},
		{"refs/example/-/f.ocu.star/@v1/@object.json", `{
  "kind": "link",
  "body": "example/-/f.ocu.star/@1"
}`},
	}
	for _, tt := range tests {
		got, ok := read(tt.path)
		if !ok {
			t.Errorf("%s: missing", tt.path)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.path, got, tt.want)
		}
	}
}

func testGet(t *testing.T, open Opener) {
	s, _ := open(t, nil)
	defer s.Close()
	commit(t, s, store.NewTx("seed").
		Put(R(t, "@/environment/staging"), J(t, `{"attributes":{"type":"staging"},"name":"staging"}`)).
		Put(R(t, "+/custom/null"), nil).
		Put(R(t, "+/custom/num"), J(t, `5.5`)))
	wantValue(t, s, "@/environment/staging", `{"attributes":{"type":"staging"},"name":"staging"}`)
	wantValue(t, s, "+/custom/null", `null`)
	wantValue(t, s, "+/custom/num", `5.5`)
	_, err := get(t, s, "+/custom/absent")
	wantErr(t, err, store.ENotFound, "not found")
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("errors.Is(%v, ErrNotFound) = false", err)
	}
	// State and intent are different documents.
	_, err = get(t, s, "@/custom/num")
	wantErr(t, err, store.ENotFound, "not found")
	d, err := get(t, s, "@/environment/staging#name")
	if err != nil || d.Ref.String() != "@/environment/staging#name" {
		t.Errorf("resolved ref = %v, %v", d.Ref, err)
	}
}

func testFragments(t *testing.T, open Opener) {
	s, _ := open(t, nil)
	defer s.Close()
	commit(t, s, store.NewTx("seed").Put(R(t, "+/custom/n"), J(t, `{"a":null,"list":[10,20],"o":{"0":"zero","s":"str","t":true,"n":3}}`)))
	tests := []struct {
		frag, want, err string
	}{
		{frag: "a", want: "null"},
		{frag: "list/1", want: "20"},
		{frag: "list", want: "[10,20]"},
		{frag: "o/0", want: `"zero"`},
		{frag: "b", err: `not found: no key "b"`},
		{frag: "o/x", err: `not found: no key "x" at o`},
		{frag: "list/2", err: `not found: index 2 out of range (length 2) at list`},
		{frag: "list/01", err: `not found: "01" is not an array index at list`},
		{frag: "list/x", err: `not found: "x" is not an array index at list`},
		{frag: "a/b", err: `not found: cannot index null at a`},
		{frag: "o/s/x", err: `not found: cannot index string at o/s`},
		{frag: "o/t/x", err: `not found: cannot index boolean at o/t`},
		{frag: "o/n/x", err: `not found: cannot index number at o/n`},
	}
	for _, tt := range tests {
		t.Run(tt.frag, func(t *testing.T) {
			d, err := get(t, s, "+/custom/n#"+tt.frag)
			if tt.err != "" {
				wantErr(t, err, store.ENotFound, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(J(t, tt.want), d.Value); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

const pkg = "example/-/frontend/release.ocu.star"

func testLinks(t *testing.T, open Opener) {
	s, read := open(t, nil)
	defer s.Close()
	commit(t, s, store.NewTx("seed").
		Put(R(t, pkg+"/@1"), J(t, `{"commit":"c1"}`)).
		Put(R(t, pkg+"/@1/deploy/staging/1"), J(t, `{"output":{"url":"u1"}}`)).
		Put(R(t, pkg+"/@1/deploy/staging/1/logs"), J(t, `["line"]`)).
		Link(R(t, pkg+"/@/deploy/staging"), R(t, pkg+"/@1/deploy/staging/1")).
		Link(R(t, pkg+"/@v1"), R(t, pkg+"/@1")).
		Link(R(t, pkg+"/@rc"), R(t, pkg+"/@v1")). // two hops
		Link(R(t, "@/custom/current"), R(t, "@/environment/x")).
		Put(R(t, "@/environment/x"), J(t, `{"name":"x"}`)))

	tests := []struct{ in, want, value string }{
		{pkg + "/@/deploy/staging", pkg + "/@1/deploy/staging/1", `{"output":{"url":"u1"}}`},
		{pkg + "/@/deploy/staging#output/url", pkg + "/@1/deploy/staging/1#output/url", `"u1"`},
		{pkg + "/@/deploy/staging/logs", pkg + "/@1/deploy/staging/1/logs", `["line"]`},
		{pkg + "/@v1", pkg + "/@1", `{"commit":"c1"}`},
		{pkg + "/@rc#commit", pkg + "/@1#commit", `"c1"`},
		{pkg + "/@v1/deploy/staging/1", pkg + "/@1/deploy/staging/1", `{"output":{"url":"u1"}}`},
		{"@/custom/current#name", "@/environment/x#name", `"x"`},
	}
	for _, tt := range tests {
		d, err := get(t, s, tt.in)
		if err != nil {
			t.Errorf("get %s: %v", tt.in, err)
			continue
		}
		if d.Ref.String() != tt.want {
			t.Errorf("get %s resolved to %s, want %s", tt.in, d.Ref, tt.want)
		}
		if res, ok := s.(store.Resolver); ok {
			if got, err := res.Resolve(context.Background(), R(t, tt.in)); err != nil || got.String() != tt.want {
				t.Errorf("resolve %s = %s, %v; want %s (what get reads)", tt.in, got, err, tt.want)
			}
		}
		if diff := cmp.Diff(J(t, tt.value), d.Value); diff != "" {
			t.Errorf("get %s (-want +got):\n%s", tt.in, diff)
		}
	}
	body, _ := read("refs/" + pkg + "/@1/@object.json")
	var env struct{ Links []string }
	json.Unmarshal([]byte(body), &env)
	if diff := cmp.Diff([]string{pkg + "/@v1"}, env.Links); diff != "" {
		t.Errorf("back-references of @1 (-want +got):\n%s", diff)
	}

	// Re-pointing moves the back-reference; unlinking removes it.
	commit(t, s, store.NewTx("repoint").
		Put(R(t, pkg+"/@2"), J(t, `{"commit":"c2"}`)).
		Link(R(t, pkg+"/@v1"), R(t, pkg+"/@2")).
		Unlink(R(t, pkg+"/@/deploy/staging")).
		Unlink(R(t, pkg+"/@/deploy/none")))
	body, _ = read("refs/" + pkg + "/@1/@object.json")
	if body != "{\n  \"kind\": \"ref\",\n  \"body\": {\n    \"commit\": \"c1\"\n  }\n}" {
		t.Errorf("@1 after re-pointing its link:\n%s", body)
	}
	body, _ = read("refs/" + pkg + "/@1/deploy/staging/1/@object.json")
	env.Links = nil
	if json.Unmarshal([]byte(body), &env); len(env.Links) != 0 {
		t.Errorf("unlinked chain still lists %v", env.Links)
	}
	wantValue(t, s, pkg+"/@rc#commit", `"c2"`)
	_, err := get(t, s, pkg+"/@/deploy/staging")
	wantErr(t, err, store.ENotFound, "not found")

	// Deleting a document leaves links to it dangling.
	commit(t, s, store.NewTx("dangle").Delete(R(t, pkg+"/@2"), false))
	_, err = get(t, s, pkg+"/@v1")
	wantErr(t, err, store.ENotFound, "not found (dangling link "+pkg+"/@v1 -> "+pkg+"/@2)")

	// Deleting a link path removes the link, never its target.
	commit(t, s, store.NewTx("del").Delete(R(t, "@/custom/current"), false))
	wantValue(t, s, "@/environment/x", `{"name":"x"}`)
	if _, ok := read("refs/@/custom/current/@object.json"); ok {
		t.Error("deleted link still stored")
	}
	if _, ok := read("refs/@/custom"); ok {
		t.Error("empty folder refs/@/custom not pruned")
	}
}

func testLinkErrors(t *testing.T, open Opener) {
	s, _ := open(t, nil)
	defer s.Close()
	commit(t, s, store.NewTx("seed").
		Put(R(t, pkg+"/@1"), J(t, `{}`)).
		Put(R(t, pkg+"/@1/call/build/1"), J(t, `{}`)).
		Put(R(t, pkg+"/@/custom/doc"), J(t, `1`)).
		Link(R(t, pkg+"/@/call/build"), R(t, pkg+"/@1/call/build/1")))
	// A loop of links.
	tx := store.NewTx("loop")
	tx.Link(R(t, "@/custom/a"), R(t, pkg+"/@/custom/doc"))
	commit(t, s, tx)
	commit(t, s, store.NewTx("loop2").Link(R(t, "@/custom/b"), R(t, "@/custom/a")))
	commit(t, s, store.NewTx("loop3").Link(R(t, "@/custom/a"), R(t, "@/custom/b")))
	_, err := get(t, s, "@/custom/a")
	wantErr(t, err, store.ELinkLoop, "")

	tests := []struct {
		name string
		tx   *store.Tx
		code store.Code
		msg  string
	}{
		{"link at a numbered release", store.NewTx("x").Link(R(t, pkg+"/@2"), R(t, pkg+"/@1")), store.EBadLink, "links can only be stored at release level or below a subpath"},
		{"link below a global subpath", store.NewTx("x").Link(R(t, "@/custom/z/y"), R(t, pkg+"/@1")), "", ""},
		{"link over a document", store.NewTx("x").Link(R(t, pkg+"/@/custom/doc"), R(t, pkg+"/@1")), store.EIsDoc, "a document is stored here; it cannot become a link"},
		{"link to nothing", store.NewTx("x").Link(R(t, pkg+"/@v9"), R(t, pkg+"/@9")), store.ENotFound, ""},
		{"put at a link", store.NewTx("x").Put(R(t, pkg+"/@/call/build"), 1), store.EIsLink, "a link is stored here (-> " + pkg + "/@1/call/build/1); write the target instead"},
		{"put under a link", store.NewTx("x").Put(R(t, pkg+"/@/call/build/logs"), 1), store.EUnderLink, "lies under link " + pkg + "/@/call/build; write " + pkg + "/@1/call/build/1/logs instead"},
		{"unlink a document", store.NewTx("x").Unlink(R(t, pkg+"/@/custom/doc")), store.EIsDoc, ""},
		{"put a fragment", store.NewTx("x").Put(R(t, "+/custom/x#a"), 1), store.EFragment, "cannot write a fragment; write the whole document"},
		{"delete nothing", store.NewTx("x").Delete(R(t, "+/custom/absent"), false), store.ENotFound, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Commit(context.Background(), tt.tx)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("commit: %v", err)
				}
				return
			}
			wantErr(t, err, tt.code, tt.msg)
		})
	}
	if _, err := get(t, s, pkg+"/@v9"); store.CodeOf(err) != store.ENotFound {
		t.Errorf("failed link transaction left something: %v", err)
	}
}

func testFallback(t *testing.T, open Opener) {
	s, _ := open(t, map[string]string{
		// @10 sorts before @9 bytewise; the fallback compares numbers.
		"refs/" + pkg + "/@9/@object.json":             `{"kind":"ref","body":{"commit":"c9"}}`,
		"refs/" + pkg + "/@10/@object.json":            `{"kind":"ref","body":{"commit":"c10"}}`,
		"refs/" + pkg + "/@10/commit/c10/@object.json": `{"kind":"ref","body":{"time":"t"}}`,
		"refs/" + pkg + "/@11/call/x/@object.json":     `{"kind":"ref","body":"a release folder without a document"}`,
		"refs/" + pkg + "/@/custom/x/@object.json":     `{"kind":"ref","body":"package level"}`,
		"refs/" + pkg + "/+/custom/y/@object.json":     `{"kind":"ref","body":"intent"}`,
	})
	defer s.Close()
	tests := []struct{ in, want string }{
		{pkg + "/@", pkg + "/@10"},
		{pkg + "/@#commit", pkg + "/@10#commit"},
		{pkg + "/@/commit/c10", pkg + "/@10/commit/c10"},
		{pkg + "/@/custom/x", pkg + "/@/custom/x"},
	}
	for _, tt := range tests {
		d, err := get(t, s, tt.in)
		if err != nil {
			t.Errorf("get %s: %v", tt.in, err)
			continue
		}
		if d.Ref.String() != tt.want {
			t.Errorf("get %s resolved to %s, want %s", tt.in, d.Ref, tt.want)
		}
	}
	for _, absent := range []string{pkg + "/@/commit/c9", pkg + "/@/deploy/staging", pkg + "/@/call/x", pkg + "/+", "example/-/other.ocu.star/@"} {
		if _, err := get(t, s, absent); store.CodeOf(err) != store.ENotFound {
			t.Errorf("get %s: %v, want not found", absent, err)
		}
	}
}

func testMatch(t *testing.T, open Opener) {
	files := map[string]string{}
	doc := `{"kind":"ref","body":{}}`
	for _, r := range []string{
		pkg + "/@1", pkg + "/@1/commit/c1", pkg + "/@2", pkg + "/@2/commit/c2", pkg + "/@10", pkg + "/@9",
		pkg + "/@1/deploy/production", pkg + "/@1/deploy/production/1", pkg + "/@1/deploy/staging",
		"example/-/backend/release.ocu.star/@1/deploy/production",
		"@/environment/production", "@/environment/staging", "+/environment/staging", "+/custom/a/b/c",
	} {
		files["refs/"+r+"/@object.json"] = doc
	}
	files["refs/"+pkg+"/@/deploy/production/@object.json"] = `{"kind":"link","body":"` + pkg + `/@1/deploy/production/1"}`
	files["refs/"+pkg+"/@v1/@object.json"] = `{"kind":"link","body":"` + pkg + `/@1"}`
	files["refs/@/@object.json"] = `{"kind":"link","body":"@c0"}`
	files["refs/@c0/@object.json"] = doc
	files["refs/"+pkg+"/@1/call/@object.json.txt"] = "not an object"
	s, _ := open(t, files)
	defer s.Close()

	tests := []struct {
		globs   []string
		noLinks bool
		want    []string
	}{
		{[]string{pkg + "/@*/commit/*"}, false, []string{pkg + "/@1/commit/c1", pkg + "/@2/commit/c2"}},
		{[]string{"**/deploy/production"}, false, []string{
			"example/-/backend/release.ocu.star/@1/deploy/production",
			pkg + "/@/deploy/production",
			pkg + "/@1/deploy/production",
		}},
		{[]string{"**/deploy/production"}, true, []string{
			"example/-/backend/release.ocu.star/@1/deploy/production",
			pkg + "/@1/deploy/production",
		}},
		{[]string{pkg + "/@*"}, false, []string{pkg + "/@1", pkg + "/@10", pkg + "/@2", pkg + "/@9", pkg + "/@v1"}},
		{[]string{pkg + "/@*"}, true, []string{pkg + "/@1", pkg + "/@10", pkg + "/@2", pkg + "/@9"}},
		{[]string{"*"}, false, []string{"@", "@c0"}},
		{[]string{"*"}, true, []string{"@", "@c0"}},
		{[]string{"@/environment/*", "+/environment/*"}, false, []string{"+/environment/staging", "@/environment/production", "@/environment/staging"}},
		{[]string{"{@,+}/environment/staging"}, false, []string{"+/environment/staging", "@/environment/staging"}},
		{[]string{"+/custom/**"}, false, []string{"+/custom/a/b/c"}},
		{[]string{"+/custom/*"}, false, nil},
		{[]string{"@/environment/staging", "@/environment/*"}, false, []string{"@/environment/production", "@/environment/staging"}},
		{[]string{pkg + "/@1/deploy/production"}, false, []string{pkg + "/@1/deploy/production"}},
		{[]string{"nothing/**"}, false, nil},
		{[]string{pkg + "/@[12]"}, false, []string{pkg + "/@1", pkg + "/@2"}},
		{[]string{pkg + "/@?"}, false, []string{pkg + "/@1", pkg + "/@2", pkg + "/@9"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.globs, tt.noLinks), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, match(t, s, tt.noLinks, tt.globs...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"@/environment/x#name", "{a,b"} {
		if _, err := s.Match(context.Background(), []string{bad}, false); err == nil {
			t.Errorf("match %q: no error", bad)
		}
	}
}

// testMatchSkipping: a skipped release folder lists nothing at or below
// it, even when a glob's literal prefix lies inside it; everything else is
// listed as by Match, and skip is asked only about folders named "@…".
func testMatchSkipping(t *testing.T, open Opener) {
	files := map[string]string{}
	doc := `{"kind":"ref","body":{}}`
	other := "example/-/backend/release.ocu.star"
	for _, r := range []string{
		pkg + "/@1", pkg + "/@1/commit/c1", pkg + "/@1/deploy/production", pkg + "/@1/deploy/production/1",
		pkg + "/@2", pkg + "/@2/commit/c2", pkg + "/@10", pkg + "/@10/custom/x",
		other + "/@1", other + "/@1/deploy/staging",
		"@/environment/production", "@/custom/a", "+/environment/staging", "+/custom/a",
	} {
		files["refs/"+r+"/@object.json"] = doc
	}
	link := func(target string) string { return `{"kind":"link","body":"` + target + `"}` }
	files["refs/"+pkg+"/@/deploy/production/@object.json"] = link(pkg + "/@1/deploy/production/1")
	// The chain links the engine keeps (store.KeptLinkFolder): Match lists
	// them, MatchSkipping does not enter their folders.
	kept := []string{pkg + "/@/deploy/production/1", pkg + "/@/call/build", pkg + "/@/call/build/2"}
	files["refs/"+kept[0]+"/@object.json"] = link(pkg + "/@1/deploy/production/1")
	files["refs/"+kept[1]+"/@object.json"] = link(pkg + "/@2/call/build/2")
	files["refs/"+kept[2]+"/@object.json"] = link(pkg + "/@2/call/build/2")
	s, _ := open(t, files)
	defer s.Close()
	ix, ok := s.(store.Indexed)
	if !ok {
		t.Fatalf("%T does not implement store.Indexed", s)
	}
	globs := [][]string{
		{"**"}, {pkg + "/**"}, {pkg + "/@*/commit/*"}, {pkg + "/@1/commit/*"}, {pkg + "/@1"},
		{"**/deploy/*"}, {"*/-/*/*/@*"}, {"+/**", "@/**"}, {pkg + "/@1/deploy/production/1", other + "/**"},
	}
	tests := []struct {
		name string
		skip []string // release folders skipped
	}{
		{"none", nil},
		{"one", []string{pkg + "/@1"}},
		{"two packages", []string{pkg + "/@2", other + "/@1"}},
		{"all", []string{pkg + "/@1", pkg + "/@2", pkg + "/@10", other + "/@1"}},
	}
	for _, tt := range tests {
		for _, g := range globs {
			t.Run(fmt.Sprint(tt.name, g), func(t *testing.T) {
				var mu sync.Mutex
				var asked []string
				skip := func(release string) bool {
					mu.Lock()
					asked = append(asked, release)
					mu.Unlock()
					return slices.Contains(tt.skip, release)
				}
				got, err := ix.MatchSkipping(context.Background(), g, skip)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				inKept := func(r string) bool {
					return strings.HasPrefix(r, pkg+"/@/call/") || strings.HasPrefix(r, pkg+"/@/deploy/production/")
				}
				for _, r := range match(t, s, false, g...) {
					if !slices.ContainsFunc(tt.skip, func(rel string) bool { return r == rel || strings.HasPrefix(r, rel+"/") }) && !inKept(r) {
						want = append(want, r)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				for _, a := range asked {
					last := a[strings.LastIndexByte(a, '/')+1:]
					if len(last) < 2 || last[0] != '@' {
						t.Errorf("skip asked about %q, not a release folder", a)
					}
				}
			})
		}
	}
	// A skipped release hides its own document and everything in it.
	got, err := ix.MatchSkipping(context.Background(), []string{"**"}, func(r string) bool { return r == pkg+"/@1" })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r == pkg+"/@1" || strings.HasPrefix(r, pkg+"/@1/") {
			t.Errorf("listed %s of a skipped release", r)
		}
	}
	if !slices.Contains(got, pkg+"/@10/custom/x") || !slices.Contains(got, "+/custom/a") || !slices.Contains(got, pkg+"/@/deploy/production") {
		t.Errorf("refs outside the skipped release missing: %v", got)
	}
	// The kept chain links are there for Match, not for MatchSkipping, even
	// when a glob starts inside their folders.
	for _, g := range []string{"**", pkg + "/@/call/**", pkg + "/@/deploy/production/1"} {
		all := match(t, s, false, g)
		skipping, err := ix.MatchSkipping(context.Background(), []string{g}, func(string) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kept {
			if ok, _ := path.Match(g, k); (ok || g == "**") && !slices.Contains(all, k) {
				t.Errorf("Match(%q) does not list %s", g, k)
			}
			if slices.Contains(skipping, k) {
				t.Errorf("MatchSkipping(%q) lists %s, in a kept link folder", g, k)
			}
		}
	}
}

func testTransactions(t *testing.T, open Opener) {
	s, read := open(t, nil)
	defer s.Close()
	commit(t, s, store.NewTx("seed").Put(R(t, "+/custom/a"), 1))
	// A failing operation leaves nothing written.
	err := s.Commit(context.Background(), store.NewTx("fails").
		Put(R(t, "+/custom/b"), 2).
		Put(R(t, "+/custom/a"), 3).
		Create(R(t, "+/custom/a"), 4))
	wantErr(t, err, store.EConflict, "already exists (concurrent writer)")
	wantValue(t, s, "+/custom/a", "1")
	if _, ok := read("refs/+/custom/b/@object.json"); ok {
		t.Error("a failed transaction wrote +/custom/b")
	}
	// Operations apply in order.
	commit(t, s, store.NewTx("order").Put(R(t, "+/custom/c"), 1).Delete(R(t, "+/custom/c"), false).Create(R(t, "+/custom/c"), 2))
	wantValue(t, s, "+/custom/c", "2")
	// Unencodable values fail the transaction.
	if err := s.Commit(context.Background(), store.NewTx("bad").Put(R(t, "+/custom/d"), func() {})); err == nil {
		t.Error("an unencodable value was committed")
	}
	// Deleting with missingOK, and a transaction that changes nothing.
	commit(t, s, store.NewTx("noop").Delete(R(t, "+/custom/absent"), true).Put(R(t, "+/custom/a"), 1))
	// Relative refs never reach a store.
	if err := s.Commit(context.Background(), store.NewTx("rel").Put(R(t, "./custom/x"), 1)); err == nil {
		t.Error("a relative ref was committed")
	}
}

func testLegacy(t *testing.T, open Opener) {
	// Written by the original Ocuroot: Go type names in
	// body_type, unsorted back-references, compact layout, root links.
	s, read := open(t, map[string]string{
		".ocuroot-store": `{"version":1}`,
		"refs/example/-/legacy.ocu.star/@1/@object.json":  `{"kind":"ref","body_type":"release.ReleaseInfo","links":["example/-/legacy.ocu.star/@v2","example/-/legacy.ocu.star/@v1"],"body":{"commit":"c0","package":{}}}`,
		"refs/example/-/legacy.ocu.star/@v1/@object.json": `{"kind":"link","body":"example/-/legacy.ocu.star/@1"}`,
		"refs/example/-/legacy.ocu.star/@v2/@object.json": "{\"body_type\":\"string\",\"body\":\"example/-/legacy.ocu.star/@1\",\"kind\":\"link\"}\n",
		"refs/@/@object.json":                             `{"kind":"link","body":"@c0"}`,
		"refs/@c0/@object.json":                           `{"kind":"ref","body":{"source":"b2N1cm9vdCgiMC4zLjAiKQo="}}`,
		"refs/@/environment/staging/@object.json":         `{"kind":"ref","body":{"name":"staging","attributes":{"type":"staging"}}}`,
	})
	defer s.Close()
	wantValue(t, s, "example/-/legacy.ocu.star/@v2#commit", `"c0"`)
	wantValue(t, s, "@c0#source", `"b2N1cm9vdCgiMC4zLjAiKQo="`)
	wantValue(t, s, "@/environment/staging", `{"attributes":{"type":"staging"},"name":"staging"}`)
	_, err := get(t, s, "@")
	wantErr(t, err, store.ENotFound, "not found (a link stored here is not followed)")
	if diff := cmp.Diff([]string{"example/-/legacy.ocu.star/@1", "example/-/legacy.ocu.star/@v1", "example/-/legacy.ocu.star/@v2"},
		match(t, s, false, "example/-/legacy.ocu.star/@*")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"example/-/legacy.ocu.star/@1"}, match(t, s, true, "example/-/legacy.ocu.star/@*")); diff != "" {
		t.Errorf("--no-links (-want +got):\n%s", diff)
	}
	// Rewriting normalises: body_type dropped, back-references sorted.
	commit(t, s, store.NewTx("rewrite").Put(R(t, "example/-/legacy.ocu.star/@1"), J(t, `{"commit":"c0","package":{}}`)))
	got, _ := read("refs/example/-/legacy.ocu.star/@1/@object.json")
	want := `{
  "kind": "ref",
  "links": [
    "example/-/legacy.ocu.star/@v1",
    "example/-/legacy.ocu.star/@v2"
  ],
  "body": {
    "commit": "c0",
    "package": {}
  }
}`
	if got != want {
		t.Errorf("rewritten legacy document:\n%s\nwant\n%s", got, want)
	}
}

func testCorrupt(t *testing.T, open Opener) {
	s, _ := open(t, map[string]string{
		"refs/+/custom/kind/@object.json":   `{"kind":"blob","body":1}`,
		"refs/+/custom/nokind/@object.json": `{"body":1}`,
		"refs/+/custom/json/@object.json":   `{"kind":`,
		"refs/@/custom/link/@object.json":   `{"kind":"link","body":"not a ref/../x"}`,
		"refs/@/custom/link2/@object.json":  `{"kind":"link","body":5}`,
	})
	defer s.Close()
	for _, r := range []string{"+/custom/kind", "+/custom/nokind", "+/custom/json", "@/custom/link", "@/custom/link2/x"} {
		_, err := get(t, s, r)
		wantErr(t, err, store.ECorrupt, "")
	}
	ctx := context.Background()

	// Match without links reads link positions: it lists what it can read
	// and names the corrupt objects in an E_CORRUPT error.
	got, err := s.Match(ctx, []string{"+/custom/*", "@/custom/*"}, true)
	if store.CodeOf(err) != store.ECorrupt {
		t.Errorf("match -l over corrupt objects: %v, want E_CORRUPT", err)
	}
	for _, r := range []string{"+/custom/kind", "+/custom/json", "@/custom/link"} {
		if err == nil || !strings.Contains(err.Error(), r+": ") {
			t.Errorf("match -l error %v does not name %s", err, r)
		}
	}
	if len(got) != 0 {
		t.Errorf("match -l listed corrupt objects: %q", got)
	}

	// Without ReplaceCorrupt, corrupt objects cannot be written over.
	err = s.Commit(ctx, store.NewTx("x").Put(R(t, "+/custom/json"), 1))
	wantErr(t, err, store.ECorrupt, "")
	err = s.Commit(ctx, store.NewTx("x").Delete(R(t, "+/custom/kind"), false))
	wantErr(t, err, store.ECorrupt, "")

	// With it, they are replaced and removed, and reported.
	var reported []string
	tx := store.NewTx("repair").Put(R(t, "+/custom/json"), 1).Delete(R(t, "+/custom/kind"), false).Put(R(t, "+/custom/new"), 2)
	tx.ReplacingCorrupt(func(r string, err error) {
		if store.CodeOf(err) != store.ECorrupt {
			t.Errorf("reported %s with %v", r, err)
		}
		reported = append(reported, r)
	})
	commit(t, s, tx)
	slices.Sort(reported)
	reported = slices.Compact(reported)
	if diff := cmp.Diff([]string{"+/custom/json", "+/custom/kind"}, reported); diff != "" {
		t.Errorf("reported (-want +got):\n%s", diff)
	}
	wantValue(t, s, "+/custom/json", "1")
	_, err = get(t, s, "+/custom/kind")
	wantErr(t, err, store.ENotFound, "")
	got, err = s.Match(ctx, []string{"+/custom/*"}, true)
	if store.CodeOf(err) != store.ECorrupt || !strings.Contains(err.Error(), "+/custom/nokind") {
		t.Errorf("match -l: %v", err)
	}
	if diff := cmp.Diff([]string{"+/custom/json", "+/custom/new"}, got); diff != "" {
		t.Errorf("match -l after the repair (-want +got):\n%s", diff)
	}
}

func testChildren(t *testing.T, open Opener) {
	s, _ := open(t, nil)
	defer s.Close()
	commit(t, s, store.NewTx("seed").
		Put(R(t, pkg+"/@1"), 1).
		Put(R(t, pkg+"/@1/deploy/staging"), 1).
		Put(R(t, pkg+"/@1/call/build/1"), 1).
		Put(R(t, "@/custom/x"), 1))
	got, err := s.Children(context.Background(), R(t, pkg+"/@1"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{pkg + "/@1/call", pkg + "/@1/deploy"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err = s.Children(context.Background(), ref.Ref{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"@", "example"}, got); diff != "" {
		t.Errorf("top level (-want +got):\n%s", diff)
	}
	got, err = s.Children(context.Background(), R(t, "example/-/"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"example/-/frontend"}, got); diff != "" {
		t.Errorf("repo level (-want +got):\n%s", diff)
	}
}

func testConcurrent(t *testing.T, open Opener) {
	s, _ := open(t, nil)
	defer s.Close()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := R(t, fmt.Sprintf("+/custom/k%d", i))
			errs[i] = s.Commit(context.Background(), store.NewTx("k").Put(r, i).Put(R(t, "+/custom/same"), i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if got := match(t, s, false, "+/custom/k*"); len(got) != len(errs) {
		t.Errorf("%d documents landed, want %d: %v", len(got), len(errs), got)
	}
}

func testExpect(t *testing.T, open Opener) {
	s, _ := open(t, nil)
	defer s.Close()
	commit(t, s, store.NewTx("seed").Put(R(t, "+/custom/claim"), J(t, `{"status":"pending","n":1}`)))
	// The expected value matches: the transaction commits.
	commit(t, s, store.NewTx("claim").
		Expect(R(t, "+/custom/claim"), J(t, `{"n":1,"status":"pending"}`)).
		Put(R(t, "+/custom/claim"), J(t, `{"status":"running","n":1}`)))
	wantValue(t, s, "+/custom/claim#status", `"running"`)
	// It changed meanwhile: nothing is written.
	err := s.Commit(context.Background(), store.NewTx("late claim").
		Expect(R(t, "+/custom/claim"), J(t, `{"status":"pending","n":1}`)).
		Put(R(t, "+/custom/claim"), J(t, `{"status":"mine"}`)))
	wantErr(t, err, store.EConflict, "changed by another writer")
	wantValue(t, s, "+/custom/claim#status", `"running"`)
	// Nothing stored is expected with nil.
	commit(t, s, store.NewTx("absent").Expect(R(t, "+/custom/none"), nil).Put(R(t, "+/custom/none"), 1))
	err = s.Commit(context.Background(), store.NewTx("absent again").Expect(R(t, "+/custom/none"), nil))
	wantErr(t, err, store.EConflict, "")
}
