package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// Messages of intent application (docs/cli.md §2.5).
const (
	msgAlreadyApplied = "Intent already applied"
	msgApplied        = "applied"
	msgDeleted        = "deleted"
)

// applyEnvironment applies +/environment/E when present (docs/engine.md §13.1):
// the intent is validated, written to state, and every release currently
// deployed anywhere gets a check_envs task.
func (e *Engine) applyEnvironment(ctx context.Context, name string) (string, error) {
	intentRef, stateRef := environmentRef(ref.Intent, name), environmentRef(ref.State, name)
	v, found, err := e.getValue(ctx, intentRef)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("%s: not found", intentRef)
	}
	env, err := validEnvironment(name, v)
	if err != nil {
		return "", err
	}
	cur, found, err := e.getValue(ctx, stateRef)
	if err != nil {
		return "", err
	}
	if found && equalJSON(cur, env) {
		return msgAlreadyApplied, nil
	}
	b := store.NewTx("apply " + intentRef.String())
	b.Put(stateRef, env)
	rels, err := e.deployedReleases(ctx)
	if err != nil {
		return "", err
	}
	for _, rel := range rels {
		b.Put(rel.CheckEnvsRef(), state.Marker{Time: e.now()})
	}
	if err := e.commit(ctx, b); err != nil {
		return "", err
	}
	return msgApplied, nil
}

// validEnvironment checks an environment intent document (docs/engine.md §13.1).
func validEnvironment(name string, v any) (state.Environment, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return state.Environment{}, fmt.Errorf("environment %q: expected an object with name and attributes", name)
	}
	for k := range obj {
		if k != "name" && k != "attributes" {
			return state.Environment{}, fmt.Errorf("environment %q: unknown field %q", name, k)
		}
	}
	n, ok := obj["name"].(string)
	if !ok {
		return state.Environment{}, fmt.Errorf("environment %q: name must be a string", name)
	}
	if !envNameRE.MatchString(n) {
		return state.Environment{}, fmt.Errorf("invalid environment name %q", n)
	}
	if n != name {
		return state.Environment{}, fmt.Errorf("environment name %q must match the ref's name %q", n, name)
	}
	env := state.Environment{Name: n, Attributes: map[string]string{}}
	if raw, ok := obj["attributes"]; ok && raw != nil {
		attrs, ok := raw.(map[string]any)
		if !ok {
			return state.Environment{}, fmt.Errorf("environment %q: attributes must be an object of strings", name)
		}
		for k, av := range attrs {
			s, ok := av.(string)
			if !ok {
				return state.Environment{}, fmt.Errorf("environment %q: attribute %q must be a string", name, k)
			}
			env.Attributes[k] = s
		}
	} else {
		return state.Environment{}, fmt.Errorf("environment %q: attributes missing (use {} for none)", name)
	}
	return env, nil
}

// environmentRef returns @/environment/E or +/environment/E.
func environmentRef(m ref.Marker, name string) ref.Ref {
	return ref.Ref{Global: true, Marker: m, Type: ref.TypeEnvironment, Subpath: name}
}

// deployedReleases lists the releases targeted by current deployment links
// **/@/deploy/* of any repo.
func (e *Engine) deployedReleases(ctx context.Context) ([]state.ReleaseID, error) {
	links, err := e.matchRefs(ctx, "**/@/deploy/*")
	if err != nil {
		return nil, err
	}
	seen := map[state.ReleaseID]bool{}
	var out []state.ReleaseID
	for _, l := range links {
		w, ok, err := e.resolveWork(ctx, l)
		if err != nil || !ok {
			continue
		}
		if !seen[w.Release] {
			seen[w.Release] = true
			out = append(out, w.Release)
		}
	}
	return out, nil
}

// DeployDown tears down the current deployment named by r, R/-/F/@/deploy/E
// or R/-/F/@N/deploy/E (docs/engine.md §13.6): the deploy intent is deleted and a
// down chain scheduled in one transaction, then the release runs.
func (e *Engine) DeployDown(ctx context.Context, r ref.Ref) (bool, error) {
	if r.Global || r.Marker != ref.State || r.Type != ref.TypeDeploy || strings.Contains(r.Subpath, "/") {
		return false, fmt.Errorf("%s is not a deployment: expected FILE/@/deploy/ENV or FILE/@N/deploy/ENV", r)
	}
	w := state.ReleaseID{Repo: r.Repo, File: r.File}.Work(ref.TypeDeploy, r.Subpath)
	target, err := e.resolve(ctx, w.CurrentRef())
	if err != nil {
		return false, err
	}
	if target.IsZero() {
		e.progress.line("%s: nothing deployed", w.CurrentRef())
		return false, nil
	}
	cur, err := state.ParseWork(target)
	if err != nil {
		return false, err
	}
	if r.Release != "" && cur.Release.Number != r.Release {
		return false, fmt.Errorf("%s is not the current deployment (that is %s)", r, target)
	}
	b := store.NewTx("deploy down " + w.CurrentRef().String())
	b.Delete(cur.IntentRef(), true)
	created, msg, err := e.scheduleDown(ctx, b, cur, "intent")
	if err != nil {
		return false, err
	}
	if err := e.commit(ctx, b); err != nil {
		return false, err
	}
	if msg != "" {
		e.progress.line("%s: %s", cur.IntentRef(), msg)
	}
	if created.Chain > 0 {
		e.progress.line("%s: down scheduled: %s", cur.IntentRef(), created.ChainRef())
	}
	return e.runRelease(ctx, cur.Release)
}

