// Package ocuroot is the ocuroot multiplexer (docs/cli.md §3): "ocuroot state get
// REF" runs the same code as "ocu-get REF", and "ocuroot X" runs ocu-X from
// PATH for any other X.
package ocuroot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/apply"
	"github.com/ocu-team/ocu/lib/cli/deletecmd"
	"github.com/ocu-team/ocu/lib/cli/get"
	"github.com/ocu-team/ocu/lib/cli/internal/enginecmd"
	"github.com/ocu-team/ocu/lib/cli/match"
	"github.com/ocu-team/ocu/lib/cli/set"
	"github.com/ocu-team/ocu/lib/cli/viewcmd"
)

// runFunc runs a tool under a program name.
type runFunc func(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int

type verb struct {
	run  runFunc
	help string
}

// commands maps "command verb" to the code it runs.
func commands() map[string]map[string]verb {
	return map[string]map[string]verb{
		"state": {
			"get":    {wrap(get.RunOne, refArgument(0)), "print the document at REF (ocu-get)"},
			"match":  {wrap(match.Run, matchGlobs), "list the refs matching GLOB... (ocu-match)"},
			"set":    {wrap(set.Run, refArgument(1)), "write intent: REF VALUE (ocu-set)"},
			"delete": {wrap(deletecmd.Run, refArgument(0)), "delete intent at REF (ocu-delete)"},
			"apply":  {wrap(apply.Run, refArgument(0), "--no-continue", "--no-trigger"), "apply the intent REF only (ocu-apply --no-continue --no-trigger)"},
			"diff":   {wrap(apply.Run, refIgnored, "--dry-run"), "list the intent refs that differ from state (ocu-apply --dry-run)"},
			"view":   {wrap(viewcmd.Run, refIgnored), "serve the web UI of state (ocu-view)"},

			"migrate": {stateMigrate, "convert a store of Ocuroot 0.3.11 or later into a new format 1 store"},
		},
		"release": {
			"new":      {enginecmd.ReleaseNew, "release the package FILE at the current commit and run it"},
			"continue": {enginecmd.ReleaseContinue, "run the pending work of the release REF"},
			"retry":    {enginecmd.ReleaseRetry, "retry the failed work of the release REF"},
		},
		"work": {
			"any":      {wrap(apply.Run, workAnyArgs, "--wait", "10m"), "apply intent and continue all work, safe from cron (ocu-apply --wait 10m)"},
			"continue": {enginecmd.WorkContinue, "run the pending work of the releases at the current commit"},
			"tasks":    {enginecmd.WorkTasks, "process the environment checks of the releases at the current commit"},
			"trigger":  {enginecmd.WorkTrigger, "call the trigger of every commit with outstanding work"},
		},
		"deploy": {
			"down": {enginecmd.DeployDown, "tear down the deployment REF"},
		},
		"completion": {
			"bash": {completion(bashScript), "print the bash completion script"},
			"fish": {completion(fishScript), "print the fish completion script"},
			"zsh":  {completion(zshScript), "print the zsh completion script"},
		},
	}
}

const synopsis = `
Usage: ocuroot [global options] COMMAND [VERB] [ARGS...]

Ocuroot runs the ocu tools under one name. Commands:
`

// Main runs ocuroot.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	t := cli.NewTool("ocuroot", synopsis, stdout, stderr)
	var version bool
	fs := mainFlags(&version)
	globals, rest, err := leadingFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		usage(t, fs, stdout)
		return 0
	}
	if err != nil {
		t.UsageError("%v", err)
		return t.Code()
	}
	if version {
		fmt.Fprintf(stdout, "Ocuroot version: %s\n", cli.Version())
		return 0
	}
	if len(rest) == 0 {
		usage(t, fs, stderr)
		return cli.ExitUsage
	}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "version":
		fmt.Fprintf(stdout, "Ocuroot version: %s\n", cli.Version())
		return 0
	case "help":
		if len(rest) > 0 {
			return Main(ctx, append(append(globals, rest...), "-h"), stdin, stdout, stderr)
		}
		usage(t, fs, stdout)
		return 0
	}
	verbs, ok := commands()[cmd]
	if !ok {
		return external(ctx, t, cmd, append(globals, rest...), stdin, stdout, stderr)
	}
	// Global options may also stand between COMMAND and VERB.
	more, rest, err := leadingFlags(fs, rest)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		t.UsageError("%v", err)
		return t.Code()
	}
	if errors.Is(err, flag.ErrHelp) {
		rest = []string{"-h"}
	}
	globals = append(globals, more...)
	if len(rest) == 0 || rest[0] == "-h" || rest[0] == "--help" {
		w, code := stdout, 0
		if len(rest) == 0 {
			w, code = stderr, cli.ExitUsage
		}
		fmt.Fprintf(w, "Usage: ocuroot %s VERB [ARGS...]\n\nVerbs:\n", cmd)
		for _, name := range sortedKeys(verbs) {
			fmt.Fprintf(w, "  %-8s %s\n", name, verbs[name].help)
		}
		return code
	}
	v, ok := verbs[rest[0]]
	if !ok {
		t.Errorf(cli.ExitUsage, "unknown command %q", cmd+" "+rest[0])
		return t.Code()
	}
	return v.run(ctx, "ocuroot "+cmd+" "+rest[0], append(globals, rest[1:]...), stdin, stdout, stderr)
}

