package store

import (
	"context"
	"errors"
	"slices"

	"github.com/ocu-team/ocu/lib/ref"
)

// Combined is a repo's state store and intent store seen as one (docs/store-format.md
// §8): refs marked '+' go to the intent store, all others to the state store;
// Match merges both. When both are the same store it is used once.
type Combined struct {
	State  Store
	Intent Store
}

// NewCombined pairs state and intent; intent may be nil or the same store.
func NewCombined(state, intent Store) *Combined {
	if intent == nil {
		intent = state
	}
	return &Combined{State: state, Intent: intent}
}

func (c *Combined) single() bool { return c.State == c.Intent }

func (c *Combined) route(r ref.Ref) Store {
	if r.Marker == ref.Intent {
		return c.Intent
	}
	return c.State
}

// Get implements Store.
func (c *Combined) Get(ctx context.Context, r ref.Ref) (Doc, error) {
	return c.route(r).Get(ctx, r)
}

// Match implements Store.
func (c *Combined) Match(ctx context.Context, globs []string, noLinks bool) ([]string, error) {
	out, err := c.State.Match(ctx, globs, noLinks)
	if c.single() || (err != nil && CodeOf(err) != ECorrupt) {
		return out, err
	}
	more, ierr := c.Intent.Match(ctx, globs, noLinks)
	if ierr != nil && CodeOf(ierr) != ECorrupt {
		return nil, ierr
	}
	out = append(out, more...)
	slices.Sort(out)
	return slices.Compact(out), errors.Join(err, ierr) // corrupt objects of either store
}

// Children implements Store.
func (c *Combined) Children(ctx context.Context, r ref.Ref) ([]string, error) {
	if !r.IsZero() {
		return c.route(r).Children(ctx, r)
	}
	out, err := c.State.Children(ctx, r)
	if err != nil || c.single() {
		return out, err
	}
	more, err := c.Intent.Children(ctx, r)
	if err != nil {
		return nil, err
	}
	out = append(out, more...)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Commit implements Store: the transaction is split by store; the state part
// is committed first, then the intent part — except that an intent part made
// only of deletions goes first. Each part is atomic; the pair is not. A
// transaction asking for support files asks it of both stores, even of one
// that gets no operation (its branch may lack them).
func (c *Combined) Commit(ctx context.Context, tx *Tx) error {
	if c.single() {
		return c.State.Commit(ctx, tx)
	}
	if err := tx.check(); err != nil { // the whole transaction, before either part
		return err
	}
	state, intent := NewTx(tx.Name), NewTx(tx.Name)
	state.SupportFiles, intent.SupportFiles = tx.SupportFiles, tx.SupportFiles
	state.OnCorrupt, intent.OnCorrupt = tx.OnCorrupt, tx.OnCorrupt
	onlyDeletes := true
	for _, op := range tx.Ops {
		if op.Ref.Marker == ref.Intent {
			intent.Ops = append(intent.Ops, op)
			onlyDeletes = onlyDeletes && (op.Kind == OpDelete || op.Kind == OpUnlink)
		} else {
			state.Ops = append(state.Ops, op)
		}
	}
	parts := []struct {
		s  Store
		tx *Tx
	}{{c.State, state}, {c.Intent, intent}}
	if onlyDeletes {
		slices.Reverse(parts)
	}
	for _, p := range parts {
		if p.tx.Empty() && !p.tx.SupportFiles {
			continue
		}
		if err := p.s.Commit(ctx, p.tx); err != nil {
			return err
		}
	}
	return nil
}

// Close implements Store.
func (c *Combined) Close() error {
	err := c.State.Close()
	if !c.single() {
		err = errors.Join(err, c.Intent.Close())
	}
	return err
}

var _ Indexed = (*Combined)(nil)

// MatchSkipping implements Indexed: the state store skips the release
// folders skip accepts, the intent store is matched in full. A state store
// that is not Indexed is matched in full and the refs in skipped release
// folders are dropped.
func (c *Combined) MatchSkipping(ctx context.Context, globs []string, skip func(release string) bool) ([]string, error) {
	var out []string
	var err error
	if ix, ok := c.State.(Indexed); ok {
		out, err = ix.MatchSkipping(ctx, globs, skip)
	} else {
		out, err = c.State.Match(ctx, globs, false)
		if skip != nil {
			out = slices.DeleteFunc(out, func(p string) bool { return skipsPrefix(p, skip) })
		}
	}
	if err != nil || c.single() {
		return out, err
	}
	more, err := c.Intent.Match(ctx, globs, false)
	if err != nil {
		return nil, err
	}
	out = append(out, more...)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ChangePosition implements Indexed with the state store's; "" when it is
// not Indexed.
func (c *Combined) ChangePosition(ctx context.Context) (string, error) {
	if ix, ok := c.State.(Indexed); ok {
		return ix.ChangePosition(ctx)
	}
	return "", nil
}

// ChangedSince implements Indexed with the state store's; ok is false when
// it is not Indexed.
func (c *Combined) ChangedSince(ctx context.Context, pos string) ([]string, string, bool, error) {
	if ix, ok := c.State.(Indexed); ok {
		return ix.ChangedSince(ctx, pos)
	}
	return nil, "", false, nil
}

// IndexInfo implements Indexed with the state store's; empty when it is
// not Indexed.
func (c *Combined) IndexInfo() IndexInfo {
	if ix, ok := c.State.(Indexed); ok {
		return ix.IndexInfo()
	}
	return IndexInfo{}
}

// Resolve implements Resolver.
func (c *Combined) Resolve(ctx context.Context, r ref.Ref) (ref.Ref, error) {
	res, ok := c.route(r).(Resolver)
	if !ok {
		return ref.Ref{}, errors.New("the store cannot resolve refs without reading them")
	}
	return res.Resolve(ctx, r)
}
