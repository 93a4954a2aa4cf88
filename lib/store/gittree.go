//go:build unix

package store

import (
	"context"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// gitTree reads the files of one commit's tree: the tree a git store's
// reads see. The root moves when the store commits; readers hold the read
// lock of mu (through the reader's rlock) for each operation, so one
// operation sees one root.
type gitTree struct {
	repo *gitRepo

	mu   sync.RWMutex
	root plumbing.Hash // root tree; zero = empty store
}

// rootTree returns the root tree; the caller holds mu.
func (t *gitTree) rootTree() plumbing.Hash { return t.root }

// readLock takes mu for reading around one read operation.
func (t *gitTree) readLock() (func(), error) {
	t.mu.RLock()
	return t.mu.RUnlock, nil
}

// readObject implements view.
func (t *gitTree) readObject(p string) ([]byte, error) {
	return t.repo.fileAt(t.rootTree(), objectPath(p))
}

// subdirs implements tree.
func (t *gitTree) subdirs(p string) ([]string, error) {
	dir := refsDir
	if p != "" {
		dir += "/" + p
	}
	e, ok, err := t.repo.lookup(t.rootTree(), dir)
	if err != nil || !ok || !e.isTree() {
		return nil, err
	}
	es, err := t.repo.tree(e.hash)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range es {
		if c.isTree() {
			names = append(names, c.name)
		}
	}
	return names, nil
}

// walk implements tree: every folder at or below refs/<prefix> holding a
// regular file @object.json, depth first, entering the folders f lets it.
func (t *gitTree) walk(ctx context.Context, prefix string, f walkFilter) ([]string, error) {
	dir := refsDir
	if prefix != "" {
		dir += "/" + prefix
	}
	e, ok, err := t.repo.lookup(t.rootTree(), dir)
	if err != nil || !ok || !e.isTree() {
		return nil, err
	}
	var out []string
	var visit func(path string, h plumbing.Hash) error
	visit = func(path string, h plumbing.Hash) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		es, err := t.repo.tree(h)
		if err != nil {
			return err
		}
		for _, c := range es {
			switch {
			case c.isTree():
				sub := c.name
				if path != "" {
					sub = path + "/" + c.name
				}
				if !f.enters(sub, len(c.name)) {
					continue
				}
				if err := visit(sub, c.hash); err != nil {
					return err
				}
			case c.name == objectFile && c.isFile() && path != "" && f.keep(path):
				out = append(out, path)
			}
		}
		return nil
	}
	return out, visit(prefix, e.hash)
}
