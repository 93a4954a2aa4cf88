package engine

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// checkEnvs processes the check_envs task of release rel, if any (docs/engine.md
// §11.2): the package is evaluated with the current environments; every work
// item without a chain, or whose latest chain was torn down or cancelled
// because its environment was removed, gets a new chain; the release's
// package is rewritten and the task deleted, in one transaction. It returns
// the number of chains created (or 1 when only the task was processed).
func (e *Engine) checkEnvs(ctx context.Context, rel state.ReleaseID) (int, error) {
	task := rel.CheckEnvsRef()
	found, err := e.get(ctx, task, nil)
	if err != nil || !found {
		return 0, err
	}
	if !state.IsNumber(rel.Number) {
		return 0, fmt.Errorf("%s is not a numbered release", rel)
	}
	var doc state.Release
	if _, err := e.get(ctx, rel.Ref(), &doc); err != nil {
		return 0, err
	}
	ev, err := e.evaluate(ctx, rel.File, doc.Commit, rel.Number)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", rel, err)
	}
	latest, err := e.latestChains(ctx, rel)
	if err != nil {
		return 0, err
	}
	byItem := map[state.WorkID]chainInfo{}
	for _, c := range latest {
		byItem[c.item] = c
	}
	b := store.NewTx("check environments " + rel.String())
	created := 0
	var labels []string
	for _, pc := range plan(rel, ev.pkg) {
		c, exists := byItem[pc.item]
		if exists {
			removed, err := e.removedByEnvironment(ctx, c)
			if err != nil {
				return 0, err
			}
			if !removed {
				continue
			}
		}
		k := 1
		if exists {
			k = c.k + 1
		}
		e.newChain(b, pc.item, k, "", "", pc.fn, pc.inputs, pc.deps)
		labels = append(labels, label(pc.item, false))
		created++
	}
	doc.Package = ev.pkg
	b.Put(rel.Ref(), doc)
	e.forgetRelease(rel)
	b.Delete(task, true)
	if err := e.commit(ctx, b); err != nil {
		return 0, err
	}
	for _, l := range labels {
		e.progress.line("%s: pending", l)
	}
	return max(created, 1), nil
}

// removedByEnvironment reports whether a work item's latest chain is a down
// chain or a cancellation caused by removing its environment.
func (e *Engine) removedByEnvironment(ctx context.Context, c chainInfo) (bool, error) {
	var ch state.Chain
	if _, err := e.get(ctx, c.item.WithChain(c.k).ChainRef(), &ch); err != nil {
		return false, err
	}
	return ch.Reason == "environment" && (ch.Type == "down" || c.status == state.StatusCancelled), nil
}

// reconcile re-runs current deployments of the releases whose inputs
// changed since they ran (docs/engine.md §11.3). It returns the chains created.
func (e *Engine) reconcile(ctx context.Context, rels []state.ReleaseID) (int, error) {
	created := 0
	for _, rel := range rels {
		n, err := e.reconcileRelease(ctx, rel)
		created += n
		if err != nil {
			return created, err
		}
	}
	return created, nil
}

// reconcileRelease re-runs the current deployments of rel whose inputs
// changed. It returns the chains created.
func (e *Engine) reconcileRelease(ctx context.Context, rel state.ReleaseID) (int, error) {
	if !state.IsNumber(rel.Number) {
		return 0, nil // a legacy release: nothing of it is deployed
	}
	links, err := e.matchRefs(ctx, rel.Package().String()+"/@/deploy/*")
	if err != nil {
		return 0, err
	}
	created := 0
	for _, link := range links {
		n, err := e.reconcileDeployment(ctx, rel, link)
		if err != nil {
			return created, err
		}
		created += n
	}
	return created, nil
}

// reconcileDeployment re-runs the deployment behind link when it is of rel
// and its inputs changed; it returns the chains created, 0 or 1.
func (e *Engine) reconcileDeployment(ctx context.Context, rel state.ReleaseID, link ref.Ref) (int, error) {
	cur, f1, inputs, err := e.reconcilable(ctx, link, e.deploying)
	if err != nil || inputs == nil || cur.Release != rel {
		return 0, err
	}
	k, err := e.nextChain(ctx, cur.Item())
	if err != nil {
		return 0, err
	}
	b := store.NewTx("reconcile " + cur.ItemRef().String())
	nc := e.newChain(b, cur.Item(), k, "", "", f1.Current.Fn, inputs, nil)
	if err := e.commit(ctx, b); err != nil {
		return 0, err
	}
	e.progress.line("%s: pending (inputs changed)", label(nc, false))
	return 1, nil
}

