//go:build unix

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/ocu-team/ocu/lib/ref"
)

// keptChange is a commit of the cache not yet on the remote, kept as
// refs/ocu/unpushed/<nanos> until it is.
type keptChange struct {
	name   plumbing.ReferenceName
	commit plumbing.Hash
	tx     *Tx // the transaction when this process made it; nil: replay from the commit
}

// Commit implements Store (docs/store-format.md §11.3–§11.5): under the cache lock it
// evaluates tx against the branch tip, writes one commit (after a root
// commit when the branch does not exist yet), keeps it as an unpushed
// change and pushes it, replaying tx on the new tip when another writer
// pushed first. Changes kept by earlier commands are pushed before it.
func (g *Git) Commit(ctx context.Context, tx *Tx) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx.Empty() && (!tx.SupportFiles || len(g.opts.SupportFiles) == 0 || g.opts.Offline) {
		return nil // nothing to write, or only support files, which can wait
	}
	if g.opts.Offline {
		return errorf(EGitOffline, "git store %s (branch %s): offline: cannot write (unset --offline / OCU_OFFLINE)", g.opts.URL, g.branch)
	}
	unlock, err := g.lockExclusive()
	if err != nil {
		return err
	}
	defer unlock()
	defer g.reader.forget()

	start := time.Now()
	tip, _, err := g.repo.ref(g.tracking())
	if err != nil {
		return err
	}
	c, changed, err := g.build(tip, tx, nil)
	if isDamage(err) {
		if err := g.repair(ctx, err); err != nil {
			return err
		}
		if tip, _, err = g.repo.ref(g.tracking()); err != nil {
			return err
		}
		c, changed, err = g.build(tip, tx, nil)
		if isDamage(err) {
			err = g.damagedError(err, nil)
		}
	}
	if err != nil || !changed {
		return err
	}
	k, err := g.keep(c, tx)
	if err != nil {
		return err
	}
	g.trace("commit", start)

	start = time.Now()
	defer g.trace("push", start)
	kept, err := g.keptChanges()
	if err != nil {
		return err
	}
	for i := range kept {
		if kept[i].name == k.name {
			kept[i].tx = tx
		}
	}
	return g.pushAll(ctx, kept)
}

// build evaluates tx against commit tip (zero: no branch yet) and writes
// the objects of its commit, after a root commit creating the branch when
// tip is zero. from, when set, is a kept commit the operations are
// replayed from: its message is reused. changed is false when tx changes
// nothing.
func (g *Git) build(tip plumbing.Hash, tx *Tx, from *commitInfo) (plumbing.Hash, bool, error) {
	root := plumbing.ZeroHash
	if !tip.IsZero() {
		c, err := g.repo.commit(tip)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		root = c.tree
		if err := g.checkVersion(root); err != nil {
			return plumbing.ZeroHash, false, err
		}
	}
	changes, err := tx.evaluate(&gitTree{repo: g.repo, root: root})
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	support, err := g.supportChanges(root, tx)
	if err != nil || len(changes)+len(support) == 0 {
		return plumbing.ZeroHash, false, err
	}
	if tip.IsZero() && !g.opts.CreateBranch {
		return plumbing.ZeroHash, false, g.noBranch()
	}
	b := newObjectBatch()
	sig := signature{name: g.opts.AuthorName, email: g.opts.AuthorEmail, when: g.now()}
	parent := tip
	if tip.IsZero() {
		if parent, root, err = g.createCommit(b, sig); err != nil {
			return plumbing.ZeroHash, false, err
		}
		if err := g.repo.store(b); err != nil { // read back below
			return plumbing.ZeroHash, false, err
		}
	}
	edit := newTreeEdit()
	lines := opLines(tx)
	if _, err := g.repo.fileAt(root, versionFile); errors.Is(err, errNoObject) {
		edit.set(versionFile, []byte(versionV1))
		lines = append(lines, "version 1")
	}
	for _, c := range changes {
		edit.set(objectPath(c.ref), c.data)
	}
	for _, p := range support {
		edit.set(p, []byte(g.opts.SupportFiles[p]))
		lines = append(lines, "support "+p)
	}
	newRoot, err := g.repo.applyEdits(b, root, edit)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	msg := commitMessage(tx.Name, lines)
	if from != nil {
		msg = from.message
	}
	if g.opts.Mask != nil {
		msg = g.opts.Mask(msg)
	}
	c := b.add(plumbing.CommitObject, encodeCommit(newRoot, []plumbing.Hash{parent}, sig, msg))
	if err := g.repo.store(b); err != nil {
		return plumbing.ZeroHash, false, err
	}
	return c, true, nil
}

