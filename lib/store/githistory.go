//go:build unix

package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/lib/ref"
)

// GitSnapshot is a git store as of one commit (docs/store-format.md §11.7): read-only.
type GitSnapshot struct {
	*reader
	g      *Git
	commit plumbing.Hash // zero: before the branch existed
	when   time.Time
}

// Commit implements Store: a snapshot is never written.
func (s *GitSnapshot) Commit(context.Context, *Tx) error {
	return errorf(EUnsupported, "git store %s is read as of commit %s: read-only", s.g.opts.URL, s.Revision())
}

// Close implements Store; the snapshot's store stays open.
func (s *GitSnapshot) Close() error { return nil }

// Time is the committer time of the snapshot's commit; zero before the
// branch existed.
func (s *GitSnapshot) Time() time.Time { return s.when }

// Revision is the commit the snapshot reads, as hex; "" before the branch
// existed.
func (s *GitSnapshot) Revision() string {
	if s.commit.IsZero() {
		return ""
	}
	return s.commit.String()
}

// History reports each commit of the snapshot's first-parent history that
// changed the object stored at exactly r (no link followed, no fallback),
// newest first.
func (s *GitSnapshot) History(ctx context.Context, r ref.Ref, fn func(Revision) error) error {
	return s.g.history(ctx, s.commit, r, fn)
}

// History reports each commit of the branch's first-parent history, from
// the tip reads see, that changed the object stored at exactly r (no link
// followed, no fallback), newest first.
//
// A damaged cache is repaired (see repair) when no revision was reported
// yet; later, the error names the store.
func (g *Git) History(ctx context.Context, r ref.Ref, fn func(Revision) error) error {
	g.tree.mu.RLock()
	tip := g.tip
	g.tree.mu.RUnlock()
	reported := false
	report := func(rev Revision) error {
		reported = true
		return fn(rev)
	}
	err := g.history(ctx, tip, r, report)
	if isDamage(err) && !reported {
		if err = g.repairLocked(ctx, err); err == nil {
			err = g.history(ctx, tip, r, report)
		}
	}
	if isDamage(err) {
		err = g.damagedError(err, nil)
	}
	return err
}

// Revision is one version of a document in a git store's history.
type Revision struct {
	Commit string    // the commit that made this version, hex
	Time   time.Time // its author time, in the author's zone
	Author string    // "Name <email>"
	// Value is the document; nil for a deletion (see Deleted) and for a
	// stored JSON null.
	Value   any
	Deleted bool
	Link    string // the target when a link was stored
}

func (g *Git) history(ctx context.Context, start plumbing.Hash, r ref.Ref, fn func(Revision) error) error {
	if err := checkReadable(r); err != nil {
		return err
	}
	if r.Fragment != "" {
		return &Error{Code: EFragment, Msg: "history reads whole documents; drop the #fragment"}
	}
	p := objectPath(r.Doc().String())
	if start.IsZero() {
		return nil
	}
	c, err := g.repo.commit(start)
	if err != nil {
		return err
	}
	cur, err := g.blobAt(c.tree, p)
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var parent *commitInfo
		prev := plumbing.ZeroHash
		if len(c.parents) > 0 {
			if parent, err = g.repo.commit(c.parents[0]); err != nil {
				return err
			}
			if prev, err = g.blobAt(parent.tree, p); err != nil {
				return err
			}
		}
		if cur != prev {
			rev, err := g.revision(c, p, cur)
			if err != nil {
				return err
			}
			if err := fn(rev); err != nil {
				return err
			}
		}
		if parent == nil {
			return nil
		}
		c, cur = parent, prev
	}
}

// blobAt is the hash of the regular file at path below root; zero when
// there is none.
func (g *Git) blobAt(root plumbing.Hash, path string) (plumbing.Hash, error) {
	e, ok, err := g.repo.lookup(root, path)
	if err != nil || !ok || !e.isFile() {
		return plumbing.ZeroHash, err
	}
	return e.hash, nil
}

