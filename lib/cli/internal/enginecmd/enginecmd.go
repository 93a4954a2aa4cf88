// Package enginecmd holds the engine commands of the ocuroot multiplexer
// (docs/cli.md §3): release new, release continue, release retry, work continue
// and deploy down. Each runs package code against the repo's stores while
// holding the apply lock, printing progress on stdout.
package enginecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// command is the part every engine command shares.
type command struct {
	*cli.Command
	t     *cli.Tool
	fs    *flag.FlagSet
	wait  time.Duration
	refs  cli.RefFlags // release verbs: --package and --release
	index cli.IndexFlags
}

func newCommand(name, synopsis string, sio cli.IO) *command {
	c := &command{Command: cli.NewCommand(name, synopsis, sio)}
	c.t, c.fs = c.Tool, c.Flags
	c.fs.DurationVar(&c.wait, "wait", 10*time.Minute, "wait up to `DURATION` for the apply lock")
	c.index.Register(c.fs)
	return c
}

// newReleaseCommand is newCommand for release verbs: with -l/--logmode,
// and --package and --release naming the release when no REF is given.
func newReleaseCommand(name, synopsis string, sio cli.IO) *command {
	c := newWorkCommand(name, synopsis, sio)
	c.refs.Register(c.fs)
	return c
}

// newWorkCommand is newCommand for work verbs: with -l/--logmode.
func newWorkCommand(name, synopsis string, sio cli.IO) *command {
	c := newCommand(name, synopsis, sio)
	cli.Logmode(c.fs)
	return c
}

// Session is an open engine for one command.
type Session struct {
	CLI    *cli.Session
	Engine *engine.Engine
	unlock func()
	// Interrupted counts functions found interrupted when the lock was taken.
	Interrupted int
}

// Open loads the repo and builds the engine of t's command. Commands that
// run package code need repo mode (requireRepo); intent application works
// in store mode too, where the repo and commit may be unknown.
func Open(ctx context.Context, t *cli.Tool, requireRepo bool, index openwork.Options) (*Session, error) {
	s, err := t.Open(ctx)
	if err != nil {
		return nil, err
	}
	cfg := s.Config
	if requireRepo && cfg.Mode != config.ModeRepo {
		s.Close()
		return nil, errors.New("this command runs package code: run it inside a repo with repo.ocu.star")
	}
	repo, err := cfg.RepoName()
	if err != nil && requireRepo {
		s.Close()
		return nil, err
	}
	commit, err := cfg.Commit()
	if err != nil && requireRepo {
		s.Close()
		return nil, err
	}
	env := cli.EnvFrom(ctx)
	home, _ := env.Lookup("OCUROOT_HOME")
	if home == "" {
		if h, ok := env.Lookup("HOME"); ok {
			home = filepath.Join(h, ".ocuroot")
		}
	}
	limits, err := engine.LimitsFromEnviron(env.Environ)
	if err != nil {
		s.Close()
		return nil, &cli.UsageErr{Err: err}
	}
	var source []byte
	if cfg.File != nil {
		source = cfg.File.Source
	}
	e := engine.New(engine.Config{
		Store:      s.Store,
		Repo:       repo,
		Commit:     commit,
		Root:       cfg.Root,
		Environ:    env.Environ,
		Secrets:    cfg.Secrets,
		Home:       home,
		RepoConfig: source,
		Limits:     limits,
		OpenWork:   index,
	}, engine.Options{Stdout: t.Stdout, Stderr: t.Stderr, Prog: t.Prog})
	return &Session{CLI: s, Engine: e, unlock: func() {}}, nil
}

// Lock takes the apply lock, waiting up to wait.
func (s *Session) Lock(ctx context.Context, wait time.Duration) error {
	unlock, err := s.Engine.Lock(ctx, wait)
	if err != nil {
		return err
	}
	s.unlock = unlock
	return nil
}

// Unlock releases the apply lock early (before triggers run).
func (s *Session) Unlock() {
	s.unlock()
	s.unlock = func() {}
}

// Close releases the lock and the stores.
func (s *Session) Close() {
	s.unlock()
	s.CLI.Close()
}