// supportChanges lists the support files a transaction asking for them
// (Tx.SupportFiles) writes: those whose content at the tip tree root
// differs, sorted. A new branch gets them in its root commit.
func (g *Git) supportChanges(root plumbing.Hash, tx *Tx) ([]string, error) {
	if !tx.SupportFiles || root.IsZero() {
		return nil, nil
	}
	var out []string
	for p, content := range g.opts.SupportFiles {
		data, err := g.repo.fileAt(root, p)
		if err != nil && !errors.Is(err, errNoObject) {
			return nil, err
		}
		if err != nil || string(data) != content {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// createCommit adds to b the root commit of a new branch: .ocuroot-store
// and the support files. It returns the commit and its tree.
func (g *Git) createCommit(b *objectBatch, sig signature) (plumbing.Hash, plumbing.Hash, error) {
	edit := newTreeEdit()
	edit.set(versionFile, []byte(versionV1))
	lines := []string{"version 1"}
	paths := make([]string, 0, len(g.opts.SupportFiles))
	for p := range g.opts.SupportFiles {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		edit.set(p, []byte(g.opts.SupportFiles[p]))
		lines = append(lines, "support "+p)
	}
	tree, err := g.repo.applyEdits(b, plumbing.ZeroHash, edit)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	msg := createSubject + "\n\n" + strings.Join(lines, "\n") + "\n"
	return b.add(plumbing.CommitObject, encodeCommit(tree, nil, sig, msg)), tree, nil
}

// isCreateCommit reports whether c is a root commit made by createCommit.
func isCreateCommit(c *commitInfo) bool {
	return len(c.parents) == 0 && strings.HasPrefix(c.message, createSubject+"\n")
}

// keep records commit c as an unpushed change. The caller holds the cache
// lock.
func (g *Git) keep(c plumbing.Hash, tx *Tx) (keptChange, error) {
	name := plumbing.ReferenceName(unpushedPrefix + fmt.Sprintf("%020d", time.Now().UnixNano()))
	if err := g.repo.setRef(name, c); err != nil {
		return keptChange{}, fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	return keptChange{name: name, commit: c, tx: tx}, nil
}

// keptChanges lists the unpushed changes of the cache, oldest first.
func (g *Git) keptChanges() ([]keptChange, error) {
	refs, err := g.repo.refsWithPrefix(unpushedPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]keptChange, 0, len(refs))
	for _, r := range refs {
		out = append(out, keptChange{name: r.Name(), commit: r.Hash()})
	}
	return out, nil
}

// pushKept pushes the changes earlier commands kept. The caller holds the
// cache lock exclusively.
func (g *Git) pushKept(ctx context.Context) error {
	kept, err := g.keptChanges()
	if err != nil || len(kept) == 0 {
		return err
	}
	defer g.reader.forget()
	return g.pushAll(ctx, kept)
}

// pushAll pushes kept changes in order; it stops at the first failure,
// which says what stays kept.
func (g *Git) pushAll(ctx context.Context, kept []keptChange) error {
	for i, k := range kept {
		if err := g.pushOne(ctx, k); err != nil {
			if isDamage(err) {
				return g.damagedError(err, nil)
			}
			var e *Error
			if errors.As(err, &e) && (e.Code == EGitPush || e.Code == EGitRemote || e.Code == EGitAuth) {
				left := len(kept) - i
				c := k.commit
				if h, ok, _ := g.repo.ref(k.name); ok {
					c = h // replayed meanwhile
				}
				what := fmt.Sprintf("the change is kept in %s as %s (commit %s)", filepath.Join(g.dir, "repo"), k.name, shortHash(c))
				if left > 1 {
					what = fmt.Sprintf("%d changes are kept in %s as %s… (oldest first)", left, filepath.Join(g.dir, "repo"), unpushedPrefix)
				}
				e.Msg += "; " + what + " and pushed by the next write"
			}
			return err
		}
	}
	g.collectGarbage()
	return nil
}

func shortHash(h plumbing.Hash) string { return h.String()[:12] }

// pushOne pushes one kept change (docs/store-format.md §11.4): replayed on the tip when
// it is not on top of it, pushed without force; on a stale tip it fetches,
// replays and tries again, with backoff, up to PushAttempts times.
func (g *Git) pushOne(ctx context.Context, k keptChange) error {
	kc, err := g.repo.commit(k.commit)
	if err != nil {
		return fmt.Errorf("git store %s: kept change %s: %w", g.opts.URL, k.name, err)
	}
	var last error
	for attempt := 1; ; attempt++ {
		tip, _, err := g.repo.ref(g.tracking())
		if err != nil {
			return err
		}
		if landed, err := g.landed(kc, tip); err != nil {
			return err
		} else if landed {
			return g.pushed(k.name, tip)
		}
		base, err := g.baseOf(kc, tip)
		if err != nil {
			return err
		}
		if base != tip {
			nc, ok, err := g.replay(k, kc, tip)
			if err != nil {
				return err
			}
			if !ok {
				return g.pushed(k.name, tip) // nothing left to change on the new tip
			}
			if kc, err = g.repo.commit(nc); err != nil {
				return err
			}
		}
		err = g.remote.push(ctx, g.branch, tip, kc.hash, func() ([]byte, error) {
			hs, err := g.newObjects(kc.hash, tip)
			if err != nil {
				return nil, err
			}
			return g.repo.pack(hs)
		})
		if err == nil {
			if err := g.repo.setRef(g.tracking(), kc.hash); err != nil {
				return err
			}
			return g.pushed(k.name, kc.hash)
		}
		last = err
		var stale *errStale
		var refused *errRefused
		var timeout *errTimeout
		switch {
		case isAuthError(err), errors.Is(err, transport.ErrRepositoryNotFound):
			return g.remoteError("cannot push", err)
		case errors.As(err, &refused), errors.As(err, &timeout), ctx.Err() != nil:
			return g.pushError(attempt, err)
		}
		if attempt >= g.opts.PushAttempts {
			return g.pushError(attempt, last)
		}
		if err := sleepBackoff(ctx, attempt); err != nil {
			return g.pushError(attempt, err)
		}
		// Fetch after the pause, so the replay starts from the newest tip.
		if errors.As(err, &stale) {
			if ferr := g.fetch(ctx); ferr != nil {
				return ferr
			}
		}
	}
}

// pushed records that kept change name is on the remote at commit tip.
func (g *Git) pushed(name plumbing.ReferenceName, tip plumbing.Hash) error {
	if err := g.repo.removeRef(name); err != nil {
		return err
	}
	return g.moveTo(tip)
}

// pushError is E_GIT_PUSH after attempts.
func (g *Git) pushError(attempts int, why error) error {
	reason := redactErr(why, g.opts.Remote, g.opts.URL)
	n := "attempts"
	if attempts == 1 {
		n = "attempt"
	}
	return &Error{Code: EGitPush, Err: why,
		Msg: fmt.Sprintf("git store %s (branch %s): push failed after %d %s: %s", g.opts.URL, g.branch, attempts, n, reason)}
}

// sleepBackoff waits before retry k: 200 ms × 2^(k−1), at most 5 s, ±50 %.
func sleepBackoff(ctx context.Context, k int) error {
	d := 200 * time.Millisecond << min(k-1, 5)
	d = min(d, 5*time.Second)
	d = time.Duration(float64(d) * (0.5 + rand.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// baseOf returns the tip kept commit kc was built on: its parent, or zero
// when it follows the root commit that creates the branch.
func (g *Git) baseOf(kc *commitInfo, tip plumbing.Hash) (plumbing.Hash, error) {
	if len(kc.parents) != 1 {
		return plumbing.ZeroHash, fmt.Errorf("git store %s: kept commit %s has %d parents", g.opts.URL, shortHash(kc.hash), len(kc.parents))
	}
	p := kc.parents[0]
	if p == tip {
		return tip, nil
	}
	pc, err := g.repo.commit(p)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if isCreateCommit(pc) {
		return plumbing.ZeroHash, nil
	}
	return p, nil
}

// maxLandedWalk bounds the commits looked at to tell whether a kept change
// already reached the remote.
const maxLandedWalk = 100_000

// landed reports whether kept commit kc is already in the history of tip:
// pushed by a command that was killed before it could record it. The walk
// stops at kc's parent, which every later tip descends from.
func (g *Git) landed(kc *commitInfo, tip plumbing.Hash) (bool, error) {
	if tip.IsZero() {
		return false, nil
	}
	stop := map[plumbing.Hash]bool{}
	for _, p := range kc.parents {
		stop[p] = true
	}
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{tip}
	for len(queue) > 0 && len(seen) < maxLandedWalk {
		h := queue[0]
		queue = queue[1:]
		if h == kc.hash {
			return true, nil
		}
		if seen[h] || stop[h] {
			continue
		}
		seen[h] = true
		c, err := g.repo.commit(h)
		if err != nil {
			return false, err
		}
		queue = append(queue, c.parents...)
	}
	return false, nil
}

// replay rebuilds a kept change on tip: the same operations, evaluated
// against tip. It moves the kept ref to the new commit. A transaction of
// this process that no longer applies fails the write; a change kept by an
// earlier command that no longer applies is set aside as
// refs/ocu/conflicted/… with a warning, never deleted.
func (g *Git) replay(k keptChange, kc *commitInfo, tip plumbing.Hash) (plumbing.Hash, bool, error) {
	tx := k.tx
	if tx == nil {
		var err error
		if tx, err = g.txFromCommit(kc); err != nil {
			return g.setAside(k, err)
		}
	}
	c, ok, err := g.build(tip, tx, kc)
	switch {
	case err != nil && k.tx != nil:
		g.repo.removeRef(k.name) // the caller is told the write failed
		return plumbing.ZeroHash, false, err
	case err != nil && CodeOf(err) != "":
		return g.setAside(k, err)
	case err != nil:
		return plumbing.ZeroHash, false, err
	}
	if !ok {
		return plumbing.ZeroHash, false, nil
	}
	if err := g.repo.setRef(k.name, c); err != nil {
		return plumbing.ZeroHash, false, err
	}
	return c, true, nil
}

func (g *Git) setAside(k keptChange, why error) (plumbing.Hash, bool, error) {
	name := plumbing.ReferenceName(conflictedPrefix + strings.TrimPrefix(k.name.String(), unpushedPrefix))
	if err := g.repo.setRef(name, k.commit); err != nil {
		return plumbing.ZeroHash, false, err
	}
	if err := g.repo.removeRef(k.name); err != nil {
		return plumbing.ZeroHash, false, err
	}
	g.warn(fmt.Sprintf("git store %s: a change kept since an earlier command no longer applies (%v); it is set aside as %s (commit %s) in %s",
		g.opts.URL, why, name, shortHash(k.commit), filepath.Join(g.dir, "repo")))
	return plumbing.ZeroHash, false, nil
}

// txFromCommit rebuilds the transaction of a kept commit from its message
// (one line per operation), its tree (the documents' bodies) and its
// parent's tree (what an expectation expected: the content the transaction
// was last evaluated against).
func (g *Git) txFromCommit(kc *commitInfo) (*Tx, error) {
	subject, body, _ := strings.Cut(kc.message, "\n")
	tx := NewTx(strings.TrimPrefix(subject, "ocu: "))
	parentTree := plumbing.ZeroHash
	if len(kc.parents) > 0 {
		pc, err := g.repo.commit(kc.parents[0])
		if err != nil {
			return nil, err
		}
		parentTree = pc.tree
	}
	for line := range strings.SplitSeq(body, "\n") {
		verb, arg, _ := strings.Cut(line, " ")
		switch verb {
		case "", "version":
			continue
		case "support":
			tx.SupportFiles = true
		case "set":
			r, err := ref.Parse(arg)
			if err != nil {
				return nil, err
			}
			data, err := g.repo.fileAt(kc.tree, objectPath(r.String()))
			if errors.Is(err, errNoObject) {
				continue // removed again later in the same transaction
			}
			if err != nil {
				return nil, err
			}
			o, err := decodeObject(objectPath(r.String()), data)
			if err != nil {
				return nil, err
			}
			if o.isLink() {
				continue // replaced by a link later in the same transaction
			}
			tx.Put(r, json.RawMessage(o.body))
		case "delete":
			r, err := ref.Parse(arg)
			if err != nil {
				return nil, err
			}
			tx.Delete(r, true)
		case "link":
			from, to, ok := strings.Cut(arg, " -> ")
			if !ok {
				return nil, fmt.Errorf("bad operation line %q", line)
			}
			l, err := ref.Parse(from)
			if err != nil {
				return nil, err
			}
			t, err := ref.Parse(to)
			if err != nil {
				return nil, err
			}
			tx.Link(l, t)
		case "unlink":
			r, err := ref.Parse(arg)
			if err != nil {
				return nil, err
			}
			tx.Unlink(r)
		case "expect":
			r, err := ref.Parse(arg)
			if err != nil {
				return nil, err
			}
			data, err := g.repo.fileAt(parentTree, objectPath(r.String()))
			switch {
			case errors.Is(err, errNoObject):
				tx.Expect(r, nil)
			case err != nil:
				return nil, err
			default:
				o, err := decodeObject(objectPath(r.String()), data)
				if err != nil {
					return nil, err
				}
				tx.Expect(r, json.RawMessage(o.body))
			}
		default:
			return nil, fmt.Errorf("unknown operation line %q", line)
		}
	}
	return tx, nil
}

// newObjects lists the objects commit c and its ancestors down to base
// add: the commits, and the trees and blobs of each commit's tree that
// differ from its parent's, found by descending only where hashes differ.
func (g *Git) newObjects(c, base plumbing.Hash) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	addObj := func(h plumbing.Hash) bool {
		if seen[h] {
			return false
		}
		seen[h] = true
		out = append(out, h)
		return true
	}
	var diff func(nt, ot plumbing.Hash) error
	diff = func(nt, ot plumbing.Hash) error {
		if nt == ot || !addObj(nt) {
			return nil
		}
		ne, err := g.repo.tree(nt)
		if err != nil {
			return err
		}
		oe, err := g.repo.tree(ot)
		if err != nil {
			return err
		}
		old := make(map[string]gitEntry, len(oe))
		for _, e := range oe {
			old[e.name] = e
		}
		for _, e := range ne {
			o, had := old[e.name]
			if had && o.hash == e.hash {
				continue
			}
			switch {
			case e.isTree():
				ob := plumbing.ZeroHash
				if had && o.isTree() {
					ob = o.hash
				}
				if err := diff(e.hash, ob); err != nil {
					return err
				}
			case e.mode == modeGitlink:
			default:
				addObj(e.hash)
			}
		}
		return nil
	}
	for h := c; !h.IsZero() && h != base; {
		ci, err := g.repo.commit(h)
		if err != nil {
			return nil, err
		}
		addObj(h)
		parentTree, next := plumbing.ZeroHash, plumbing.ZeroHash
		if len(ci.parents) > 0 {
			next = ci.parents[0]
			pc, err := g.repo.commit(next)
			if err != nil {
				return nil, err
			}
			parentTree = pc.tree
		}
		if err := diff(ci.tree, parentTree); err != nil {
			return nil, err
		}
		h = next
	}
	return out, nil
}

// Limits above which `git gc --auto` is run, git's own: loose objects in
// objects/17 (gc.auto 6700 / 256) and packs (gc.autoPackLimit).
const (
	looseLimit = 27
	packLimit  = 50
)

// collectGarbage runs `git gc --auto` on the cache when loose objects or
// packs pile up, if the git binary exists. The caller holds the cache lock
// exclusively; a failure is only a warning (the cache stays usable).
func (g *Git) collectGarbage() {
	repo := filepath.Join(g.dir, "repo")
	ents, err := os.ReadDir(filepath.Join(repo, "objects", "17"))
	packs, _ := filepath.Glob(filepath.Join(repo, "objects", "pack", "*.pack"))
	if (err != nil || len(ents) <= looseLimit) && len(packs) <= packLimit {
		return
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return
	}
	cmd := exec.Command(gitBin, "-c", "gc.autoDetach=false", "gc", "--auto", "--quiet")
	cmd.Dir = repo
	if err := cmd.Run(); err != nil {
		g.warn("git gc --auto in " + repo + ": " + err.Error())
	}
}
