package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// plannedChain is chain 1 of a work item of a compiled package.
type plannedChain struct {
	item   state.WorkID
	fn     state.FuncID
	inputs state.Inputs
	deps   []string
}

// plan compiles a package's phases into first chains (docs/engine.md §5): the
// items of a phase depend on every item of the nearest preceding non-empty
// phase.
func plan(rel state.ReleaseID, pkg state.Package) []plannedChain {
	var out []plannedChain
	var prev []state.Work
	for _, ph := range pkg.Phases {
		var deps []string
		for _, w := range prev {
			typ, name := w.Kind()
			deps = append(deps, rel.Work(typ, name).ItemRef().String()+"/*/status/complete")
		}
		for _, w := range ph.Work {
			typ, name := w.Kind()
			pc := plannedChain{
				item: rel.Work(typ, name),
				deps: deps,
			}
			if w.Call != nil {
				pc.fn, pc.inputs = w.Call.Fn, w.Call.Inputs
			} else {
				pc.fn, pc.inputs = w.Deploy.Up, w.Deploy.Inputs
			}
			pc.inputs = copyInputs(pc.inputs)
			out = append(out, pc)
		}
		if len(ph.Work) > 0 {
			prev = ph.Work
		}
	}
	return out
}

func copyInputs(in state.Inputs) state.Inputs {
	out := make(state.Inputs, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// recordRepoConfig adds the repo config record of the current commit to b
// (docs/engine.md §6, §10 step 7): R/-/repo.ocu.star/@H and its link when
// missing, and the intent twins when missing.
func (e *Engine) recordRepoConfig(ctx context.Context, b *store.Tx) error {
	for _, marker := range []ref.Marker{ref.State, ref.Intent} {
		at := repoConfigRef(e.Repo, marker, e.Commit)
		found, err := e.get(ctx, at, nil)
		if err != nil {
			return err
		}
		if !found {
			b.Put(at, state.RepoConfig{Source: e.RepoConfig})
			b.Link(repoConfigRef(e.Repo, marker, ""), at)
		}
	}
	b.SupportFiles = true
	return nil
}

// repoConfigRef returns R/-/repo.ocu.star/@H (or +H); H "" gives the link
// to the latest, R/-/repo.ocu.star/@.
func repoConfigRef(repo string, m ref.Marker, h string) ref.Ref {
	return ref.Ref{Repo: repo, File: "repo.ocu.star", Marker: m, Release: h}
}

// ReleaseNew releases package file at the current commit (docs/engine.md §10)
// and runs it until it completes, fails or pauses. An environments file
// registers its environments instead. failed reports a failed release.
func (e *Engine) ReleaseNew(ctx context.Context, file string, force bool) (failed bool, err error) {
	if e.Commit == "" {
		return false, errors.New("cannot determine the commit")
	}
	pkg := ref.Ref{Repo: e.Repo, File: file}.String()
	if !force {
		existing, err := e.match(ctx, pkg+"/@*/commit/"+e.Commit)
		if err != nil {
			return false, err
		}
		if len(existing) > 0 {
			for _, r := range existing {
				e.progress.line("%s", r)
			}
			return false, fmt.Errorf("there are already %d release(s) of %s at commit %s (listed above); use --force to create another", len(existing), file, e.Commit)
		}
	}
	for attempt := 0; ; attempt++ {
		refs, err := e.match(ctx, pkg+"/@*")
		if err != nil {
			return false, err
		}
		n := strconv.Itoa(nextNumber(refs))
		ev, err := e.evaluate(ctx, file, e.Commit, n)
		if err != nil {
			return false, err
		}
		if ev.isEnvironmentsFile() {
			return false, e.registerEnvironments(ctx, file, ev.envs)
		}
		rel := state.ReleaseID{Repo: e.Repo, File: file, Number: n}
		err = e.createRelease(ctx, rel, ev.pkg)
		if store.CodeOf(err) == store.EConflict && attempt < 5 {
			continue // another process took N: number again
		}
		if err != nil {
			return false, err
		}
		return e.runRelease(ctx, rel)
	}
}

// createRelease writes release rel with chain 1 of every work item, in one
// transaction.
func (e *Engine) createRelease(ctx context.Context, rel state.ReleaseID, pkg state.Package) error {
	b := store.NewTx("release " + rel.String())
	if err := e.recordRepoConfig(ctx, b); err != nil {
		return err
	}
	b.Create(rel.Ref(), state.Release{Commit: e.Commit, Package: pkg})
	b.Put(rel.CommitRef(e.Commit), state.Marker{Time: e.now()})
	chains := plan(rel, pkg)
	for _, pc := range chains {
		e.newChain(b, pc.item, 1, "", "", pc.fn, pc.inputs, pc.deps)
	}
	if err := e.commit(ctx, b); err != nil {
		return err
	}
	for _, pc := range chains {
		e.progress.line("%s: pending", label(pc.item, false))
	}
	return nil
}

// runRelease runs a release until it pauses and prints its status.
func (e *Engine) runRelease(ctx context.Context, rel state.ReleaseID) (bool, error) {
	if _, err := e.run(ctx, []state.ReleaseID{rel}); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := e.printWaiting(ctx, rel); err != nil {
		return false, err
	}
	status, err := e.releaseStatus(ctx, rel)
	if err != nil {
		return false, err
	}
	e.progress.line("release %s: %s", rel, status)
	return status == state.StatusFailed, nil
}

// registerEnvironments writes the environment intents of an environments
// file with the repo config record, then applies each (docs/engine.md §10 step 6).
func (e *Engine) registerEnvironments(ctx context.Context, file string, envs []state.Environment) error {
	b := store.NewTx("register environments " + file)
	if err := e.recordRepoConfig(ctx, b); err != nil {
		return err
	}
	for _, env := range envs {
		b.Put(environmentRef(ref.Intent, env.Name), env)
	}
	if err := e.commit(ctx, b); err != nil {
		return err
	}
	for _, env := range envs {
		msg, err := e.applyEnvironment(ctx, env.Name)
		if err != nil {
			return err
		}
		e.progress.line("+/environment/%s: %s", env.Name, msg)
	}
	return nil
}

// ResolveRelease turns a release ref (R/-/F/@N or a tag) or a package ref
// (R/-/F: its highest numbered release) into the release's ID.
func (e *Engine) ResolveRelease(ctx context.Context, r ref.Ref) (state.ReleaseID, error) {
	if r.Marker == ref.NoMarker {
		refs, err := e.match(ctx, r.String()+"/@*")
		if err != nil {
			return state.ReleaseID{}, err
		}
		ns := numbers(refs)
		if len(ns) == 0 {
			return state.ReleaseID{}, fmt.Errorf("%s has no release", r)
		}
		return state.ReleaseID{Repo: r.Repo, File: r.File, Number: strconv.Itoa(ns[len(ns)-1])}, nil
	}
	res, err := e.resolve(ctx, r)
	if err != nil {
		return state.ReleaseID{}, err
	}
	if res.IsZero() {
		return state.ReleaseID{}, fmt.Errorf("release %s not found", r)
	}
	id, err := state.ParseRelease(res)
	if err != nil {
		return state.ReleaseID{}, fmt.Errorf("%s is not a release (it resolves to %s)", r, res)
	}
	return id, nil
}

// ReleaseContinue processes the check_envs task of a release and runs it
// (docs/engine.md §11.6).
func (e *Engine) ReleaseContinue(ctx context.Context, rel state.ReleaseID) (bool, error) {
	if _, err := e.checkEnvs(ctx, rel); err != nil {
		return false, err
	}
	return e.runRelease(ctx, rel)
}

// ReleaseRetry retries the failed functions of a release (docs/engine.md §12):
// each gets a new chain continuing where the failed one stopped.
func (e *Engine) ReleaseRetry(ctx context.Context, rel state.ReleaseID, running bool) (bool, error) {
	chains, err := e.latestChains(ctx, rel)
	if err != nil {
		return false, err
	}
	retried := 0
	for _, c := range chains {
		if c.status != state.StatusFailed && !(running && c.status == state.StatusPending) {
			continue
		}
		ok, err := e.retryChain(ctx, c, running)
		if err != nil {
			return false, err
		}
		if ok {
			retried++
		}
	}
	if retried == 0 {
		return false, fmt.Errorf("no failed functions in %s", rel)
	}
	return e.runRelease(ctx, rel)
}

// retryChain writes chain K+1 of a failed chain K: functions before the
// failed one copied as complete, the failed one pending again.
func (e *Engine) retryChain(ctx context.Context, c chainInfo, running bool) (bool, error) {
	old := c.item.WithChain(c.k)
	fns, err := e.match(ctx, old.ChainRef().String()+"/functions/*")
	if err != nil {
		return false, err
	}
	count := len(numbers(fns))
	var docs []*state.Function
	failedAt := 0
	for i := 1; i <= count; i++ {
		var f state.Function
		if _, err := e.get(ctx, old.WithFn(i).FnRef(), &f); err != nil {
			return false, err
		}
		docs = append(docs, &f)
		if failedAt == 0 && (f.Current.Status == state.StatusFailed || (running && f.Current.Status == state.StatusRunning)) {
			failedAt = i
		}
	}
	if failedAt == 0 {
		return false, nil
	}
	var chain state.Chain
	if _, err := e.get(ctx, old.ChainRef(), &chain); err != nil {
		return false, err
	}
	k, err := e.nextChain(ctx, c.item)
	if err != nil {
		return false, err
	}
	nc := c.item.WithChain(k)
	now := e.now()
	b := store.NewTx("retry " + old.ChainRef().String())
	b.Create(nc.ChainRef(), state.Chain{Type: chain.Type, Release: chain.Release, Entrypoint: nc.WithFn(1).FnRef().String(), Reason: chain.Reason})
	b.Put(nc.StatusRef(state.StatusPending), state.Marker{Time: now})
	for i := 1; i < failedAt; i++ {
		f := *docs[i-1]
		f.Current.Runner = nil
		f.History = append(append([]state.HistoryEntry(nil), f.History...), state.HistoryEntry{Status: state.StatusComplete, Time: now})
		b.Create(nc.WithFn(i).FnRef(), f)
		b.Put(nc.WithFn(i).StatusRef(state.StatusComplete), state.Marker{Time: now})
	}
	failed := docs[failedAt-1]
	e.newFunction(b, nc.WithFn(failedAt), failed.Current.Fn, failed.Current.Inputs, failed.Current.Dependencies)
	failed.Current.Status = state.StatusFailedRetried
	failed.Current.Runner = nil
	failed.History = append(failed.History, state.HistoryEntry{Status: state.StatusFailedRetried, Time: now})
	b.Put(old.WithFn(failedAt).FnRef(), failed)
	e.swapStatus(b, old.WithFn(failedAt), state.StatusFailedRetried, state.StatusFailed, state.StatusRunning)
	e.swapStatus(b, old, state.StatusFailedRetried, state.StatusFailed, state.StatusPending)
	if err := e.commit(ctx, b); err != nil {
		return false, err
	}
	e.progress.line("%s: pending (retry of %s)", label(nc, chain.Type == "down"), old.ChainRef())
	return true, nil
}

// ReleasesAtCommit lists the releases of the repo at commit h (docs/engine.md
// §11.1): targets of R/-/**/@*/commit/H, and legacy releases "@H.<n>".
func (e *Engine) ReleasesAtCommit(ctx context.Context, h string) ([]state.ReleaseID, error) {
	refs, err := e.releaseRefsAt(ctx, h)
	if err != nil {
		return nil, err
	}
	return (&scan{commits: refs}).releases(h), nil
}

// WorkResult says what WorkContinue did.
type WorkResult struct {
	Did      bool // a task was processed, a chain created or a function run
	Failures int  // functions that failed, and releases that could not be loaded
	Pending  bool // work is left pending (waiting for inputs or dependencies)
}

// WorkContinue processes tasks, reconciles and runs the work of the
// releases at the current commit, round after round until nothing happens
// (docs/engine.md §11.6 steps 2b–2e). A release that cannot be loaded is reported
// and counted as a failure; the others go on.
func (e *Engine) WorkContinue(ctx context.Context, maxRounds int) (WorkResult, error) {
	var res WorkResult
	rels, err := e.ReleasesAtCommit(ctx, e.Commit)
	if err != nil {
		return res, err
	}
	broken := map[state.ReleaseID]bool{}
	for round := 0; round < maxRounds && ctx.Err() == nil; round++ {
		n, failed := e.tasks(ctx, rels, broken)
		res.Failures += failed
		active := n > 0
		created, err := e.reconcile(ctx, rels)
		if err != nil {
			return res, err
		}
		ran, err := e.run(ctx, rels)
		if err != nil {
			return res, err
		}
		res.Failures += ran.failed
		if !active && created == 0 && ran.ran == 0 {
			break
		}
		res.Did = true
	}
	for _, rel := range rels {
		p, err := e.pending(ctx, rel)
		if err != nil {
			return res, err
		}
		res.Pending = res.Pending || len(p) > 0
	}
	return res, e.printWaiting(ctx, rels...)
}

// tasks processes the check_envs tasks of rels, skipping the releases in
// broken. A release that cannot be loaded is reported, added to broken and
// counted in failed; n counts the tasks processed.
func (e *Engine) tasks(ctx context.Context, rels []state.ReleaseID, broken map[state.ReleaseID]bool) (n, failed int) {
	for _, rel := range rels {
		if broken[rel] {
			continue
		}
		done, err := e.checkEnvs(ctx, rel)
		if err != nil {
			e.progress.errorLine(err.Error())
			broken[rel] = true
			failed++
			continue
		}
		if done > 0 {
			n++
		}
	}
	return n, failed
}

// FailedReleasesAtCommit lists the releases at the current commit with a
// failed work item.
func (e *Engine) FailedReleasesAtCommit(ctx context.Context) ([]state.ReleaseID, error) {
	rels, err := e.ReleasesAtCommit(ctx, e.Commit)
	if err != nil {
		return nil, err
	}
	var out []state.ReleaseID
	for _, rel := range rels {
		chains, err := e.latestChains(ctx, rel)
		if err != nil {
			return nil, err
		}
		for _, c := range chains {
			if c.status == state.StatusFailed {
				out = append(out, rel)
				break
			}
		}
	}
	return out, nil
}

// Tasks processes the check_envs tasks of the releases at the current
// commit once; it returns how many releases had one, and how many could not
// be loaded (reported, the others go on).
func (e *Engine) Tasks(ctx context.Context) (done, failed int, err error) {
	rels, err := e.ReleasesAtCommit(ctx, e.Commit)
	if err != nil {
		return 0, 0, err
	}
	done, failed = e.tasks(ctx, rels, map[state.ReleaseID]bool{})
	return done, failed, nil
}
