// Package match is ocu-match: it lists the stored refs matching globs
// (docs/cli.md §2.2).
package match

import (
	"context"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

const synopsis = `
Usage: ocu-match [options] GLOB...

Ocu-match prints the refs stored in the state and intent stores that match
any GLOB, one per line, sorted bytewise and without duplicates. In a glob,
* matches within one segment, ** across segments, ? one character,
[abc] a class and {a,b} alternatives. Globs are never resolved against the
repo. No match prints nothing and exits 0.
`

// Command returns the command ocu-match ("ocuroot state match" in the
// ocuroot tree).
func Command(sio cli.IO) *cli.Command {
	c := cli.NewCommand("ocu-match", synopsis, sio)
	var noLinks bool
	var at string
	fs := c.Flags
	for _, name := range []string{"l", "no-links"} {
		fs.BoolVar(&noLinks, name, false, "hide links and everything stored under a link position")
	}
	fs.StringVar(&at, "at", "", "read git stores as of `WHEN` (~N, a time or date, a tag, a commit; see ocu-get -h)")
	c.Exec = func(ctx context.Context, globs []string) error {
		return cli.Finish(ctx, run(ctx, c.Tool, globs, noLinks, at))
	}
	return c
}

func run(ctx context.Context, t *cli.Tool, globs []string, noLinks bool, at string) error {
	if len(globs) == 0 {
		return cli.ArgErrorf("no GLOB given")
	}
	errs := t.Errors(ctx)
	for _, g := range globs {
		if _, err := ref.CompileGlob(g); err != nil {
			errs.Add(cli.WithCode(cli.ExitUsage, err))
		}
	}
	if errs.Any() {
		return errs.Err()
	}
	s, err := t.Open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	st := s.Store
	if at != "" {
		if st, err = s.At(ctx, at); err != nil {
			return err
		}
	}
	refs, err := st.Match(ctx, globs, noLinks)
	if err != nil && store.CodeOf(err) != store.ECorrupt {
		return err
	}
	// Corrupt objects (read by -l only) are reported after the other refs.
	out := cli.NewOutput(t.Stdout)
	for _, r := range refs {
		if out.Line(r) != nil {
			break
		}
	}
	if err := out.Flush(); err != nil && !cli.IsClosedPipe(err) {
		errs.Addf("stdout", err)
	}
	for _, e := range cli.Flatten(err) {
		errs.Add(e)
	}
	return errs.Err()
}
