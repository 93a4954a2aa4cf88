package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// Kinds of intent, in the order they are applied (docs/engine.md §13.8).
const (
	kindEnvironment = iota
	kindCustom
	kindDeploy
)

// intentKind classifies an intent ref; ok false for refs that are not
// applicable intent (ocu-set's rules).
func intentKind(r ref.Ref) (int, bool) {
	if r.Marker != ref.Intent || r.Fragment != "" {
		return 0, false
	}
	oneName := !strings.Contains(r.Subpath, "/")
	switch {
	case r.Type == ref.TypeEnvironment && r.Global && r.Release == "" && oneName:
		return kindEnvironment, true
	case r.Type == ref.TypeCustom && (!r.Global || r.Release == ""):
		return kindCustom, true
	case r.Type == ref.TypeDeploy && !r.Global && r.Release == "" && oneName:
		return kindDeploy, true
	}
	return 0, false
}

// SortIntents orders intent refs for application: environments, then
// custom, then deploy; by ref within a kind.
func SortIntents(refs []ref.Ref) {
	kind := func(r ref.Ref) int {
		k, ok := intentKind(r)
		if !ok {
			return 3
		}
		return k
	}
	slices.SortFunc(refs, func(a, b ref.Ref) int {
		if ka, kb := kind(a), kind(b); ka != kb {
			return ka - kb
		}
		return strings.Compare(a.String(), b.String())
	})
}

// ApplyIntent applies one intent ref, present or deleted (docs/engine.md §13),
// and returns the message of docs/cli.md §2.5. An error means nothing of it was
// applied.
func (e *Engine) ApplyIntent(ctx context.Context, r ref.Ref) (string, error) {
	kind, ok := intentKind(r)
	if !ok {
		return "", fmt.Errorf("not an applicable intent ref (expected custom, environment or deploy intent)")
	}
	switch kind {
	case kindEnvironment:
		found, err := e.get(ctx, r, nil)
		if err != nil {
			return "", err
		}
		if found {
			return e.applyEnvironment(ctx, r.Subpath)
		}
		return e.removeEnvironment(ctx, r.Subpath)
	case kindCustom:
		return e.applyCustom(ctx, r)
	default:
		return e.applyDeploy(ctx, r)
	}
}

// customTarget returns the state ref custom intent r is applied to (docs/engine.md
// §13.3): its twin with the release resolved (+v1 → @1, + → @, +3 → @3).
func (e *Engine) customTarget(ctx context.Context, r ref.Ref) (ref.Ref, error) {
	t := r.Twin()
	if t.Global || t.Release == "" {
		return t, nil
	}
	rel := t.ReleaseLevel()
	res, err := e.resolve(ctx, rel)
	if err != nil {
		return ref.Ref{}, err
	}
	if res.IsZero() {
		return ref.Ref{}, fmt.Errorf("release %s not found", rel)
	}
	id, err := state.ParseRelease(res)
	if err != nil {
		return ref.Ref{}, fmt.Errorf("release %s not found (it names %s)", rel, res)
	}
	t.Release = id.Number
	return t, nil
}

// applyCustom copies custom intent to state, or deletes the state of a
// deleted intent (docs/engine.md §13.3, §13.4).
func (e *Engine) applyCustom(ctx context.Context, r ref.Ref) (string, error) {
	v, found, err := e.getValue(ctx, r)
	if err != nil {
		return "", err
	}
	target, err := e.customTarget(ctx, r)
	if err != nil {
		if !found {
			return msgAlreadyApplied, nil // no release, so no state either
		}
		return "", err
	}
	cur, exists, err := e.literal(ctx, target)
	if err != nil {
		return "", err
	}
	b := store.NewTx("apply " + r.String())
	switch {
	case found && exists && equalJSON(cur, v):
		return msgAlreadyApplied, nil
	case found:
		b.Put(target, v)
	case !exists:
		return msgAlreadyApplied, nil
	default:
		b.Delete(target, true)
	}
	if err := e.commit(ctx, b); err != nil {
		return "", err
	}
	if !found {
		return msgDeleted, nil
	}
	return msgApplied, nil
}

