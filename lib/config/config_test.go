package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.starlark.net/starlark"

	"github.com/ocu-team/ocu/lib/sdk"
)

func fsLoc(p string) Location { return Location{Kind: KindFS, Path: p} }

func TestDiscovery(t *testing.T) {
	type want struct {
		mode          Mode
		root          string // relative to the test folder
		state, intent Location
		err           string
	}
	tests := []struct {
		name  string
		files map[string]string
		dir   string // relative to the test folder
		opts  Options
		want  func(base string) want
	}{
		{
			name:  "repo mode at the root",
			files: map[string]string{"repo/repo.ocu.star": v030 + `store.set(store.fs(".store/state"), intent=store.fs(".store/intent"))`},
			dir:   "repo",
			want: func(b string) want {
				return want{mode: ModeRepo, root: "repo", state: fsLoc(b + "/repo/.store/state"), intent: fsLoc(b + "/repo/.store/intent")}
			},
		},
		{
			name:  "repo mode from a nested folder",
			files: map[string]string{"repo/repo.ocu.star": minimal, "repo/a/b/c/x": ""},
			dir:   "repo/a/b/c",
			want: func(b string) want {
				return want{mode: ModeRepo, root: "repo", state: fsLoc(b + "/repo/.store"), intent: fsLoc(b + "/repo/.store")}
			},
		},
		{
			name:  "store mode",
			files: map[string]string{"clone/.ocuroot-store": `{"version":1}`, "clone/refs/x": ""},
			dir:   "clone/refs",
			want: func(b string) want {
				return want{mode: ModeStore, root: "clone", state: fsLoc(b + "/clone"), intent: fsLoc(b + "/clone")}
			},
		},
		{
			name: "store inside a repo: the nearest file decides",
			files: map[string]string{
				"repo/repo.ocu.star":                minimal,
				"repo/.store/state/.ocuroot-store":  `{"version":1}`,
				"repo/.store/state/refs/@/x":        "",
				"repo/.store/intent/.ocuroot-store": `{"version":1}`,
			},
			dir: "repo/.store/state/refs/@",
			want: func(b string) want {
				return want{mode: ModeStore, root: "repo/.store/state", state: fsLoc(b + "/repo/.store/state"), intent: fsLoc(b + "/repo/.store/state")}
			},
		},
		{
			name:  "both files in one folder: repo mode",
			files: map[string]string{"repo/repo.ocu.star": minimal, "repo/.ocuroot-store": ""},
			dir:   "repo",
			want: func(b string) want {
				return want{mode: ModeRepo, root: "repo", state: fsLoc(b + "/repo/.store"), intent: fsLoc(b + "/repo/.store")}
			},
		},
		{
			name:  "a folder named repo.ocu.star does not count",
			files: map[string]string{"x/repo.ocu.star/y": ""},
			dir:   "x",
			want: func(b string) want {
				return want{err: "repo.ocu.star not found in " + b + "/x or any parent directory (create one, or pass --state-store)"}
			},
		},
		{
			name:  "nothing found",
			files: map[string]string{"a/b/x": ""},
			dir:   "a/b",
			want: func(b string) want {
				return want{err: "repo.ocu.star not found in " + b + "/a/b or any parent directory (create one, or pass --state-store)"}
			},
		},
		{
			name:  "intent store alone is not enough",
			files: map[string]string{"a/x": ""},
			dir:   "a",
			opts:  Options{IntentStore: "intent"},
			want: func(b string) want {
				return want{err: "repo.ocu.star not found in " + b + "/a or any parent directory (create one, or pass --state-store)"}
			},
		},
		{
			name:  "override without any file",
			files: map[string]string{"a/x": ""},
			dir:   "a",
			opts:  Options{StateStore: "st"},
			want: func(b string) want {
				return want{mode: ModeOverride, state: fsLoc(b + "/a/st"), intent: fsLoc(b + "/a/st")}
			},
		},
		{
			name:  "both overrides without any file",
			files: map[string]string{"a/x": ""},
			dir:   "a",
			opts:  Options{StateStore: "/abs/state/", IntentStore: "git+https://u:p@example.com/i.git#intent"},
			want: func(b string) want {
				return want{mode: ModeOverride, state: fsLoc("/abs/state"), intent: Location{
					Kind: KindGit, URL: "https://example.com/i.git", Remote: "https://u:p@example.com/i.git", Branch: "intent", CreateBranch: true,
				}}
			},
		},
		{
			name:  "state override replaces the configured pair",
			files: map[string]string{"repo/repo.ocu.star": v030 + `store.set(store.fs("s"), store.fs("i"))`},
			dir:   "repo",
			opts:  Options{StateStore: "other"},
			want: func(b string) want {
				return want{mode: ModeRepo, root: "repo", state: fsLoc(b + "/repo/other"), intent: fsLoc(b + "/repo/other")}
			},
		},
		{
			name:  "state override allows a file without store.set",
			files: map[string]string{"repo/repo.ocu.star": v030 + `repo_alias("example")`, "repo/sub/x": ""},
			dir:   "repo/sub",
			opts:  Options{StateStore: "../st"},
			want: func(b string) want {
				return want{mode: ModeRepo, root: "repo", state: fsLoc(b + "/repo/st"), intent: fsLoc(b + "/repo/st")}
			},
		},
		{
			name:  "intent override alone",
			files: map[string]string{"repo/repo.ocu.star": v030 + `store.set(store.fs("s"), store.fs("i"))`},
			dir:   "repo",
			opts:  Options{IntentStore: "/elsewhere"},
			want: func(b string) want {
				return want{mode: ModeRepo, root: "repo", state: fsLoc(b + "/repo/s"), intent: fsLoc("/elsewhere")}
			},
		},
		{
			name:  "overrides in store mode",
			files: map[string]string{"clone/.ocuroot-store": ""},
			dir:   "clone",
			opts:  Options{StateStore: "git+../state.git#state"},
			want: func(b string) want {
				l := Location{Kind: KindGit, URL: b + "/state.git", Remote: b + "/state.git", Branch: "state", CreateBranch: true}
				return want{mode: ModeStore, root: "clone", state: l, intent: l}
			},
		},
		{
			name:  "bad override",
			files: map[string]string{"a/x": ""},
			dir:   "a",
			opts:  Options{StateStore: "git+ftp://example.com/x"},
			want: func(b string) want {
				return want{err: `--state-store: store location "git+ftp://example.com/x": unsupported git URL scheme "ftp" (use https://, http://, ssh://, file://, user@host:path or a local path)`}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tempDir(t)
			writeFiles(t, base, tt.files)
			o := tt.opts
			o.Dir = filepath.Join(base, tt.dir)
			c, _, err := load(t, o)
			w := tt.want(base)
			if w.err != "" {
				if err == nil || err.Error() != w.err {
					t.Fatalf("error = %v\nwant    %s", err, w.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Mode != w.mode {
				t.Errorf("mode = %q, want %q", c.Mode, w.mode)
			}
			wantRoot := ""
			if w.root != "" {
				wantRoot = filepath.Join(base, w.root)
			}
			if c.Root != wantRoot {
				t.Errorf("root = %q, want %q", c.Root, wantRoot)
			}
			if c.Dir != o.Dir {
				t.Errorf("dir = %q, want %q", c.Dir, o.Dir)
			}
			if diff := cmp.Diff(w.state, c.State, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(w.intent, c.Intent, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("intent (-want +got):\n%s", diff)
			}
			if (c.Mode == ModeRepo) != (c.File != nil) {
				t.Errorf("mode %s with file %v", c.Mode, c.File)
			}
		})
	}
}

func TestLoadRelativeDir(t *testing.T) {
	_, err := Load(context.Background(), Options{Dir: "relative"})
	if err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Fatalf("error = %v", err)
	}
}

func TestEvaluationErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		files   map[string]string
		wantErr string
	}{
		{name: "missing store.set", src: v030 + `repo_alias("example")`, wantErr: "repo.ocu.star does not call store.set(...)"},
		{name: "store.set twice", src: minimal + `store.set(store.fs("b"))`, wantErr: "repo.ocu.star:3:10: store.set() called twice"},
		{name: "store.set with a string", src: v030 + `store.set(".store")`, wantErr: "repo.ocu.star:2:10: store.set(): state must be a store from store.fs() or store.git(), got string"},
		{name: "store.set intent not a store", src: v030 + `store.set(store.fs("a"), intent="b")`, wantErr: "repo.ocu.star:2:10: store.set(): intent must be a store from store.fs() or store.git(), or None, got string"},
		{name: "store.set without arguments", src: v030 + `store.set()`, wantErr: "repo.ocu.star:2:10: store.set: missing argument for state"},
		{name: "store.fs empty", src: v030 + `store.set(store.fs(""))`, wantErr: "repo.ocu.star:2:19: store.fs(): the path must not be empty"},
		{name: "repo_alias twice", src: minimal + "repo_alias(\"a\")\nrepo_alias(\"b\")\n", wantErr: "repo.ocu.star:4:11: repo_alias() called twice"},
		{name: "repo_alias twice, same value", src: minimal + "repo_alias(\"a\")\nrepo_alias(\"a\")\n", wantErr: "repo.ocu.star:4:11: repo_alias() called twice"},
		{name: "repo_alias empty", src: minimal + `repo_alias("")`, wantErr: "repo.ocu.star:3:11: repo_alias(): the alias must not be empty"},
		{name: "repo_alias invalid", src: minimal + `repo_alias("my repo")`, wantErr: `repo.ocu.star:3:11: invalid repo name "my repo"`},
		{name: "repo_alias with separator", src: minimal + `repo_alias("a/-/b")`, wantErr: `repo.ocu.star:3:11: invalid repo name "a/-/b"`},
		{name: "repo_alias with marker", src: minimal + `repo_alias("a@1")`, wantErr: `repo.ocu.star:3:11: invalid repo name "a@1"`},
		{name: "repo_alias not a string", src: minimal + `repo_alias(1)`, wantErr: `repo.ocu.star:3:11: repo_alias: for parameter alias: got int, want string`},
		{name: "trigger twice", src: minimal + "def f(c):\n    pass\ntrigger(f)\ntrigger(f)\n", wantErr: "repo.ocu.star:6:8: trigger() called twice"},
		{name: "trigger not a function", src: minimal + `trigger("f")`, wantErr: "repo.ocu.star:3:8: trigger(): want a function, got string"},
		{name: "trigger builtin", src: minimal + `trigger(print)`, wantErr: "repo.ocu.star:3:8: trigger(): want a function, got builtin_function_or_method"},
		{name: "trigger no parameter", src: minimal + "def f():\n    pass\ntrigger(f)\n", wantErr: "repo.ocu.star:5:8: trigger(): f must take one positional parameter (the commit)"},
		{name: "trigger two parameters", src: minimal + "def f(a, b):\n    pass\ntrigger(f)\n", wantErr: "repo.ocu.star:5:8: trigger(): f must take one positional parameter (the commit)"},
		{name: "trigger keyword-only", src: minimal + "def f(*, c):\n    pass\ntrigger(f)\n", wantErr: "repo.ocu.star:5:8: trigger(): f must take one positional parameter (the commit)"},
		{name: "missing ocuroot", src: `store.set(store.fs("x"))`, wantErr: `repo.ocu.star: missing ocuroot("0.3.0")`},
		{name: "two ocuroot", src: v030 + minimal, wantErr: `repo.ocu.star: multiple ocuroot() calls`},
		{name: "wrong version", src: "ocuroot(\"0.2.0\")\nstore.set(store.fs(\"x\"))\n", wantErr: `repo.ocu.star: SDK version "0.2.0" is not supported (supported: 0.3.0)`},
		{name: "syntax error", src: minimal + "x = (\n", wantErr: "repo.ocu.star:4:1: got end of file, want primary expression"},
		{name: "undefined name", src: minimal + "x = y\n", wantErr: "repo.ocu.star:3:5: undefined: y"},
		{name: "http is provided", src: minimal + "http.get(\"ftp://example.com\")\n", wantErr: `repo.ocu.star:3:9: http.get: ftp://example.com: unsupported scheme "ftp" (use http or https)`},
		{name: "fail", src: minimal + "def f():\n    fail(\"no\")\nf()\n", wantErr: "repo.ocu.star:4:9: fail: no"},
		{name: "shell failure", src: minimal + "shell(\"exit 4\")\n", wantErr: "repo.ocu.star:3:6: command exited with status 4"},
		{name: "git bad scheme", src: v030 + `store.set(store.git("ftp://example.com/x.git"))`, wantErr: `repo.ocu.star:2:20: store.git(): unsupported git URL scheme "ftp" (use https://, http://, ssh://, file://, user@host:path or a local path)`},
		{name: "git empty URL", src: v030 + `store.set(store.git(""))`, wantErr: `repo.ocu.star:2:20: store.git(): empty git URL`},
		{name: "git no host", src: v030 + `store.set(store.git("https:///x"))`, wantErr: `repo.ocu.star:2:20: store.git(): invalid git URL "https:///x": no host`},
		{name: "git bad branch", src: v030 + `store.set(store.git("https://h/x", branch="a b"))`, wantErr: `repo.ocu.star:2:20: store.git(): invalid branch name "a b"`},
		{name: "git branch not a string", src: v030 + `store.set(store.git("https://h/x", branch=1))`, wantErr: `repo.ocu.star:2:20: store.git(): branch must be a string or None, got int`},
		{name: "support_files not a dict", src: v030 + `store.set(store.git("https://h/x", support_files=["a"]))`, wantErr: `repo.ocu.star:2:20: store.git(): support_files must be a dict or None, got list`},
		{name: "support_files content not a string", src: v030 + `store.set(store.git("https://h/x", support_files={"a": 1}))`, wantErr: `repo.ocu.star:2:20: store.git(): support_files["a"] must be a string, got int`},
		{name: "support_files key not a string", src: v030 + `store.set(store.git("https://h/x", support_files={1: "a"}))`, wantErr: `repo.ocu.star:2:20: store.git(): support_files keys must be strings, got int`},
		{name: "load missing", src: minimal + `load("./nope.ocu.star", "x")`, wantErr: "repo.ocu.star:3:1: cannot load ./nope.ocu.star: nope.ocu.star: no such file or directory"},
		{name: "load escape", src: minimal + `load("../x.ocu.star", "x")`, wantErr: "repo.ocu.star:3:1: cannot load ../x.ocu.star: path escapes the repo root"},
		{
			name:    "error in a loaded module",
			src:     minimal + `load("./lib/helpers.ocu.star", "x")`,
			files:   map[string]string{"lib/helpers.ocu.star": v030 + "x = 1 // 0\n"},
			wantErr: "lib/helpers.ocu.star:2:7: floored division by zero",
		},
		{
			name:    "package builtin in a loaded module",
			src:     minimal + `load("./lib.ocu.star", "x")`,
			files:   map[string]string{"lib.ocu.star": v030 + "x = done()\n"},
			wantErr: "lib.ocu.star:2:9: done() is not available in repo.ocu.star",
		},
		{
			name:    "load cycle",
			src:     minimal + `load("./lib.ocu.star", "x")`,
			files:   map[string]string{"lib.ocu.star": v030 + `load("./repo.ocu.star", "y")` + "\nx = 1\n"},
			wantErr: "lib.ocu.star:2:1: cannot load ./repo.ocu.star: load cycle: repo.ocu.star → lib.ocu.star → repo.ocu.star",
		},
	}
	for _, name := range packageOnly {
		tests = append(tests, struct {
			name    string
			src     string
			files   map[string]string
			wantErr string
		}{
			name:    "package-only " + name,
			src:     minimal + "def f():\n    pass\nx = " + name + "(f)\n",
			wantErr: "repo.ocu.star:5:" + strconv.Itoa(5+len(name)) + ": " + name + "() is not available in repo.ocu.star",
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadRepo(t, tt.src, tt.files)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
			}
		})
	}
}

