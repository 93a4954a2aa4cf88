package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.starlark.net/starlark"
)

const v030 = "ocuroot(\"0.3.0\")\n"

func TestLoad(t *testing.T) {
	h, rec := testHost(t)
	g, ev, err := execMain(t, h, map[string]string{
		"pkg/release.ocu.star": v030 + `
load("./lib.ocu.star", "lib_value", helper = "double")
load("../shared/common.ocu.star", "common")
load("sub/deep.ocu.star", "deep")
result = [lib_value, helper(21), common, deep]
`,
		"pkg/lib.ocu.star": v030 + `
load("../shared/common.ocu.star", "common")
print("evaluating lib")
lib_value = "lib+" + common
def double(x):
    return 2 * x
`,
		"pkg/sub/deep.ocu.star": v030 + `
load("../../shared/common.ocu.star", "common")
deep = "deep+" + common
`,
		"shared/common.ocu.star": v030 + `
print("evaluating common")
common = "common"
`,
	}, "pkg/release.ocu.star")
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"lib+common", json.Number("42"), "common", "deep+common"}
	if diff := cmp.Diff(want, global(t, g, "result")); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	// Each module is evaluated once although loaded three times.
	if diff := cmp.Diff([]string{"evaluating common", "evaluating lib"}, rec.texts(StreamPrint)); diff != "" {
		t.Errorf("prints (-want +got):\n%s", diff)
	}
	var mods [][2]string
	for _, m := range ev.Modules() {
		mods = append(mods, [2]string{m.Path, m.Load})
	}
	wantMods := [][2]string{
		{"shared/common.ocu.star", "../shared/common.ocu.star"},
		{"pkg/lib.ocu.star", "./lib.ocu.star"},
		{"pkg/sub/deep.ocu.star", "sub/deep.ocu.star"},
		{"pkg/release.ocu.star", ""},
	}
	if diff := cmp.Diff(wantMods, mods); diff != "" {
		t.Errorf("modules (-want +got):\n%s", diff)
	}
	// Functions of loaded modules are positioned in their module.
	fn := ev.Modules()[1].Globals["double"].(*starlark.Function)
	if got := fn.Position().String(); got != "pkg/lib.ocu.star:6:1" {
		t.Errorf("double defined at %s", got)
	}
	// The print of a module names the module.
	for _, l := range rec.lines {
		if !strings.HasPrefix(l.Pos.String(), "shared/common.ocu.star:") && !strings.HasPrefix(l.Pos.String(), "pkg/lib.ocu.star:") {
			t.Errorf("print %q at %s", l.Text, l.Pos)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		main    string
		wantErr string
	}{
		{
			name:    "escape",
			files:   map[string]string{"pkg/a.ocu.star": v030 + `load("../../outside.ocu.star", "x")`},
			main:    "pkg/a.ocu.star",
			wantErr: "pkg/a.ocu.star:2:1: cannot load ../../outside.ocu.star: path escapes the repo root",
		},
		{
			name:    "absolute",
			files:   map[string]string{"a.ocu.star": v030 + `load("/etc/x.ocu.star", "x")`},
			main:    "a.ocu.star",
			wantErr: "a.ocu.star:2:1: cannot load /etc/x.ocu.star: module paths are relative to the loading file",
		},
		{
			name: "cycle",
			files: map[string]string{
				"a.ocu.star": v030 + `load("./b.ocu.star", "b")` + "\na = 1\n",
				"b.ocu.star": v030 + `load("./a.ocu.star", "a")` + "\nb = 1\n",
			},
			main:    "a.ocu.star",
			wantErr: "b.ocu.star:2:1: cannot load ./a.ocu.star: load cycle: a.ocu.star → b.ocu.star → a.ocu.star",
		},
		{
			name: "longer cycle",
			files: map[string]string{
				"main.ocu.star": v030 + `load("./lib/a.ocu.star", "a")`,
				"lib/a.ocu.star": v030 + `load("./b.ocu.star", "b")
a = 1`,
				"lib/b.ocu.star": v030 + `load("./a.ocu.star", "a")
b = 1`,
			},
			main:    "main.ocu.star",
			wantErr: "lib/b.ocu.star:2:1: cannot load ./a.ocu.star: load cycle: lib/a.ocu.star → lib/b.ocu.star → lib/a.ocu.star",
		},
		{
			name:    "self",
			files:   map[string]string{"a.ocu.star": v030 + `load("./a.ocu.star", "a")`},
			main:    "a.ocu.star",
			wantErr: "a.ocu.star:2:1: cannot load ./a.ocu.star: load cycle: a.ocu.star → a.ocu.star",
		},
		{
			name:    "missing module",
			files:   map[string]string{"a.ocu.star": v030 + `load("./nope.ocu.star", "x")`},
			main:    "a.ocu.star",
			wantErr: "a.ocu.star:2:1: cannot load ./nope.ocu.star: nope.ocu.star: no such file or directory",
		},
		{
			name: "module without ocuroot",
			files: map[string]string{
				"a.ocu.star":   v030 + `load("./lib.ocu.star", "x")`,
				"lib.ocu.star": "x = 1\n",
			},
			main:    "a.ocu.star",
			wantErr: `lib.ocu.star: missing ocuroot("0.3.0")`,
		},
		{
			name: "module with another version",
			files: map[string]string{
				"a.ocu.star":   v030 + `load("./lib.ocu.star", "x")`,
				"lib.ocu.star": "ocuroot(\"1.0.0\")\nx = 1\n",
			},
			main:    "a.ocu.star",
			wantErr: `lib.ocu.star: SDK version "1.0.0" is not supported (supported: 0.3.0)`,
		},
		{
			name: "name not in module",
			files: map[string]string{
				"a.ocu.star":   v030 + `load("./lib.ocu.star", "y")`,
				"lib.ocu.star": v030 + "x = 1\n",
			},
			main:    "a.ocu.star",
			wantErr: "a.ocu.star:2:1: load: name y not found in module ./lib.ocu.star",
		},
		{
			name: "error in module",
			files: map[string]string{
				"a.ocu.star":   v030 + `load("./lib.ocu.star", "x")`,
				"lib.ocu.star": v030 + "x = 1\ny = x // 0\n",
			},
			main:    "a.ocu.star",
			wantErr: "lib.ocu.star:3:7: floored division by zero",
		},
		{
			name: "syntax error in module",
			files: map[string]string{
				"a.ocu.star":   v030 + `load("./lib.ocu.star", "x")`,
				"lib.ocu.star": v030 + "x = (\n",
			},
			main:    "a.ocu.star",
			wantErr: "lib.ocu.star:3:1: got end of file, want primary expression",
		},
		{
			name: "error in module function called from main",
			files: map[string]string{
				"a.ocu.star": v030 + `load("./lib.ocu.star", "f")
def g():
    return f()
g()
`,
				"lib.ocu.star": v030 + `def f():
    return {}["missing"]
`,
			},
			main:    "a.ocu.star",
			wantErr: `lib.ocu.star:3:14: key "missing" not in dict`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := testHost(t)
			_, _, err := execMain(t, h, tt.files, tt.main)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error is %T, want *Error", err)
			}
		})
	}
}