// deploying reports whether a chain of any release of w's package to w's
// environment is pending or running.
func (e *Engine) deploying(ctx context.Context, w state.WorkID) (bool, error) {
	busy, err := e.match(ctx, w.Release.Package().String()+"/@*/deploy/"+w.Name+"/*/status/pending")
	return len(busy) > 0, err
}

// reconcilable checks the current deployment behind link (docs/engine.md §11.3):
// when reconcile would re-run it, it returns the linked chain, its
// function 1 and the inputs with their new values; inputs is nil otherwise.
// busy tells whether the deployment has a pending or running chain.
func (e *Engine) reconcilable(ctx context.Context, link ref.Ref, busy func(context.Context, state.WorkID) (bool, error)) (state.WorkID, *state.Function, state.Inputs, error) {
	cur, ok, err := e.resolveWork(ctx, link)
	if err != nil || !ok || cur.Type != ref.TypeDeploy || cur.Chain == 0 || cur.Fn != 0 {
		return state.WorkID{}, nil, nil, err
	}
	if intent, err := e.get(ctx, cur.IntentRef(), nil); err != nil || !intent {
		return cur, nil, nil, err
	}
	if b, err := busy(ctx, cur); err != nil || b {
		return cur, nil, nil, err
	}
	var f1 state.Function
	if _, err := e.get(ctx, cur.WithFn(1).FnRef(), &f1); err != nil {
		return cur, nil, nil, err
	}
	inputs, changed, err := e.refreshInputs(ctx, f1.Current.Inputs, cur)
	if err != nil || !changed {
		return cur, nil, nil, err
	}
	return cur, &f1, inputs, nil
}

// refreshInputs returns a copy of inputs with the value of every input read
// from a ref replaced by what is stored there now, when that differs;
// inputs read from the deployment w itself keep theirs. changed reports a
// replaced value.
func (e *Engine) refreshInputs(ctx context.Context, inputs state.Inputs, w state.WorkID) (state.Inputs, bool, error) {
	out := copyInputs(inputs)
	changed := false
	for name, d := range out {
		if d.Ref == "" {
			continue
		}
		r, err := ref.Parse(d.Ref)
		if err != nil {
			return nil, false, err
		}
		if sameWorkItem(r, w) {
			continue
		}
		v, found, err := e.getValue(ctx, r)
		if err != nil {
			return nil, false, err
		}
		old, _ := d.Effective()
		if found && v != nil && !equalJSON(v, old) {
			d.Value = v
			out[name] = d
			changed = true
		}
	}
	return out, changed, nil
}

// sameWorkItem reports whether r points at work item w in any release:
// same repo, file, deploy and environment.
func sameWorkItem(r ref.Ref, w state.WorkID) bool {
	first, _, _ := strings.Cut(r.Subpath, "/")
	return r.Repo == w.Release.Repo && r.File == w.Release.File && r.Type == w.Type && first == w.Name
}

// markInterruptedIn marks the functions among running (status/running
// markers) that this host ran in a process that is gone as failed
// (docs/engine.md §15). It returns how many.
func (e *Engine) markInterruptedIn(ctx context.Context, refs []string) (int, error) {
	marked := 0
	for _, r := range refs {
		f, ok := ownerOfMarker(r)
		if !ok || f.Fn == 0 {
			continue
		}
		var fdoc state.Function
		if found, err := e.get(ctx, f.FnRef(), &fdoc); err != nil || !found {
			continue
		}
		run := fdoc.Current.Runner
		if fdoc.Current.Status != state.StatusRunning || run == nil || run.Host != e.host || alive(run.Pid, e.pid) {
			continue
		}
		var chain state.Chain
		if _, err := e.get(ctx, f.ChainRef(), &chain); err != nil {
			return marked, err
		}
		out := outcome{failure: fmt.Sprintf("interrupted: runner %s pid %d stopped before the function finished", run.Host, run.Pid)}
		if err := e.finish(ctx, f, chain, &fdoc, &out); err != nil {
			return marked, err
		}
		e.progress.line("%s: running -> failed: %s", label(f, chain.Type == "down"), out.failure)
		marked++
	}
	return marked, nil
}

// alive reports whether process pid runs (and is not this process).
func alive(pid, self int) bool {
	if pid <= 0 || pid == self {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}
