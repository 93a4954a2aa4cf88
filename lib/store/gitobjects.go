//go:build unix

package store

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"golang.org/x/sys/unix"
)

// errNoGitObject reports an object found neither loose nor in a pack.
var errNoGitObject = errors.New("object not found")

// objectReader reads the objects of a repository directly: loose objects,
// and packs through their memory-mapped .idx files (a binary search per
// lookup). go-git's storage decodes every index completely before the first
// read — about 15 ms for a 50,000-document store, most of a command's
// budget — so reads do not go through it.
type objectReader struct {
	dir string // <repo>/objects

	mu      sync.Mutex
	packs   []*packFile
	scanned bool
	cache   map[objectKey]cachedObject // resolved delta bases
	cached  int                        // bytes in cache
	src     bytes.Reader               // what zr inflates
	zr      io.ReadCloser              // reused: a zlib reader allocates 40 KB
}

// inflate decompresses size bytes of zlib data at the start of data (size
// < 0: all of it). The caller holds r.mu.
func (r *objectReader) inflate(data []byte, size int64) ([]byte, error) {
	r.src.Reset(data)
	if r.zr == nil {
		zr, err := zlib.NewReader(&r.src)
		if err != nil {
			return nil, err
		}
		r.zr = zr
	} else if err := r.zr.(zlib.Resetter).Reset(&r.src, nil); err != nil {
		return nil, err
	}
	if size < 0 {
		return io.ReadAll(r.zr)
	}
	out := make([]byte, size)
	_, err := io.ReadFull(r.zr, out)
	return out, err
}

type objectKey struct {
	pack *packFile
	off  int64
}

type cachedObject struct {
	typ  plumbing.ObjectType
	data []byte
}

// maxCachedBytes bounds the delta-base cache.
const maxCachedBytes = 32 << 20

func newObjectReader(objects string) *objectReader {
	return &objectReader{dir: objects, cache: map[objectKey]cachedObject{}}
}

// packFile is one pack and its index, both mapped.
type packFile struct {
	name  string
	idx   []byte
	pack  []byte
	count int
}

func (p *packFile) close() {
	unix.Munmap(p.idx)
	unix.Munmap(p.pack)
}

// close unmaps every pack.
func (r *objectReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.packs {
		p.close()
	}
	r.packs, r.scanned = nil, false
	clear(r.cache)
}

// rescan maps the packs not mapped yet; packs removed by `git gc` stay
// mapped (and readable) until close. The caller holds r.mu.
func (r *objectReader) rescan() error {
	names, err := filepath.Glob(filepath.Join(r.dir, "pack", "pack-*.idx"))
	if err != nil {
		return err
	}
	r.scanned = true
	for _, idx := range names {
		name := strings.TrimSuffix(idx, ".idx")
		if slices.ContainsFunc(r.packs, func(p *packFile) bool { return p.name == name }) {
			continue
		}
		p, err := openPack(name)
		if err != nil {
			continue // being written, or removed meanwhile: looked for again on a miss
		}
		r.packs = append(r.packs, p)
	}
	return nil
}

func mapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: path, Err: err}
	}
	return data, nil
}

