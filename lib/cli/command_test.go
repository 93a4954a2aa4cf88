package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/store"
)

func TestExitCode(t *testing.T) {
	busy := &store.Error{Code: store.ELocked, Msg: "held"}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("x"), ExitFailure},
		{"usage", ArgErrorf("bad"), ExitUsage},
		{"usage wrapped", WithSubject("r", Usagef("bad")), ExitUsage},
		{"busy", busy, ExitBusy},
		{"coded", Errorf(7, "x"), 7},
		{"silent", Exit(ExitUsage), ExitUsage},
		{"silent zero", Exit(ExitOK), ExitOK},
		{"join: highest", errors.Join(errors.New("x"), ArgErrorf("y")), ExitUsage},
		{"join: busy wins", errors.Join(ArgErrorf("y"), busy, errors.New("x")), ExitBusy},
		{"join: interrupt wins", errors.Join(busy, WithCode(130, errors.New("interrupt")), ArgErrorf("y")), 130},
		{"join nested", errors.Join(errors.New("x"), errors.Join(Errorf(143, "terminated"))), 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	var errs Errors
	errs.Addf("+/custom/a", errors.New("not found"))
	errs.Add(nil)
	errs.Add(Exit(ExitFailure))
	errs.Add(ArgErrorf("no GLOB given"))
	errs.Addf("stdin", errors.New("closed"))
	var w bytes.Buffer
	Report(&w, "ocu-x", errs.Err())
	want := "ocu-x: +/custom/a: not found\nocu-x: no GLOB given (see ocu-x -h)\nocu-x: stdin: closed\n"
	if diff := cmp.Diff(want, w.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// testTree is a group "top" with the leaf "leaf" (-q VALUE, and the
// global options), which prints what it was given.
func testTree(sio IO) *Command {
	leaf := NewCommand("leaf", "Usage: top leaf [-q V] ARGS...", sio)
	q := leaf.Flags.String("q", "", "a `VALUE`")
	leaf.Exec = func(_ context.Context, args []string) error {
		fmt.Fprintf(sio.Stdout, "q=%s repo=%s dir=%s args=%q\n", *q, leaf.Tool.Globals.Repo, leaf.Tool.Globals.Dir, args)
		if len(args) > 0 && args[0] == "fail" {
			return errors.Join(WithSubject("a", errors.New("bad")), ArgErrorf("worse"))
		}
		return nil
	}
	return NewGroup("top", "Usage: top COMMAND", sio, NewGroup("grp", "Usage: top grp VERB", sio, leaf))
}

// TestRun runs a command tree: flags anywhere after the verb, global
// options before it reaching it, the environment read from the injected
// Env only, usage, unknown commands, and the errors a run returns.
func TestRun(t *testing.T) {
	t.Setenv("OCU_REPO", "from-os") // never read: the tools read the injected environment
	tests := []struct {
		name           string
		args           []string
		env            []string
		code           int
		stdout, stderr string
		usage          bool // stdout and stderr begin with what is wanted, followed by the options
	}{
		{name: "interleaved", args: []string{"grp", "leaf", "a", "-q", "v", "-1", "b"},
			stdout: `q=v repo= dir= args=["a" "-1" "b"]` + "\n"},
		{name: "globals before the group and the verb", args: []string{"-C", "d", "grp", "--repo", "r", "leaf", "x"},
			stdout: `q= repo=r dir=d args=["x"]` + "\n"},
		{name: "a flag after the verb wins", args: []string{"--repo", "r", "grp", "leaf", "--repo=s"},
			stdout: `q= repo=s dir= args=[]` + "\n"},
		{name: "environment", args: []string{"grp", "leaf"}, env: []string{"OCU_REPO=from-env"},
			stdout: `q= repo=from-env dir= args=[]` + "\n"},
		{name: "a bad environment variable", args: []string{"grp", "leaf"}, env: []string{"OCU_GIT_TIMEOUT=bad"}, code: ExitUsage,
			stderr: "top grp leaf: OCU_GIT_TIMEOUT: invalid duration \"bad\"\n"},
		{name: "a negative environment variable", args: []string{"grp", "leaf"}, env: []string{"OCU_GIT_TIMEOUT=-5s"}, code: ExitUsage,
			stderr: "top grp leaf: OCU_GIT_TIMEOUT must not be negative (got -5s)\n"},
		{name: "a global option given to the group is not read from the environment", args: []string{"grp", "--repo", "r", "leaf"}, env: []string{"OCU_REPO=from-env"},
			stdout: `q= repo=r dir= args=[]` + "\n"},
		{name: "errors", args: []string{"grp", "leaf", "fail"}, code: ExitUsage,
			stdout: `q= repo= dir= args=["fail"]` + "\n",
			stderr: "top grp leaf: a: bad\ntop grp leaf: worse (see top grp leaf -h)\n"},
		{name: "help", args: []string{"grp", "leaf", "-h"}, usage: true, stdout: "Usage: top leaf [-q V] ARGS...\n\nOptions:\n  -C DIR\n"},
		{name: "bad flag", args: []string{"grp", "leaf", "-x"}, code: ExitUsage,
			stderr: "top grp leaf: flag provided but not defined: -x (see top grp leaf -h)\n"},
		{name: "version", args: []string{"grp", "leaf", "--version"}, stdout: "top grp leaf " + Version() + "\n"},
		{name: "version of a group", args: []string{"grp", "--version"}, stdout: "top grp " + Version() + "\n"},
		{name: "version before the verb", args: []string{"grp", "--version", "leaf"}, stdout: "top grp leaf " + Version() + "\n"},
		{name: "bad flag of a group", args: []string{"grp", "-x", "leaf"}, code: ExitUsage,
			stderr: "top: flag provided but not defined: -x (see top -h)\n"},
		{name: "unknown verb", args: []string{"grp", "nosuch"}, code: ExitUsage, stderr: "top: unknown command \"grp nosuch\"\n"},
		{name: "no verb", args: []string{"grp"}, code: ExitUsage, usage: true, stderr: "Usage: top grp VERB\n\nOptions:\n  -C DIR\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx := WithEnv(context.Background(), Env{Environ: tt.env})
			code := Run(ctx, testTree, tt.args, IO{Stdout: &stdout, Stderr: &stderr})
			gotOut, gotErr := stdout.String(), stderr.String()
			if tt.usage {
				gotOut, gotErr = gotOut[:min(len(gotOut), len(tt.stdout))], gotErr[:min(len(gotErr), len(tt.stderr))]
			}
			if diff := cmp.Diff([]any{tt.code, tt.stdout, tt.stderr}, []any{code, gotOut, gotErr}); diff != "" {
				t.Errorf("exit code, stdout, stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMainsAreThin checks that every cmd/*/main.go runs its command
// through Main and nothing else.
func TestMainsAreThin(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "cmd", "*", "main.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cmd/*/main.go: %v", err)
	}
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if fn.Name.Name != "main" {
				t.Errorf("%s: func %s: main.go holds only main", file, fn.Name.Name)
				continue
			}
			var calls []string
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok {
						calls = append(calls, x.Name+"."+sel.Sel.Name)
					}
				}
				return true
			})
			if len(fn.Body.List) != 1 || len(calls) != 3 || calls[0] != "os.Exit" || calls[1] != "cli.Main" {
				t.Errorf("%s: main is %d statements calling %q, want os.Exit(cli.Main(pkg.Command))", file, len(fn.Body.List), calls)
			}
		}
	}
}