// open opens the session of an engine command that runs package code,
// takes the apply lock and marks interrupted functions.
func (c *command) open(ctx context.Context) (*Session, error) {
	s, err := Open(ctx, c.t, true, c.index.Options())
	if err != nil {
		return nil, err
	}
	if err := s.Lock(ctx, c.wait); err != nil {
		s.Close()
		return nil, err
	}
	if s.Interrupted, err = s.Engine.MarkInterrupted(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Exit returns the error an engine command ends with after err: only the
// interruption (exit 130 or 143) when SIGINT or SIGTERM interrupted it.
func Exit(ctx context.Context, err error) error {
	if _, interrupted := cli.InterruptCode(ctx); interrupted {
		return cli.Finish(ctx, nil)
	}
	return err
}

// packageFile turns the FILE argument of release new into the package's
// path relative to the repo root: a path relative to the working directory
// when such a file exists, else a path relative to the repo root (docs/refs.md
// §6, end).
func packageFile(cfg *config.Config, repo, arg string) (string, error) {
	if r, err := ref.Parse(arg); err == nil && r.Marker != ref.NoMarker {
		return "", cli.Usagef("release new takes a package file, not a release: %s", arg)
	}
	arg = strings.TrimPrefix(arg, repo+"/-/")
	arg = strings.TrimPrefix(arg, "./-/")
	candidates := []string{filepath.Join(cfg.Dir, arg), filepath.Join(cfg.Root, arg)}
	for _, abs := range candidates {
		fi, err := os.Stat(abs)
		if err != nil || fi.IsDir() {
			continue
		}
		rel, err := filepath.Rel(cfg.Root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return "", cli.Usagef("%s is outside the repo root %s", arg, cfg.Root)
		}
		rel = filepath.ToSlash(rel)
		switch {
		case !strings.HasSuffix(rel, ".ocu.star"):
			return "", cli.Usagef("%s is not a package file (*.ocu.star)", rel)
		case rel == config.FileName:
			return "", cli.Usagef("%s is the repo configuration, not a package", rel)
		}
		return rel, nil
	}
	return "", fmt.Errorf("%s: no such package file", arg)
}

// releaseArg resolves a REF argument of release continue, release retry and
// deploy down: its file part is a path relative to the working directory
// when such a file exists.
func releaseArg(cfg *config.Config, repo, arg string) (ref.Ref, error) {
	r, err := ref.ParseTool(arg)
	if err != nil {
		return r, err
	}
	if r.Repo == "" && r.File != "" && !r.Global {
		if fi, err := os.Stat(filepath.Join(cfg.Dir, r.File)); err == nil && !fi.IsDir() {
			if rel, err := filepath.Rel(cfg.Root, filepath.Join(cfg.Dir, r.File)); err == nil && !strings.HasPrefix(rel, "..") {
				r.File = filepath.ToSlash(rel)
			}
		}
	}
	return r.Resolve(ref.Ref{Repo: repo})
}

// ReleaseNew is "ocuroot release new FILE".
func ReleaseNew(sio cli.IO) *cli.Command {
	c := newReleaseCommand("new", `
Usage: ocuroot release new [options] [FILE]

Release new creates the next release of the package FILE at the current
commit and runs its work until it completes, fails, or waits for an input
or a dependency (it then exits 0; ocu-apply or ocuroot work continue carry
on). An environments file registers its environments instead. A second
release at the same commit needs --force. Without FILE, --package names it.
`, sio)
	var force bool
	for _, name := range []string{"f", "force"} {
		c.fs.BoolVar(&force, name, false, "release even if the commit already has a release of FILE")
	}
	c.Exec = func(ctx context.Context, pos []string) error { return c.releaseNew(ctx, pos, force) }
	return c.Command
}

// releaseNew runs "ocuroot release new".
func (c *command) releaseNew(ctx context.Context, pos []string, force bool) error {
	if c.refs.Release != "" {
		c.t.Warn("--release is ignored: release new creates the next release")
	}
	if len(pos) == 0 && c.refs.Package != "" {
		pos = []string{c.refs.Package}
	}
	if len(pos) != 1 {
		return cli.ArgErrorf("expected one package FILE")
	}
	return c.run(ctx, func(s *Session) (bool, error) {
		file, err := packageFile(s.CLI.Config, s.Engine.Repo, pos[0])
		if err != nil {
			return false, err
		}
		return s.Engine.ReleaseNew(ctx, file, force)
	})
}

// ReleaseContinue is "ocuroot release continue REF".
func ReleaseContinue(sio cli.IO) *cli.Command {
	c := newReleaseCommand("continue", `
Usage: ocuroot release continue [options] [REF]

Release continue processes the pending tasks of the release REF (a release
or a tag) and runs its work until it completes, fails or waits. Without
REF, --package and --release name it; with neither REF nor --release it
says so and exits 0, as the original client did.
`, sio)
	c.Exec = func(ctx context.Context, pos []string) error { return c.releaseContinue(ctx, pos) }
	return c.Command
}

// releaseContinue runs "ocuroot release continue".
func (c *command) releaseContinue(ctx context.Context, pos []string) error {
	if len(pos) > 1 {
		return cli.ArgErrorf("expected one REF")
	}
	if len(pos) == 0 {
		if c.refs.Release == "" {
			fmt.Fprintln(c.t.Stderr, "A release ID or tag must be specified")
			return nil
		}
		pos = []string{c.refs.Ref()}
	}
	return c.run(ctx, func(s *Session) (bool, error) {
		rel, err := c.release(ctx, s, pos[0])
		if err != nil {
			return false, err
		}
		return s.Engine.ReleaseContinue(ctx, rel)
	})
}

// ReleaseRetry is "ocuroot release retry [REF]".
func ReleaseRetry(sio cli.IO) *cli.Command {
	c := newReleaseCommand("retry", `
Usage: ocuroot release retry [options] [REF]

Release retry starts a new run of every failed work item of the release REF
(a release, a tag, or a package: its highest release), continuing from the
function that failed, and runs the release. Without REF, --package and
--release name it (--package alone: the package); without any of them,
every release at the current commit with failed functions is retried.
`, sio)
	var running bool
	c.fs.BoolVar(&running, "running", false, "also retry functions left running")
	c.Exec = func(ctx context.Context, pos []string) error { return c.releaseRetry(ctx, pos, running) }
	return c.Command
}

// releaseRetry runs "ocuroot release retry".
func (c *command) releaseRetry(ctx context.Context, pos []string, running bool) error {
	if len(pos) > 1 {
		return cli.ArgErrorf("expected at most one REF")
	}
	switch {
	case len(pos) == 1:
	case c.refs.Release != "":
		pos = []string{c.refs.Ref()}
	case c.refs.Package != "":
		pos = []string{c.refs.Path()}
	}
	return c.run(ctx, func(s *Session) (bool, error) {
		var rels []state.ReleaseID
		if len(pos) == 1 {
			rel, err := c.release(ctx, s, pos[0])
			if err != nil {
				return false, err
			}
			rels = []state.ReleaseID{rel}
		} else if found, err := s.Engine.FailedReleasesAtCommit(ctx); err != nil {
			return false, err
		} else if rels = found; len(rels) == 0 {
			return false, fmt.Errorf("no failed functions at commit %s", s.Engine.Commit)
		}
		anyFailed := false
		for _, rel := range rels {
			failed, err := s.Engine.ReleaseRetry(ctx, rel, running)
			anyFailed = anyFailed || failed
			if err != nil {
				return anyFailed, err
			}
		}
		return anyFailed, nil
	})
}

// WorkContinue is "ocuroot work continue".
func WorkContinue(sio cli.IO) *cli.Command {
	c := newWorkCommand("continue", `
Usage: ocuroot work continue [options]

Work continue carries on the work of the releases at the current commit:
environment checks, deployments whose inputs changed, and pending work
whose inputs and dependencies are ready.
`, sio)
	maxRounds := 10
	c.fs.IntVar(&maxRounds, "max-rounds", 10, "at most `N` rounds of tasks, reconcile and runs")
	c.Exec = func(ctx context.Context, pos []string) error { return c.workContinue(ctx, pos, maxRounds) }
	return c.Command
}

// workContinue runs "ocuroot work continue".
func (c *command) workContinue(ctx context.Context, pos []string, maxRounds int) error {
	if len(pos) > 0 {
		c.t.Warn(fmt.Sprintf("ignoring arguments %q", pos))
	}
	return c.run(ctx, func(s *Session) (bool, error) {
		res, err := s.Engine.WorkContinue(ctx, maxRounds)
		if err == nil && !res.Did && !res.Pending && s.Interrupted == 0 {
			fmt.Fprintln(c.t.Stdout, "No work to continue")
		}
		return res.Failures+s.Interrupted > 0, err
	})
}

// DeployDown is "ocuroot deploy down REF".
func DeployDown(sio cli.IO) *cli.Command {
	c := newCommand("down", `
Usage: ocuroot deploy down [options] REF

Deploy down tears down the current deployment REF (FILE/@/deploy/ENV, or
FILE/@N/deploy/ENV naming it): its deploy intent is deleted and the
release's down function runs.
`, sio)
	c.Exec = func(ctx context.Context, pos []string) error { return c.deployDown(ctx, pos) }
	return c.Command
}

// deployDown runs "ocuroot deploy down".
func (c *command) deployDown(ctx context.Context, pos []string) error {
	if len(pos) != 1 {
		return cli.ArgErrorf("expected one REF")
	}
	r, err := ref.ParseTool(pos[0])
	if err == nil && (r.Type != ref.TypeDeploy || r.Marker != ref.State) {
		err = cli.Usagef("%s is not a deployment: expected FILE/@/deploy/ENV", pos[0])
	}
	if err != nil {
		return cli.WithSubject(pos[0], err)
	}
	return c.run(ctx, func(s *Session) (bool, error) {
		abs, err := releaseArg(s.CLI.Config, s.Engine.Repo, pos[0])
		if err != nil {
			return false, err
		}
		return s.Engine.DeployDown(ctx, abs)
	})
}

// run opens the session (apply lock taken), runs fn and turns what it
// reports into the exit code: 1 when fn says work failed.
func (c *command) run(ctx context.Context, fn func(*Session) (failed bool, err error)) error {
	s, err := c.open(ctx)
	if err != nil {
		return Exit(ctx, err)
	}
	defer s.Close()
	failed, err := fn(s)
	if failed {
		err = errors.Join(cli.Exit(cli.ExitFailure), err)
	}
	return Exit(ctx, err)
}

// release resolves a release, tag or package argument to R/-/F/@N.
func (c *command) release(ctx context.Context, s *Session, arg string) (state.ReleaseID, error) {
	r, err := releaseArg(s.CLI.Config, s.Engine.Repo, arg)
	if err != nil {
		return state.ReleaseID{}, err
	}
	if r.Type != "" || r.Fragment != "" || r.Global {
		return state.ReleaseID{}, cli.Usagef("%s is not a release: expected FILE/@N, FILE/@TAG or FILE", arg)
	}
	return s.Engine.ResolveRelease(ctx, r)
}

// WorkTasks is "ocuroot work tasks": the check_envs tasks of the releases
// at the current commit, once (docs/engine.md §11.6).
func WorkTasks(sio cli.IO) *cli.Command {
	c := newWorkCommand("tasks", `
Usage: ocuroot work tasks [options]

Work tasks processes the pending environment checks (check_envs) of the
releases at the current commit: work items for new environments get their
first run. Nothing runs; ocuroot work continue runs it.
`, sio)
	c.Exec = func(ctx context.Context, _ []string) error { return c.workTasks(ctx) }
	return c.Command
}

// workTasks runs "ocuroot work tasks".
func (c *command) workTasks(ctx context.Context) error {
	return c.run(ctx, func(s *Session) (bool, error) {
		n, failed, err := s.Engine.Tasks(ctx)
		if err == nil && n == 0 && failed == 0 {
			fmt.Fprintln(c.t.Stdout, "No tasks")
		}
		return failed > 0, err
	})
}

// WorkTrigger is "ocuroot work trigger": it calls the repo's trigger
// function for every commit with outstanding work (docs/engine.md §11.5).
func WorkTrigger(sio cli.IO) *cli.Command {
	c := newWorkCommand("trigger", `
Usage: ocuroot work trigger [options]

Work trigger finds every commit with outstanding work (pending work that
could run, deployments whose inputs changed, environment checks) and calls
the trigger function recorded in that commit's repo.ocu.star with the
commit, so a CI system can run the work there. With --intent it calls, for
each repo whose configuration is recorded in the intent store, its trigger
with that commit. It reads state only.
`, sio)
	var dryRun, intent bool
	for _, name := range []string{"d", "dryrun", "dry-run"} {
		c.fs.BoolVar(&dryRun, name, false, "print what would be triggered")
	}
	for _, name := range []string{"i", "intent"} {
		c.fs.BoolVar(&intent, name, false, "trigger the commits recorded in the intent store")
	}
	c.Exec = func(ctx context.Context, _ []string) error { return c.workTrigger(ctx, dryRun, intent) }
	return c.Command
}

// workTrigger runs "ocuroot work trigger".
func (c *command) workTrigger(ctx context.Context, dryRun, intent bool) error {
	s, err := Open(ctx, c.t, false, c.index.Options())
	if err != nil {
		return Exit(ctx, err)
	}
	defer s.Close()
	dir := cli.EnvFrom(ctx).Dir
	if intent {
		return Exit(ctx, s.Engine.IntentTriggers(ctx, dir, dryRun))
	}
	pairs, err := s.Engine.Outstanding(ctx, true)
	if err != nil {
		return Exit(ctx, err)
	}
	s.Engine.RunTriggers(ctx, pairs, dir, dryRun)
	return Exit(ctx, nil)
}
