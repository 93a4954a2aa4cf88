package engine

import (
	"context"
	"maps"
	"slices"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// runResult counts what a scheduler run did.
type runResult struct {
	ran, failed int
}

// run runs the pending functions of the releases, one at a time in ref
// order, pass after pass until a pass runs nothing (docs/engine.md §8, §11.4).
func (e *Engine) run(ctx context.Context, rels []state.ReleaseID) (runResult, error) {
	var res runResult
	for progressed := true; progressed; {
		progressed = false
		for _, rel := range rels {
			pending, err := e.pending(ctx, rel)
			if err != nil {
				return res, err
			}
			for _, f := range pending {
				if ctx.Err() != nil || e.expired() {
					return res, nil
				}
				fdoc, why, err := e.prepare(ctx, f)
				if err != nil {
					return res, err
				}
				if fdoc == nil || len(why) > 0 {
					continue
				}
				// The refreshed inputs are stored by the start transaction.
				failed, err := e.runFunction(ctx, f, fdoc)
				if err != nil {
					return res, err
				}
				res.ran++
				if failed {
					res.failed++
				}
				progressed = true
			}
		}
	}
	return res, nil
}

// pending lists the pending functions of a release in run order: refs with
// numeric segments compared as numbers.
func (e *Engine) pending(ctx context.Context, rel state.ReleaseID) ([]state.WorkID, error) {
	refs, err := e.match(ctx, rel.String()+"/{call,deploy}/*/*/functions/*/status/pending")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(refs, compareRefs)
	var out []state.WorkID
	for _, r := range refs {
		if f, ok := ownerOfMarker(r); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// prepare refreshes a pending function's inputs (docs/engine.md §8.2) and tells
// why it cannot run yet: one line per missing input or unsatisfied
// dependency. A nil function means it is no longer pending. Refreshed
// inputs of a function that cannot run are stored at once ("populating
// inputs"); those of a runnable function go with its start transaction.
func (e *Engine) prepare(ctx context.Context, f state.WorkID) (*state.Function, []string, error) {
	fdoc, why, changed, err := e.readiness(ctx, f)
	if err != nil || fdoc == nil || !changed || len(why) == 0 {
		return fdoc, why, err
	}
	b := store.NewTx("populating inputs")
	b.Put(f.FnRef(), fdoc)
	return fdoc, why, e.commit(ctx, b)
}

// readiness reads a pending function, refreshes its inputs in memory and
// tells why it cannot run yet; changed reports refreshed inputs.
func (e *Engine) readiness(ctx context.Context, f state.WorkID) (fdoc *state.Function, why []string, changed bool, err error) {
	var doc state.Function
	found, err := e.get(ctx, f.FnRef(), &doc)
	if err != nil || !found || doc.Current.Status != state.StatusPending {
		return nil, nil, false, err
	}
	for name, d := range doc.Current.Inputs {
		if d.Ref == "" {
			continue
		}
		r, err := ref.Parse(d.Ref)
		if err != nil {
			return nil, nil, false, err
		}
		v, found, err := e.getValue(ctx, r)
		if err != nil {
			return nil, nil, false, err
		}
		if found && v != nil && (d.Value == nil || !equalJSON(v, d.Value)) {
			d.Value = v
			doc.Current.Inputs[name] = d
			changed = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Current.Inputs)) {
		d := doc.Current.Inputs[name]
		if _, ok := d.Effective(); !ok {
			why = append(why, "waiting for input "+name+" ("+d.Ref+")")
		}
	}
	for _, glob := range doc.Current.Dependencies {
		refs, err := e.match(ctx, glob)
		if err != nil {
			return nil, nil, false, err
		}
		if len(refs) == 0 {
			why = append(why, "waiting for "+glob)
		}
	}
	return &doc, why, changed, nil
}

// printWaiting prints, for every function of the releases left pending,
// what it waits for. Nothing about waiting is stored.
func (e *Engine) printWaiting(ctx context.Context, rels ...state.ReleaseID) error {
	var pending []state.WorkID
	for _, rel := range rels {
		p, err := e.pending(ctx, rel)
		if err != nil {
			return err
		}
		pending = append(pending, p...)
	}
	for _, f := range pending {
		_, why, err := e.prepare(ctx, f)
		if err != nil {
			return err
		}
		var chain state.Chain
		if _, err := e.get(ctx, f.ChainRef(), &chain); err != nil {
			return err
		}
		for _, w := range why {
			e.progress.line("%s: %s", label(f, chain.Type == "down"), w)
		}
	}
	return nil
}