// TestLoadSymlinks checks that load() follows symbolic links inside the
// repository and refuses those that leave it.
func TestLoadSymlinks(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"lib.ocu.star": v030 + "x = 1\n"})
	tests := []struct {
		name    string
		link    string // below the repo
		target  string // "$OUT" is the outside folder
		load    string
		wantErr string
	}{
		{name: "inside", link: "lib/alias.ocu.star", target: "../real.ocu.star", load: "./lib/alias.ocu.star"},
		{name: "file outside", link: "lib.ocu.star", target: "$OUT/lib.ocu.star", load: "./lib.ocu.star",
			wantErr: "a.ocu.star:2:1: cannot load ./lib.ocu.star: lib.ocu.star: path escapes from parent"},
		{name: "folder outside", link: "vendor", target: "$OUT", load: "./vendor/lib.ocu.star",
			wantErr: "a.ocu.star:2:1: cannot load ./vendor/lib.ocu.star: vendor/lib.ocu.star: path escapes from parent"},
		{name: "relative outside", link: "up.ocu.star", target: "../../../../../../../../../../../../..$OUT/lib.ocu.star", load: "./up.ocu.star",
			wantErr: "a.ocu.star:2:1: cannot load ./up.ocu.star: up.ocu.star: path escapes from parent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := testHost(t)
			writeFiles(t, h.Dir, map[string]string{"real.ocu.star": v030 + "x = 1\n"})
			link := filepath.Join(h.Dir, filepath.FromSlash(tt.link))
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(strings.ReplaceAll(tt.target, "$OUT", outside), link); err != nil {
				t.Fatal(err)
			}
			g, _, err := execMain(t, h, map[string]string{"a.ocu.star": v030 + `load("` + tt.load + `", "x")` + "\ny = x\n"}, "a.ocu.star")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g["y"] != starlark.MakeInt(1) {
				t.Errorf("y = %v, want 1", g["y"])
			}
		})
	}
}