// mainFlags returns the flag set of ocuroot itself, before COMMAND: the
// global options and --version.
func mainFlags(version *bool) *flag.FlagSet {
	fs := cli.NewTool("ocuroot", "", io.Discard, io.Discard).FlagSet()
	fs.BoolVar(version, "version", false, "print the version and exit")
	fs.SetOutput(io.Discard)
	return fs
}

// leadingFlags splits off the options before COMMAND, returning them as
// given so they can be passed on to the command (clipped: appending to them
// never overwrites args).
func leadingFlags(fs *flag.FlagSet, args []string) (flags, rest []string, err error) {
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return slices.Clip(args[:i]), args[i+1:], nil
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		n := 1
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && i+1 < len(args) {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				n = 2
			}
		}
		if err := fs.Parse(args[i : i+n]); err != nil {
			return nil, nil, err
		}
		i += n
	}
	return slices.Clip(args[:i]), args[i:], nil
}

// external runs ocu-<cmd> from PATH with the remaining arguments.
func external(ctx context.Context, t *cli.Tool, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := cli.EnvFrom(ctx)
	path, _ := env.Lookup("PATH")
	bin := lookPath("ocu-"+cmd, path)
	if bin == "" || strings.ContainsAny(cmd, "/\\") {
		t.Errorf(cli.ExitUsage, "unknown command %q", cmd)
		return t.Code()
	}
	c := exec.CommandContext(ctx, bin, args...)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	c.Env, c.Dir = env.Environ, env.Dir
	// An interrupt is passed on as the same signal; the child gets time to
	// finish, as a terminal's Ctrl-C would give it.
	c.Cancel = func() error {
		sig := syscall.SIGTERM
		if code, _ := cli.InterruptCode(ctx); code == 130 {
			sig = syscall.SIGINT
		}
		return c.Process.Signal(sig)
	}
	c.WaitDelay = 10 * time.Second
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
	}
	t.Errorf(cli.ExitFailure, "%s: %v", bin, err)
	return t.Code()
}

// lookPath finds an executable file named name in the PATH list path.
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func usage(t *cli.Tool, fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, strings.TrimLeft(synopsis, "\n"))
	cmds := commands()
	for _, c := range sortedKeys(cmds) {
		for _, v := range sortedKeys(cmds[c]) {
			fmt.Fprintf(w, "  %-17s %s\n", c+" "+v, cmds[c][v].help)
		}
	}
	fmt.Fprintf(w, "  %-17s %s\n  %-17s %s\n  %-17s %s\n", "version", "print the version", "help [COMMAND]", "show usage",
		"X [ARGS...]", "run ocu-X from PATH")
	fmt.Fprintln(w, "\nGlobal options (also after COMMAND VERB):")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