func (g *Git) revision(c *commitInfo, path string, blob plumbing.Hash) (Revision, error) {
	rev := Revision{Commit: c.hash.String(), Time: commitTime(c.when, c.zone), Author: c.author, Deleted: blob.IsZero()}
	if blob.IsZero() {
		return rev, nil
	}
	data, err := g.repo.read(plumbing.BlobObject, blob)
	if err != nil {
		return rev, err
	}
	o, err := decodeObject(path, data)
	if err != nil {
		return rev, err
	}
	if o.isLink() {
		rev.Link, rev.Value = o.target, o.target
		return rev, nil
	}
	if rev.Value, err = DecodeValue(o.body); err != nil {
		return rev, corrupt(path, err)
	}
	return rev, nil
}

// commitTime is a commit's time in its own zone ("+0200").
func commitTime(unixSec int64, zone string) time.Time {
	t := time.Unix(unixSec, 0)
	if len(zone) == 5 && (zone[0] == '+' || zone[0] == '-') {
		h, err1 := strconv.Atoi(zone[1:3])
		m, err2 := strconv.Atoi(zone[3:5])
		if err1 == nil && err2 == nil {
			off := h*3600 + m*60
			if zone[0] == '-' {
				off = -off
			}
			return t.In(time.FixedZone("", off))
		}
	}
	return t.UTC()
}

// At returns the store as of when (docs/store-format.md §11.7): "~N" (N first-parent
// commits before the tip), an RFC 3339 time or a date YYYY-MM-DD (its start,
// UTC) — the last commit at or before it —, a tag of the remote, or a commit
// (its full hash, or a prefix of at least 4 hex digits of a commit in the
// branch's history). Before the branch's first commit the store is empty.
// An unknown tag or commit is E_NOT_FOUND.
func (g *Git) At(ctx context.Context, when string) (*GitSnapshot, error) {
	return readRepaired(ctx, g, func() (*GitSnapshot, error) { return g.at(ctx, when) })
}

func (g *Git) at(ctx context.Context, when string) (*GitSnapshot, error) {
	c, err := g.resolve(ctx, when)
	if err != nil {
		return nil, err
	}
	s := &GitSnapshot{g: g, commit: c}
	t := &gitTree{repo: g.repo}
	if !c.IsZero() {
		ci, err := g.repo.commit(c)
		if err != nil {
			return nil, err
		}
		if err := g.checkVersion(ci.tree); err != nil {
			return nil, err
		}
		t.root = ci.tree
		s.when = time.Unix(ci.ctime, 0).UTC()
	}
	s.reader = newReader(t, t.readLock)
	return s, nil
}

// resolve finds the commit when names.
func (g *Git) resolve(ctx context.Context, when string) (plumbing.Hash, error) {
	g.tree.mu.RLock()
	tip := g.tip
	g.tree.mu.RUnlock()
	notFound := func(format string, args ...any) error {
		return &Error{Code: ENotFound, Msg: fmt.Sprintf("--at %s: ", when) + fmt.Sprintf(format, args...)}
	}
	if n, ok := strings.CutPrefix(when, "~"); ok {
		steps, err := strconv.Atoi(n)
		if err != nil || steps < 0 {
			return plumbing.ZeroHash, notFound("~N needs a number of commits")
		}
		h := tip
		for i := 0; i < steps; i++ {
			if h.IsZero() {
				break
			}
			c, err := g.repo.commit(h)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			h = plumbing.ZeroHash
			if len(c.parents) > 0 {
				h = c.parents[0]
			}
		}
		return h, nil // zero: before the branch existed
	}
	if t, ok := parseWhen(when); ok {
		for h := tip; !h.IsZero(); {
			c, err := g.repo.commit(h)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if !time.Unix(c.ctime, 0).After(t) {
				return h, nil
			}
			h = plumbing.ZeroHash
			if len(c.parents) > 0 {
				h = c.parents[0]
			}
		}
		return plumbing.ZeroHash, nil // before the branch existed
	}
	var commitErr error
	if isHex(when) && len(when) >= 4 && len(when) <= 40 {
		h, err := g.findCommit(tip, when, notFound)
		if err == nil || CodeOf(err) != ENotFound {
			return h, err
		}
		commitErr = err
	}
	if h, ok, err := g.tag(ctx, when); err != nil || ok {
		return h, err
	}
	if commitErr != nil {
		return plumbing.ZeroHash, commitErr
	}
	return plumbing.ZeroHash, notFound("not a commit, tag, date or ~N of branch %s", g.branch)
}