// openPack maps <name>.idx (version 2) and <name>.pack. The pack is
// checked first: git and go-git move a pack into place after its index is
// complete.
func openPack(name string) (*packFile, error) {
	if _, err := os.Stat(name + ".pack"); err != nil {
		return nil, err
	}
	idx, err := mapFile(name + ".idx")
	if err != nil {
		return nil, err
	}
	if len(idx) < 8+256*4+40 || !bytes.Equal(idx[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
		unix.Munmap(idx)
		return nil, fmt.Errorf("%s.idx: not a version 2 pack index", name)
	}
	pack, err := mapFile(name + ".pack")
	if err != nil {
		unix.Munmap(idx)
		return nil, err
	}
	count := int(binary.BigEndian.Uint32(idx[8+255*4:]))
	if len(idx) < 8+256*4+count*(20+4+4)+40 {
		unix.Munmap(idx)
		unix.Munmap(pack)
		return nil, fmt.Errorf("%s.idx: truncated", name)
	}
	return &packFile{name: name, idx: idx, pack: pack, count: count}, nil
}

// find returns the offset of object h in the pack.
func (p *packFile) find(h plumbing.Hash) (int64, bool) {
	fanout := p.idx[8:]
	lo := 0
	if h[0] > 0 {
		lo = int(binary.BigEndian.Uint32(fanout[(int(h[0])-1)*4:]))
	}
	hi := int(binary.BigEndian.Uint32(fanout[int(h[0])*4:]))
	names := p.idx[8+256*4:]
	for lo < hi {
		mid := (lo + hi) / 2
		switch c := bytes.Compare(names[mid*20:mid*20+20], h[:]); {
		case c == 0:
			return p.offset(mid), true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, false
}

// offset is the pack offset of the i-th object of the index.
func (p *packFile) offset(i int) int64 {
	offsets := p.idx[8+256*4+p.count*24:]
	o := binary.BigEndian.Uint32(offsets[i*4:])
	if o&0x80000000 == 0 {
		return int64(o)
	}
	large := offsets[p.count*4:]
	return int64(binary.BigEndian.Uint64(large[int(o&0x7fffffff)*8:]))
}

// has reports whether h is stored, without looking for new packs.
func (r *objectReader) has(h plumbing.Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.scanned {
		r.rescan()
	}
	for _, p := range r.packs {
		if _, ok := p.find(h); ok {
			return true
		}
	}
	_, err := os.Stat(r.loosePath(h))
	return err == nil
}

func (r *objectReader) loosePath(h plumbing.Hash) string {
	s := h.String()
	return filepath.Join(r.dir, s[:2], s[2:])
}

// read returns the type and content of object h: from a pack, else loose,
// else from a pack that appeared since the last scan.
func (r *objectReader) read(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.scanned {
		if err := r.rescan(); err != nil {
			return 0, nil, err
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		for _, p := range r.packs {
			if off, ok := p.find(h); ok {
				return r.packed(p, off, 0)
			}
		}
		typ, data, err := r.loose(h)
		if !errors.Is(err, os.ErrNotExist) {
			return typ, data, err
		}
		if err := r.rescan(); err != nil {
			return 0, nil, err
		}
	}
	return 0, nil, errNoGitObject
}

// loose reads a loose object.
func (r *objectReader) loose(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	raw, err := os.ReadFile(r.loosePath(h))
	if err != nil {
		return 0, nil, err
	}
	data, err := r.inflate(raw, -1)
	if err != nil {
		return 0, nil, fmt.Errorf("loose object %s: %w", h, err)
	}
	head, body, ok := bytes.Cut(data, []byte{0})
	kind, size, ok2 := strings.Cut(string(head), " ")
	n, err := strconv.Atoi(size)
	if !ok || !ok2 || err != nil || n != len(body) {
		return 0, nil, fmt.Errorf("loose object %s: bad header", h)
	}
	typ, err := plumbing.ParseObjectType(kind)
	if err != nil {
		return 0, nil, fmt.Errorf("loose object %s: %w", h, err)
	}
	return typ, body, nil
}

// maxDeltaDepth bounds delta chains (git's own limit is far lower).
const maxDeltaDepth = 10_000

// packed reads the object at off of pack p, resolving deltas. The caller
// holds r.mu.
func (r *objectReader) packed(p *packFile, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	key := objectKey{p, off}
	if c, ok := r.cache[key]; ok {
		return c.typ, c.data, nil
	}
	if depth > maxDeltaDepth {
		return 0, nil, fmt.Errorf("%s.pack: delta chain too long", p.name)
	}
	bad := func(why string) error { return fmt.Errorf("%s.pack at %d: %s", p.name, off, why) }
	pos := off
	if pos >= int64(len(p.pack)) {
		return 0, nil, bad("offset out of range")
	}
	c := p.pack[pos]
	pos++
	typ := plumbing.ObjectType((c >> 4) & 7)
	size := int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if pos >= int64(len(p.pack)) || shift > 56 {
			return 0, nil, bad("bad object header")
		}
		c = p.pack[pos]
		pos++
		size |= int64(c&0x7f) << shift
	}
	var baseTyp plumbing.ObjectType
	var base []byte
	switch typ {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	case plumbing.OFSDeltaObject:
		if pos >= int64(len(p.pack)) {
			return 0, nil, bad("bad delta offset")
		}
		c = p.pack[pos]
		pos++
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if pos >= int64(len(p.pack)) || rel > 1<<55 {
				return 0, nil, bad("bad delta offset")
			}
			c = p.pack[pos]
			pos++
			rel = ((rel + 1) << 7) | int64(c&0x7f)
		}
		if rel <= 0 || rel > off {
			return 0, nil, bad("delta base out of range")
		}
		var err error
		if baseTyp, base, err = r.packed(p, off-rel, depth+1); err != nil {
			return 0, nil, err
		}
	case plumbing.REFDeltaObject:
		if pos+20 > int64(len(p.pack)) {
			return 0, nil, bad("bad delta base")
		}
		var bh plumbing.Hash
		copy(bh[:], p.pack[pos:pos+20])
		pos += 20
		var err error
		if baseTyp, base, err = r.anywhere(bh, depth+1); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, bad(fmt.Sprintf("unknown object type %d", typ))
	}
	data, err := r.inflate(p.pack[pos:], size)
	if err != nil {
		return 0, nil, bad(err.Error())
	}
	if base != nil {
		if data, err = packfile.PatchDelta(base, data); err != nil {
			return 0, nil, bad(err.Error())
		}
		typ = baseTyp
	}
	if depth > 0 { // a delta base: likely needed again
		if r.cached+len(data) > maxCachedBytes {
			clear(r.cache)
			r.cached = 0
		}
		r.cache[key] = cachedObject{typ, data}
		r.cached += len(data)
	}
	return typ, data, nil
}

// anywhere reads a delta base named by hash. The caller holds r.mu.
func (r *objectReader) anywhere(h plumbing.Hash, depth int) (plumbing.ObjectType, []byte, error) {
	for _, p := range r.packs {
		if off, ok := p.find(h); ok {
			return r.packed(p, off, depth)
		}
	}
	return r.loose(h)
}
