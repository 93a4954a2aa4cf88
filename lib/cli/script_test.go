package cli_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/apply"
	"github.com/ocu-team/ocu/lib/cli/deletecmd"
	"github.com/ocu-team/ocu/lib/cli/get"
	"github.com/ocu-team/ocu/lib/cli/match"
	"github.com/ocu-team/ocu/lib/cli/ocuroot"
	"github.com/ocu-team/ocu/lib/cli/set"
)

func TestMain(m *testing.M) {
	tool := func(newCmd cli.Constructor) func() { return func() { os.Exit(cli.Main(newCmd)) } }
	testscript.Main(m, map[string]func(){
		"ocu-get":    tool(get.Command),
		"ocu-match":  tool(match.Command),
		"ocu-set":    tool(set.Command),
		"ocu-delete": tool(deletecmd.Command),
		"ocu-apply":  tool(apply.Command),
		"ocuroot":    tool(ocuroot.Command),
	})
}

// TestScripts runs testdata/script/*.txtar: the tools end to end, through
// real processes, pipes included, on filesystem stores.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams("fs", "testdata/script", nil))
}

// TestScriptsOnGit runs the release and apply scripts again with the
// example fixture's state and intent stores on git (local bare remotes):
// the engine behaves the same on both stores.
func TestScriptsOnGit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: every engine step is a git commit and push")
	}
	var files []string
	for _, pattern := range []string{"release*.txtar", "apply*.txtar"} {
		m, err := filepath.Glob(filepath.Join("testdata", "script", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	testscript.Run(t, scriptParams("git", "", files))
}

// scriptParams configures testscript for stores of the kind "fs" or "git":
// the fixture's repo.ocu.star reads OCU_TEST_STORE, and [gitstore] is true
// on git.
func scriptParams(kind, dir string, files []string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		Files:               files,
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"ciserver":  ciServer,
			"cmpobject": cmpObject,
			"fixture":   fixture,
			"stored":    stored,
			"tmpfs":     tmpfs,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "gitstore":
				return kind == "git", nil
			case "mount":
				return canMount(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("OCUROOT_HOME", env.WorkDir+"/.ocuroot-home")
			env.Setenv("OCU_TEST_STORE", kind)
			env.Setenv("REMOTES", env.WorkDir)
			later, err := filepath.Abs(filepath.Join("..", "migrate", "testdata", "ocuroot-later"))
			if err != nil {
				return err
			}
			env.Setenv("LATER", later) // stores written by Ocuroot 0.3.11 and later
			return nil
		},
	}
}

// tmpfs mounts a tmpfs of SIZE on DIR until the script ends, to fill a
// disk.
func tmpfs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: tmpfs DIR SIZE")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+args[1]); err != nil {
		ts.Fatalf("cannot mount a tmpfs on %s (guard the script with [mount]): %v", dir, err)
	}
	ts.Defer(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

// canMount reports whether this process may mount a tmpfs (the [mount]
// condition of scripts injecting a full disk).
func canMount() bool {
	dir, err := os.MkdirTemp("", "ocu-mount-")
	if err != nil {
		return false
	}
	defer os.Remove(dir)
	if syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k") != nil {
		return false
	}
	syscall.Unmount(dir, syscall.MNT_DETACH)
	return true
}

// stored checks with ocu-match that a document or link is stored at each
// ref; negated, that nothing is stored at or below any of them.
func stored(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: [!] stored REF...")
	}
	for _, r := range args {
		if err := ts.Exec("ocu-match", r, r+"/**"); err != nil {
			ts.Fatalf("ocu-match %s: %v", r, err)
		}
		out := strings.Split(strings.TrimSpace(ts.ReadFile("stdout")), "\n")
		switch {
		case !neg && !slices.Contains(out, r):
			ts.Fatalf("%s is not stored", r)
		case neg && out[0] != "":
			ts.Fatalf("%s: stored %s", r, out[0])
		}
	}
}

// cmpObject compares a store object with a txtar file. Store objects end
// without a newline and txtar files with one, so the newline is added
// before comparing, and its absence in the object is checked.
func cmpObject(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: cmpobject OBJECT WANT")
	}
	got := ts.ReadFile(args[0])
	if strings.HasSuffix(got, "\n") {
		ts.Fatalf("%s ends with a newline", args[0])
	}
	if want := ts.ReadFile(args[1]); got+"\n" != want {
		ts.Fatalf("%s differs from %s:\n%s", args[0], args[1], got)
	}
}

// fixture copies the repo testdata/fixtures/NAME into the current folder,
// makes it a git repository with one commit and an origin remote, and sets
// $H to that commit.
func fixture(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: fixture NAME")
	}
	src, err := filepath.Abs(filepath.Join("testdata", "fixtures", args[0]))
	ts.Check(err)
	dst := ts.MkAbs(".")
	ts.Check(os.CopyFS(dst, os.DirFS(src)))
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dst
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			ts.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if ts.Getenv("OCU_TEST_STORE") == "git" {
		for _, remote := range []string{"state.git", "intent.git"} {
			git("init", "-q", "--bare", filepath.Join(ts.Getenv("REMOTES"), remote))
		}
	}
	git("init", "-q", ".")
	git("remote", "add", "origin", "https://github.com/example/example.git")
	git("add", "-A")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
	ts.Setenv("H", git("rev-parse", "HEAD"))
}

// ciServer starts an HTTP server on 127.0.0.1 for the rest of the script
// (a team's CI server receiving jobs from triggers), sets $VAR to its URL
// and records each request it receives in the folder DIR: the line
// "METHOD PATH" is appended to DIR/requests and the body written to DIR/N
// (N = 1, 2, … in arrival order). It answers every request with STATUS
// (default 201) and the body "queued".
func ciServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: ciserver VAR DIR [STATUS]")
	}
	status := http.StatusCreated
	if len(args) == 3 {
		var err error
		if status, err = strconv.Atoi(args[2]); err != nil || status < 100 || status > 999 {
			ts.Fatalf("ciserver: invalid status %q", args[2])
		}
	}
	dir := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(dir, 0o755))
	var (
		mu sync.Mutex
		n  int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		err = os.WriteFile(filepath.Join(dir, strconv.Itoa(n)), body, 0o644)
		if err == nil {
			var f *os.File
			if f, err = os.OpenFile(filepath.Join(dir, "requests"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
				_, err = fmt.Fprintf(f, "%s %s\n", r.Method, r.URL.Path)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, "queued")
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}