// scheduleDown adds to b a down chain for the deployment whose current chain
// is cur (docs/engine.md §13.6), cancelling pending up chains to its
// environment first. It returns the chain created (chain 0 when none) and a
// notice when the last teardown failed.
func (e *Engine) scheduleDown(ctx context.Context, b *store.Tx, cur state.WorkID, reason string) (state.WorkID, string, error) {
	if err := e.cancelUpChains(ctx, b, cur, reason); err != nil {
		return state.WorkID{}, "", err
	}
	item := cur.WithChain(0)
	c, found, err := e.latestChain(ctx, item)
	if err != nil {
		return state.WorkID{}, "", err
	}
	if found && c.down {
		switch c.status {
		case state.StatusPending:
			return state.WorkID{}, "", nil // a teardown is already pending or running
		case state.StatusFailed:
			return state.WorkID{}, fmt.Sprintf("teardown of %s from %s failed; run: ocuroot release retry %s", item.Release, item.Name, item.Release), nil
		}
	}
	rel, err := e.release(ctx, item.Release)
	if err != nil {
		return state.WorkID{}, "", err
	}
	down, ok := downFunction(rel.Package, item.Name)
	if !ok {
		return state.WorkID{}, "", fmt.Errorf("%s declares no deploy to %s", item.Release, item.Name)
	}
	var f1 state.Function
	if _, err := e.get(ctx, cur.WithFn(1).FnRef(), &f1); err != nil {
		return state.WorkID{}, "", err
	}
	inputs := state.Inputs{}
	for name, d := range f1.Current.Inputs {
		if v, ok := d.Effective(); ok {
			inputs[name] = state.Descriptor{Value: v}
		}
	}
	k, err := e.nextChain(ctx, item)
	if err != nil {
		return state.WorkID{}, "", err
	}
	return e.newChain(b, item, k, "down", reason, down, inputs, nil), "", nil
}

// downFunction finds the down function of the deploy to env in a package.
func downFunction(pkg state.Package, env string) (state.FuncID, bool) {
	for _, ph := range pkg.Phases {
		for _, w := range ph.Work {
			if w.Deploy != nil && w.Deploy.Environment == env {
				return w.Deploy.Down, true
			}
		}
	}
	return state.FuncID{}, false
}

// cancelUpChains cancels the pending up chains (no function running) of
// every release of w's package to w's environment (docs/engine.md §13.7).
func (e *Engine) cancelUpChains(ctx context.Context, b *store.Tx, w state.WorkID, reason string) error {
	chains, err := e.matchWork(ctx, w.Release.Package().String()+"/@*/deploy/"+w.Name+"/*/status/pending")
	if err != nil {
		return err
	}
	for _, c := range chains {
		if c.Chain == 0 || c.Fn != 0 {
			continue
		}
		var chain state.Chain
		if _, err := e.get(ctx, c.ChainRef(), &chain); err != nil {
			return err
		}
		if chain.Type != "" {
			continue
		}
		running, err := e.match(ctx, c.ChainRef().String()+"/functions/*/status/running")
		if err != nil {
			return err
		}
		if len(running) > 0 {
			continue
		}
		pending, err := e.matchWork(ctx, c.ChainRef().String()+"/functions/*/status/pending")
		if err != nil {
			return err
		}
		now := e.now()
		for _, f := range pending {
			var fdoc state.Function
			if _, err := e.get(ctx, f.FnRef(), &fdoc); err != nil {
				return err
			}
			fdoc.Current.Status = state.StatusCancelled
			fdoc.History = append(fdoc.History, state.HistoryEntry{Status: state.StatusCancelled, Time: now})
			b.Put(f.FnRef(), fdoc)
			b.Delete(f.StatusRef(state.StatusPending), true)
			b.Put(f.StatusRef(state.StatusCancelled), state.Marker{Time: now})
		}
		chain.Reason = reason
		b.Put(c.ChainRef(), chain)
		b.Delete(c.StatusRef(state.StatusPending), true)
		b.Put(c.StatusRef(state.StatusCancelled), state.Marker{Time: now})
	}
	return nil
}
