//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ocu-team/ocu/lib/ref"
)

// A damaged cache is one that lost objects it held (a pack or a loose
// object deleted, a disk restored from an old backup): reading them gives
// *missingObjectError. The remote still has them, so when the cache holds
// no commit of its own (nothing under refs/ocu/) ocu fetches the store
// again into a new cache repository and goes on; otherwise it stops with
// an error that names the store and what to do, and leaves the cache as it
// is.

// missingObjectError is an object the cache should hold and does not.
type missingObjectError struct{ hash plumbing.Hash }

func (e *missingObjectError) Error() string {
	return fmt.Sprintf("git object %s: object not found", e.hash)
}

func (e *missingObjectError) Unwrap() error { return errNoGitObject }

// isDamage reports whether err comes from an object missing from the
// cache.
func isDamage(err error) bool { return errors.Is(err, errNoGitObject) }

// damage is what messages say of the damage err reports: the object
// missing, without the context it was wrapped in.
func damage(err error) string {
	if missing, ok := errors.AsType[*missingObjectError](err); ok {
		return missing.Error()
	}
	return err.Error()
}

// ownPrefix names the refs of commits only the cache holds: changes not
// pushed yet and changes set aside.
const ownPrefix = "refs/ocu/"

// repair deals with the damage cause reported: when another process
// fetched the store again meanwhile, nothing is left to do; when the cache
// holds commits of its own, the error names them; otherwise the cache
// repository is replaced by a new one and the branch fetched again. Reads
// stay at the commit they saw, which the new fetch brings back with the
// branch's history. The caller holds the cache lock exclusively (and g.mu
// once the store is open).
func (g *Git) repair(ctx context.Context, cause error) error {
	if err := g.repo.reopen(); err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	g.reader.forget()
	if missing, ok := errors.AsType[*missingObjectError](cause); ok && g.repo.has(missing.hash) {
		return nil
	}
	own, err := g.repo.refsWithPrefix(ownPrefix)
	if err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	if len(own) > 0 {
		return g.damagedError(cause, own)
	}
	if g.opts.Offline {
		return fmt.Errorf("git store %s (branch %s): the cache %s is damaged (%s) and cannot be fetched again offline",
			g.opts.URL, g.branchName(), g.repo.dir, damage(cause))
	}
	// The empty repository must not pass for a fresh fetch should the
	// fetch below fail: the next command fetches again.
	if err := g.writeMetaFetched(time.Time{}); err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	warn := func(msg string) { g.warn(fmt.Sprintf("git store %s: cache: %s", g.opts.URL, msg)) }
	if err := g.repo.recreate(warn); err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	if err := g.fetch(ctx); err != nil {
		return err
	}
	g.warn(fmt.Sprintf("git store %s (branch %s): the cache %s was damaged (%s); fetched the store again",
		g.opts.URL, g.branchName(), g.repo.dir, damage(cause)))
	return nil
}

// damagedError is the error of a damaged cache that holds commits of its
// own (own; nil: look them up): it names the store, the cache and those
// commits, and says how to start again.
func (g *Git) damagedError(cause error, own []*plumbing.Reference) error {
	if own == nil {
		own, _ = g.repo.refsWithPrefix(ownPrefix)
	}
	if len(own) == 0 {
		return fmt.Errorf("git store %s (branch %s): the cache %s is damaged (%s), even after fetching the store again",
			g.opts.URL, g.branchName(), g.repo.dir, damage(cause))
	}
	var kinds []string
	for _, r := range own {
		name := r.Name().String()
		kind := name[:len(ownPrefix)+strings.IndexByte(name[len(ownPrefix):], '/')+1]
		if !slices.Contains(kinds, kind) {
			kinds = append(kinds, kind)
		}
	}
	what := "1 commit"
	if len(own) > 1 {
		what = fmt.Sprintf("%d commits", len(own))
	}
	return fmt.Errorf("git store %s (branch %s): the cache %s is damaged (%s) and holds %s not on the remote (%s…): "+
		"save what you need of them with git, then delete %s; the next command fetches the store again",
		g.opts.URL, g.branchName(), g.repo.dir, damage(cause), what, strings.Join(kinds, "…, "), g.dir)
}

// repairLocked is repair for an open store: it takes g.mu and the cache
// lock (lockExclusive).
func (g *Git) repairLocked(ctx context.Context, cause error) error {
	unlock, err := g.lockExclusive()
	if err != nil {
		return err
	}
	defer unlock()
	return g.repair(ctx, cause)
}

// readRepaired runs read; when it finds the cache damaged, it repairs the
// cache and runs read again.
func readRepaired[T any](ctx context.Context, g *Git, read func() (T, error)) (T, error) {
	v, err := read()
	if !isDamage(err) {
		return v, err
	}
	if rerr := g.repairLocked(ctx, err); rerr != nil {
		var zero T
		return zero, rerr
	}
	v, err = read()
	if isDamage(err) {
		err = g.damagedError(err, nil)
	}
	return v, err
}

// Get implements Store; a damaged cache is repaired first (see repair).
func (g *Git) Get(ctx context.Context, r ref.Ref) (Doc, error) {
	return readRepaired(ctx, g, func() (Doc, error) { return g.reader.Get(ctx, r) })
}

// Match implements Store; a damaged cache is repaired first.
func (g *Git) Match(ctx context.Context, globs []string, noLinks bool) ([]string, error) {
	return readRepaired(ctx, g, func() ([]string, error) { return g.reader.Match(ctx, globs, noLinks) })
}

// Children implements Store; a damaged cache is repaired first.
func (g *Git) Children(ctx context.Context, r ref.Ref) ([]string, error) {
	return readRepaired(ctx, g, func() ([]string, error) { return g.reader.Children(ctx, r) })
}

// reopen drops what r knows of its files (mapped packs, parsed trees,
// go-git's storage), so that it reads the repository folder afresh.
func (r *gitRepo) reopen() error {
	r.objects.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.st.Close()
	r.st, r.dot = newStorage(r.dir)
	clear(r.trees)
	return err
}

// recreate replaces the repository with an empty one: the old folder is
// renamed aside, then removed; failing to remove it is only told to warn.
// The caller holds the cache lock.
func (r *gitRepo) recreate(warn func(string)) error {
	aside := fmt.Sprintf("%s.damaged-%d", r.dir, time.Now().UnixNano())
	if err := os.Rename(r.dir, aside); err != nil {
		return err
	}
	if err := initBare(r.dir); err != nil {
		return err
	}
	if err := r.reopen(); err != nil {
		return err
	}
	if err := os.RemoveAll(aside); err != nil {
		warn(fmt.Sprintf("cannot remove the damaged cache %s: %v", aside, err))
	}
	return nil
}
