package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
)

// Messages of intent application (docs/cli.md §2.5).
const (
	msgAlreadyApplied = "Intent already applied"
	msgApplied        = "applied"
	msgDeleted        = "deleted"
)

func parseAny(s string) (ref.Ref, error) { return ref.Parse(s) }

// applyEnvironment applies +/environment/E when present (docs/engine.md §13.1):
// the intent is validated, written to state, and every release currently
// deployed anywhere gets a check_envs task.
func (e *Engine) applyEnvironment(ctx context.Context, name string) (string, error) {
	intentRef, stateRef := "+/environment/"+name, "@/environment/"+name
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
	b := newBatch("apply " + intentRef)
	b.put(stateRef, env)
	rels, err := e.deployedReleases(ctx)
	if err != nil {
		return "", err
	}
	for _, rel := range rels {
		b.put(rel+"/task/check_envs", Marker{Time: e.now()})
	}
	if err := e.commitBatch(ctx, b); err != nil {
		return "", err
	}
	return msgApplied, nil
}

// validEnvironment checks an environment intent document (docs/engine.md §13.1).
func validEnvironment(name string, v any) (Environment, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Environment{}, fmt.Errorf("environment %q: expected an object with name and attributes", name)
	}
	for k := range obj {
		if k != "name" && k != "attributes" {
			return Environment{}, fmt.Errorf("environment %q: unknown field %q", name, k)
		}
	}
	n, ok := obj["name"].(string)
	if !ok {
		return Environment{}, fmt.Errorf("environment %q: name must be a string", name)
	}
	if !envNameRE.MatchString(n) {
		return Environment{}, fmt.Errorf("invalid environment name %q", n)
	}
	if n != name {
		return Environment{}, fmt.Errorf("environment name %q must match the ref's name %q", n, name)
	}
	env := Environment{Name: n, Attributes: map[string]string{}}
	if raw, ok := obj["attributes"]; ok && raw != nil {
		attrs, ok := raw.(map[string]any)
		if !ok {
			return Environment{}, fmt.Errorf("environment %q: attributes must be an object of strings", name)
		}
		for k, av := range attrs {
			s, ok := av.(string)
			if !ok {
				return Environment{}, fmt.Errorf("environment %q: attribute %q must be a string", name, k)
			}
			env.Attributes[k] = s
		}
	} else {
		return Environment{}, fmt.Errorf("environment %q: attributes missing (use {} for none)", name)
	}
	return env, nil
}

