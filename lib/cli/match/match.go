// Package match is ocu-match: it lists the stored refs matching globs
// (docs/cli.md §2.2).
package match

import (
	"context"
	"io"

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

// Main runs ocu-match.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Run(ctx, "ocu-match", args, stdin, stdout, stderr)
}

// Run runs ocu-match under the name prog.
func Run(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	t := cli.NewTool(prog, synopsis, stdout, stderr)
	defer func() { code = t.Finish(ctx, code) }()
	var noLinks bool
	var at string
	fs := t.FlagSet()
	for _, name := range []string{"l", "no-links"} {
		fs.BoolVar(&noLinks, name, false, "hide links and everything stored under a link position")
	}
	fs.StringVar(&at, "at", "", "read git stores as of `WHEN` (~N, a time or date, a tag, a commit; see ocu-get -h)")
	globs, ok := t.Parse(fs, args)
	if !ok {
		return t.Code()
	}
	if len(globs) == 0 {
		t.UsageError("no GLOB given")
		return t.Code()
	}
	for _, g := range globs {
		if _, err := ref.CompileGlob(g); err != nil {
			t.Errorf(cli.ExitUsage, "%v", err)
		}
	}
	if t.Code() != 0 {
		return t.Code()
	}
	s, err := t.Open(ctx)
	if err != nil {
		t.Fail("", err)
		return t.Code()
	}
	defer s.Close()
	st := s.Store
	if at != "" {
		if st, err = s.At(ctx, at); err != nil {
			t.Fail("", err)
			return t.Code()
		}
	}
	refs, err := st.Match(ctx, globs, noLinks)
	if err != nil && store.CodeOf(err) != store.ECorrupt {
		t.Fail("", err)
		return t.Code()
	}
	// Corrupt objects (read by -l only) are reported after the other refs.
	out := cli.NewOutput(t.Stdout)
	for _, r := range refs {
		if out.Line(r) != nil {
			break
		}
	}
	if err := out.Flush(); err != nil && !cli.IsClosedPipe(err) {
		t.Fail("stdout", err)
	}
	for _, e := range each(err) {
		t.Fail("", e)
	}
	return t.Code()
}

// each returns the errors joined in err (errors.Join, nested), one per
// line of the report.
func each(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, each(e)...)
	}
	return out
}