// literal reads the document stored at exactly r (no latest-release
// fallback, links followed only where they are stored).
func (e *Engine) literal(ctx context.Context, r ref.Ref) (any, bool, error) {
	res, err := e.resolve(ctx, r)
	if err != nil || res != r {
		return nil, false, err
	}
	return e.getValue(ctx, r)
}

// removeEnvironment applies a deleted environment intent (docs/engine.md §13.2):
// every deployment to it is torn down, pending deploys to it cancelled, and
// the environment deleted from state.
func (e *Engine) removeEnvironment(ctx context.Context, name string) (string, error) {
	stateRef := environmentRef(ref.State, name)
	found, err := e.get(ctx, stateRef, nil)
	if err != nil || !found {
		return msgAlreadyApplied, err
	}
	b := store.NewTx("apply " + environmentRef(ref.Intent, name).String())
	scheduled, err := e.tearDownEnvironment(ctx, b, name)
	if err != nil {
		return "", err
	}
	// Deploy intents to the environment go too, also those whose deployment
	// has not finished yet (no link): nothing may deploy there any more.
	intents, err := e.matchRefs(ctx, "**/+/deploy/"+name)
	if err != nil {
		return "", err
	}
	for _, i := range intents {
		b.Delete(i, true)
	}
	if err := e.cancelDeploysTo(ctx, b, name); err != nil {
		return "", err
	}
	b.Delete(stateRef, true)
	if err := e.commit(ctx, b); err != nil {
		return "", err
	}
	msg := msgDeleted
	for _, s := range scheduled {
		msg += "; down scheduled: " + s.ChainRef().String()
	}
	return msg, nil
}

// tearDownEnvironment adds to b, for every current deployment to
// environment name, the deletion of its deploy intent and a down chain. It
// returns the down chains scheduled.
func (e *Engine) tearDownEnvironment(ctx context.Context, b *store.Tx, name string) ([]state.WorkID, error) {
	links, err := e.matchRefs(ctx, "**/@/deploy/"+name)
	if err != nil {
		return nil, err
	}
	var scheduled []state.WorkID
	for _, l := range links {
		cur, ok, err := e.resolveWork(ctx, l)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		b.Delete(cur.IntentRef(), true)
		down, _, err := e.scheduleDown(ctx, b, cur, "environment")
		if err != nil {
			return nil, err
		}
		if down.Chain > 0 {
			scheduled = append(scheduled, down)
		}
	}
	return scheduled, nil
}

// cancelDeploysTo adds to b the cancellation of the pending up chains of
// every package to environment name.
func (e *Engine) cancelDeploysTo(ctx context.Context, b *store.Tx, name string) error {
	pending, err := e.matchWork(ctx, "**/@*/deploy/"+name+"/*/status/pending")
	if err != nil {
		return err
	}
	seen := map[ref.Ref]bool{}
	for _, w := range pending {
		if seen[w.Release.Package()] {
			continue
		}
		seen[w.Release.Package()] = true
		if err := e.cancelUpChains(ctx, b, w, "environment"); err != nil {
			return err
		}
	}
	return nil
}

// deployPlan is what applying a present deploy intent would do.
type deployPlan struct {
	item    state.WorkID // the work item in the intent's release
	inputs  state.Inputs // entry inputs
	up      state.FuncID
	action  string  // "", "pending", "failed", "create"
	current ref.Ref // the chain the current link points at
}

// deployIntentDoc is a deploy intent as read, before it is validated.
type deployIntentDoc struct {
	Type    *string        `json:"type"`
	Release string         `json:"release"`
	Input   map[string]any `json:"input"`
}

