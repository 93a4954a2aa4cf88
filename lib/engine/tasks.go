package engine

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
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
	var doc Release
	if _, err := e.get(ctx, rel, &doc); err != nil {
		return 0, err
	}
	ev, err := e.evaluate(ctx, id.file, doc.Commit, id.number)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", rel, err)
	}
	latest, err := e.latestChains(ctx, rel)
	if err != nil {
		return 0, err
	}
	byItem := map[string]chainInfo{}
	for _, c := range latest {
		byItem[c.item.item()] = c
	}
	b := newBatch("check environments " + rel)
	created := 0
	var labels []string
	for _, pc := range plan(id, ev.pkg) {
		c, exists := byItem[pc.item.item()]
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
	var ch Chain
	if _, err := e.get(ctx, c.item.withChain(c.k).chainRef(), &ch); err != nil {
		return false, err
	}
	return ch.Reason == "environment" && (ch.Type == "down" || c.status == StatusCancelled), nil
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
		links, err := e.Store.Match(ctx, []string{id.repo + "/-/" + id.file + "/@/deploy/*"}, false)
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
	if err != nil || inputs == nil || cur.releaseRef() != rel {
		return 0, err
	}
	k, err := e.nextChain(ctx, cur.withChain(0))
	if err != nil {
		return 0, err
	}
	b := newBatch("reconcile " + cur.item())
	nc := e.newChain(b, cur.withChain(0), k, "", "", f1.Current.Fn, inputs, nil)
	if err := e.commitBatch(ctx, b); err != nil {
		return 0, err
	}
	e.progress.line("%s: pending (inputs changed)", label(nc, false))
	return 1, nil
}

// deploying reports whether a chain of any release of w's package to w's
// environment is pending or running.
func (e *Engine) deploying(ctx context.Context, w workRef) (bool, error) {
	busy, err := e.match(ctx, w.repo+"/-/"+w.file+"/@*/deploy/"+w.name+"/*/status/pending")
	return len(busy) > 0, err
}

// reconcilable checks the current deployment behind link (docs/engine.md §11.3):
// when reconcile would re-run it, it returns the linked chain, its
// function 1 and the inputs with their new values; inputs is nil otherwise.
// busy tells whether the deployment has a pending or running chain.
func (e *Engine) reconcilable(ctx context.Context, link string, busy func(context.Context, workRef) (bool, error)) (workRef, *Function, Inputs, error) {
	target, err := e.resolve(ctx, link)
	if err != nil || target == "" {
		return workRef{}, nil, nil, err
	}
	cur, err := parseWorkRef(target)
	if err != nil || cur.typ != "deploy" || cur.chain == 0 || cur.fn != 0 {
		return workRef{}, nil, nil, nil
	}
	if intent, err := e.get(ctx, cur.intent(), nil); err != nil || !intent {
		return cur, nil, nil, err
	}
	if b, err := busy(ctx, cur); err != nil || b {
		return cur, nil, nil, err
	}
	var f1 Function
	if _, err := e.get(ctx, cur.withFn(1).fnRef(), &f1); err != nil {
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
		old, _ := d.effective()
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
func sameWorkItem(r string, w workRef) bool {
	rr, err := parseAny(r)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(rr.Subpath, "/")
	return rr.Repo == w.repo && rr.File == w.file && rr.Type == w.typ && first == w.name
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
		var fdoc Function
		if found, err := e.get(ctx, f.fnRef(), &fdoc); err != nil || !found {
			continue
		}
		run := fdoc.Current.Runner
		if fdoc.Current.Status != StatusRunning || run == nil || run.Host != e.host || alive(run.Pid, e.pid) {
			continue
		}
		var chain Chain
		if _, err := e.get(ctx, f.chainRef(), &chain); err != nil {
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