// TestToolErrors checks that a tool's Errors print each error when it is
// added, and that the joined error keeps the exit code and prints nothing
// more.
func TestToolErrors(t *testing.T) {
	var stderr bytes.Buffer
	errs := (&Tool{Prog: "ocu-x", Stderr: &stderr}).Errors(context.Background())
	errs.Addf("+/custom/a", errors.New("not found"))
	if got, want := stderr.String(), "ocu-x: +/custom/a: not found\n"; got != want {
		t.Errorf("after one error: %q, want %q", got, want)
	}
	errs.Add(ArgErrorf("bad"))
	var again bytes.Buffer
	Report(&again, "ocu-x", errs.Err())
	if again.Len() != 0 {
		t.Errorf("printed twice: %q", again.String())
	}
	if code := ExitCode(errs.Err()); code != ExitUsage {
		t.Errorf("exit code %d, want %d", code, ExitUsage)
	}
	if got, want := stderr.String(), "ocu-x: +/custom/a: not found\nocu-x: bad (see ocu-x -h)\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestToolErrorsInterrupt checks that the cancellation an interrupt causes
// is not printed as a record's error: the run prints one line for the
// interrupt (Finish) and exits 130, while other errors are still printed.
func TestToolErrorsInterrupt(t *testing.T) {
	tests := []struct {
		name       string
		interrupt  bool
		err        error
		wantStderr string
		wantCode   int
	}{
		{"cancelled by the interrupt", true, fmt.Errorf("+/custom/a: %w", context.Canceled),
			"ocu-x: interrupt signal received\n", 130},
		{"other error after the interrupt", true, errors.New("+/custom/a: not found"),
			"ocu-x: +/custom/a: not found\nocu-x: interrupt signal received\n", 130},
		{"cancelled without an interrupt", false, fmt.Errorf("+/custom/a: %w", context.Canceled),
			"ocu-x: +/custom/a: context canceled\n", ExitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tt.interrupt {
				cancel(errors.New("interrupt signal received"))
			}
			var stderr bytes.Buffer
			errs := (&Tool{Prog: "ocu-x", Stderr: &stderr}).Errors(ctx)
			errs.Add(tt.err)
			err := Finish(ctx, errs.Err())
			Report(&stderr, "ocu-x", err)
			if diff := cmp.Diff(tt.wantStderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if code := ExitCode(err); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
		})
	}
}
