package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/internal/fanout"
	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"go.starlark.net/starlark"
)

// Outstanding is work waiting for a (repo, commit) pair (docs/engine.md §11.5).
type Outstanding struct {
	Repo, Commit string
	Lines        []string // "Outstanding ref: …", "Reconcilable ref: …", "Task ref: …"
}

// Outstanding lists the pairs with work this checkout could not run: a
// pending function whose inputs and dependencies are satisfied, a
// deployment reconcile would re-run, a check_envs task. The current pair is
// included when withCurrent.
func (e *Engine) Outstanding(ctx context.Context, withCurrent bool) ([]Outstanding, error) {
	s, err := e.scanStores(ctx)
	if err != nil {
		return nil, err
	}
	return e.outstanding(ctx, s, withCurrent)
}

func (e *Engine) outstanding(ctx context.Context, s *scan, withCurrent bool) ([]Outstanding, error) {
	set := &outstandingSet{e: e, withCurrent: withCurrent, commits: map[state.ReleaseID]string{}, pairs: map[[2]string]*Outstanding{}}
	if err := e.outstandingFunctions(ctx, s, set); err != nil {
		return nil, err
	}
	if err := e.reconcilableDeployments(ctx, s, set); err != nil {
		return nil, err
	}
	for _, t := range s.tasks {
		rel, err := ref.Parse(strings.TrimSuffix(t, "/task/check_envs"))
		if err != nil {
			continue
		}
		id, err := state.ParseRelease(rel)
		if err != nil {
			continue
		}
		if err := set.add(ctx, id, "Task ref: "+t); err != nil {
			return nil, err
		}
	}
	return set.result(), nil
}

