// Package deletecmd is ocu-delete: it deletes intent documents (docs/cli.md §2.4).
package deletecmd

import (
	"context"
	"fmt"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/store"
)

const synopsis = `
Usage: ocu-delete [options] [REF...]

Ocu-delete deletes the intent stored at each REF (refs from the arguments,
or one per line from stdin): +/custom/NAME, +/environment/NAME,
FILE/+N/custom/NAME or FILE/+/deploy/ENV. Exactly the stored object goes: a
link path removes the link, never its target, and child refs stay. All refs
are checked first and deleted in one transaction; a ref with nothing stored
fails the whole deletion unless --missing-ok is given.
`

// Command returns the command ocu-delete ("ocuroot state delete" in the
// ocuroot tree).
func Command(sio cli.IO) *cli.Command {
	c := cli.NewCommand("ocu-delete", synopsis, sio)
	var missingOK bool
	c.Flags.BoolVar(&missingOK, "missing-ok", false, "skip refs with nothing stored instead of failing")
	c.Exec = func(ctx context.Context, inputs []string) error {
		return cli.Finish(ctx, run(ctx, c.Tool, inputs, missingOK))
	}
	return c
}

func run(ctx context.Context, t *cli.Tool, inputs []string, missingOK bool) error {
	if len(inputs) == 0 && cli.IsTerminal(t.Stdin) {
		return cli.UsageError(cli.ErrNoInput)
	}
	s, err := t.Open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()

	tx := store.NewTx("delete")
	seen := map[string]bool{}
	errs := t.Errors(ctx)
	add := func(_ int, in string) bool {
		r, err := s.IntentRef(in)
		if err != nil {
			errs.Addf(in, err)
			return true
		}
		if !seen[r.String()] {
			seen[r.String()] = true
			tx.Delete(r, missingOK)
		}
		return true
	}
	if len(inputs) > 0 {
		for i, in := range inputs {
			add(i+1, in)
		}
	} else if err := cli.Lines(ctx, t.Stdin, nil, add); err != nil {
		if ctx.Err() == nil {
			errs.Addf("stdin", err)
		}
		return errs.Err() // stdin unread or interrupted: nothing deleted
	}
	if errs.Any() || tx.Empty() {
		return errs.Err()
	}
	if len(tx.Ops) == 1 {
		tx.Name = "delete " + tx.Ops[0].Ref.String()
	} else {
		tx.Name = fmt.Sprintf("delete %d documents", len(tx.Ops))
	}
	replaced := t.ReplacingCorrupt(tx, "deleted")
	if err := s.Store.Commit(ctx, tx); err != nil {
		return err
	}
	replaced()
	return nil
}
