package ocuroot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/ocu-team/ocu/lib/cli"
)

// adapter registers the options a verb takes on top of its tool (such as
// --package) on fs, and returns what then turns the verb's positional
// arguments into the tool's: flags to add, the tool's positional arguments,
// and false when the verb is done without running the tool (its exit code
// is then t's).
type adapter func(fs *flag.FlagSet) func(t *cli.Tool, pos []string) (flags, toolPos []string, run bool)

// wrap returns a verb that runs tool with fixed flags in front of the
// arguments, after taking out the options adapt registers. The tool's own
// flags are learnt by probing it (see cli.FlagProbe), so that an option's
// value is never mistaken for a positional argument; -h prints the tool's
// usage followed by the verb's own options.
func wrap(tool runFunc, adapt adapter, fixed ...string) runFunc {
	return func(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		t := cli.NewTool(prog, "", stdout, stderr)
		probe := &cli.FlagProbe{}
		tool(ctx, prog, []string{"-h"}, nil, probe, io.Discard)
		fs := flag.NewFlagSet(prog, flag.ContinueOnError)
		for _, f := range probe.Flags {
			if fs.Lookup(f.Name) == nil {
				fs.Var(f.Value, f.Name, f.Usage)
			}
		}
		own := flag.NewFlagSet(prog, flag.ContinueOnError)
		finish := adapt(own)
		own.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })

		_, err := cli.Parse(fs, args)
		switch {
		case errors.Is(err, cli.ErrHelp):
			code := tool(ctx, prog, []string{"-h"}, stdin, stdout, stderr)
			if p, ok := stdout.(*cli.FlagProbe); ok {
				p.Add(own)
				return code
			}
			fmt.Fprintf(stdout, "\nOptions of %s, as in the original client:\n", prog)
			own.SetOutput(stdout)
			own.PrintDefaults()
			return code
		case errors.Is(err, cli.ErrVersion):
			return tool(ctx, prog, []string{"--version"}, stdin, stdout, stderr)
		case err != nil:
			t.UsageError("%v", err)
			return t.Code()
		}

		var kept, pos []string
		for _, a := range cli.Split(fs, args) {
			switch {
			case a.Flag == "":
				pos = append(pos, a.Words...)
			case own.Lookup(a.Flag) == nil:
				kept = append(kept, a.Words...)
			}
		}
		extra, pos, run := finish(t, pos)
		if !run {
			return t.Code()
		}
		out := slices.Concat(fixed, extra, kept, []string{"--"}, pos)
		return tool(ctx, prog, out, stdin, stdout, stderr)
	}
}

// refArgument is the adapter of a state verb whose first argument is a
// REF followed by n more (1 for state set's VALUE): when only those n are
// given, --package and --release name the REF (see cli.RefFlags).
func refArgument(n int) adapter {
	return func(fs *flag.FlagSet) func(*cli.Tool, []string) ([]string, []string, bool) {
		var rf cli.RefFlags
		rf.Register(fs)
		return func(_ *cli.Tool, pos []string) ([]string, []string, bool) {
			if rf.Given() && len(pos) == n {
				pos = append([]string{rf.Ref()}, pos...)
			}
			return nil, pos, true
		}
	}
}

// refIgnored is the adapter of a state verb that takes no REF: --package
// and --release are accepted, as the original accepted them on every state
// verb, and ignored with a warning.
func refIgnored(fs *flag.FlagSet) func(*cli.Tool, []string) ([]string, []string, bool) {
	var rf cli.RefFlags
	rf.Register(fs)
	return func(t *cli.Tool, pos []string) ([]string, []string, bool) {
		warnRefIgnored(t, rf)
		return nil, pos, true
	}
}

func warnRefIgnored(t *cli.Tool, rf cli.RefFlags) {
	if rf.Given() {
		t.Warn("--package and --release name no ref here: ignored")
	}
}

// matchGlobs is the adapter of state match: without a GLOB it lists
// nothing and exits 0, as the original did (ocu-match itself refuses a
// missing GLOB), saying so on stderr.
func matchGlobs(fs *flag.FlagSet) func(*cli.Tool, []string) ([]string, []string, bool) {
	var rf cli.RefFlags
	rf.Register(fs)
	return func(t *cli.Tool, pos []string) ([]string, []string, bool) {
		warnRefIgnored(t, rf)
		if len(pos) == 0 {
			t.Warn("no GLOB given: nothing listed")
			return nil, nil, false
		}
		return nil, pos, true
	}
}

// workAnyArgs is the adapter of work any (ocu-apply --wait 10m):
// -d/--dryrun means --dry-run, --comprehensive is accepted (apply is always
// comprehensive), -l/--logmode is accepted, and a REF argument is ignored
// with a warning.
func workAnyArgs(fs *flag.FlagSet) func(*cli.Tool, []string) ([]string, []string, bool) {
	var dryRun, comprehensive bool
	for _, name := range []string{"d", "dryrun"} {
		fs.BoolVar(&dryRun, name, false, "same as --dry-run")
	}
	fs.BoolVar(&comprehensive, "comprehensive", false, "accepted for compatibility: work any always applies all intent")
	cli.Logmode(fs)
	return func(t *cli.Tool, pos []string) ([]string, []string, bool) {
		for _, p := range pos {
			t.Warn(fmt.Sprintf("ignoring %q: work any applies all intent", p))
		}
		var flags []string
		if dryRun {
			flags = []string{"--dry-run"}
		}
		return flags, nil, true
	}
}
