package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// testRepo is a repo folder with package files and a filesystem store.
type testRepo struct {
	t      *testing.T
	e      *Engine
	out    bytes.Buffer
	errOut bytes.Buffer
}

// newTestRepo writes files (path → content) into a repo root and returns an
// engine over a new filesystem store, at commit "c1".
func newTestRepo(t *testing.T, files map[string]string) *testRepo {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.OpenFS(filepath.Join(root, ".store"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tr := &testRepo{t: t}
	tr.e = New(Config{Store: s, Repo: "example", Commit: "c1", Root: root, RepoConfig: []byte("ocuroot(\"0.3.0\")\n")},
		Options{Stdout: &tr.out, Stderr: &tr.errOut, Prog: "test"})
	return tr
}

func (tr *testRepo) value(r string) any {
	tr.t.Helper()
	v, found, err := tr.e.getValue(context.Background(), tr.ref(r))
	if err != nil || !found {
		tr.t.Fatalf("get %s: found %v, %v", r, found, err)
	}
	return v
}

func (tr *testRepo) exists(r string) bool {
	tr.t.Helper()
	found, err := tr.e.get(context.Background(), tr.ref(r), nil)
	if err != nil {
		tr.t.Fatal(err)
	}
	return found
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPhases(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // phases as "name:item,item|…"
		deps map[string][]string
		err  string
	}{
		{
			name: "work outside phases forms unnamed phases",
			src: `
def f(ctx):
    return done()
a = call(f, name="a")
b = call(f, name="b")
phase("p", work=[b])
c = call(f, name="c")
`,
			want: ":a|p:b|:c",
			deps: map[string][]string{"a": nil, "b": {"call/a"}, "c": {"call/b"}},
		},
		{
			name: "empty phases are skipped for dependencies",
			src: `
def f(ctx):
    return done()
phase("one", work=[call(f, name="a")])
phase("empty", work=[])
phase("two", work=[call(f, name="b"), call(f, name="c")])
`,
			want: "one:a|empty:|two:b,c",
			deps: map[string][]string{"a": nil, "b": {"call/a"}, "c": {"call/a"}},
		},
		{
			name: "an item in two phases",
			src: `
def f(ctx):
    return done()
a = call(f, name="a")
phase("one", work=[a])
phase("two", work=[a])
`,
			err: `call "a" is in two phases`,
		},
		{
			name: "a lambda is not a top-level function",
			src:  `call(lambda ctx: done(), name="a")`,
			err:  "fn must be a top-level function, not a lambda",
		},
		{
			name: "a nested function is not a top-level function",
			src: `
def outer():
    def inner(ctx):
        return done()
    return inner
call(outer(), name="a")
`,
			err: "pkg.ocu.star:7:5: fn must be a top-level function",
		},
		{
			name: "a call name twice",
			src: `
def f(ctx):
    return done()
call(f, name="a")
call(f, name="a")
`,
			err: `call "a" is declared twice`,
		},
		{
			name: "neither work nor environments",
			src:  `x = 1`,
			err:  "pkg.ocu.star declares no work and no environments",
		},
		{
			name: "input without ref or default",
			src: `
def f(ctx):
    return done()
call(f, name="a", inputs={"x": input(doc="nothing")})
`,
			err: "input() needs ref= or default=",
		},
		{
			name: "an input with no value",
			src: `
def f(ctx):
    return done()
call(f, name="a", inputs={"x": None})
`,
			err: `input "x" has no value`,
		},
		{
			name: "a glob is not a ref",
			src: `
def f(ctx):
    return done()
call(f, name="a", inputs={"x": ref("./call/*")})
`,
			err: "glob character",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\n" + tt.src})
			ev, err := tr.e.evaluate(context.Background(), "pkg.ocu.star", "c1", "1")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var phases []string
			for _, ph := range ev.pkg.Phases {
				var items []string
				for _, w := range ph.Work {
					_, name := w.Kind()
					items = append(items, name)
				}
				phases = append(phases, ph.Name+":"+strings.Join(items, ","))
			}
			if got := strings.Join(phases, "|"); got != tt.want {
				t.Errorf("phases %q, want %q", got, tt.want)
			}
			deps := map[string][]string{}
			for _, pc := range plan(state.ReleaseID{Repo: "example", File: "pkg.ocu.star", Number: "1"}, ev.pkg) {
				var short []string
				for _, d := range pc.deps {
					short = append(short, strings.TrimSuffix(strings.TrimPrefix(d, "example/-/pkg.ocu.star/@1/"), "/*/status/complete"))
				}
				deps[pc.item.Name] = short
			}
			if diff := cmp.Diff(tt.deps, deps); diff != "" {
				t.Errorf("dependencies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInputs(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done()
call(f, name="a", inputs={
    "plain": 5,
    "defaulted": input(default="d"),
    "required": ref("./custom/approval"),
    "other": input(ref="./-/other.ocu.star/@/deploy/prod#output/url", default=0, doc="url"),
    "from_global": ref("@/custom/x"),
    "wrapped": {"value": {"ref": "not a ref"}},
    "descriptor": {"value": 1, "doc": "one"},
})
`})
	ev, err := tr.e.evaluate(context.Background(), "pkg.ocu.star", "c1", "7")
	if err != nil {
		t.Fatal(err)
	}
	got := jsonOf(t, ev.pkg.Phases[0].Work[0].Call.Inputs)
	want := `{"defaulted":{"default":"d"},"descriptor":{"doc":"one","value":1},` +
		`"from_global":{"ref":"@/custom/x"},` +
		`"other":{"default":0,"doc":"url","ref":"example/-/other.ocu.star/@/deploy/prod#output/url"},` +
		`"plain":{"value":5},"required":{"ref":"example/-/pkg.ocu.star/@7/custom/approval"},` +
		`"wrapped":{"value":{"ref":"not a ref"}}}`
	if got != want {
		t.Errorf("inputs\n got %s\nwant %s", got, want)
	}
}

// TestDefaultOnlyInput: input(default=…) without a ref runs with its default
// (a defect of the original, docs/engine.md §17).
func TestDefaultOnlyInput(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done(outputs={"got": ctx.inputs.x})
call(f, name="a", inputs={"x": input(default="fallback")})
`})
	failed, err := tr.e.ReleaseNew(context.Background(), "pkg.ocu.star", false)
	if err != nil || failed {
		t.Fatalf("release: failed %v, %v\n%s", failed, err, tr.out.String())
	}
	if got := tr.value("example/-/pkg.ocu.star/@1/call/a#output/got"); got != "fallback" {
		t.Errorf("output %v, want fallback", got)
	}
	// One history entry per status change (a defect of the original).
	var statuses []string
	for _, h := range tr.value("example/-/pkg.ocu.star/@1/call/a/1/functions/1#history").([]any) {
		statuses = append(statuses, h.(map[string]any)["status"].(string))
	}
	if diff := cmp.Diff([]string{"pending", "running", "complete"}, statuses); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestCallingConventions: one ctx parameter, or the inputs as keyword
// arguments (docs/engine.md §9.2).
func TestCallingConventions(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def with_ctx(ctx):
    return done(outputs={"id": ctx.work_id, "x": ctx.inputs.x})
def with_kwargs(x, y=2):
    return done(outputs={"sum": x + y})
def missing(z):
    return done()
call(with_ctx, name="a", inputs={"x": 1})
call(with_kwargs, name="b", inputs={"x": 40})
call(missing, name="c", inputs={"x": 1})
`})
	failed, err := tr.e.ReleaseNew(context.Background(), "pkg.ocu.star", false)
	if err != nil || !failed {
		t.Fatalf("release: failed %v, %v", failed, err)
	}
	if got := jsonOf(t, tr.value("example/-/pkg.ocu.star/@1/call/a#output")); got != `{"id":"1","x":1}` {
		t.Errorf("ctx call: %s", got)
	}
	if got := jsonOf(t, tr.value("example/-/pkg.ocu.star/@1/call/b#output/sum")); got != `42` {
		t.Errorf("keyword call: %s", got)
	}
	msg := tr.value("example/-/pkg.ocu.star/@1/call/c/1/functions/1#current/error").(string)
	if !strings.Contains(msg, "unexpected keyword argument \"x\"") {
		t.Errorf("error %q", msg)
	}
}

// TestResults: every result that is not a valid done() or next() fails the
// function with a stored message, and the chain never stays pending.
func TestResults(t *testing.T) {
	tests := []struct{ body, err string }{
		{"return None", `function "f" returned None; return done(...) or next(...)`},
		{"return 5", `function "f" returned int; return done(...) or next(...)`},
		{"return done(outputs={1: 2})", "done(): output names must be strings"},
		{"return done(outputs={'f': f})", `done(): output "f": cannot encode function as JSON`},
		{"return done(tags=['a/b'])", `invalid tag "a/b"`},
		{"return done(tags=['123'])", `invalid tag "123": a tag cannot be all digits`},
		{"return next(lambda ctx: done())", "next(): fn must be a top-level function, not a lambda"},
		{"return next(f, inputs={'bad-name': 1})", `next(): invalid input name "bad-name"`},
		{"fail('boom')", "fail: boom"},
		{"return shell('exit 3')", "command exited with status 3"},
		{"v = 1\n    for i in range(513):\n        v = [v]\n    return done(outputs={'v': v})", `done(): output "v": cannot encode list as JSON: nested deeper than 512 levels`},
		{"return done(outputs={'s': 'é'[:1]})", `done(): output "s": cannot encode string as JSON: invalid UTF-8 at offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\ndef f(ctx):\n    " + tt.body + "\ncall(f, name=\"a\")\n"})
			failed, err := tr.e.ReleaseNew(context.Background(), "pkg.ocu.star", false)
			if err != nil || !failed {
				t.Fatalf("release: failed %v, %v", failed, err)
			}
			msg := tr.value("example/-/pkg.ocu.star/@1/call/a/1/functions/1#current/error").(string)
			if !strings.Contains(msg, tt.err) {
				t.Errorf("error %q, want %q", msg, tt.err)
			}
			for _, marker := range []string{"call/a/1/status/failed", "call/a/status/failed", "call/a/1/functions/1/status/failed"} {
				if !tr.exists("example/-/pkg.ocu.star/@1/" + marker) {
					t.Errorf("missing marker %s", marker)
				}
			}
			if tr.exists("example/-/pkg.ocu.star/@1/call/a/1/functions/2") || tr.exists("example/-/pkg.ocu.star/@v1") {
				t.Error("a failed function continued its chain")
			}
		})
	}
}

// TestReleaseStatus: the status comes from the latest chain of every work
// item, whatever the order of the refs (docs/engine.md §7).
func TestReleaseStatus(t *testing.T) {
	tests := []struct {
		chains map[string][]string // item → statuses of chains 1..K
		want   string
	}{
		{map[string][]string{"call/a": {"complete"}, "deploy/b": {"complete"}}, "complete"},
		{map[string][]string{"call/a": {"failed", "complete"}, "deploy/z": {"complete"}}, "complete"},
		{map[string][]string{"call/a": {"complete"}, "deploy/z": {"complete", "failed"}}, "failed"},
		{map[string][]string{"call/z": {"failed"}, "deploy/a": {"pending"}}, "failed"},
		{map[string][]string{"call/a": {"pending"}, "call/b": {"cancelled"}}, "pending"},
		{map[string][]string{"call/a": {"failed_retried", "cancelled"}}, "complete"},
		{map[string][]string{}, "complete"},
	}
	for i, tt := range tests {
		tr := newTestRepo(t, nil)
		b := store.NewTx("seed")
		for item, statuses := range tt.chains {
			for k, s := range statuses {
				c := "example/-/pkg.ocu.star/@1/" + item + "/" + string(rune('1'+k))
				b.Put(tr.ref(c), state.Chain{Release: "example/-/pkg.ocu.star/@1"})
				b.Put(tr.ref(c+"/status/"+s), state.Marker{Time: "t"})
			}
		}
		if err := tr.e.commit(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		got, err := tr.e.releaseStatus(context.Background(), releaseID(t, "example/-/pkg.ocu.star/@1"))
		if err != nil || got != tt.want {
			t.Errorf("case %d: status %q, %v; want %q", i, got, err, tt.want)
		}
	}
}

func TestJSONEqual(t *testing.T) {
	n := func(s string) any { return json.Number(s) }
	tests := []struct {
		a, b any
		want bool
	}{
		{n("1"), n("1.0"), true},
		{n("1e2"), n("100"), true},
		{n("1"), n("2"), false},
		{map[string]any{"a": n("1")}, map[string]any{"a": n("1.00")}, true},
		{[]any{"x", nil}, []any{"x", nil}, true},
		{[]any{"x"}, []any{"x", nil}, false},
		{"1", n("1"), false},
		{nil, false, false},
	}
	for _, tt := range tests {
		if got := jsonEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("jsonEqual(%v, %v) = %v", tt.a, tt.b, got)
		}
	}
}

func TestCompareRefs(t *testing.T) {
	refs := []string{"a/deploy/e/10/functions/1", "a/deploy/e/9/functions/2", "a/deploy/e/9/functions/10", "a/call/b/1"}
	want := []string{"a/call/b/1", "a/deploy/e/9/functions/2", "a/deploy/e/9/functions/10", "a/deploy/e/10/functions/1"}
	got := append([]string(nil), refs...)
	slices.SortFunc(got, compareRefs)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseWorkRef(t *testing.T) {
	tests := []struct {
		in   string
		want state.WorkID
		bad  bool
	}{
		{in: "example/-/f.ocu.star/@1/call/build", want: state.WorkID{Release: state.ReleaseID{Repo: "example", File: "f.ocu.star", Number: "1"}, Type: "call", Name: "build"}},
		{in: "example/-/f.ocu.star/@2/deploy/prod/3", want: state.WorkID{Release: state.ReleaseID{Repo: "example", File: "f.ocu.star", Number: "2"}, Type: "deploy", Name: "prod", Chain: 3}},
		{in: "example/-/f.ocu.star/@2/deploy/prod/3/functions/4", want: state.WorkID{Release: state.ReleaseID{Repo: "example", File: "f.ocu.star", Number: "2"}, Type: "deploy", Name: "prod", Chain: 3, Fn: 4}},
		{in: "example/-/f.ocu.star/@/deploy/prod/3", bad: true},
		{in: "example/-/f.ocu.star/@1/custom/x", bad: true},
		{in: "example/-/f.ocu.star/@1/call/b/01", bad: true},
		{in: "example/-/f.ocu.star/@1/call/b/1/logs", bad: true},
	}
	for _, tt := range tests {
		got, err := state.ParseWork(mustRef(t, tt.in))
		if tt.bad {
			if err == nil {
				t.Errorf("%s: no error", tt.in)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v", tt.in, got, err)
		}
		if got.Fn > 0 && got.FnRef().String() != tt.in || got.Fn == 0 && got.Chain > 0 && got.ChainRef().String() != tt.in {
			t.Errorf("%s: prints back differently", tt.in)
		}
	}
}

func TestValidEnvironment(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		err  string
	}{
		{"prod", `{"name":"prod","attributes":{"type":"prod"}}`, ""},
		{"prod", `{"name":"prod","attributes":{}}`, ""},
		{"bad", `{"name":"other","attributes":{}}`, `environment name "other" must match the ref's name "bad"`},
		{"x", `{"name":"x"}`, "attributes missing"},
		{"x", `{"name":"x","attributes":{"n":1}}`, `attribute "n" must be a string`},
		{"x", `{"name":"x","attributes":{},"extra":1}`, `unknown field "extra"`},
		{"x", `"x"`, "expected an object"},
	}
	for _, tt := range tests {
		v, err := store.DecodeValue([]byte(tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		_, err = validEnvironment(tt.name, v)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s %s: %v, want %q", tt.name, tt.doc, err, tt.err)
		}
	}
}
