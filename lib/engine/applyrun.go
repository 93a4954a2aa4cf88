package engine

import (
	"context"
	"strings"
	"time"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// ApplyOptions configure Apply.
type ApplyOptions struct {
	// Refs are the intent refs to apply; nil applies the diff.
	Refs []ref.Ref
	// NoContinue applies intent only: no tasks, reconcile or runs.
	NoContinue bool
	// MaxRounds bounds the rounds (default 10).
	MaxRounds int
	// Deadline, when set, is when no new function or round starts.
	Deadline time.Time
}

// ApplyResult says how an Apply went.
type ApplyResult struct {
	Failed bool // an intent failed to apply, a function failed, or a release could not be loaded

	// last is the scan of the final round; settled means that round
	// changed nothing, so the scan still describes the stores.
	last    *scan
	settled bool
}

// Apply makes state follow intent (docs/engine.md §11.6): round after round it
// applies every intent that differs from state (or the given refs), then
// processes the check_envs tasks of the releases at the current commit,
// reconciles their deployments and runs their pending work, until a round
// does nothing. The caller holds the apply lock.
func (e *Engine) Apply(ctx context.Context, o ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	if o.MaxRounds <= 0 {
		o.MaxRounds = 10
	}
	e.Deadline = o.Deadline
	s, err := e.scanStores(ctx)
	if err != nil {
		return res, err
	}
	n, err := e.markInterruptedIn(ctx, s.running)
	if err != nil {
		return res, err
	}
	res.Failed = n > 0
	var rels []state.ReleaseID
	failedRefs := map[ref.Ref]bool{}     // reported once, not retried in later rounds
	broken := map[state.ReleaseID]bool{} // releases that could not be loaded
	for round := 0; round < o.MaxRounds && ctx.Err() == nil && (round == 0 || !e.expired()); round++ {
		if round > 0 {
			if s, err = e.scanStores(ctx); err != nil {
				return res, err
			}
		}
		active, failed, err := e.applyRound(ctx, s, o.Refs, round == 0, failedRefs)
		if err != nil {
			return res, err
		}
		res.Failed = res.Failed || failed
		if o.NoContinue {
			break
		}
		rels = s.releases(e.Commit)
		n, unloadable := e.tasks(ctx, rels, broken)
		res.Failed = res.Failed || unloadable > 0
		active = active || n > 0
		created, err := e.reconcile(ctx, rels)
		if err != nil {
			return res, err
		}
		ran, err := e.run(ctx, rels)
		if err != nil {
			return res, err
		}
		res.Failed = res.Failed || ran.failed > 0
		if !active && created == 0 && ran.ran == 0 {
			res.settled = true
			break
		}
	}
	res.last = s
	if !o.NoContinue {
		if err := e.printWaiting(ctx, rels...); err != nil {
			return res, err
		}
	}
	return res, nil
}

// applyRound applies the diff, or refs, once. It reports whether anything
// was applied and whether an intent failed.
func (e *Engine) applyRound(ctx context.Context, s *scan, refs []ref.Ref, first bool, failedRefs map[ref.Ref]bool) (active, failed bool, err error) {
	if refs == nil {
		changes, err := e.diff(ctx, s)
		if err != nil {
			return false, false, err
		}
		for _, c := range changes {
			refs = append(refs, c.Ref)
		}
	} else {
		refs = append([]ref.Ref(nil), refs...)
	}
	SortIntents(refs)
	for _, r := range refs {
		if ctx.Err() != nil {
			return active, failed, nil
		}
		if failedRefs[r] {
			continue
		}
		msg, err := e.ApplyIntent(ctx, r)
		if err != nil {
			e.progress.errorLine(r.String() + ": " + err.Error())
			failedRefs[r] = true
			failed = true
			continue
		}
		changed := msg == msgApplied || msg == msgDeleted || strings.HasPrefix(msg, msgDeleted+";") ||
			strings.HasPrefix(msg, "Created work:") || strings.HasPrefix(msg, "down scheduled:")
		if changed || first {
			e.progress.line("%s: %s", r, msg)
		}
		active = active || changed
	}
	return active, failed, nil
}

// expired reports whether the deadline has passed.
func (e *Engine) expired() bool {
	return !e.Deadline.IsZero() && time.Now().After(e.Deadline)
}

// OutstandingAfter lists the work waiting for other commits once Apply is
// done (for triggers), reusing its last walk of the stores when that round
// changed nothing.
func (e *Engine) OutstandingAfter(ctx context.Context, res ApplyResult) ([]Outstanding, error) {
	if res.settled && res.last != nil {
		return e.outstanding(ctx, res.last, false)
	}
	return e.Outstanding(ctx, false)
}
