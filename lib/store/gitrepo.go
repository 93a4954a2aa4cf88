//go:build unix

package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Modes of git tree entries.
const (
	modeTree    = 0o40000
	modeBlob    = 0o100644
	modeExec    = 0o100755
	modeSymlink = 0o120000
	modeGitlink = 0o160000
)

// gitEntry is one entry of a git tree.
type gitEntry struct {
	name string
	mode uint32
	hash plumbing.Hash
}

func (e gitEntry) isTree() bool { return e.mode == modeTree }
func (e gitEntry) isFile() bool { return e.mode == modeBlob || e.mode == modeExec }

// parseTree decodes the content of a tree object.
func parseTree(data []byte) ([]gitEntry, error) {
	var out []gitEntry
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 {
			return nil, errors.New("bad tree entry mode")
		}
		mode, err := strconv.ParseUint(string(data[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("bad tree entry mode %q", data[:sp])
		}
		data = data[sp+1:]
		nul := bytes.IndexByte(data, 0)
		if nul <= 0 || len(data) < nul+1+20 {
			return nil, errors.New("truncated tree entry")
		}
		e := gitEntry{name: string(data[:nul]), mode: uint32(mode)}
		copy(e.hash[:], data[nul+1:nul+21])
		out = append(out, e)
		data = data[nul+21:]
	}
	return out, nil
}

// treeKey is the name git sorts a tree entry by: folders sort as "name/".
func treeKey(e gitEntry) string {
	if e.isTree() {
		return e.name + "/"
	}
	return e.name
}

// encodeTree encodes entries as a tree object, sorted the git way.
func encodeTree(entries []gitEntry) []byte {
	slices.SortFunc(entries, func(a, b gitEntry) int { return strings.Compare(treeKey(a), treeKey(b)) })
	var buf bytes.Buffer
	for _, e := range entries {
		buf.WriteString(strconv.FormatUint(uint64(e.mode), 8))
		buf.WriteByte(' ')
		buf.WriteString(e.name)
		buf.WriteByte(0)
		buf.Write(e.hash[:])
	}
	return buf.Bytes()
}

// maxCachedTrees bounds the parsed-tree cache of a gitRepo.
const maxCachedTrees = 1 << 16

// gitRepo is the bare cache repository of a git store. Objects are read by
// an objectReader and written with go-git (loose objects, packs); refs are
// go-git's. go-git's storage is not safe for concurrent use, so every access
// to it goes through mu.
type gitRepo struct {
	dir     string // the bare repository
	objects *objectReader

	mu    sync.Mutex
	st    *filesystem.Storage
	dot   *dotgit.DotGit
	trees map[plumbing.Hash][]gitEntry
}

// openGitRepo opens the bare repository at dir, creating it when missing.
// The caller holds the cache's write lock when the repository may be missing.
func openGitRepo(dir string) (*gitRepo, error) {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); errors.Is(err, os.ErrNotExist) {
		if err := initBare(dir); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	st, dot := newStorage(dir)
	return &gitRepo{
		dir:     dir,
		objects: newObjectReader(filepath.Join(dir, "objects")),
		st:      st,
		dot:     dot,
		trees:   map[plumbing.Hash][]gitEntry{},
	}, nil
}

// newStorage opens go-git's storage of the repository at dir.
func newStorage(dir string) (*filesystem.Storage, *dotgit.DotGit) {
	fs := osfs.New(dir)
	return filesystem.NewStorage(fs, cache.NewObjectLRUDefault()), dotgit.New(fs)
}

// initBare writes a new bare repository into dir: no remote, no
// credentials; loose objects are left to `git gc --auto`.
func initBare(dir string) error {
	tmp := dir + ".tmp-init"
	os.RemoveAll(tmp)
	for _, d := range []string{"objects/pack", "objects/info", "refs/heads", "refs/tags"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"HEAD":        "ref: refs/heads/main\n",
		"config":      "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n[gc]\n\tautoDetach = false\n",
		"description": "ocu git store cache\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dir)
}

func (r *gitRepo) close() error {
	r.objects.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Close()
}

// read returns the content of object h, which must be of type typ.
func (r *gitRepo) read(typ plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	got, data, err := r.readAny(h)
	if err == nil && got != typ {
		err = fmt.Errorf("git object %s is a %s, not a %s", h, got, typ)
	}
	return data, err
}

// readAny returns the type and content of object h.
func (r *gitRepo) readAny(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	typ, data, err := r.objects.read(h)
	if errors.Is(err, errNoGitObject) {
		return 0, nil, &missingObjectError{hash: h}
	}
	if err != nil {
		return 0, nil, fmt.Errorf("git object %s: %w", h, err)
	}
	return typ, data, nil
}

// has reports whether object h is stored.
func (r *gitRepo) has(h plumbing.Hash) bool { return r.objects.has(h) }

// tree returns the entries of tree h; the zero hash is the empty tree.
func (r *gitRepo) tree(h plumbing.Hash) ([]gitEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if es, ok := r.trees[h]; ok {
		return es, nil
	}
	typ, data, err := r.readAny(h)
	if err == nil && typ != plumbing.TreeObject {
		err = fmt.Errorf("git object %s is a %s, not a tree", h, typ)
	}
	if err != nil {
		return nil, err
	}
	es, err := parseTree(data)
	if err != nil {
		return nil, fmt.Errorf("git tree %s: %w", h, err)
	}
	if len(r.trees) >= maxCachedTrees {
		clear(r.trees)
	}
	r.trees[h] = es
	return es, nil
}

// lookup finds the entry at the '/'-separated path below tree root.
func (r *gitRepo) lookup(root plumbing.Hash, path string) (gitEntry, bool, error) {
	e := gitEntry{mode: modeTree, hash: root}
	for seg := range strings.SplitSeq(path, "/") {
		if !e.isTree() || e.hash.IsZero() {
			return gitEntry{}, false, nil
		}
		es, err := r.tree(e.hash)
		if err != nil {
			return gitEntry{}, false, err
		}
		found := false
		for _, c := range es {
			if c.name == seg {
				e, found = c, true
				break
			}
		}
		if !found {
			return gitEntry{}, false, nil
		}
	}
	return e, true, nil
}

// fileAt returns the content of the regular file at path below root, or
// errNoObject.
func (r *gitRepo) fileAt(root plumbing.Hash, path string) ([]byte, error) {
	e, ok, err := r.lookup(root, path)
	switch {
	case err != nil:
		return nil, err
	case !ok || e.isTree() || e.mode == modeGitlink:
		return nil, errNoObject
	case e.mode == modeSymlink:
		return nil, errorf(EUnsafePath, "refusing symbolic link %s inside the store", path)
	}
	return r.read(plumbing.BlobObject, e.hash)
}

// commitInfo is the part of a commit object the store uses.
type commitInfo struct {
	hash    plumbing.Hash
	tree    plumbing.Hash
	parents []plumbing.Hash
	author  string // "Name <email>"
	when    int64  // author time, Unix seconds
	zone    string // author time zone, "+0200"
	ctime   int64  // committer time, Unix seconds
	message string
}

// commit reads and decodes commit h.
func (r *gitRepo) commit(h plumbing.Hash) (*commitInfo, error) {
	data, err := r.read(plumbing.CommitObject, h)
	if err != nil {
		return nil, err
	}
	c := &commitInfo{hash: h}
	head, msg, _ := bytes.Cut(data, []byte("\n\n"))
	c.message = string(msg)
	for line := range strings.SplitSeq(string(head), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "tree":
			c.tree = plumbing.NewHash(val)
		case "parent":
			c.parents = append(c.parents, plumbing.NewHash(val))
		case "author":
			c.author, c.when, c.zone = parseIdent(val)
		case "committer":
			_, c.ctime, _ = parseIdent(val)
		}
	}
	if c.tree.IsZero() {
		return nil, fmt.Errorf("git commit %s has no tree", h)
	}
	return c, nil
}

// parseIdent splits "Name <email> 1700000000 +0200".
func parseIdent(s string) (who string, when int64, zone string) {
	end := strings.LastIndexByte(s, '>')
	if end < 0 {
		return s, 0, ""
	}
	who = s[:end+1]
	f := strings.Fields(s[end+1:])
	if len(f) > 0 {
		when, _ = strconv.ParseInt(f[0], 10, 64)
	}
	if len(f) > 1 {
		zone = f[1]
	}
	return who, when, zone
}

// newObject is an object built in memory, not yet stored.
type newObject struct {
	typ  plumbing.ObjectType
	data []byte
}

// objectBatch collects the objects of a commit being built.
type objectBatch struct {
	objs  map[plumbing.Hash]newObject
	order []plumbing.Hash
}

func newObjectBatch() *objectBatch {
	return &objectBatch{objs: map[plumbing.Hash]newObject{}}
}

// add records an object and returns its hash.
func (b *objectBatch) add(typ plumbing.ObjectType, data []byte) plumbing.Hash {
	h := plumbing.ComputeHash(typ, data)
	if _, ok := b.objs[h]; !ok {
		b.objs[h] = newObject{typ, data}
		b.order = append(b.order, h)
	}
	return h
}

// packThreshold is the size from which a batch is stored as one pack
// instead of loose objects.
const packThreshold = 256

// store writes the batch's objects that are not stored yet: as loose
// objects, or as one pack when there are many.
func (r *gitRepo) store(b *objectBatch) error {
	var missing []plumbing.Hash
	for _, h := range b.order {
		if !r.objects.has(h) {
			missing = append(missing, h)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	if len(missing) < packThreshold {
		for _, h := range missing {
			o := b.objs[h]
			if _, err := r.st.SetEncodedObject(memoryObject(o.typ, o.data)); err != nil {
				return fmt.Errorf("write git object: %w", err)
			}
		}
		return nil
	}
	mem := memory.NewStorage()
	for _, h := range missing {
		o := b.objs[h]
		if _, err := mem.SetEncodedObject(memoryObject(o.typ, o.data)); err != nil {
			return err
		}
	}
	w, err := r.dot.NewObjectPack()
	if err != nil {
		return err
	}
	if _, err := packfile.NewEncoder(w, mem, false).Encode(missing, 0); err != nil {
		w.Close()
		return fmt.Errorf("write git pack: %w", err)
	}
	return w.Close()
}

func memoryObject(typ plumbing.ObjectType, data []byte) *plumbing.MemoryObject {
	o := &plumbing.MemoryObject{}
	o.SetType(typ)
	o.SetSize(int64(len(data)))
	o.Write(data)
	return o
}

// pack encodes the objects hs, read from the repository, as a packfile
// (no deltas: the objects of one commit are few and mostly new).
func (r *gitRepo) pack(hs []plumbing.Hash) ([]byte, error) {
	mem := memory.NewStorage()
	for _, h := range hs {
		typ, data, err := r.readAny(h)
		if err != nil {
			return nil, err
		}
		mem.SetEncodedObject(memoryObject(typ, data))
	}
	var buf bytes.Buffer
	if _, err := packfile.NewEncoder(&buf, mem, false).Encode(hs, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ref returns the hash ref name points at; ok is false when it is missing.
func (r *gitRepo) ref(name plumbing.ReferenceName) (plumbing.Hash, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.st.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	return ref.Hash(), true, nil
}

// setRef points name at h. The caller holds the cache's write lock.
func (r *gitRepo) setRef(name plumbing.ReferenceName, h plumbing.Hash) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.SetReference(plumbing.NewHashReference(name, h))
}

// removeRef deletes ref name. The caller holds the cache's write lock.
func (r *gitRepo) removeRef(name plumbing.ReferenceName) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.st.RemoveReference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil
	}
	return err
}

// refsWithPrefix lists the refs whose names start with prefix, sorted.
func (r *gitRepo) refsWithPrefix(prefix string) ([]*plumbing.Reference, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	iter, err := r.st.IterReferences()
	if err != nil {
		return nil, err
	}
	var out []*plumbing.Reference
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if strings.HasPrefix(ref.Name().String(), prefix) && ref.Type() == plumbing.HashReference {
			out = append(out, ref)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *plumbing.Reference) int { return strings.Compare(a.Name().String(), b.Name().String()) })
	return out, err
}

// updateFromPack stores a received packfile, with its index.
func (r *gitRepo) updateFromPack(rd io.Reader) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, err := r.dot.NewObjectPack()
	if err != nil {
		return err
	}
	n, err := io.Copy(w, rd)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n == 0 {
		return nil // nothing new
	}
	return err
}