func TestLoadError(t *testing.T) {
	h, _ := testHost(t)
	writeFiles(t, h.Dir, map[string]string{"lib.ocu.star": v030 + "x = 1\n"})
	ev := &Evaluator{
		Root:        h.Dir,
		Predeclared: func(string) starlark.StringDict { return h.Builtins() },
		LoadError:   errors.New("load() is not available here"),
	}
	_, err := ev.Exec(context.Background(), "repo.ocu.star", []byte(v030+`load("./lib.ocu.star", "x")`))
	want := "repo.ocu.star:2:1: cannot load ./lib.ocu.star: load() is not available here"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestPredeclaredPerModule(t *testing.T) {
	h, _ := testHost(t)
	writeFiles(t, h.Dir, map[string]string{"lib.ocu.star": v030 + "x = only_main\n"})
	ev := &Evaluator{
		Root: h.Dir,
		Predeclared: func(module string) starlark.StringDict {
			d := starlark.StringDict{"ocuroot": h.Builtins()["ocuroot"]}
			if module == "main.ocu.star" {
				d["only_main"] = starlark.MakeInt(1)
			}
			return d
		},
	}
	_, err := ev.Exec(context.Background(), "main.ocu.star", []byte(v030+"y = only_main\n"+`load("./lib.ocu.star", "x")`))
	want := "lib.ocu.star:2:5: undefined: only_main"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestErrorPositions(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string
	}{
		{name: "syntax", src: "x = 1 +\n", wantErr: "frontend/release.ocu.star:2:8: got newline, want primary expression"},
		{name: "resolve", src: "x = undefined_name\n", wantErr: "frontend/release.ocu.star:2:5: undefined: undefined_name"},
		{name: "top-level runtime", src: "x = 1\ny = x + \"a\"\n", wantErr: `frontend/release.ocu.star:3:7: unknown binary op: int + string`},
		{
			name: "innermost user frame",
			src: `def inner():
    return [][3]
def outer():
    return inner()
outer()
`,
			wantErr: "frontend/release.ocu.star:3:14: index 3 out of range: empty list",
		},
		{
			name:    "fail in a function",
			src:     "def f():\n    fail(\"production is closed today\")\nf()\n",
			wantErr: "frontend/release.ocu.star:3:9: fail: production is closed today",
		},
		{
			name:    "builtin called through sorted",
			src:     "def key(x):\n    return x.nope\nsorted([1], key = key)\n",
			wantErr: "frontend/release.ocu.star:3:13: int has no .nope field or method",
		},
		{name: "no ocuroot", src: "", wantErr: `frontend/release.ocu.star: missing ocuroot("0.3.0")`},
		{name: "set and while enabled", src: "s = set([1])\nx = 0\nwhile x < 3:\n    x += 1\n", wantErr: ""},
		{name: "top-level if and for and reassignment", src: "x = 1\nif x:\n    x = 2\nfor i in [1]:\n    x = 3\n", wantErr: ""},
		{name: "recursion enabled", src: "def f(n):\n    return 1 if n == 0 else f(n - 1)\nx = f(5)\n", wantErr: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := testHost(t)
			src := v030 + tt.src
			if tt.name == "no ocuroot" {
				src = tt.src
			}
			_, _, err := execMain(t, h, map[string]string{"frontend/release.ocu.star": src}, "frontend/release.ocu.star")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
			}
		})
	}
}

func TestExecCancel(t *testing.T) {
	h, _ := testHost(t)
	ev := &Evaluator{Root: h.Dir, Predeclared: func(string) starlark.StringDict { return h.Builtins() }}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := ev.Exec(ctx, "loop.ocu.star", []byte(v030+"x = 0\nwhile True:\n    x += 1\n"))
	if err == nil || !strings.Contains(err.Error(), "cancelled") || !strings.HasPrefix(err.Error(), "loop.ocu.star:") {
		t.Fatalf("error = %v, want a located cancellation", err)
	}
}

func TestLocate(t *testing.T) {
	if Locate(nil) != nil {
		t.Error("Locate(nil) != nil")
	}
	plain := errors.New("plain")
	if Locate(plain) != plain {
		t.Error("plain errors must pass through")
	}
}

func TestUnavailable(t *testing.T) {
	h, _ := testHost(t)
	ev := &Evaluator{Root: h.Dir, Predeclared: func(string) starlark.StringDict {
		return starlark.StringDict{"ocuroot": h.Builtins()["ocuroot"], "deploy": Unavailable("deploy", "repo.ocu.star")}
	}}
	_, err := ev.Exec(context.Background(), "repo.ocu.star", []byte(v030+"deploy(1, up=2)\n"))
	want := "repo.ocu.star:2:7: deploy() is not available in repo.ocu.star"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}