// planDeploy validates deploy intent r and decides (docs/engine.md §13.5);
// a nil plan means the intent is deleted.
func (e *Engine) planDeploy(ctx context.Context, r ref.Ref) (*deployPlan, error) {
	var di deployIntentDoc
	found, err := e.get(ctx, r, &di)
	if err != nil {
		return nil, fmt.Errorf("invalid deploy intent: %w", err)
	}
	if !found {
		return nil, nil
	}
	if di.Type != nil && *di.Type != "" {
		return nil, fmt.Errorf("invalid deploy intent: type %q (expected \"\")", *di.Type)
	}
	id, err := e.intentRelease(ctx, r, di.Release)
	if err != nil {
		return nil, err
	}
	rel, err := e.release(ctx, id)
	if err != nil {
		return nil, err
	}
	env := r.Subpath
	declared := declaredDeploy(rel.Package, env)
	if declared == nil {
		return nil, fmt.Errorf("%s declares no deploy to %s", id, env)
	}
	inputs, err := intentInputs(declared.Inputs, di.Input)
	if err != nil {
		return nil, err
	}
	p := &deployPlan{item: id.Work(ref.TypeDeploy, env), inputs: inputs, up: declared.Up}
	if p.current, err = e.resolve(ctx, p.item.CurrentRef()); err != nil {
		return nil, err
	}
	p.action, err = e.deployAction(ctx, p)
	return p, err
}

// intentRelease resolves the release a deploy intent r names, R/-/F/@N or a
// tag of r's package.
func (e *Engine) intentRelease(ctx context.Context, r ref.Ref, release string) (state.ReleaseID, error) {
	relRef, err := ref.Parse(release)
	if err != nil || relRef.Repo != r.Repo || relRef.File != r.File || relRef.Marker != ref.State || relRef.Release == "" || relRef.Type != "" {
		return state.ReleaseID{}, fmt.Errorf("invalid deploy intent: release %q must be a release of %s (FILE/@N or a tag)", release, ref.Ref{Repo: r.Repo, File: r.File})
	}
	res, err := e.resolve(ctx, relRef)
	if err != nil {
		return state.ReleaseID{}, err
	}
	id, perr := state.ParseRelease(res)
	if res.IsZero() || perr != nil {
		return state.ReleaseID{}, fmt.Errorf("release %s not found", relRef)
	}
	return id, nil
}

// declaredDeploy returns the deploy to env a package declares, the last
// one when several do; nil when none.
func declaredDeploy(pkg state.Package, env string) *state.DeployWork {
	var declared *state.DeployWork
	for _, ph := range pkg.Phases {
		for _, w := range ph.Work {
			if w.Deploy != nil && w.Deploy.Environment == env {
				declared = w.Deploy
			}
		}
	}
	return declared
}

// intentInputs returns the declared inputs with those of a deploy intent
// (name → descriptor) put over them, after checking each.
func intentInputs(declared state.Inputs, input map[string]any) (state.Inputs, error) {
	inputs := copyInputs(declared)
	for name, raw := range input {
		obj, isObject := raw.(map[string]any)
		if !inputNameRE.MatchString(name) || slices.Contains(starlarkKeywords, name) {
			return nil, fmt.Errorf("invalid deploy intent: invalid input name %q", name)
		}
		var d state.Descriptor
		if err := state.Decode(raw, &d); err != nil || !isObject || !onlyJSONKeys(obj, descriptorKeys) ||
			(d.Ref == "" && d.Default == nil && d.Value == nil) {
			return nil, fmt.Errorf("invalid deploy intent: input %q is not a descriptor {ref, default, value, doc} with a ref, a default or a value", name)
		}
		if d.Ref != "" {
			if _, err := ref.Parse(d.Ref); err != nil {
				return nil, fmt.Errorf("invalid deploy intent: input %q: %w", name, err)
			}
		}
		inputs[name] = d
	}
	return inputs, nil
}

