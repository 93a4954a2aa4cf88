package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/internal/fanout"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// Globs of the refs the diff considers (docs/engine.md §14).
var (
	intentGlobs = []string{"+/environment/*", "+/custom/**", "**/+*/custom/**", "**/+/deploy/*"}
	stateGlobs  = []string{"@/environment/*", "@/custom/**", "**/@*/custom/**", "**/@/deploy/*"}
)

// Change is one intent ref that differs from state, with what applying it
// does: "create", "update" or "delete".
type Change struct {
	Ref    ref.Ref `json:"ref"`
	Action string  `json:"action"`
}

// scan is what apply needs to know of both stores.
type scan struct {
	intents, state []string
	pending        []string // **/functions/*/status/pending
	running        []string // **/functions/*/status/running
	tasks          []string // **/task/check_envs
	commits        []string // releases at the current commit, or their commit/H refs
}

// scanStores lists the refs the diff considers, the markers of pending and
// running work and of tasks, and the releases at the current commit: from
// the open-work index when the store has one (docs/open-work.md), else in
// one walk of each store.
func (e *Engine) scanStores(ctx context.Context) (*scan, error) {
	groups := [][]string{intentGlobs, stateGlobs,
		{"**/functions/*/status/pending"}, {"**/functions/*/status/running"}, {"**/task/check_envs"}}
	s := &scan{}
	lists := []*[]string{&s.intents, &s.state, &s.pending, &s.running, &s.tasks}
	for again := true; again; {
		refs, err := e.matchOpen(ctx, slices.Concat(groups...)...)
		if err != nil {
			return nil, err
		}
		for i, g := range groups {
			if *lists[i], err = ref.FilterGlobs(refs, g); err != nil {
				return nil, err
			}
		}
		if again, err = e.watchNamed(ctx, s); err != nil {
			return nil, err
		}
	}
	if e.Repo != "" && e.Commit != "" {
		var err error
		if s.commits, err = e.releaseRefsAt(ctx, e.Commit); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// watchNamed tells the open-work index which releases the deploy intents
// and the current deployments of a scan name, so that it watches them for
// other clients' writes (docs/open-work.md §6). again is true when one of
// them was not watched: the index was refreshed, and the scan must be
// made again. The reads are the diff's own (docs kept until the next
// commit), so they cost nothing more.
func (e *Engine) watchNamed(ctx context.Context, s *scan) (again bool, err error) {
	idx, err := e.openWork(ctx)
	if idx == nil || err != nil || !idx.Watches() {
		return false, err
	}
	var named []string
	var refs []string
	for _, r := range append(slices.Clone(s.intents), s.state...) {
		if strings.Contains(r, "/+/deploy/") || strings.Contains(r, "/@/deploy/") {
			refs = append(refs, r)
		}
	}
	found := make([]string, len(refs))
	fanout.Each(len(refs), readsAtOnce, func(i int) {
		r, err := ref.Parse(refs[i])
		if err != nil {
			return
		}
		if r.Marker == ref.State { // a deployment link: where it leads
			if res, err := e.resolve(ctx, r); err == nil && !res.IsZero() {
				found[i] = res.ReleaseLevel().String()
			}
			return
		}
		var di deployIntentDoc
		if ok, err := e.get(ctx, r, &di); err != nil || !ok {
			return
		}
		if rel, err := ref.Parse(di.Release); err == nil && rel.Repo == r.Repo && rel.File == r.File {
			if res, err := e.resolve(ctx, rel); err == nil && !res.IsZero() {
				found[i] = res.ReleaseLevel().String()
			}
		}
	})
	for _, f := range found {
		if f != "" {
			named = append(named, f)
		}
	}
	if !idx.Watch(named) {
		return false, nil
	}
	e.indexMu.Lock()
	e.indexFresh = false
	e.indexMu.Unlock()
	return true, nil
}

// Diff lists the intent refs whose intent differs from state (docs/engine.md
// §14), sorted and deduplicated, with the action applying each would take.
func (e *Engine) Diff(ctx context.Context) ([]Change, error) {
	s, err := e.scanStores(ctx)
	if err != nil {
		return nil, err
	}
	return e.diff(ctx, s)
}

// releases returns the releases at the current commit from a scan, in run
// order: by ref, release numbers compared as numbers. Legacy releases
// (@H.<n>) are among them.
func (s *scan) releases(commit string) []state.ReleaseID {
	var refs []string
	for _, r := range s.commits {
		rel := strings.TrimSuffix(r, "/commit/"+commit)
		if !slices.Contains(refs, rel) {
			refs = append(refs, rel)
		}
	}
	slices.SortFunc(refs, compareRefs)
	out := make([]state.ReleaseID, 0, len(refs))
	for _, rel := range refs {
		if r, err := ref.Parse(rel); err == nil {
			out = append(out, state.ReleaseID{Repo: r.Repo, File: r.File, Number: r.Release})
		}
	}
	return out
}

func (e *Engine) diff(ctx context.Context, s *scan) ([]Change, error) {
	changes := map[ref.Ref]string{}
	targets := map[ref.Ref]bool{}
	// Intents are compared a few at a time: each is a handful of small
	// reads, and a store holds packages × environments of them.
	type result struct {
		r      ref.Ref
		action string
		target ref.Ref
		err    error
		skip   bool
	}
	results := make([]result, len(s.intents))
	fanout.Each(len(s.intents), readsAtOnce, func(i int) {
		res := &results[i]
		r, err := ref.Parse(s.intents[i])
		kind, ok := intentKind(r)
		if err != nil || !ok {
			res.skip = true
			return
		}
		res.r = r
		res.action, res.target, res.err = e.intentDiffers(ctx, r, kind)
	})
	for _, res := range results {
		switch {
		case res.skip:
			continue
		case res.err != nil:
			return nil, res.err
		}
		if !res.target.IsZero() {
			targets[res.target] = true
		}
		if res.action != "" {
			changes[res.r] = res.action
		}
	}
	for _, st := range s.state {
		r, err := ref.Parse(st)
		if err != nil || targets[r] || r.Marker != ref.State {
			continue
		}
		if _, ok := intentKind(r.Twin()); !ok {
			continue
		}
		if r.Type == ref.TypeDeploy && r.Release != "" {
			continue // work items of releases, not current deployments
		}
		changes[r.Twin()] = "delete"
	}
	out := make([]Change, 0, len(changes))
	for r, a := range changes {
		out = append(out, Change{Ref: r, Action: a})
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Ref.String(), b.Ref.String()) })
	return out, nil
}

// intentDiffers tells whether intent r differs from state, and the state
// ref it targets (the zero ref when it cannot be computed).
func (e *Engine) intentDiffers(ctx context.Context, r ref.Ref, kind int) (action string, target ref.Ref, err error) {
	switch kind {
	case kindEnvironment, kindCustom:
		if kind == kindEnvironment {
			target = r.Twin()
		} else if target, err = e.customTarget(ctx, r); err != nil {
			return "create", ref.Ref{}, nil // a missing tag or release: reported
		}
		v, found, err := e.getValue(ctx, r)
		if err != nil || !found {
			return "", target, err
		}
		cur, exists, err := e.literal(ctx, target)
		switch {
		case err != nil:
			return "", target, err
		case !exists:
			return "create", target, nil
		case !equalJSON(cur, v):
			return "update", target, nil
		}
		return "", target, nil
	default:
		target = r.Twin()
		p, err := e.planDeploy(ctx, r)
		switch {
		case err != nil:
			return "update", target, nil // invalid intent: applying it reports why
		case p == nil || p.action == "":
			return "", target, nil
		case p.current.IsZero():
			return "create", target, nil
		}
		return "update", target, nil
	}
}

// readsAtOnce is how many intents or deployments are checked at once.
const readsAtOnce = 4
