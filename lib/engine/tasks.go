package engine

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/lib/state"
)

// checkEnvs processes the check_envs task of release rel, if any (docs/engine.md
// §11.2): the package is evaluated with the current environments; every work
// item without a chain, or whose latest chain was torn down or cancelled
// because its environment was removed, gets a new chain; the release's
// package is rewritten and the task deleted, in one transaction. It returns
// the number of chains created (or 1 when only the task was processed).
func (e *Engine) checkEnvs(ctx context.Context, rel string) (int, error) {
	task := rel + "/task/check_envs"
	found, err := e.get(ctx, task, nil)
	if err != nil || !found {
		return 0, err
	}
	id, err := parseRelease(rel)
	if err != nil {
		return 0, err
	}
	var doc state.Release
	if _, err := e.get(ctx, rel, &doc); err != nil {
		return 0, err
	}
	ev, err := e.evaluate(ctx, id.File, doc.Commit, id.Number)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", rel, err)
	}
	latest, err := e.latestChains(ctx, rel)
	if err != nil {
		return 0, err
	}
	byItem := map[string]chainInfo{}
	for _, c := range latest {
		byItem[c.item.ItemRef().String()] = c
	}
	b := newBatch("check environments " + rel)
	created := 0
	var labels []string
	for _, pc := range plan(id, ev.pkg) {
		c, exists := byItem[pc.item.ItemRef().String()]
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
	b.put(rel, doc)
	e.forgetRelease(rel)
	b.del(task)
	if err := e.commitBatch(ctx, b); err != nil {
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
	if _, err := e.get(ctx, c.item.WithChain(c.k).ChainRef().String(), &ch); err != nil {
		return false, err
	}
	return ch.Reason == "environment" && (ch.Type == "down" || c.status == state.StatusCancelled), nil
}

// reconcile re-runs current deployments of the releases whose inputs
// changed since they ran (docs/engine.md §11.3). It returns the chains created.
func (e *Engine) reconcile(ctx context.Context, rels []string) (int, error) {
	created := 0
	for _, rel := range rels {
		id, err := parseRelease(rel)
		if err != nil {
			continue
		}
		links, err := e.Store.Match(ctx, []string{id.Repo + "/-/" + id.File + "/@/deploy/*"}, false)
		if err != nil {
			return created, err
		}
		for _, link := range links {
			n, err := e.reconcileDeployment(ctx, rel, link)
			if err != nil {
				return created, err
			}
			created += n
		}
	}
	return created, nil
}

func (e *Engine) reconcileDeployment(ctx context.Context, rel, link string) (int, error) {
	cur, f1, inputs, err := e.reconcilable(ctx, link, e.deploying)
	if err != nil || inputs == nil || cur.Release.String() != rel {
		return 0, err
	}
	k, err := e.nextChain(ctx, cur.WithChain(0))
	if err != nil {
		return 0, err
	}
	b := newBatch("reconcile " + cur.ItemRef().String())
	nc := e.newChain(b, cur.WithChain(0), k, "", "", f1.Current.Fn, inputs, nil)
	if err := e.commitBatch(ctx, b); err != nil {
		return 0, err
	}
	e.progress.line("%s: pending (inputs changed)", label(nc, false))
	return 1, nil
}

// deploying reports whether a chain of any release of w's package to w's
// environment is pending or running.
func (e *Engine) deploying(ctx context.Context, w state.WorkID) (bool, error) {
	busy, err := e.match(ctx, w.Release.Repo+"/-/"+w.Release.File+"/@*/deploy/"+w.Name+"/*/status/pending")
	return len(busy) > 0, err
}

// reconcilable checks the current deployment behind link (docs/engine.md §11.3):
// when reconcile would re-run it, it returns the linked chain, its
// function 1 and the inputs with their new values; inputs is nil otherwise.
// busy tells whether the deployment has a pending or running chain.
func (e *Engine) reconcilable(ctx context.Context, link string, busy func(context.Context, state.WorkID) (bool, error)) (state.WorkID, *state.Function, state.Inputs, error) {
	target, err := e.resolve(ctx, link)
	if err != nil || target == "" {
		return state.WorkID{}, nil, nil, err
	}
	cur, err := parseWorkRef(target)
	if err != nil || cur.Type != "deploy" || cur.Chain == 0 || cur.Fn != 0 {
		return state.WorkID{}, nil, nil, nil
	}
	if intent, err := e.get(ctx, cur.IntentRef().String(), nil); err != nil || !intent {
		return cur, nil, nil, err
	}
	if b, err := busy(ctx, cur); err != nil || b {
		return cur, nil, nil, err
	}
	var f1 state.Function
	if _, err := e.get(ctx, cur.WithFn(1).FnRef().String(), &f1); err != nil {
		return cur, nil, nil, err
	}
	changed := false
	inputs := copyInputs(f1.Current.Inputs)
	for name, d := range inputs {
		if d.Ref == "" || sameWorkItem(d.Ref, cur) {
			continue
		}
		v, found, err := e.getValue(ctx, d.Ref)
		if err != nil {
			return cur, nil, nil, err
		}
		old, _ := d.Effective()
		if found && v != nil && !equalJSON(v, old) {
			d.Value = v
			inputs[name] = d
			changed = true
		}
	}
	if !changed {
		return cur, nil, nil, nil
	}
	return cur, &f1, inputs, nil
}

// sameWorkItem reports whether ref r points at work item w in any release:
// same repo, file, deploy and environment.
func sameWorkItem(r string, w state.WorkID) bool {
	rr, err := parseAny(r)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(rr.Subpath, "/")
	return rr.Repo == w.Release.Repo && rr.File == w.Release.File && rr.Type == w.Type && first == w.Name
}

// markInterruptedIn marks the functions among running (status/running
// markers) that this host ran in a process that is gone as failed
// (docs/engine.md §15). It returns how many.
func (e *Engine) markInterruptedIn(ctx context.Context, refs []string) (int, error) {
	marked := 0
	for _, r := range refs {
		f, err := parseWorkRef(strings.TrimSuffix(r, "/status/running"))
		if err != nil {
			continue
		}
		var fdoc state.Function
		if found, err := e.get(ctx, f.FnRef().String(), &fdoc); err != nil || !found {
			continue
		}
		run := fdoc.Current.Runner
		if fdoc.Current.Status != state.StatusRunning || run == nil || run.Host != e.host || alive(run.Pid, e.pid) {
			continue
		}
		var chain state.Chain
		if _, err := e.get(ctx, f.ChainRef().String(), &chain); err != nil {
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