// outstandingFunctions adds to set the pending functions of the scan
// whose inputs and dependencies are satisfied.
func (e *Engine) outstandingFunctions(ctx context.Context, s *scan, set *outstandingSet) error {
	for _, p := range s.pending {
		f, ok := ownerOfMarker(p)
		if !ok {
			continue
		}
		fdoc, why, _, err := e.readiness(ctx, f)
		if err != nil {
			return err
		}
		if fdoc != nil && len(why) == 0 {
			if err := set.add(ctx, f.Release, "Outstanding ref: "+f.FnRef().String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcilableDeployments adds to set the current deployments of the scan
// that reconcile would re-run. A deployment is busy while a function of one
// of its chains is pending or running; the scan lists those markers.
func (e *Engine) reconcilableDeployments(ctx context.Context, s *scan, set *outstandingSet) error {
	busy := map[state.WorkID]bool{} // deployments by package and environment, no release
	for _, m := range append(append([]string(nil), s.pending...), s.running...) {
		if f, ok := ownerOfMarker(m); ok && f.Type == ref.TypeDeploy {
			busy[deploymentKey(f)] = true
		}
	}
	deploying := func(_ context.Context, w state.WorkID) (bool, error) { return busy[deploymentKey(w)], nil }
	var links []string
	for _, l := range s.state {
		if strings.Contains(l, "/@/deploy/") {
			links = append(links, l)
		}
	}
	// Each deployment is a few small reads; they are checked a few at a
	// time and reported in order.
	type result struct {
		cur   state.WorkID
		rerun bool
		err   error
	}
	results := make([]result, len(links))
	fanout.Each(len(links), readsAtOnce, func(i int) {
		link, err := ref.Parse(links[i])
		if err != nil {
			return
		}
		cur, _, inputs, err := e.reconcilable(ctx, link, deploying)
		results[i] = result{cur: cur, rerun: inputs != nil, err: err}
	})
	for i, res := range results {
		if res.err != nil {
			return res.err
		}
		if res.rerun {
			if err := set.add(ctx, res.cur.Release, "Reconcilable ref: "+links[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// deploymentKey names the deployment of w's package to w's environment,
// whatever the release.
func deploymentKey(w state.WorkID) state.WorkID {
	return state.ReleaseID{Repo: w.Release.Repo, File: w.Release.File}.Work(w.Type, w.Name)
}

// outstandingSet collects the lines of outstanding work by (repo, commit)
// pair, in the order the pairs are found.
type outstandingSet struct {
	e           *Engine
	withCurrent bool                       // include the current pair
	commits     map[state.ReleaseID]string // release → its commit
	pairs       map[[2]string]*Outstanding
	order       [][2]string
}

// add records line for the pair of release rel; the current pair only
// withCurrent, releases without a commit not at all.
func (o *outstandingSet) add(ctx context.Context, rel state.ReleaseID, line string) error {
	commit, ok := o.commits[rel]
	if !ok {
		var doc state.Release
		if _, err := o.e.get(ctx, rel.Ref(), &doc); err != nil {
			return err
		}
		commit = doc.Commit
		o.commits[rel] = commit
	}
	if commit == "" || (!o.withCurrent && rel.Repo == o.e.Repo && commit == o.e.Commit) {
		return nil
	}
	key := [2]string{rel.Repo, commit}
	p, ok := o.pairs[key]
	if !ok {
		p = &Outstanding{Repo: rel.Repo, Commit: commit}
		o.pairs[key] = p
		o.order = append(o.order, key)
	}
	p.Lines = append(p.Lines, line)
	return nil
}

// result returns the pairs sorted by repo and commit.
func (o *outstandingSet) result() []Outstanding {
	out := make([]Outstanding, 0, len(o.order))
	for _, k := range o.order {
		out = append(out, *o.pairs[k])
	}
	slices.SortFunc(out, func(a, b Outstanding) int {
		return strings.Compare(a.Repo+" "+a.Commit, b.Repo+" "+b.Commit)
	})
	return out
}

// Trigger calls the trigger function recorded with the repo configuration
// of commit for repo (docs/engine.md §11.5): the stored source is evaluated
// without load(), in dir, and its trigger called with the commit, within
// the limits of package code (time, steps, memory) and the command's
// deadline.
// errNoTrigger (a notice) when no configuration or trigger is recorded.
// Registered secrets are masked in its errors, as in every line the engine
// prints (docs/engine.md §16).
func (e *Engine) Trigger(ctx context.Context, repo, commit, dir string, marker ref.Marker) (err error) {
	defer func() { err = e.masked(err) }()
	ctx, cancel := e.deadlineContext(ctx)
	defer cancel()
	var rc state.RepoConfig
	at := repoConfigRef(repo, marker, commit)
	found, err := e.get(ctx, at, &rc)
	if err != nil {
		return err
	}
	if !found {
		return ErrNoTrigger
	}
	f, err := config.Evaluate(ctx, rc.Source, config.EvalOptions{
		Filename: at.String(),
		Root:     dir,
		Dir:      dir,
		Environ:  e.Environ,
		Secrets:  e.Secrets,
		Stderr:   e.progress.err,
		NoLoad:   true,
	})
	if err != nil {
		return err
	}
	if f.Trigger == nil {
		return ErrNoTrigger
	}
	err = e.runBounded(ctx, "trigger", func(thread *starlark.Thread) error {
		return f.CallTriggerThread(thread, commit)
	})
	if errors.Is(err, config.ErrNoTrigger) {
		return ErrNoTrigger
	}
	return err
}

// ErrNoTrigger says that no trigger is recorded for a commit.
var ErrNoTrigger = errors.New("no trigger recorded")

// RunTriggers calls the triggers of the outstanding pairs; dryRun prints
// what would be triggered instead. Trigger failures are warnings.
func (e *Engine) RunTriggers(ctx context.Context, pairs []Outstanding, dir string, dryRun bool) {
	for _, p := range pairs {
		if dryRun {
			for _, l := range p.Lines {
				e.progress.line("%s", l)
			}
			e.progress.line("would trigger %s at %s", p.Repo, p.Commit)
			continue
		}
		e.report(p.Repo, p.Commit, e.Trigger(ctx, p.Repo, p.Commit, dir, ref.State))
	}
}

// report prints how triggering repo at commit went: trigger errors are
// warnings, a missing trigger a notice on stderr.
func (e *Engine) report(repo, commit string, err error) {
	switch {
	case errors.Is(err, ErrNoTrigger):
		e.progress.errorLine(fmt.Sprintf("outstanding work for %s at commit %s: check out %s and run ocu-apply", repo, commit, commit))
	case err != nil:
		e.progress.warn(fmt.Sprintf("trigger for %s at %s: %v", repo, commit, err))
	default:
		e.progress.line("triggered %s at %s", repo, commit)
	}
}

// IntentTriggers calls, for each repo whose configuration is linked in the
// intent store (R/-/repo.ocu.star/+ → +H), its trigger with H.
func (e *Engine) IntentTriggers(ctx context.Context, dir string, dryRun bool) error {
	links, err := e.matchRefs(ctx, "**/-/repo.ocu.star/+")
	if err != nil {
		return err
	}
	for _, l := range links {
		r, err := e.resolve(ctx, l)
		if err != nil || r.IsZero() {
			continue
		}
		if dryRun {
			e.progress.line("would trigger %s at %s", r.Repo, r.Release)
			continue
		}
		e.report(r.Repo, r.Release, e.Trigger(ctx, r.Repo, r.Release, dir, ref.Intent))
	}
	return nil
}
