package ocuroot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/migrate"
	"github.com/ocu-team/ocu/lib/store"
)

const migrateSynopsis = `
Usage: ocuroot state migrate [-n] [--from-state LOC [--from-intent LOC]] --to-state LOC [--to-intent LOC]

Migrate converts a store written by Ocuroot v0.3.11 to v0.3.17-1 (store
formats 2 and 3) into a new store of format 1, the format ocu reads and
writes. LOC is a folder, git+URL or git+URL#BRANCH, as for --state-store.

Without --from-state the stores configured in repo.ocu.star are read,
including the later single-store layout (store.fs(".store") holding state/
and intent/). A single --from-state location of that layout holds both.
Without --to-intent one format 1 store holds state and intent.

Every release, run, function, status marker, log, output, link, tag,
environment, custom document and intent is written; refs are rewritten to
format 1 (@rN → @N, task/ → call/, op/ → task/, intent with +). What
format 1 cannot hold is dropped and listed. The source is only read. The
destination must be absent or empty; each destination store is written by
one transaction (one commit on git).

Prints one line per store and kind ("state: 8 releases") and one line per
dropped item ("dropped: push document …"). With -n nothing is written.
`

// migrateCommand is "ocuroot state migrate".
func migrateCommand(sio cli.IO) *cli.Command {
	c := cli.NewCommand("migrate", migrateSynopsis, sio)
	fs := c.Flags
	var dry bool
	var fromState, fromIntent, toState, toIntent string
	fs.BoolVar(&dry, "n", false, "write nothing: print what would be migrated and dropped")
	fs.BoolVar(&dry, "dry-run", false, "same as -n")
	fs.StringVar(&fromState, "from-state", "", "the later-format state store `LOC` (default: repo.ocu.star's)")
	fs.StringVar(&fromIntent, "from-intent", "", "the later-format intent store `LOC`")
	fs.StringVar(&toState, "to-state", "", "the new format 1 state store `LOC` (absent or empty)")
	fs.StringVar(&toIntent, "to-intent", "", "the new format 1 intent store `LOC` (default: the state store)")
	c.Exec = func(ctx context.Context, pos []string) error {
		switch {
		case len(pos) > 0:
			return cli.ArgErrorf("unexpected argument %q", pos[0])
		case toState == "":
			return cli.ArgErrorf("--to-state is required")
		case fromIntent != "" && fromState == "":
			return cli.ArgErrorf("--from-intent needs --from-state")
		}
		return cli.Finish(ctx, runMigrate(ctx, c.Tool, dry, fromState, fromIntent, toState, toIntent))
	}
	return c
}

func runMigrate(ctx context.Context, t *cli.Tool, dry bool, fromState, fromIntent, toState, toIntent string) error {
	dir := t.WorkDir(ctx)
	parse := func(s string) (config.Location, error) {
		loc, err := config.ParseLocation(s, dir)
		if err != nil {
			return loc, &cli.UsageErr{Err: err}
		}
		return loc, nil
	}

	// The source locations.
	var cfg *config.Config
	var srcState, srcIntent config.Location
	if fromState != "" {
		var err error
		if srcState, err = parse(fromState); err != nil {
			return err
		}
		srcIntent = srcState
		if fromIntent != "" {
			if srcIntent, err = parse(fromIntent); err != nil {
				return err
			}
		}
	} else {
		var err error
		cfg, err = t.LoadConfig(ctx)
		if err != nil {
			return err
		}
		srcState, srcIntent = cfg.State, cfg.Intent
	}

	// The destinations.
	dstState, err := parse(toState)
	if err != nil {
		return err
	}
	dstIntent := dstState
	if toIntent != "" {
		if dstIntent, err = parse(toIntent); err != nil {
			return err
		}
	}
	for _, d := range []config.Location{dstState, dstIntent} {
		for _, s := range []config.Location{srcState, srcIntent} {
			if d.Same(s) {
				return fmt.Errorf("%s: the destination is the source; migrate into a new store", d)
			}
		}
	}

	// Read and convert the source.
	state, intent, err := readSource(ctx, t, cfg, srcState)
	if err != nil {
		return err
	}
	if !srcIntent.Same(srcState) {
		if intent != nil {
			return fmt.Errorf("%s: holds state/ and intent/; give it alone as --from-state", srcState)
		}
		is, extra, err := readSource(ctx, t, cfg, srcIntent)
		if err != nil {
			return err
		}
		if extra != nil {
			return fmt.Errorf("%s: holds state/ and intent/; give it alone as --from-state", srcIntent)
		}
		intent = is
	}
	if state.Role == "intent" {
		return fmt.Errorf("%s: an intent store (its version file says so); give it as --from-intent", srcState)
	}
	if intent != nil && intent.Role == "state" {
		return fmt.Errorf("%s: a state store (its version file says so); give it as --from-state", srcIntent)
	}
	plan, err := migrate.Convert(state, intent)
	if err != nil {
		return fmt.Errorf("%s: %w", srcState, err)
	}

	// Check and open the destinations.
	dsts, err := openDestinations(ctx, t, cfg, dstState, dstIntent, dry)
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range dsts {
			s.Close()
		}
	}()
	if !dry {
		var in store.Store
		if len(dsts) > 1 {
			in = dsts[1]
		}
		if err := plan.Write(ctx, dsts[0], in); err != nil {
			return fmt.Errorf("%s: %w", dstState, err)
		}
	}
	fmt.Fprintln(t.Stdout, strings.Join(plan.Summary(), "\n"))
	return nil
}

