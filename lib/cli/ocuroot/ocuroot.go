// Package ocuroot is the ocuroot multiplexer (docs/cli.md §3): a tree of
// commands whose leaves are the tools' own commands, so "ocuroot state get
// REF" runs the command get.Command builds, the one ocu-get runs; "ocuroot
// X" runs ocu-X from PATH for any other X.
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

const synopsis = `
Usage: ocuroot [global options] COMMAND [VERB] [ARGS...]

Ocuroot runs the ocu tools under one name. Commands:
`

// Command returns the ocuroot command tree.
func Command(sio cli.IO) *cli.Command {
	root := cli.NewGroup("ocuroot", synopsis, sio,
		group("state", sio,
			verb("get", "print the document at REF (ocu-get)", withRef(get.Command(sio))),
			verb("match", "list the refs matching GLOB... (ocu-match)", matchGlobs(match.Command(sio))),
			verb("set", "write intent: REF VALUE (ocu-set)", withRef(set.Command(sio), "VALUE")),
			verb("delete", "delete intent at REF (ocu-delete)", withRef(deletecmd.Command(sio))),
			verb("apply", "apply the intent REF only (ocu-apply --no-continue --no-trigger)",
				withRef(preset(apply.Command(sio), "no-continue", "true", "no-trigger", "true"))),
			verb("diff", "list the intent refs that differ from state (ocu-apply --dry-run)",
				refIgnored(preset(apply.Command(sio), "dry-run", "true"))),
			verb("view", "serve the web UI of state (ocu-view)", refIgnored(viewcmd.Command(sio))),
			verb("migrate", "convert a store of Ocuroot 0.3.11 or later into a new format 1 store", migrateCommand(sio)),
		),
		group("release", sio,
			verb("new", "release the package FILE at the current commit and run it", enginecmd.ReleaseNew(sio)),
			verb("continue", "run the pending work of the release REF", enginecmd.ReleaseContinue(sio)),
			verb("retry", "retry the failed work of the release REF", enginecmd.ReleaseRetry(sio)),
		),
		group("work", sio,
			verb("any", "apply intent and continue all work, safe from cron (ocu-apply --wait 10m)",
				workAny(preset(apply.Command(sio), "wait", "10m"))),
			verb("continue", "run the pending work of the releases at the current commit", enginecmd.WorkContinue(sio)),
			verb("tasks", "process the environment checks of the releases at the current commit", enginecmd.WorkTasks(sio)),
			verb("trigger", "call the trigger of every commit with outstanding work", enginecmd.WorkTrigger(sio)),
		),
		group("deploy", sio,
			verb("down", "tear down the deployment REF", enginecmd.DeployDown(sio)),
		),
		group("completion", sio,
			verb("bash", "print the bash completion script", completion("bash", bashScript, sio)),
			verb("fish", "print the fish completion script", completion("fish", fishScript, sio)),
			verb("zsh", "print the zsh completion script", completion("zsh", zshScript, sio)),
		),
	)
	version := cli.NewCommand("version", "Usage: ocuroot version\n\nPrints the version of ocuroot.", sio)
	version.ShortHelp = "print the version"
	version.Exec = func(_ context.Context, args []string) error {
		if len(args) > 0 {
			return cli.ArgErrorf("unexpected argument %q", args[0])
		}
		return printVersion(sio.Stdout)
	}
	help := cli.NewCommand("help", "Usage: ocuroot help [COMMAND [VERB]]\n\nShows the usage of ocuroot, or of COMMAND.", sio)
	help.ShortHelp = "show usage"
	help.Exec = func(ctx context.Context, args []string) error {
		if len(args) == 0 {
			usage(root, sio.Stdout)
			return nil
		}
		return cli.Exit(cli.Run(ctx, Command, append(args, "-h"), sio))
	}
	root.Add(version)
	root.Add(help)
	root.Usage = func(w io.Writer) { usage(root, w) }
	root.Exec = func(ctx context.Context, args []string) error {
		if root.Flags.Lookup("version").Value.String() == "true" {
			return printVersion(sio.Stdout)
		}
		if len(args) == 0 {
			usage(root, sio.Stderr)
			return cli.Exit(cli.ExitUsage)
		}
		return external(ctx, root.Tool, args[0], append(givenFlags(root.Flags), args[1:]...))
	}
	return root
}

func printVersion(w io.Writer) error {
	fmt.Fprintf(w, "Ocuroot version: %s\n", cli.Version())
	return nil
}

// group returns the command named name whose verbs are verbs.
func group(name string, sio cli.IO, verbs ...*cli.Command) *cli.Command {
	g := cli.NewGroup(name, "", sio, verbs...)
	g.ShortHelp = "ocuroot " + name + " VERB"
	g.Usage = func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s VERB [ARGS...]\n\nVerbs:\n", g.Tool.Prog)
		for _, v := range g.Sorted() {
			fmt.Fprintf(w, "  %-8s %s\n", v.Name, v.ShortHelp)
		}
	}
	return g
}

// verb names c as a verb of a group.
func verb(name, help string, c *cli.Command) *cli.Command {
	c.Name, c.ShortHelp = name, help
	return c
}

// preset gives c's flags values before its arguments are parsed: name,
// value pairs; the arguments may still change them.
func preset(c *cli.Command, nameValues ...string) *cli.Command {
	for i := 0; i < len(nameValues); i += 2 {
		if err := c.Flags.Set(nameValues[i], nameValues[i+1]); err != nil {
			panic(fmt.Sprintf("ocuroot: preset %s: %v", nameValues[i], err)) // a mistake in the tree above
		}
	}
	return c
}

