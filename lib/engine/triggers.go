package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
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
	commits := map[string]string{} // release → commit
	commitOf := func(rel string) (string, error) {
		if c, ok := commits[rel]; ok {
			return c, nil
		}
		var doc state.Release
		if _, err := e.get(ctx, rel, &doc); err != nil {
			return "", err
		}
		commits[rel] = doc.Commit
		return doc.Commit, nil
	}
	pairs := map[[2]string]*Outstanding{}
	var order [][2]string
	add := func(repo, rel, line string) error {
		commit, err := commitOf(rel)
		if err != nil || commit == "" || (!withCurrent && repo == e.Repo && commit == e.Commit) {
			return err
		}
		key := [2]string{repo, commit}
		o, ok := pairs[key]
		if !ok {
			o = &Outstanding{Repo: repo, Commit: commit}
			pairs[key] = o
			order = append(order, key)
		}
		o.Lines = append(o.Lines, line)
		return nil
	}
	for _, p := range s.pending {
		f, err := parseWorkRef(strings.TrimSuffix(p, "/status/pending"))
		if err != nil {
			continue
		}
		fdoc, why, _, err := e.readiness(ctx, f)
		if err != nil {
			return nil, err
		}
		if fdoc != nil && len(why) == 0 {
			if err := add(f.Release.Repo, f.Release.String(), "Outstanding ref: "+f.FnRef().String()); err != nil {
				return nil, err
			}
		}
	}
	// A deployment is busy while a function of one of its chains is pending
	// or running; the scan lists those markers.
	busy := map[string]bool{}
	for _, m := range append(append([]string(nil), s.pending...), s.running...) {
		if f, err := parseWorkRef(m[:strings.LastIndex(m, "/status/")]); err == nil && f.Type == "deploy" {
			busy[f.Release.Repo+"/-/"+f.Release.File+" "+f.Name] = true
		}
	}
	deploying := func(_ context.Context, w state.WorkID) (bool, error) {
		return busy[w.Release.Repo+"/-/"+w.Release.File+" "+w.Name], nil
	}
	for _, l := range s.state {
		if !strings.Contains(l, "/@/deploy/") {
			continue
		}
		cur, _, inputs, err := e.reconcilable(ctx, l, deploying)
		if err != nil {
			return nil, err
		}
		if inputs != nil {
			if err := add(cur.Release.Repo, cur.Release.String(), "Reconcilable ref: "+l); err != nil {
				return nil, err
			}
		}
	}
	for _, t := range s.tasks {
		rel := strings.TrimSuffix(t, "/task/check_envs")
		id, err := parseRelease(rel)
		if err != nil {
			continue
		}
		if err := add(id.Repo, rel, "Task ref: "+t); err != nil {
			return nil, err
		}
	}
	out := make([]Outstanding, 0, len(order))
	for _, k := range order {
		out = append(out, *pairs[k])
	}
	slices.SortFunc(out, func(a, b Outstanding) int {
		return strings.Compare(a.Repo+" "+a.Commit, b.Repo+" "+b.Commit)
	})
	return out, nil
}

// Trigger calls the trigger function recorded with the repo configuration
// of commit for repo (docs/engine.md §11.5): the stored source is evaluated
// without load(), in dir, and its trigger called with the commit, within
// the function timeout and the command's deadline.
// errNoTrigger (a notice) when no configuration or trigger is recorded.
func (e *Engine) Trigger(ctx context.Context, repo, commit, dir string, marker ref.Marker) error {
	ctx, cancel := e.deadlineContext(ctx)
	defer cancel()
	var rc state.RepoConfig
	at := repo + "/-/repo.ocu.star/" + string(marker) + commit
	found, err := e.get(ctx, at, &rc)
	if err != nil {
		return err
	}
	if !found {
		return ErrNoTrigger
	}
	f, err := config.Evaluate(ctx, rc.Source, config.EvalOptions{
		Filename: at,
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
	err = f.CallTrigger(ctx, commit)
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
	links, err := e.match(ctx, "**/-/repo.ocu.star/+")
	if err != nil {
		return err
	}
	for _, l := range links {
		res, err := e.resolve(ctx, l)
		if err != nil || res == "" {
			continue
		}
		r, err := ref.Parse(res)
		if err != nil {
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
