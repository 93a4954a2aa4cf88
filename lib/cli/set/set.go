// Package set is ocu-set: it writes intent documents (docs/cli.md §2.3).
package set

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

const synopsis = `
Usage: ocu-set [options] REF VALUE
       ocu-set [options] REF -
       ocu-set [options] < batch.ndjson

Ocu-set writes intent: VALUE, or stdin after "-", becomes the document at
REF, an intent ref (+/custom/NAME, +/environment/NAME, FILE/+N/custom/NAME,
FILE/+/deploy/ENV). -f says how VALUE is read: string (stored verbatim as a
JSON string), json, or starlark (one expression; json and struct are
available). With no arguments, stdin is a batch: one {"ref": REF, "value":
VALUE} object per line, all written in one transaction or none at all.
State follows intent when it is applied (ocu-apply). Nothing is printed on
success.

Values are refused (exit 2, the byte offset named) when their text is not
valid UTF-8 or they nest arrays and objects deeper than 512 levels; a
batch line may be 64 MiB long.
`

// Command returns the command ocu-set ("ocuroot state set" in the
// ocuroot tree).
func Command(sio cli.IO) *cli.Command {
	c := cli.NewCommand("ocu-set", synopsis, sio)
	format := ""
	for _, name := range []string{"f", "format"} {
		c.Flags.StringVar(&format, name, "", "how VALUE is read: string (default), json or starlark")
	}
	c.Exec = func(ctx context.Context, pos []string) error {
		return cli.Finish(ctx, run(ctx, c.Tool, pos, format))
	}
	return c
}

func run(ctx context.Context, t *cli.Tool, pos []string, format string) error {
	switch format {
	case "", "string", "json", "starlark":
	default:
		return cli.ArgErrorf("unknown format %q (expected string, json or starlark)", format)
	}
	switch {
	case len(pos) == 1:
		return cli.ArgErrorf("missing VALUE after %s (use - to read it from stdin)", pos[0])
	case len(pos) > 2:
		return cli.ArgErrorf("too many arguments: %q", pos[2:])
	case len(pos) == 0 && format != "":
		return cli.ArgErrorf("-f is not allowed with a batch on stdin (each line holds a JSON value)")
	case len(pos) == 0 && cli.IsTerminal(t.Stdin):
		return cli.ArgErrorf("no REF given (pass REF VALUE, or a batch on stdin)")
	}
	s, err := t.Open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()

	var tx *store.Tx
	if len(pos) == 2 {
		tx, err = one(ctx, s, pos[0], pos[1], format, t.Stdin)
	} else {
		tx, err = batch(ctx, t, s, t.Stdin)
	}
	if tx == nil {
		return err
	}
	replaced := t.ReplacingCorrupt(tx, "replaced")
	if err := s.Store.Commit(ctx, tx); err != nil {
		return err
	}
	replaced()
	return nil
}

// one prepares the transaction of "ocu-set REF VALUE".
func one(ctx context.Context, s *cli.Session, in, arg, format string, stdin io.Reader) (*store.Tx, error) {
	r, err := s.IntentRef(in)
	if err != nil {
		return nil, cli.WithSubject(in, err)
	}
	text := arg
	if arg == "-" {
		b, err := io.ReadAll(cli.Reader(ctx, stdin))
		if err != nil {
			if ctx.Err() == nil {
				return nil, cli.WithSubject("stdin", err)
			}
			return nil, nil
		}
		text = string(b)
		if format == "" || format == "string" {
			if t, ok := strings.CutSuffix(text, "\n"); ok {
				text = strings.TrimSuffix(t, "\r") // one line ending, "\n" or "\r\n"
			}
		}
	}
	v, err := parseValue(text, format)
	if err != nil {
		return nil, cli.Errorf(cli.ExitUsage, "%s: %v", in, err)
	}
	return store.NewTx("set "+r.String()).Put(r, v), nil
}

// parseValue reads VALUE in format. Every format refuses text that is not
// valid UTF-8 (JSON cannot hold it unchanged), naming the byte offset.
func parseValue(text, format string) (any, error) {
	if format == "json" {
		return store.ParseValue([]byte(text))
	}
	if err := state.CheckText(text); err != nil {
		return nil, err
	}
	if format == "starlark" {
		v, err := sdk.EvalExpr(text)
		if err != nil {
			return nil, fmt.Errorf("invalid starlark value: %w", err)
		}
		return v, nil
	}
	return text, nil
}

// batch prepares the transaction of an NDJSON batch on stdin: every line is
// checked before anything is written.
func batch(ctx context.Context, t *cli.Tool, s *cli.Session, stdin io.Reader) (*store.Tx, error) {
	tx := store.NewTx("set")
	errs := t.Errors(ctx)
	seen := map[string]int{}
	err := cli.Lines(ctx, stdin, nil, func(n int, line string) bool {
		r, v, err := record(s, line)
		if err != nil {
			errs.Add(cli.Errorf(cli.ExitCode(err), "stdin:%d: %v", n, err))
			return true
		}
		key := r.String()
		if first, ok := seen[key]; ok {
			errs.Add(cli.Errorf(cli.ExitUsage, "stdin:%d: %s is also set on line %d", n, key, first))
			return true
		}
		seen[key] = n
		tx.Put(r, v)
		return true
	})
	if err != nil {
		if ctx.Err() == nil {
			errs.Addf("stdin", err)
		}
		return nil, errs.Err()
	}
	if errs.Any() {
		return nil, errs.Err()
	}
	if len(tx.Ops) == 1 {
		tx.Name = "set " + tx.Ops[0].Ref.String()
	} else {
		tx.Name = fmt.Sprintf("set %d documents", len(tx.Ops))
	}
	return tx, nil
}

// record parses one batch line: an object with exactly "ref" and "value".
func record(s *cli.Session, line string) (ref.Ref, any, error) {
	v, err := store.ParseWrapped([]byte(line), 1)
	if err != nil {
		return ref.Ref{}, nil, &cli.UsageErr{Err: err}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return ref.Ref{}, nil, cli.Usagef(`expected an object {"ref": …, "value": …}`)
	}
	for k := range obj {
		if k != "ref" && k != "value" {
			return ref.Ref{}, nil, cli.Usagef("unknown field %q (expected ref and value)", k)
		}
	}
	in, ok := obj["ref"].(string)
	if !ok {
		return ref.Ref{}, nil, cli.Usagef(`"ref" must be a string`)
	}
	value, ok := obj["value"]
	if !ok {
		return ref.Ref{}, nil, cli.Usagef(`%s: missing "value"`, in)
	}
	r, err := s.IntentRef(in)
	return r, value, cli.WithSubject(in, err)
}