func TestSupportFiles(t *testing.T) {
	tests := []struct {
		path    string
		wantErr string // reason; empty = valid
	}{
		{path: "support.txt"},
		{path: "docs/README.md"},
		{path: "ré.txt"},
		{path: ".github/CODEOWNERS"},
		{path: "refsx/file"},
		{path: "x/refs/y"},
		{path: "", wantErr: "empty path"},
		{path: "/abs", wantErr: "must be relative"},
		{path: "../x", wantErr: `".." segment`},
		{path: "a/../b", wantErr: `".." segment`},
		{path: "./a", wantErr: `"." segment`},
		{path: "a//b", wantErr: "empty path segment"},
		{path: "a/", wantErr: "empty path segment"},
		{path: "a\\b", wantErr: `backslash (use "/")`},
		{path: "a\x00b", wantErr: "control character"},
		{path: "\xff", wantErr: "not valid UTF-8"},
		{path: ".ocuroot-store", wantErr: "names starting with .ocuroot- are reserved"},
		{path: ".ocuroot-lock", wantErr: "names starting with .ocuroot- are reserved"},
		{path: "refs", wantErr: "refs/ holds the documents"},
		{path: "refs/x", wantErr: "refs/ holds the documents"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if !utf8.ValidString(tt.path) { // not expressible in Starlark source
				want := `invalid support file path ` + strconv.Quote(tt.path) + `: ` + tt.wantErr
				if err := validateSupportFile(tt.path); err == nil || err.Error() != want {
					t.Fatalf("error = %v\nwant    %s", err, want)
				}
				return
			}
			src := v030 + `store.set(store.git("https://h/x", support_files={` + starlark.String(tt.path).String() + `: "content"}))`
			c, _, err := loadRepo(t, src, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(map[string]string{tt.path: "content"}, c.State.SupportFiles); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			want := `repo.ocu.star:2:20: store.git(): invalid support file path ` + strconv.Quote(tt.path) + `: ` + tt.wantErr
			if err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
		})
	}
}

