package engine

import (
	"context"
	"strings"

	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// swapStatus makes to the one status marker of w in b: the markers of the
// statuses it may replace (from) are deleted if present.
func (e *Engine) swapStatus(b *store.Tx, w state.WorkID, to string, from ...string) {
	for _, s := range from {
		if s != to {
			b.Delete(w.StatusRef(s), true)
		}
	}
	e.putStatus(b, w, to)
}

// chainInfo is the latest chain of a work item.
type chainInfo struct {
	item   state.WorkID // the work item
	k      int          // latest chain number
	status string       // its status marker
	down   bool
}

// latestChains returns the latest chain of every work item of a release.
func (e *Engine) latestChains(ctx context.Context, rel state.ReleaseID) ([]chainInfo, error) {
	return e.latestChainsMatching(ctx, rel.String()+"/{call,deploy}/*/*/status/*")
}

// latestChain returns the latest chain of work item w; ok is false when it
// has none.
func (e *Engine) latestChain(ctx context.Context, w state.WorkID) (chainInfo, bool, error) {
	chains, err := e.latestChainsMatching(ctx, w.ItemRef().String()+"/*/status/*")
	if err != nil || len(chains) == 0 {
		return chainInfo{}, false, err
	}
	return chains[0], true, nil
}

// latestChainsMatching returns the latest chain of each work item among the
// chain status markers matching glob.
func (e *Engine) latestChainsMatching(ctx context.Context, glob string) ([]chainInfo, error) {
	refs, err := e.match(ctx, glob)
	if err != nil {
		return nil, err
	}
	byItem := map[state.WorkID]*chainInfo{}
	var order []state.WorkID
	for _, r := range refs {
		w, ok := ownerOfMarker(r)
		if !ok || w.Chain == 0 || w.Fn != 0 {
			continue
		}
		key := w.Item()
		ci, ok := byItem[key]
		if !ok {
			ci = &chainInfo{item: w.WithChain(0)}
			byItem[key] = ci
			order = append(order, key)
		}
		if w.Chain >= ci.k {
			status := r[strings.LastIndexByte(r, '/')+1:]
			if w.Chain > ci.k || status != state.StatusPending { // several markers: prefer a final one
				ci.k, ci.status = w.Chain, status
			}
		}
	}
	out := make([]chainInfo, 0, len(order))
	for _, key := range order {
		ci := byItem[key]
		var ch state.Chain
		if _, err := e.get(ctx, ci.item.WithChain(ci.k).ChainRef(), &ch); err != nil {
			return nil, err
		}
		ci.down = ch.Type == "down"
		out = append(out, *ci)
	}
	return out, nil
}

// releaseStatus computes a release's status from the latest chain of every
// work item, independent of ref order (docs/engine.md §7).
func (e *Engine) releaseStatus(ctx context.Context, rel state.ReleaseID) (string, error) {
	running, err := e.match(ctx, rel.String()+"/{call,deploy}/*/*/functions/*/status/running")
	if err != nil {
		return "", err
	}
	if len(running) > 0 {
		return state.StatusRunning, nil
	}
	chains, err := e.latestChains(ctx, rel)
	if err != nil {
		return "", err
	}
	status := state.StatusComplete
	for _, c := range chains {
		switch c.status {
		case state.StatusFailed:
			return state.StatusFailed, nil
		case state.StatusPending:
			status = state.StatusPending
		}
	}
	return status, nil
}
