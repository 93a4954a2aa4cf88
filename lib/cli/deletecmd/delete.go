// Package deletecmd is ocu-delete: it deletes intent documents (docs/cli.md §2.4).
package deletecmd

import (
	"context"
	"fmt"
	"io"

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

// Main runs ocu-delete.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Run(ctx, "ocu-delete", args, stdin, stdout, stderr)
}

// Run runs ocu-delete under the name prog.
func Run(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	t := cli.NewTool(prog, synopsis, stdout, stderr)
	defer func() { code = t.Finish(ctx, code) }()
	var missingOK bool
	fs := t.FlagSet()
	fs.BoolVar(&missingOK, "missing-ok", false, "skip refs with nothing stored instead of failing")
	inputs, ok := t.Parse(fs, args)
	if !ok {
		return t.Code()
	}
	if len(inputs) == 0 && cli.IsTerminal(stdin) {
		t.UsageError("%v", cli.ErrNoInput)
		return t.Code()
	}
	s, err := t.Open(ctx)
	if err != nil {
		t.Fail("", err)
		return t.Code()
	}
	defer s.Close()

	tx := store.NewTx("delete")
	seen := map[string]bool{}
	add := func(_ int, in string) bool {
		r, err := s.IntentRef(in)
		if err != nil {
			t.Fail(in, err)
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
	} else if err := cli.Lines(ctx, stdin, nil, add); err != nil && ctx.Err() == nil {
		t.Fail("stdin", err)
	}
	if t.Code() != 0 || tx.Empty() {
		return t.Code()
	}
	if len(tx.Ops) == 1 {
		tx.Name = "delete " + tx.Ops[0].Ref.String()
	} else {
		tx.Name = fmt.Sprintf("delete %d documents", len(tx.Ops))
	}
	replaced := t.ReplacingCorrupt(tx, "deleted")
	if err := s.Store.Commit(ctx, tx); err != nil {
		t.Fail("", err)
	} else {
		replaced()
	}
	return t.Code()
}