func TestStores(t *testing.T) {
	tests := []struct {
		name          string
		src           string
		state, intent func(root string) Location
	}{
		{
			name:   "fs relative to the root, same store",
			src:    v030 + `store.set(store.fs("./.store/state/"))`,
			state:  func(r string) Location { return fsLoc(r + "/.store/state") },
			intent: func(r string) Location { return fsLoc(r + "/.store/state") },
		},
		{
			name:   "fs absolute, intent positional",
			src:    v030 + `store.set(store.fs("/srv/state"), store.fs("../intent"))`,
			state:  func(r string) Location { return fsLoc("/srv/state") },
			intent: func(r string) Location { return fsLoc(filepath.Dir(r) + "/intent") },
		},
		{
			name: "git with options",
			src: v030 + `store.set(
    store.git("https://x-access-token:SECRET@github.com/org/state.git/", branch="state", support_files={"support.txt": "state"}),
    intent=store.git("git@github.com:org/intent.git", create_branch=False),
)`,
			state: func(r string) Location {
				return Location{Kind: KindGit, URL: "https://github.com/org/state.git", Remote: "https://x-access-token:SECRET@github.com/org/state.git/",
					Branch: "state", CreateBranch: true, SupportFiles: map[string]string{"support.txt": "state"}}
			},
			intent: func(r string) Location {
				return Location{Kind: KindGit, URL: "github.com:org/intent.git", Remote: "git@github.com:org/intent.git"}
			},
		},
		{
			name: "git local paths relative to the root",
			src:  v030 + `store.set(store.git("../remotes/state.git", branch=None), intent=store.git("file:///srv/intent.git", branch=""))`,
			state: func(r string) Location {
				p := filepath.Dir(r) + "/remotes/state.git"
				return Location{Kind: KindGit, URL: p, Remote: p, CreateBranch: true}
			},
			intent: func(r string) Location {
				return Location{Kind: KindGit, URL: "file:///srv/intent.git", Remote: "file:///srv/intent.git", CreateBranch: true}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tempDir(t)
			writeFiles(t, root, map[string]string{FileName: tt.src, "sub/x": ""})
			// Loaded from a sub-folder: paths are still relative to the root.
			c, _, err := load(t, Options{Dir: filepath.Join(root, "sub")})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.state(root), c.State, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.intent(root), c.Intent, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("intent (-want +got):\n%s", diff)
			}
			if c.File.State == nil {
				t.Error("File.State not set")
			}
		})
	}
}

