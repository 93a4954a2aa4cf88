//go:build unix

package store

import (
	"context"
	"maps"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

var _ Indexed = (*Git)(nil)

// MatchSkipping implements Indexed; a damaged cache is repaired first.
func (g *Git) MatchSkipping(ctx context.Context, globs []string, skip func(release string) bool) ([]string, error) {
	return readRepaired(ctx, g, func() ([]string, error) { return g.reader.MatchSkipping(ctx, globs, skip) })
}

// ChangePosition implements Indexed: the commit reads see (Tip), "" for a
// branch that does not exist yet.
func (g *Git) ChangePosition(ctx context.Context) (string, error) {
	return g.Tip(), ctx.Err()
}

// ChangedSince implements Indexed: it compares the tree of commit pos with
// the tree reads see, entering only the subtrees whose hashes differ, and
// lists the release folders under which an entry was added, removed or
// changed; entries outside release folders are ignored. ok is false when
// pos is not a commit the cache holds (or the cache cannot read its trees).
func (g *Git) ChangedSince(ctx context.Context, pos string) ([]string, string, bool, error) {
	g.tree.mu.RLock()
	root, tip := g.tree.root, g.tip
	g.tree.mu.RUnlock()
	now := ""
	if !tip.IsZero() {
		now = tip.String()
	}
	if len(pos) != 40 || !isHex(pos) {
		return nil, now, false, nil
	}
	old := plumbing.NewHash(pos)
	if old == tip {
		return nil, now, true, nil
	}
	if !g.repo.has(old) {
		return nil, now, false, nil
	}
	c, err := g.repo.commit(old)
	if err != nil {
		return nil, now, false, nil
	}
	before, err := g.refsTree(c.tree)
	if err != nil {
		return nil, now, false, nil
	}
	after, err := g.refsTree(root)
	if isDamage(err) {
		return nil, now, false, nil
	}
	if err != nil {
		return nil, now, false, err
	}
	found := map[string]bool{}
	if err := g.diffReleases(ctx, "", before, after, found); err != nil {
		if isDamage(err) {
			return nil, now, false, nil
		}
		return nil, now, false, err
	}
	return slices.Sorted(maps.Keys(found)), now, true, nil
}

// refsTree returns the tree refs/ of root; zero when there is none.
func (g *Git) refsTree(root plumbing.Hash) (plumbing.Hash, error) {
	e, ok, err := g.repo.lookup(root, refsDir)
	if err != nil || !ok || !e.isTree() {
		return plumbing.ZeroHash, err
	}
	return e.hash, nil
}

// diffReleases adds to found the release folders at or below dir (below
// refs/, "" for refs/ itself) in which trees a and b (zero: absent)
// differ. A release folder that differs is not entered.
func (g *Git) diffReleases(ctx context.Context, dir string, a, b plumbing.Hash, found map[string]bool) error {
	if a == b {
		return nil
	}
	if r := ReleaseFolder(dir); r != "" {
		found[r] = true
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	as, err := g.repo.tree(a)
	if err != nil {
		return err
	}
	bs, err := g.repo.tree(b)
	if err != nil {
		return err
	}
	subtrees := func(es []gitEntry) map[string]plumbing.Hash {
		m := make(map[string]plumbing.Hash, len(es))
		for _, e := range es {
			if e.isTree() {
				m[e.name] = e.hash
			}
		}
		return m
	}
	before, after := subtrees(as), subtrees(bs)
	for name, h := range before {
		if err := g.diffReleases(ctx, joinDir(dir, name), h, after[name], found); err != nil {
			return err
		}
	}
	for name, h := range after {
		if _, seen := before[name]; seen {
			continue
		}
		if err := g.diffReleases(ctx, joinDir(dir, name), plumbing.ZeroHash, h, found); err != nil {
			return err
		}
	}
	return nil
}

// joinDir appends a folder name to a path below refs/ ("" = refs/).
func joinDir(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// IndexInfo implements Indexed: the index lies in the cache folder and
// names the redacted URL and the branch; ChangedSince compares trees, so it
// sees every writer.
func (g *Git) IndexInfo() IndexInfo {
	return IndexInfo{
		Path:       filepath.Join(g.dir, "open-work"),
		Identity:   "git:" + g.opts.URL + "#" + g.branchName(),
		AllWriters: true,
	}
}