// compat returns c's options of the original client, made on first use.
func compat(c *cli.Command) *flag.FlagSet {
	if c.Compat == nil {
		c.Compat = flag.NewFlagSet(c.Name, flag.ContinueOnError)
		c.Compat.SetOutput(io.Discard)
	}
	return c.Compat
}

// withRef makes c a state verb that takes exactly a REF followed by the
// arguments named more (VALUE for state set), as the original's state get,
// set, delete and apply did. --package and --release name the REF when only
// the arguments after it are given (see cli.RefFlags). Any other count is a
// usage error, so that no verb falls through to its tool's other forms
// (ocu-set's batch on stdin, ocu-apply's whole store).
func withRef(c *cli.Command, more ...string) *cli.Command {
	var rf cli.RefFlags
	rf.Register(compat(c))
	want := append([]string{"REF"}, more...)
	exec := c.Exec
	c.Exec = func(ctx context.Context, pos []string) error {
		if rf.Given() && len(pos) == len(more) {
			pos = append([]string{rf.Ref()}, pos...)
		}
		switch {
		case len(pos) < len(want):
			return cli.ArgErrorf("missing %s", strings.Join(want[len(pos):], " "))
		case len(pos) > len(want) && len(more) == 0:
			return cli.ArgErrorf("expected exactly one REF")
		case len(pos) > len(want):
			return cli.ArgErrorf("expected exactly %s", strings.Join(want, " "))
		}
		return exec(ctx, pos)
	}
	return c
}

// refIgnored gives a state verb that takes no REF --package and
// --release, as the original accepted them on every state verb: ignored
// with a warning.
func refIgnored(c *cli.Command) *cli.Command {
	var rf cli.RefFlags
	rf.Register(compat(c))
	exec := c.Exec
	c.Exec = func(ctx context.Context, pos []string) error {
		warnRefIgnored(c.Tool, rf)
		return exec(ctx, pos)
	}
	return c
}

func warnRefIgnored(t *cli.Tool, rf cli.RefFlags) {
	if rf.Given() {
		t.Warn("--package and --release name no ref here: ignored")
	}
}

// matchGlobs is state match: without a GLOB it lists nothing and exits 0,
// as the original did (ocu-match itself refuses a missing GLOB), saying so
// on stderr.
func matchGlobs(c *cli.Command) *cli.Command {
	var rf cli.RefFlags
	rf.Register(compat(c))
	exec := c.Exec
	c.Exec = func(ctx context.Context, pos []string) error {
		warnRefIgnored(c.Tool, rf)
		if len(pos) == 0 {
			c.Tool.Warn("no GLOB given: nothing listed")
			return nil
		}
		return exec(ctx, pos)
	}
	return c
}

// workAny is work any (ocu-apply --wait 10m): -d/--dryrun means
// --dry-run, --comprehensive is accepted (apply is always comprehensive),
// -l/--logmode is accepted, and a REF argument is ignored with a warning.
func workAny(c *cli.Command) *cli.Command {
	fs := compat(c)
	dryRun := c.Flags.Lookup("dry-run").Value
	for _, name := range []string{"d", "dryrun"} {
		fs.Var(dryRun, name, "same as --dry-run")
	}
	fs.Bool("comprehensive", false, "accepted for compatibility: work any always applies all intent")
	cli.Logmode(fs)
	exec := c.Exec
	c.Exec = func(ctx context.Context, pos []string) error {
		for _, p := range pos {
			c.Tool.Warn(fmt.Sprintf("ignoring %q: work any applies all intent", p))
		}
		return exec(ctx, nil)
	}
	return c
}

// givenFlags returns the flags given to fs, as arguments passing them on.
func givenFlags(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		out = append(out, dash+f.Name+"="+f.Value.String())
	})
	return out
}

// external runs ocu-<cmd> from PATH with args.
func external(ctx context.Context, t *cli.Tool, cmd string, args []string) error {
	env := cli.EnvFrom(ctx)
	path, _ := env.Lookup("PATH")
	bin := lookPath("ocu-"+cmd, path)
	if bin == "" || strings.ContainsAny(cmd, "/\\") {
		return cli.Errorf(cli.ExitUsage, "unknown command %q", cmd)
	}
	c := exec.CommandContext(ctx, bin, args...)
	c.Stdin, c.Stdout, c.Stderr = t.Stdin, t.Stdout, t.Stderr
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
		return nil
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return cli.Exit(ee.ExitCode())
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return cli.Exit(128 + int(ws.Signal()))
		}
	}
	return cli.Errorf(cli.ExitFailure, "%s: %v", bin, err)
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

// usage writes ocuroot's usage: every command and verb of the tree, then
// the global options.
func usage(root *cli.Command, w io.Writer) {
	fmt.Fprint(w, strings.TrimLeft(synopsis, "\n"))
	for _, c := range root.Sorted() {
		for _, v := range c.Sorted() {
			fmt.Fprintf(w, "  %-17s %s\n", c.Name+" "+v.Name, v.ShortHelp)
		}
	}
	fmt.Fprintf(w, "  %-17s %s\n  %-17s %s\n  %-17s %s\n", "version", "print the version", "help [COMMAND]", "show usage",
		"X [ARGS...]", "run ocu-X from PATH")
	fmt.Fprintln(w, "\nGlobal options (also after COMMAND VERB):")
	root.Flags.SetOutput(w)
	root.Flags.PrintDefaults()
	root.Flags.SetOutput(io.Discard)
}