// deployAction decides what applying p does: "" when its release is
// deployed with its inputs, "pending" or "failed" when its latest chain
// with those inputs is, else "create".
func (e *Engine) deployAction(ctx context.Context, p *deployPlan) (string, error) {
	if w, err := state.ParseWork(p.current); err == nil && w.Release == p.item.Release {
		var f1 state.Function
		if found, err := e.get(ctx, w.WithFn(1).FnRef(), &f1); err != nil {
			return "", err
		} else if found && sameInputs(f1.Current.Inputs, p.inputs) {
			return "", nil // already applied
		}
	}
	// Nothing may deploy to an environment that does not exist (any more).
	env := p.item.Name
	if found, err := e.get(ctx, environmentRef(ref.State, env), nil); err != nil {
		return "", err
	} else if !found {
		return "", fmt.Errorf("environment %q does not exist (@/environment/%s)", env, env)
	}
	c, found, err := e.latestChain(ctx, p.item)
	if err != nil || !found || c.down {
		return "create", err
	}
	var f1 state.Function
	if _, err := e.get(ctx, c.item.WithChain(c.k).WithFn(1).FnRef(), &f1); err != nil {
		return "", err
	}
	if sameInputs(f1.Current.Inputs, p.inputs) {
		switch c.status {
		case state.StatusPending:
			return "pending", nil
		case state.StatusFailed:
			return "failed", nil
		}
	}
	return "create", nil
}

// onlyJSONKeys reports whether every key of obj is allowed.
func onlyJSONKeys(obj map[string]any, allowed []string) bool {
	for k := range obj {
		if !slices.Contains(allowed, k) {
			return false
		}
	}
	return true
}

// sameInputs compares descriptors: doc ignored, absent = null, numbers by
// value.
func sameInputs(a, b state.Inputs) bool {
	if len(a) != len(b) {
		return false
	}
	for k, da := range a {
		db, ok := b[k]
		if !ok || da.Ref != db.Ref || !equalJSON(da.Default, db.Default) || !equalJSON(da.Value, db.Value) {
			return false
		}
	}
	return true
}

// applyDeploy applies a deploy intent, present (docs/engine.md §13.5) or deleted
// (§13.6).
func (e *Engine) applyDeploy(ctx context.Context, r ref.Ref) (string, error) {
	p, err := e.planDeploy(ctx, r)
	if err != nil {
		return "", err
	}
	if p == nil {
		return e.deployAbsent(ctx, r)
	}
	rel := p.item.Release
	switch p.action {
	case "":
		return msgAlreadyApplied, nil
	case "pending":
		return "Deploy intent already pending or in progress", nil
	case "failed":
		return fmt.Sprintf("deploy of %s to %s failed; run: ocuroot release retry %s", rel, p.item.Name, rel), nil
	}
	b := store.NewTx("apply " + r.String())
	if err := e.cancelUpChains(ctx, b, p.item, "intent"); err != nil {
		return "", err
	}
	k, err := e.nextChain(ctx, p.item)
	if err != nil {
		return "", err
	}
	c := e.newChain(b, p.item, k, "", "", p.up, p.inputs, nil)
	if err := e.commit(ctx, b); err != nil {
		return "", err
	}
	return "Created work: " + c.ChainRef().String(), nil
}

// deployAbsent tears down the deployment of a deleted deploy intent
// (docs/engine.md §13.6).
func (e *Engine) deployAbsent(ctx context.Context, r ref.Ref) (string, error) {
	w := state.ReleaseID{Repo: r.Repo, File: r.File}.Work(ref.TypeDeploy, r.Subpath)
	b := store.NewTx("apply " + r.String())
	cur, ok, err := e.resolveWork(ctx, w.CurrentRef())
	if err != nil {
		return "", err
	}
	if !ok {
		if err := e.cancelUpChains(ctx, b, w, "intent"); err != nil {
			return "", err
		}
		if err := e.commit(ctx, b); err != nil {
			return "", err
		}
		return msgAlreadyApplied, nil
	}
	down, notice, err := e.scheduleDown(ctx, b, cur, "intent")
	if err != nil {
		return "", err
	}
	if err := e.commit(ctx, b); err != nil {
		return "", err
	}
	switch {
	case notice != "":
		return notice, nil
	case down.Chain > 0:
		return "down scheduled: " + down.ChainRef().String(), nil
	}
	return "Deploy intent already pending or in progress", nil
}
