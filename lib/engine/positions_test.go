package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/state"
)

// compatFiles is a package in a folder that loads a module; the comments
// give the positions of the defs.
var compatFiles = map[string]string{
	"frontend/release.ocu.star": `ocuroot("0.3.0")
load("./tasks.ocu.star", "build")
def gate(ctx):
    print("gate opened")
    return next(finish)
def finish(ctx):
    return done()
call(build, name="build")
call(gate, name="gate")
`, // gate at 3:1, finish at 6:1
	"frontend/tasks.ocu.star": `ocuroot("0.3.0")
def build(ctx):
    print("building")
    return done(outputs={"image": "x"})
`, // build at 2:1
}

// TestFunctionPositions: positions name the package file by its base name
// and a loaded module by its load string, as the original client writes
// them; both the original's and the full-path form are found again.
func TestFunctionPositions(t *testing.T) {
	tr := newTestRepo(t, compatFiles)
	ev, err := tr.e.evaluate(context.Background(), "frontend/release.ocu.star", "c1", "1")
	if err != nil {
		t.Fatal(err)
	}
	var got []state.FuncID
	for _, ph := range ev.pkg.Phases {
		for _, w := range ph.Work {
			got = append(got, w.Call.Fn)
		}
	}
	want := []state.FuncID{{Name: "build", Pos: "./tasks.ocu.star:2:1"}, {Name: "gate", Pos: "release.ocu.star:3:1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored functions (-want +got):\n%s", diff)
	}

	lookups := []struct {
		id      state.FuncID
		want    string // function name found, "" when not found
		wantErr string
	}{
		{id: state.FuncID{Name: "gate", Pos: "release.ocu.star:3:1"}, want: "gate"},
		{id: state.FuncID{Name: "gate", Pos: "frontend/release.ocu.star:3:1"}, want: "gate"},
		{id: state.FuncID{Name: "finish", Pos: "release.ocu.star:6:1"}, want: "finish"},
		{id: state.FuncID{Name: "build", Pos: "./tasks.ocu.star:2:1"}, want: "build"},
		{id: state.FuncID{Name: "gate", Pos: "release.ocu.star:4:1"}, wantErr: `function "gate" (release.ocu.star:4:1) not found at commit c1`},
		{id: state.FuncID{Name: "gate", Pos: "backend/release.ocu.star:3:1"}, wantErr: `function "gate" (backend/release.ocu.star:3:1) not found at commit c1`},
		{id: state.FuncID{Name: "build", Pos: "frontend/tasks.ocu.star:2:1"}, wantErr: "not found"},
		{id: state.FuncID{Name: "build", Pos: "release.ocu.star:2:1"}, wantErr: "not found"},
	}
	for _, tt := range lookups {
		t.Run(tt.id.Name+"/"+tt.id.Pos, func(t *testing.T) {
			fn, err := ev.function(tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fn.Name() != tt.want {
				t.Errorf("found %s, want %s", fn.Name(), tt.want)
			}
		})
	}
}

// TestFunctionPositionCollision: a loaded module whose load string is the
// package file's base name cannot take the package file's functions.
func TestFunctionPositionCollision(t *testing.T) {
	tr := newTestRepo(t, map[string]string{
		"app/release.ocu.star": `ocuroot("0.3.0")
load("../lib/entry.ocu.star", "other")
def f(ctx):
    return done(outputs={"from": "package"})
call(f, name="a")
call(other, name="b")
`,
		"lib/entry.ocu.star": "ocuroot(\"0.3.0\")\nload(\"release.ocu.star\", \"f\")\nother = f\n",
		"lib/release.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done(outputs={"from": "module"})
`,
	})
	ev, err := tr.e.evaluate(context.Background(), "app/release.ocu.star", "c1", "1")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := ev.function(state.FuncID{Name: "f", Pos: "release.ocu.star:3:1"})
	if err != nil {
		t.Fatal(err)
	}
	if fn.Position().Filename() != "app/release.ocu.star" {
		t.Errorf("found f of %s, want the package file's", fn.Position().Filename())
	}
}

// TestDocumentsAsTheOriginal: a print in a loaded module is logged with the
// load string as its filename, one in the package file with its base name,
// and done() without outputs leaves outputs out of the function document.
func TestDocumentsAsTheOriginal(t *testing.T) {
	tr := newTestRepo(t, compatFiles)
	failed, err := tr.e.ReleaseNew(context.Background(), "frontend/release.ocu.star", false)
	if err != nil || failed {
		t.Fatalf("release: failed %v, %v\n%s", failed, err, tr.errOut.String())
	}
	const rel = "example/-/frontend/release.ocu.star/@1/call/"
	logs := []struct{ chain, filename, line, message string }{
		{"build/1", "./tasks.ocu.star", "3", "building"},
		{"gate/1", "release.ocu.star", "4", "gate opened"},
	}
	for _, tt := range logs {
		line := tr.value(rel + tt.chain + "/logs#0/attributes").(map[string]any)
		got := []any{line["filename"], line["line"], tr.value(rel + tt.chain + "/logs#0/message")}
		if diff := cmp.Diff([]any{tt.filename, tt.line, tt.message}, got); diff != "" {
			t.Errorf("%s log line (-want +got):\n%s", tt.chain, diff)
		}
	}
	outputs := []struct {
		fn   string
		want any // nil: no outputs field
	}{
		{"build/1/functions/1", map[string]any{"image": "x"}},
		{"gate/1/functions/1", nil}, // next()
		{"gate/1/functions/2", nil}, // done()
	}
	for _, tt := range outputs {
		cur := tr.value(rel + tt.fn + "#current").(map[string]any)
		got, ok := cur["outputs"]
		if tt.want == nil && ok {
			t.Errorf("%s: outputs %v, want none", tt.fn, got)
		}
		if tt.want != nil && !cmp.Equal(tt.want, got) {
			t.Errorf("%s: outputs %v, want %v", tt.fn, got, tt.want)
		}
	}
}
