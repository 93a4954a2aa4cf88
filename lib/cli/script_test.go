package cli_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/apply"
	"github.com/ocu-team/ocu/lib/cli/delete"
	"github.com/ocu-team/ocu/lib/cli/get"
	"github.com/ocu-team/ocu/lib/cli/match"
	"github.com/ocu-team/ocu/lib/cli/ocuroot"
	"github.com/ocu-team/ocu/lib/cli/set"
)

type mainFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// process wires a tool to the real process exactly as its cmd/ main does.
func process(m mainFunc) func() {
	return func() {
		signal.Ignore(syscall.SIGPIPE)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		wd, _ := os.Getwd()
		ctx = cli.WithEnv(ctx, cli.Env{Dir: wd, Environ: os.Environ()})
		code := m(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
}

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ocu-get":    process(get.Main),
		"ocu-match":  process(match.Main),
		"ocu-set":    process(set.Main),
		"ocu-delete": process(delete.Main),
		"ocu-apply":  process(apply.Main),
		"ocuroot":    process(ocuroot.Main),
	})
}

// TestScripts runs testdata/script/*.txtar: the tools end to end, through
// real processes, pipes included.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"cmpobject": cmpObject,
			"fixture":   fixture,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("OCUROOT_HOME", env.WorkDir+"/.ocuroot-home")
			return nil
		},
	})
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
// $H to that commit (scenarios.md §0).
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
	git("init", "-q", ".")
	git("remote", "add", "origin", "https://github.com/example/example.git")
	git("add", "-A")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
	ts.Setenv("H", git("rev-parse", "HEAD"))
}