func TestEvaluationEnvironment(t *testing.T) {
	root := tempDir(t)
	writeFiles(t, root, map[string]string{
		FileName: v030 + `
load("./lib/helpers.ocu.star", "where")
repo_alias("example")
tok = secret(host.env()["TOKEN"])
print("token is " + tok)
print("two\nlines")
shell("echo shell says $TOKEN; echo to stderr >&2")
shell("echo muted", mute=True)
r = host.env()["REMOTES"]
store.set(store.git(r + "/state.git", branch="state"))
here = [host.pwd(), pwd(), host.read("marker.txt"), is_dir("lib"), where()]
host.write("written/by/config.txt", "x")
def wake(commit):
    print("trigger for " + commit)
    host.write(".triggers/" + commit, "go")
trigger(wake)
`,
		"lib/helpers.ocu.star": v030 + "def where():\n    print(\"in helpers\")\n    return host.pwd()\n",
		"marker.txt":           "marker",
		"sub/x":                "",
	})
	secrets := new(sdk.Secrets)
	c, stderr, err := load(t, Options{
		Dir:     filepath.Join(root, "sub"),
		Environ: []string{"PATH=" + os.Getenv("PATH"), "TOKEN=s3cr3t", "REMOTES=/remotes"},
		Secrets: secrets,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStderr := strings.Join([]string{
		"repo.ocu.star> token is <secret>",
		"repo.ocu.star> two",
		"repo.ocu.star> lines",
		"repo.ocu.star> shell says <secret>",
		"repo.ocu.star> to stderr",
		"lib/helpers.ocu.star> in helpers",
		"",
	}, "\n")
	if diff := cmp.Diff(wantStderr, sortShellLines(stderr)); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if c.Secrets != secrets || secrets.Mask("s3cr3t") != "<secret>" {
		t.Error("secret not registered in Options.Secrets")
	}
	if c.File.Alias != "example" {
		t.Errorf("alias = %q", c.File.Alias)
	}
	if c.State.URL != "/remotes/state.git" || c.State.Branch != "state" {
		t.Errorf("state = %+v", c.State)
	}
	here, err := sdk.FromStarlark(c.File.Globals["here"])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{root, root, "marker", true, root}, here); diff != "" {
		t.Errorf("host.* working directory (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(root, "written/by/config.txt")); err != nil {
		t.Errorf("host.write relative to the root: %v", err)
	}
	src, _ := os.ReadFile(filepath.Join(root, FileName))
	if string(c.File.Source) != string(src) {
		t.Error("Source differs from the file")
	}

	// The trigger runs later, with the same environment.
	if c.File.Trigger == nil || c.File.Trigger.Name() != "wake" {
		t.Fatalf("trigger = %v", c.File.Trigger)
	}
	if err := c.File.CallTrigger(context.Background(), "abc123"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, ".triggers/abc123")); err != nil || string(b) != "go" {
		t.Errorf("trigger output: %q, %v", b, err)
	}
}

// sortShellLines keeps the order of print lines but puts the stderr line of
// the shell command right after its stdout line (pipes race).
func sortShellLines(s string) string {
	lines := strings.Split(s, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if lines[i] == "repo.ocu.star> to stderr" && lines[i+1] == "repo.ocu.star> shell says <secret>" {
			lines[i], lines[i+1] = lines[i+1], lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

func TestCallTrigger(t *testing.T) {
	c, _, err := loadRepo(t, minimal+"def t(commit):\n    fail(\"cannot wake \" + commit)\ntrigger(t)\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.File.CallTrigger(context.Background(), "H1")
	if want := "repo.ocu.star:4:9: fail: cannot wake H1"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	c, _, err = loadRepo(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.File.CallTrigger(context.Background(), "H1"); !errors.Is(err, ErrNoTrigger) {
		t.Fatalf("error = %v, want ErrNoTrigger", err)
	}
	// Defaults and *args are fine.
	for _, def := range []string{"def t(c, x = 1):", "def t(*args):", "def t(c, *, k = 2):", "def t(c, **kw):"} {
		if _, _, err := loadRepo(t, minimal+def+"\n    pass\ntrigger(t)\n", nil); err != nil {
			t.Errorf("%s: %v", def, err)
		}
	}
}

func TestEvaluateStored(t *testing.T) {
	dir := tempDir(t)
	writeFiles(t, dir, map[string]string{"lib.ocu.star": v030 + "x = 1\n"})
	src := []byte(minimal + "def t(c):\n    host.write(\"woken-\" + c, \"\")\ntrigger(t)\n")
	f, err := Evaluate(context.Background(), src, EvalOptions{Root: dir, NoLoad: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CallTrigger(context.Background(), "H"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "woken-H")); err != nil {
		t.Error(err)
	}
	_, err = Evaluate(context.Background(), append(src, `load("./lib.ocu.star", "x")`...), EvalOptions{Root: dir, NoLoad: true})
	want := "repo.ocu.star:6:1: cannot load ./lib.ocu.star: load() is not available in a stored repo.ocu.star"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

// TestCredentialSecrets checks that the git credentials of the environment
// and of store URLs are registered as secrets when the configuration loads.
func TestCredentialSecrets(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		intentStore string
		environ     []string
		masked      []string
		shown       []string
	}{
		{
			name:    "environment",
			src:     minimal,
			environ: []string{"OCU_GIT_TOKEN=env-token-1", "OCU_GIT_SSH_KEY_PASSPHRASE=env-pass-2", "OCU_GIT_USERNAME=bob"},
			masked:  []string{"env-token-1", "env-pass-2"},
			shown:   []string{"bob"},
		},
		{
			name:   "password in the state store URL",
			src:    v030 + `store.set(store.git("https://x-access-token:url-token-3@github.com/org/state.git"))`,
			masked: []string{"url-token-3"},
			shown:  []string{"x-access-token"},
		},
		{
			name:        "token as the user of an https intent store",
			src:         minimal,
			intentStore: "git+https://url-token-4@example.com/org/intent.git#intent",
			masked:      []string{"url-token-4"},
		},
		{
			name:  "ssh user is no secret",
			src:   v030 + `store.set(store.git("ssh://git@example.com/org/state.git"))`,
			shown: []string{"git"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tempDir(t)
			writeFiles(t, root, map[string]string{FileName: tt.src})
			c, _, err := load(t, Options{Dir: root, Environ: tt.environ, IntentStore: tt.intentStore})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.masked {
				if got := c.Secrets.Mask("x " + v); got != "x <secret>" {
					t.Errorf("%q not masked: %q", v, got)
				}
			}
			for _, v := range tt.shown {
				if got := c.Secrets.Mask(v); got != v {
					t.Errorf("%q masked: %q", v, got)
				}
			}
		})
	}
}