// readSource reads the later-format store(s) at loc: a state store, or the
// single-store layout holding state and intent.
func readSource(ctx context.Context, t *cli.Tool, cfg *config.Config, loc config.Location) (state, intent *migrate.Source, err error) {
	var files migrate.Files
	switch loc.Kind {
	case config.KindFS:
		if files, err = migrate.ReadFS(os.DirFS(loc.Path)); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", loc, err)
		}
	case config.KindGit:
		opts, err := t.GitOptions(ctx, cfg, loc)
		if err != nil {
			return nil, nil, err
		}
		opts.AnyFormat, opts.CreateBranch = true, false
		g, err := store.OpenGit(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		defer g.Close()
		files = migrate.Files{}
		if err := g.Files(func(p string, data []byte) error {
			files[p] = data
			return nil
		}); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", loc, err)
		}
	default:
		return nil, nil, errors.New("no store configured")
	}
	state, intent, err = migrate.Split(files)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", loc, err)
	}
	return state, intent, nil
}

// openDestinations checks that each destination is absent or empty and,
// unless dry, opens it: the state store, then the intent store when it is
// another one.
func openDestinations(ctx context.Context, t *cli.Tool, cfg *config.Config, state, intent config.Location, dry bool) ([]store.Store, error) {
	locs := []config.Location{state}
	if !intent.Same(state) {
		locs = append(locs, intent)
	}
	var out []store.Store
	fail := func(err error) ([]store.Store, error) {
		for _, s := range out {
			s.Close()
		}
		return nil, err
	}
	for _, loc := range locs {
		switch loc.Kind {
		case config.KindFS:
			entries, err := os.ReadDir(loc.Path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fail(fmt.Errorf("%s: %w", loc, err))
			}
			if len(entries) > 0 {
				return fail(fmt.Errorf("%s: the destination is not empty; migrate into an absent or empty folder", loc))
			}
			if dry {
				continue
			}
			s, err := store.OpenFS(loc.Path, store.FSOptions{Warn: t.Warn})
			if err != nil {
				return fail(fmt.Errorf("%s: %w", loc, err))
			}
			out = append(out, s)
		case config.KindGit:
			opts, err := t.GitOptions(ctx, cfg, loc)
			if err != nil {
				return fail(err)
			}
			opts.AnyFormat, opts.CreateBranch = true, true
			g, err := store.OpenGit(ctx, opts)
			if err != nil {
				return fail(err)
			}
			errHoldsStore := errors.New("the destination holds a store; migrate into a new branch or an empty one")
			err = g.Files(func(p string, _ []byte) error {
				if p == ".ocuroot-store" || strings.HasPrefix(p, "refs/") || strings.HasSuffix(p, "/.ocuroot-store") {
					return errHoldsStore
				}
				return nil
			})
			if err != nil { // a store, or a branch that could not be read: never written into
				g.Close()
				return fail(fmt.Errorf("%s: %w", loc, err))
			}
			if dry {
				g.Close()
				continue
			}
			out = append(out, g)
		}
	}
	return out, nil
}