// parseWhen parses an RFC 3339 time or a date (its start, UTC).
func parseWhen(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s + strings.Repeat("0", len(s)%2))
	return err == nil
}

// maxHistoryWalk bounds the commits searched for a hash prefix.
const maxHistoryWalk = 1_000_000

// findCommit finds the commit named by a full hash or a prefix of one in
// the history of tip.
func (g *Git) findCommit(tip plumbing.Hash, prefix string, notFound func(string, ...any) error) (plumbing.Hash, error) {
	prefix = strings.ToLower(prefix)
	if len(prefix) == 40 {
		h := plumbing.NewHash(prefix)
		if _, err := g.repo.commit(h); err == nil {
			return h, nil
		}
		return plumbing.ZeroHash, notFound("no such commit in %s", g.dir)
	}
	var found []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{}
	if !tip.IsZero() {
		queue = append(queue, tip)
	}
	for len(queue) > 0 && len(seen) < maxHistoryWalk {
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		if strings.HasPrefix(h.String(), prefix) {
			found = append(found, h)
		}
		c, err := g.repo.commit(h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		queue = append(queue, c.parents...)
	}
	switch len(found) {
	case 0:
		return plumbing.ZeroHash, notFound("no commit of branch %s starts with %s", g.branch, prefix)
	case 1:
		return found[0], nil
	}
	return plumbing.ZeroHash, notFound("ambiguous: %d commits of branch %s start with %s", len(found), g.branch, prefix)
}

// tag resolves tag name to the commit it names, fetching the tag when the
// cache does not hold it yet. ok is false when there is no such tag.
func (g *Git) tag(ctx context.Context, name string) (plumbing.Hash, bool, error) {
	if name == "" || strings.ContainsAny(name, " ~^:?*[\\") {
		return plumbing.ZeroHash, false, nil
	}
	refName := plumbing.NewTagReferenceName(name)
	g.mu.Lock()
	defer g.mu.Unlock()
	how := unix.LOCK_EX
	if g.opts.Offline {
		how = unix.LOCK_SH
	}
	unlock, err := g.lock(how)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	defer unlock()
	h, ok, err := g.repo.ref(refName)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	if !g.opts.Offline {
		var remoteTag plumbing.Hash
		_, err = g.remote.fetch(ctx, g.repo, func(adv advertised) []plumbing.Hash {
			remoteTag = adv.refs[refName.String()]
			if remoteTag.IsZero() {
				return nil
			}
			return []plumbing.Hash{remoteTag}
		}, []plumbing.Hash{g.tip})
		if err != nil {
			return plumbing.ZeroHash, false, g.remoteError("cannot fetch tags", err)
		}
		if !remoteTag.IsZero() {
			if err := g.repo.setRef(refName, remoteTag); err != nil {
				return plumbing.ZeroHash, false, err
			}
			h, ok = remoteTag, true
		}
	}
	if !ok {
		return plumbing.ZeroHash, false, nil
	}
	// Peel annotated tags.
	for range 10 {
		typ, data, err := g.repo.readAny(h)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if typ == plumbing.CommitObject {
			return h, true, nil
		}
		target, _, _ := strings.Cut(strings.TrimPrefix(string(data), "object "), "\n")
		if len(target) != 40 || !isHex(target) {
			return plumbing.ZeroHash, false, fmt.Errorf("tag %s names neither a commit nor a tag", name)
		}
		h = plumbing.NewHash(target)
	}
	return plumbing.ZeroHash, false, errors.New("tag " + name + ": too many levels of tags")
}
