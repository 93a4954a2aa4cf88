package migrate

import (
	"context"
	"fmt"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// Write commits the plan: the state objects to state and the intent
// objects to intent, one transaction per store (on git, one commit each);
// when intent is nil or the same store, one transaction holds both.
// Documents are created only where nothing is stored, so a destination
// written meanwhile fails the transaction and nothing of it is written.
// The two stores are two transactions: when the intent one fails, the
// error says that the state store holds the migration already.
func (p *Plan) Write(ctx context.Context, state, intent store.Store) error {
	if intent == nil || intent == state {
		tx := store.NewTx("migrate from a later Ocuroot format")
		if err := fill(tx, p.State, p.Intent); err != nil {
			return err
		}
		return state.Commit(ctx, tx)
	}
	stx := store.NewTx("migrate the state store from a later Ocuroot format")
	if err := fill(stx, p.State); err != nil {
		return err
	}
	itx := store.NewTx("migrate the intent store from a later Ocuroot format")
	if err := fill(itx, p.Intent); err != nil {
		return err
	}
	if err := state.Commit(ctx, stx); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := intent.Commit(ctx, itx); err != nil {
		// The pair is two transactions: say what the first one left, and
		// how to run the migration again (it needs empty destinations).
		return fmt.Errorf("intent: %w; the state store was migrated already: empty it (or use another branch) and migrate again", err)
	}
	return nil
}

// fill adds the documents, then the links, of each list to tx.
func fill(tx *store.Tx, lists ...[]Write) error {
	for _, links := range []bool{false, true} {
		for _, list := range lists {
			for _, w := range list {
				if (w.Target != "") != links {
					continue
				}
				r, err := ref.Parse(w.Ref)
				if err != nil {
					return err
				}
				if !links {
					tx.Create(r, w.Value)
					continue
				}
				t, err := ref.Parse(w.Target)
				if err != nil {
					return fmt.Errorf("link %s: %w", w.Ref, err)
				}
				tx.Link(r, t)
			}
		}
	}
	return nil
}