// deployedReleases lists the releases targeted by current deployment links
// **/@/deploy/* of any repo.
func (e *Engine) deployedReleases(ctx context.Context) ([]string, error) {
	links, err := e.match(ctx, "**/@/deploy/*")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range links {
		target, err := e.resolve(ctx, l)
		if err != nil || target == "" {
			continue
		}
		w, err := parseWorkRef(target)
		if err != nil {
			continue
		}
		if rel := w.releaseRef(); !seen[rel] {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	return out, nil
}

// DeployDown tears down the current deployment named by r, R/-/F/@/deploy/E
// or R/-/F/@N/deploy/E (docs/engine.md §13.6): the deploy intent is deleted and a
// down chain scheduled in one transaction, then the release runs.
func (e *Engine) DeployDown(ctx context.Context, r string) (bool, error) {
	rr, err := parseAny(r)
	if err != nil {
		return false, err
	}
	if rr.Global || rr.Marker != ref.State || rr.Type != ref.TypeDeploy || strings.Contains(rr.Subpath, "/") {
		return false, fmt.Errorf("%s is not a deployment: expected FILE/@/deploy/ENV or FILE/@N/deploy/ENV", r)
	}
	w := workRef{repo: rr.Repo, file: rr.File, typ: "deploy", name: rr.Subpath}
	target, err := e.resolve(ctx, w.current())
	if err != nil {
		return false, err
	}
	if target == "" {
		e.progress.line("%s: nothing deployed", w.current())
		return false, nil
	}
	cur, err := parseWorkRef(target)
	if err != nil {
		return false, err
	}
	if rr.Release != "" && cur.release != rr.Release {
		return false, fmt.Errorf("%s is not the current deployment (that is %s)", r, target)
	}
	b := newBatch("deploy down " + w.current())
	b.del(cur.intent())
	created, msg, err := e.scheduleDown(ctx, b, cur, "intent")
	if err != nil {
		return false, err
	}
	if err := e.commitBatch(ctx, b); err != nil {
		return false, err
	}
	if msg != "" {
		e.progress.line("%s: %s", cur.intent(), msg)
	}
	if created.chain > 0 {
		e.progress.line("%s: down scheduled: %s", cur.intent(), created.chainRef())
	}
	return e.runRelease(ctx, cur.releaseRef())
}

// scheduleDown adds to b a down chain for the deployment whose current chain
// is cur (docs/engine.md §13.6), cancelling pending up chains to its
// environment first. It returns the chain created (chain 0 when none) and a
// notice when the last teardown failed.
func (e *Engine) scheduleDown(ctx context.Context, b *batch, cur workRef, reason string) (workRef, string, error) {
	if err := e.cancelUpChains(ctx, b, cur, reason); err != nil {
		return workRef{}, "", err
	}
	item := cur.withChain(0)
	c, found, err := e.latestChain(ctx, item)
	if err != nil {
		return workRef{}, "", err
	}
	if found && c.down {
		switch c.status {
		case StatusPending:
			return workRef{}, "", nil // a teardown is already pending or running
		case StatusFailed:
			return workRef{}, fmt.Sprintf("teardown of %s from %s failed; run: ocuroot release retry %s", item.releaseRef(), item.name, item.releaseRef()), nil
		}
	}
	rel, err := e.release(ctx, item.releaseRef())
	if err != nil {
		return workRef{}, "", err
	}
	down, ok := downFunction(rel.Package, item.name)
	if !ok {
		return workRef{}, "", fmt.Errorf("%s declares no deploy to %s", item.releaseRef(), item.name)
	}
	var f1 Function
	if _, err := e.get(ctx, cur.withFn(1).fnRef(), &f1); err != nil {
		return workRef{}, "", err
	}
	inputs := Inputs{}
	for name, d := range f1.Current.Inputs {
		if v, ok := d.effective(); ok {
			inputs[name] = Descriptor{Value: v}
		}
	}
	k, err := e.nextChain(ctx, item)
	if err != nil {
		return workRef{}, "", err
	}
	return e.newChain(b, item, k, "down", reason, down, inputs, nil), "", nil
}

// downFunction finds the down function of the deploy to env in a package.
func downFunction(pkg Package, env string) (FuncID, bool) {
	for _, ph := range pkg.Phases {
		for _, w := range ph.Work {
			if w.Deploy != nil && w.Deploy.Environment == env {
				return w.Deploy.Down, true
			}
		}
	}
	return FuncID{}, false
}

// cancelUpChains cancels the pending up chains (no function running) of
// every release of w's package to w's environment (docs/engine.md §13.7).
func (e *Engine) cancelUpChains(ctx context.Context, b *batch, w workRef, reason string) error {
	refs, err := e.match(ctx, w.repo+"/-/"+w.file+"/@*/deploy/"+w.name+"/*/status/pending")
	if err != nil {
		return err
	}
	for _, r := range refs {
		c, err := parseWorkRef(strings.TrimSuffix(r, "/status/pending"))
		if err != nil || c.chain == 0 {
			continue
		}
		var chain Chain
		if _, err := e.get(ctx, c.chainRef(), &chain); err != nil {
			return err
		}
		if chain.Type != "" {
			continue
		}
		running, err := e.match(ctx, c.chainRef()+"/functions/*/status/running")
		if err != nil {
			return err
		}
		if len(running) > 0 {
			continue
		}
		pending, err := e.match(ctx, c.chainRef()+"/functions/*/status/pending")
		if err != nil {
			return err
		}
		now := e.now()
		for _, p := range pending {
			f, err := parseWorkRef(strings.TrimSuffix(p, "/status/pending"))
			if err != nil {
				continue
			}
			var fdoc Function
			if _, err := e.get(ctx, f.fnRef(), &fdoc); err != nil {
				return err
			}
			fdoc.Current.Status = StatusCancelled
			fdoc.History = append(fdoc.History, HistoryEntry{Status: StatusCancelled, Time: now})
			b.put(f.fnRef(), fdoc)
			b.del(p)
			b.put(f.fnRef()+"/status/"+StatusCancelled, Marker{Time: now})
		}
		chain.Reason = reason
		b.put(c.chainRef(), chain)
		b.del(r)
		b.put(c.chainRef()+"/status/"+StatusCancelled, Marker{Time: now})
	}
	return nil
}
