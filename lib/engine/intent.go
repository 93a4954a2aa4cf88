package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
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
func SortIntents(refs []string) {
	kind := func(s string) int {
		r, err := ref.Parse(s)
		if err != nil {
			return 3
		}
		k, _ := intentKind(r)
		return k
	}
	slices.SortFunc(refs, func(a, b string) int {
		if ka, kb := kind(a), kind(b); ka != kb {
			return ka - kb
		}
		return strings.Compare(a, b)
	})
}

// ApplyIntent applies one intent ref, present or deleted (docs/engine.md §13),
// and returns the message of docs/cli.md §2.5. An error means nothing of it was
// applied.
func (e *Engine) ApplyIntent(ctx context.Context, intent string) (string, error) {
	r, err := ref.Parse(intent)
	if err != nil {
		return "", err
	}
	kind, ok := intentKind(r)
	if !ok {
		return "", fmt.Errorf("not an applicable intent ref (expected custom, environment or deploy intent)")
	}
	switch kind {
	case kindEnvironment:
		found, err := e.get(ctx, intent, nil)
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
func (e *Engine) customTarget(ctx context.Context, r ref.Ref) (string, error) {
	t := r.Twin()
	if t.Global || t.Release == "" {
		return t.String(), nil
	}
	rel := t.ReleaseLevel()
	res, err := e.resolve(ctx, rel.String())
	if err != nil {
		return "", err
	}
	if res == "" {
		return "", fmt.Errorf("release %s not found", rel)
	}
	id, err := parseRelease(res)
	if err != nil {
		return "", fmt.Errorf("release %s not found (it names %s)", rel, res)
	}
	t.Release = id.Number
	return t.String(), nil
}

// applyCustom copies custom intent to state, or deletes the state of a
// deleted intent (docs/engine.md §13.3, §13.4).
func (e *Engine) applyCustom(ctx context.Context, r ref.Ref) (string, error) {
	intent := r.String()
	v, found, err := e.getValue(ctx, intent)
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
	b := newBatch("apply " + intent)
	switch {
	case found && exists && equalJSON(cur, v):
		return msgAlreadyApplied, nil
	case found:
		b.put(target, v)
	case !exists:
		return msgAlreadyApplied, nil
	default:
		b.del(target)
	}
	if err := e.commitBatch(ctx, b); err != nil {
		return "", err
	}
	if !found {
		return msgDeleted, nil
	}
	return msgApplied, nil
}

// literal reads the document stored at exactly r (no latest-release
// fallback, links followed only where they are stored).
func (e *Engine) literal(ctx context.Context, r string) (any, bool, error) {
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
	stateRef := "@/environment/" + name
	found, err := e.get(ctx, stateRef, nil)
	if err != nil || !found {
		return msgAlreadyApplied, err
	}
	b := newBatch("apply +/environment/" + name)
	links, err := e.match(ctx, "**/@/deploy/"+name)
	if err != nil {
		return "", err
	}
	var scheduled []string
	for _, l := range links {
		target, err := e.resolve(ctx, l)
		if err != nil {
			return "", err
		}
		cur, err := parseWorkRef(target)
		if err != nil {
			continue
		}
		b.del(cur.IntentRef().String())
		down, _, err := e.scheduleDown(ctx, b, cur, "environment")
		if err != nil {
			return "", err
		}
		if down.Chain > 0 {
			scheduled = append(scheduled, down.ChainRef().String())
		}
	}
	// Deploy intents to the environment go too, also those whose deployment
	// has not finished yet (no link): nothing may deploy there any more.
	intents, err := e.match(ctx, "**/+/deploy/"+name)
	if err != nil {
		return "", err
	}
	for _, i := range intents {
		b.del(i)
	}
	pending, err := e.match(ctx, "**/@*/deploy/"+name+"/*/status/pending")
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, p := range pending {
		w, err := parseWorkRef(strings.TrimSuffix(p, "/status/pending"))
		if err != nil || seen[w.Release.Repo+"/-/"+w.Release.File] {
			continue
		}
		seen[w.Release.Repo+"/-/"+w.Release.File] = true
		if err := e.cancelUpChains(ctx, b, w, "environment"); err != nil {
			return "", err
		}
	}
	b.del(stateRef)
	if err := e.commitBatch(ctx, b); err != nil {
		return "", err
	}
	msg := msgDeleted
	for _, s := range scheduled {
		msg += "; down scheduled: " + s
	}
	return msg, nil
}

// deployPlan is what applying a present deploy intent would do.
type deployPlan struct {
	item    state.WorkID // the work item in the intent's release
	inputs  state.Inputs // entry inputs
	up      state.FuncID
	action  string // "", "pending", "failed", "create"
	current string // the chain the current link points at
}

// planDeploy validates deploy intent r and decides (docs/engine.md §13.5).
func (e *Engine) planDeploy(ctx context.Context, r ref.Ref) (*deployPlan, error) {
	var di struct {
		Type    *string        `json:"type"`
		Release string         `json:"release"`
		Input   map[string]any `json:"input"`
	}
	found, err := e.get(ctx, r.String(), &di)
	if err != nil {
		return nil, fmt.Errorf("invalid deploy intent: %w", err)
	}
	if !found {
		return nil, nil
	}
	if di.Type != nil && *di.Type != "" {
		return nil, fmt.Errorf("invalid deploy intent: type %q (expected \"\")", *di.Type)
	}
	relRef, err := ref.Parse(di.Release)
	if err != nil || relRef.Repo != r.Repo || relRef.File != r.File || relRef.Marker != ref.State || relRef.Release == "" || relRef.Type != "" {
		return nil, fmt.Errorf("invalid deploy intent: release %q must be a release of %s/-/%s (FILE/@N or a tag)", di.Release, r.Repo, r.File)
	}
	res, err := e.resolve(ctx, relRef.String())
	if err != nil {
		return nil, err
	}
	id, perr := parseRelease(res)
	if res == "" || perr != nil {
		return nil, fmt.Errorf("release %s not found", relRef)
	}
	rel, err := e.release(ctx, id.String())
	if err != nil {
		return nil, err
	}
	env := r.Subpath
	var declared *state.DeployWork
	for _, ph := range rel.Package.Phases {
		for _, w := range ph.Work {
			if w.Deploy != nil && w.Deploy.Environment == env {
				declared = w.Deploy
			}
		}
	}
	if declared == nil {
		return nil, fmt.Errorf("%s declares no deploy to %s", id, env)
	}
	p := &deployPlan{
		item:   id.Work(ref.TypeDeploy, env),
		inputs: copyInputs(declared.Inputs),
		up:     declared.Up,
	}
	for name, raw := range di.Input {
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
		p.inputs[name] = d
	}
	cur, err := e.resolve(ctx, p.item.CurrentRef().String())
	if err != nil {
		return nil, err
	}
	p.current = cur
	if w, err := parseWorkRef(cur); err == nil && w.Release.String() == p.item.Release.String() {
		var f1 state.Function
		if found, err := e.get(ctx, w.WithFn(1).FnRef().String(), &f1); err != nil {
			return nil, err
		} else if found && sameInputs(f1.Current.Inputs, p.inputs) {
			return p, nil // action "": already applied
		}
	}
	// Nothing may deploy to an environment that does not exist (any more).
	if found, err := e.get(ctx, "@/environment/"+env, nil); err != nil {
		return nil, err
	} else if !found {
		return nil, fmt.Errorf("environment %q does not exist (@/environment/%s)", env, env)
	}
	p.action = "create"
	c, found, err := e.latestChain(ctx, p.item)
	if err != nil || !found || c.down {
		return p, err
	}
	var f1 state.Function
	if _, err := e.get(ctx, c.item.WithChain(c.k).WithFn(1).FnRef().String(), &f1); err != nil {
		return nil, err
	}
	if sameInputs(f1.Current.Inputs, p.inputs) {
		switch c.status {
		case state.StatusPending:
			p.action = "pending"
		case state.StatusFailed:
			p.action = "failed"
		}
	}
	return p, nil
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
	rel := p.item.Release.String()
	switch p.action {
	case "":
		return msgAlreadyApplied, nil
	case "pending":
		return "Deploy intent already pending or in progress", nil
	case "failed":
		return fmt.Sprintf("deploy of %s to %s failed; run: ocuroot release retry %s", rel, p.item.Name, rel), nil
	}
	b := newBatch("apply " + r.String())
	if err := e.cancelUpChains(ctx, b, p.item, "intent"); err != nil {
		return "", err
	}
	k, err := e.nextChain(ctx, p.item)
	if err != nil {
		return "", err
	}
	c := e.newChain(b, p.item, k, "", "", p.up, p.inputs, nil)
	if err := e.commitBatch(ctx, b); err != nil {
		return "", err
	}
	return "Created work: " + c.ChainRef().String(), nil
}

// deployAbsent tears down the deployment of a deleted deploy intent
// (docs/engine.md §13.6).
func (e *Engine) deployAbsent(ctx context.Context, r ref.Ref) (string, error) {
	w := state.ReleaseID{Repo: r.Repo, File: r.File}.Work(ref.TypeDeploy, r.Subpath)
	target, err := e.resolve(ctx, w.CurrentRef().String())
	if err != nil {
		return "", err
	}
	b := newBatch("apply " + r.String())
	cur, perr := parseWorkRef(target)
	if target == "" || perr != nil {
		if err := e.cancelUpChains(ctx, b, w, "intent"); err != nil {
			return "", err
		}
		if err := e.commitBatch(ctx, b); err != nil {
			return "", err
		}
		return msgAlreadyApplied, nil
	}
	down, notice, err := e.scheduleDown(ctx, b, cur, "intent")
	if err != nil {
		return "", err
	}
	if err := e.commitBatch(ctx, b); err != nil {
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
