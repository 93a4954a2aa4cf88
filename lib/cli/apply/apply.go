// Package apply is ocu-apply: it makes state follow intent and continues
// the work of the current commit (docs/cli.md §2.5, docs/engine.md §11.6).
package apply

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/internal/enginecmd"
	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/ref"
)

const synopsis = `
Usage: ocu-apply [options]            apply every intent that differs from state, then continue work
       ocu-apply [options] REF...     apply only these intent refs, then continue work
       ocu-apply [options] -          intent refs from stdin

Ocu-apply turns intent into state: custom intent is copied to state (a
deleted intent deletes it), a new environment gets every package deployed
into it and a deleted one has its deployments torn down, a deploy intent
deploys its release (or tears the deployment down when deleted). Then the
work of the releases at the current commit continues: environment checks,
deployments whose inputs changed, and pending work. It repeats until
nothing changes. One ocu-apply runs at a time per store: a second one exits
75 at once (--wait to wait), so it is safe from cron. Exit 0 when done or
nothing to do, 1 when an intent could not be applied or work failed (the
rest is still applied).

Package code runs under limits, set in the environment: OCU_FUNCTION_TIMEOUT
(default 1h; --timeout also stops the running function),
OCU_FUNCTION_MAX_STEPS (Starlark steps, default 10000000000),
OCU_FUNCTION_MAX_MEMORY (default 2G) and OCU_LOG_MAX_SIZE (a run's stored
log, default 10M; its end is kept); 0 for none. A function past one fails
with a line saying which.
`

type options struct {
	dryRun     bool
	json       bool
	noContinue bool
	noTrigger  bool
	wait       time.Duration
	timeout    time.Duration
	maxRounds  int
	index      cli.IndexFlags
}

// Command returns the command ocu-apply ("ocuroot state apply", "state
// diff" and "work any" in the ocuroot tree).
func Command(sio cli.IO) *cli.Command {
	c := cli.NewCommand("ocu-apply", synopsis, sio)
	var o options
	fs := c.Flags
	for _, name := range []string{"n", "dry-run"} {
		fs.BoolVar(&o.dryRun, name, false, "print the intent refs that differ from state; write nothing")
	}
	fs.BoolVar(&o.json, "json", false, `with --dry-run: print {"ref", "action"} per line (create, update, delete)`)
	fs.BoolVar(&o.noContinue, "no-continue", false, "apply intent only: no tasks, reconcile, runs or triggers")
	fs.BoolVar(&o.noTrigger, "no-trigger", false, "do not call triggers for other commits")
	fs.DurationVar(&o.wait, "wait", 0, "wait up to `DURATION` for the apply lock (default: exit 75 at once)")
	for _, name := range []string{"timeout", "max-duration"} {
		fs.DurationVar(&o.timeout, name, 0, "after `DURATION` start nothing new and stop the running function (it fails, timed out)")
	}
	fs.IntVar(&o.maxRounds, "max-rounds", 10, "at most `N` rounds of apply, tasks, reconcile and runs")
	o.index.Register(fs)
	c.Exec = func(ctx context.Context, inputs []string) error { return run(ctx, c.Tool, o, inputs) }
	return c
}

func run(ctx context.Context, t *cli.Tool, o options, inputs []string) error {
	fromStdin := len(inputs) == 1 && inputs[0] == "-"
	s, err := enginecmd.Open(ctx, t, false, o.index.Options())
	if err != nil {
		return enginecmd.Exit(ctx, err)
	}
	defer s.Close()

	var refs []ref.Ref
	if len(inputs) > 0 {
		refs = []ref.Ref{}
		errs := t.Errors(ctx)
		add := func(_ int, in string) bool {
			r, err := s.CLI.IntentRef(in)
			if err != nil {
				errs.Addf(in, err)
			} else {
				refs = append(refs, r)
			}
			return true
		}
		if fromStdin {
			if err := cli.Lines(ctx, t.Stdin, nil, add); err != nil && ctx.Err() == nil {
				errs.Addf("stdin", err)
			}
		} else {
			for i, in := range inputs {
				add(i+1, in)
			}
		}
		if errs.Any() {
			return errs.Err() // nothing applied
		}
	}
	if o.dryRun {
		return dryRun(ctx, t, s.Engine, refs, o.json)
	}
	if err := s.Lock(ctx, o.wait); err != nil {
		return enginecmd.Exit(ctx, err)
	}
	// A run of the whole diff with the work that follows it may be one the
	// last run already found idle (docs/open-work.md §10).
	var idle *engine.IdleRun
	if refs == nil && !o.noContinue && !o.noTrigger {
		run, same, err := s.Engine.BeginIdle(ctx, idleKey(ctx, t.Prog)...)
		if err != nil {
			return enginecmd.Exit(ctx, err)
		}
		if same {
			s.Unlock()
			return enginecmd.Exit(ctx, nil)
		}
		idle = run
	}
	var deadline time.Time
	if o.timeout > 0 {
		deadline = time.Now().Add(o.timeout)
	}
	res, err := s.Engine.Apply(ctx, engine.ApplyOptions{
		Refs:       refs,
		NoContinue: o.noContinue,
		MaxRounds:  o.maxRounds,
		Deadline:   deadline,
	})
	if err != nil {
		return enginecmd.Exit(ctx, err)
	}
	var failed error
	if res.Failed {
		failed = cli.Exit(cli.ExitFailure)
	}
	s.Unlock()
	if !o.noContinue && !o.noTrigger && ctx.Err() == nil {
		pairs, err := s.Engine.OutstandingAfter(ctx, res)
		if err != nil {
			return enginecmd.Exit(ctx, errors.Join(failed, err))
		}
		s.Engine.RunTriggers(ctx, pairs, cli.EnvFrom(ctx).Dir, false)
		if idle != nil {
			idle.End(failed == nil && len(pairs) == 0 && ctx.Err() == nil) // derived: a memo not written is no error
		}
	}
	return enginecmd.Exit(ctx, failed)
}

// idleKey is what, besides the stores, an idle run depends on: the
// command, the folder it runs in and the OCU_ variables.
func idleKey(ctx context.Context, name string) []string {
	env := cli.EnvFrom(ctx)
	key := []string{name, env.Dir}
	for _, kv := range env.Environ {
		if strings.HasPrefix(kv, "OCU_") {
			key = append(key, kv)
		}
	}
	slices.Sort(key[2:])
	return key
}

// dryRun prints the diff (only the given refs, when some are given).
func dryRun(ctx context.Context, t *cli.Tool, e *engine.Engine, refs []ref.Ref, asJSON bool) error {
	changes, err := e.Diff(ctx)
	if err != nil {
		return enginecmd.Exit(ctx, err)
	}
	out := cli.NewOutput(t.Stdout)
	for _, c := range changes {
		if refs != nil && !slices.Contains(refs, c.Ref) {
			continue
		}
		if asJSON {
			err = out.JSON(c, true)
		} else {
			err = out.Line(c.Ref.String())
		}
		if err != nil {
			break
		}
	}
	if err := out.Flush(); err != nil && !cli.IsClosedPipe(err) {
		return cli.WithSubject("stdout", err)
	}
	return nil
}
