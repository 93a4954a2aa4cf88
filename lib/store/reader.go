package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/gobwas/glob"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// maxHops bounds link resolution (docs/store-format.md §5.2).
const maxHops = 8

// tree is raw read access to the files of one store in format v1: a folder,
// or a git commit's tree. The reader builds every read operation on it.
type tree interface {
	view
	// subdirs lists the names of the folders directly inside refs/<p>
	// ("" = refs/ itself); a missing folder has none.
	subdirs(p string) ([]string, error)
	// walk returns every candidate (a folder holding @object.json, as its
	// path below refs/) at or below refs/<prefix> that f keeps.
	walk(ctx context.Context, prefix string, f walkFilter) ([]string, error)
}

// walkFilter says which folders a walk enters and which candidates it
// returns. Its functions may be called from several goroutines.
type walkFilter struct {
	keep func(string) bool // a candidate is returned when keep accepts it
	// descend, when not nil, must accept a folder below the prefix for the
	// walk to enter it: no glob can match at or below the others.
	descend func(string) bool
	// skip, when not nil, is asked about each release folder below the
	// prefix (a folder named "@…", see Indexed): one it accepts is not
	// entered; nor are the kept link folders (KeptLinkFolder).
	skip func(string) bool
}

// enters reports whether a walk goes into dir, a folder below its prefix
// whose last segment is n bytes long.
func (f *walkFilter) enters(dir string, n int) bool {
	if f.descend != nil && !f.descend(dir) {
		return false
	}
	switch {
	case f.skip == nil:
		return true
	case n >= 2 && dir[len(dir)-n] == '@':
		return !f.skip(dir)
	}
	return !KeptLinkFolder(dir)
}

// reader implements the read operations of docs/store-format.md §4–§7 over a tree.
type reader struct {
	t tree
	// rlock is taken around each read operation; it returns the unlock.
	rlock func() (func(), error)

	mu    sync.Mutex
	cache map[string]position // link checks, per process
}

// position is what is stored at a link position.
type position struct {
	stored bool
	link   bool
	target string
}

func newReader(t tree, rlock func() (func(), error)) *reader {
	return &reader{t: t, rlock: rlock, cache: map[string]position{}}
}

// forget drops cached link checks after this process wrote to the store.
func (rd *reader) forget() {
	rd.mu.Lock()
	clear(rd.cache)
	rd.mu.Unlock()
}

func (rd *reader) lock() (func(), error) {
	if rd.rlock == nil {
		return func() {}, nil
	}
	return rd.rlock()
}

// Get implements Store.
func (rd *reader) Get(ctx context.Context, r ref.Ref) (Doc, error) {
	if err := checkReadable(r); err != nil {
		return Doc{}, err
	}
	unlock, err := rd.lock()
	if err != nil {
		return Doc{}, err
	}
	res, obj, err := rd.resolve(r.Doc())
	unlock()
	if err != nil {
		return Doc{}, err
	}
	v := obj.value
	if !obj.valued {
		if v, err = DecodeValue(obj.body); err != nil {
			return Doc{}, corrupt(objectPath(res.String()), err)
		}
	}
	res.Fragment = r.Fragment
	v, err = applyFragment(v, r.Fragment)
	if err != nil {
		return Doc{}, err
	}
	return Doc{Ref: res, Value: v}, nil
}

func checkReadable(r ref.Ref) error {
	if r.IsZero() || r.IsRelative() {
		return errors.New("the store needs an absolute ref")
	}
	return nil
}

// resolve follows links (§5.2) and applies the latest-release fallback
// (§5.3). It returns the ref actually stored and its object.
func (rd *reader) resolve(r ref.Ref) (ref.Ref, *object, error) {
	r, hops, last, at, err := rd.follow(r)
	if err != nil {
		return r, nil, err
	}
	obj, err := at.obj, error(nil)
	if obj == nil { // not read just now: read it (a cached lookup may be stale)
		obj, err = rd.object(r.String())
	}
	if errors.Is(err, errNoObject) && fallsBack(r) {
		n, ferr := rd.latestRelease(r)
		if ferr != nil {
			return r, nil, ferr
		}
		if n != "" {
			r = r.WithRelease(ref.State, n)
			obj, err = rd.object(r.String())
		}
	}
	switch {
	case errors.Is(err, errNoObject) && hops > 0:
		return r, nil, notFound(" (dangling link %s)", last)
	case errors.Is(err, errNoObject):
		return r, nil, notFound("")
	case err != nil:
		return r, nil, err
	case obj.isLink():
		return r, nil, notFound(" (a link stored here is not followed)")
	}
	return r, obj, nil
}

// follow follows the links on r's path (§5.2): it returns the ref they
// lead to, the number of links followed, the last of them ("L -> T"), and
// the object stored at that ref when follow just read it (the ref is one
// of its own link positions, looked up for the first time).
func (rd *reader) follow(r ref.Ref) (_ ref.Ref, hops int, last string, at found, err error) {
	for followed := true; followed; {
		followed = false
		at = found{}
		p := r.String()
		for _, pos := range linkPositions(r) {
			info, obj, err := rd.positionObject(pos)
			if err != nil {
				return r, hops, last, at, err
			}
			if !info.link {
				if pos == p {
					at = found{obj: obj}
				}
				continue
			}
			if hops++; hops > maxHops {
				return r, hops, last, at, errorf(ELinkLoop, "too many link hops (more than %d), last at %s", maxHops, pos)
			}
			next, err := ref.Parse(info.target + strings.TrimPrefix(p, pos))
			if err != nil {
				return r, hops, last, at, corrupt(objectPath(pos), err)
			}
			last = pos + " -> " + info.target
			r, followed = next, true
			break
		}
	}
	return r, hops, last, at, nil
}

// found is what follow read of the object at the ref it returns.
type found struct {
	obj *object // read by follow's lookup of the ref as a link position, or nil
}

// Resolve implements Resolver.
func (rd *reader) Resolve(ctx context.Context, r ref.Ref) (ref.Ref, error) {
	if err := checkReadable(r); err != nil {
		return ref.Ref{}, err
	}
	if err := ctx.Err(); err != nil {
		return ref.Ref{}, err
	}
	unlock, err := rd.lock()
	if err != nil {
		return ref.Ref{}, err
	}
	defer unlock()
	res, _, _, _, err := rd.follow(r.Doc())
	if err != nil {
		return ref.Ref{}, err
	}
	res.Fragment = r.Fragment
	return res, nil
}

// fallsBack reports whether r gets the latest-release fallback: local, state,
// empty release, type none, commit or task.
func fallsBack(r ref.Ref) bool {
	if r.Global || r.Marker != ref.State || r.Release != "" {
		return false
	}
	switch r.Type {
	case "", ref.TypeCommit, ref.TypeTask:
		return true
	}
	return false
}

// latestRelease returns the highest numbered release of r's package that
// holds a document, or "".
func (rd *reader) latestRelease(r ref.Ref) (string, error) {
	pkg := r.ReleaseLevel()
	pkg.Marker, pkg.Release = ref.NoMarker, ""
	dir := pkg.String()
	if pkg.File == "" {
		dir = strings.TrimSuffix(dir, "/")
	}
	names, err := rd.t.subdirs(dir)
	if err != nil {
		return "", err
	}
	var nums []string
	for _, n := range names {
		if len(n) > 1 && n[0] == '@' && state.IsNumber(n[1:]) {
			nums = append(nums, n[1:])
		}
	}
	slices.SortFunc(nums, state.CompareNumbers)
	for _, n := range slices.Backward(nums) {
		_, err := rd.t.readObject(r.WithRelease(ref.State, n).ReleaseLevel().String())
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, errNoObject) {
			return "", err
		}
	}
	return "", nil
}

// position reports what is stored at link position p, cached per process.
func (rd *reader) position(p string) (position, error) {
	info, _, err := rd.positionObject(p)
	return info, err
}

// positionObject is position, with the object when it was read by this
// call (not cached).
func (rd *reader) positionObject(p string) (position, *object, error) {
	rd.mu.Lock()
	info, ok := rd.cache[p]
	rd.mu.Unlock()
	if ok {
		return info, nil, nil
	}
	obj, err := rd.object(p)
	switch {
	case errors.Is(err, errNoObject):
	case err != nil:
		return info, nil, err
	default:
		info = position{stored: true, link: obj.isLink(), target: obj.target}
	}
	rd.mu.Lock()
	rd.cache[p] = info
	rd.mu.Unlock()
	return info, obj, nil
}

func (rd *reader) object(p string) (*object, error) {
	data, err := rd.t.readObject(p)
	if err != nil {
		return nil, err
	}
	return decodeObjectValue(objectPath(p), data)
}

// Match implements Store.
func (rd *reader) Match(ctx context.Context, globs []string, noLinks bool) ([]string, error) {
	return rd.match(ctx, globs, noLinks, nil)
}

// MatchSkipping implements Indexed.
func (rd *reader) MatchSkipping(ctx context.Context, globs []string, skip func(release string) bool) ([]string, error) {
	return rd.match(ctx, globs, false, skip)
}

// match is Match without entering the release folders skip accepts (nil:
// none), at or below a walk's prefix.
func (rd *reader) match(ctx context.Context, globs []string, noLinks bool, skip func(string) bool) ([]string, error) {
	pats, err := compileGlobs(globs)
	if err != nil {
		return nil, err
	}
	keep := func(c string) bool {
		for _, p := range pats {
			if strings.Contains(c, p.literal) && p.Match(c) {
				return true
			}
		}
		return false
	}
	unlock, err := rd.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []string
	for _, sc := range walkScopes(globs) {
		if skip != nil && skipsPrefix(sc.prefix, skip) {
			continue
		}
		found, err := rd.t.walk(ctx, sc.prefix, walkFilter{keep: keep, descend: sc.descend, skip: skip})
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if noLinks {
		return rd.dropLinked(out) // with E_CORRUPT, the refs that could be read
	}
	return out, nil
}

// skipsPrefix reports whether skip accepts the release folder on the path
// of prefix, prefix itself included, or prefix lies in a kept link folder:
// nothing below it is listed.
func skipsPrefix(prefix string, skip func(string) bool) bool {
	if r := ReleaseFolder(prefix); r != "" && skip(r) {
		return true
	}
	for p := prefix; p != ""; p = p[:max(strings.LastIndexByte(p, '/'), 0)] {
		if KeptLinkFolder(p) {
			return true
		}
	}
	return false
}

// pattern is a compiled glob and a literal every match contains, checked
// first because it is cheap.
type pattern struct {
	*glob.Pattern
	literal string
}

func compileGlobs(globs []string) ([]pattern, error) {
	pats := make([]pattern, 0, len(globs))
	for _, g := range globs {
		p, err := ref.CompileGlob(g)
		if err != nil {
			return nil, err
		}
		pats = append(pats, pattern{p, requiredLiteral(g)})
	}
	return pats, nil
}

// requiredLiteral returns the longest run of plain characters of a glob
// outside braces and classes: every string the glob matches contains it.
func requiredLiteral(g string) string {
	best, start, depth := "", 0, 0
	for i := 0; i <= len(g); i++ {
		if i < len(g) && depth == 0 && !strings.ContainsRune("*?[]{}\\", rune(g[i])) {
			continue
		}
		if depth == 0 && i-start > len(best) {
			best = g[start:i]
		}
		if i < len(g) {
			switch g[i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			case '\\':
				i++ // the escaped character is not scanned as plain
			}
		}
		start = i + 1
	}
	return best
}

// scope is one subtree a match walks, and which folders below it can hold
// a match.
type scope struct {
	prefix  string
	descend func(dir string) bool // nil: every folder
}

// walkScopes returns the subtrees that must be walked for globs: each glob's
// literal prefix, without subtrees covered by another ("" = everything).
// Globs without "**" also limit the walk below the prefix to folders whose
// segments match theirs, segment by segment.
func walkScopes(globs []string) []scope {
	prefixes := make([]string, 0, len(globs))
	for _, g := range globs {
		prefixes = append(prefixes, ref.GlobLiteralPrefix(g))
	}
	sorted := slices.Clone(prefixes)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var out []scope
	for _, p := range sorted {
		covered := slices.ContainsFunc(out, func(q scope) bool {
			return q.prefix == "" || strings.HasPrefix(p, q.prefix+"/")
		})
		if !covered {
			out = append(out, scope{prefix: p})
		}
	}
	// Each scope prunes by the globs it serves, when all of them can.
	for i := range out {
		var segs [][]*glob.Pattern
		prunable := true
		for j, g := range globs {
			p := prefixes[j]
			if p != out[i].prefix && !(out[i].prefix == "" || strings.HasPrefix(p, out[i].prefix+"/")) {
				continue
			}
			s, ok := segmentPatterns(g)
			if !ok {
				prunable = false
				break
			}
			segs = append(segs, s)
		}
		if prunable && len(segs) > 0 {
			out[i].descend = descendFunc(segs)
		}
	}
	return out
}

// segmentPatterns splits a glob into one pattern per '/'-separated segment,
// when that means the same thing: no "**" and no '/' inside braces, classes
// or escapes.
func segmentPatterns(g string) ([]*glob.Pattern, bool) {
	if strings.Contains(g, "**") {
		return nil, false
	}
	depth := 0
	start := 0
	var segs []string
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case '\\':
			if i+1 < len(g) && g[i+1] == '/' {
				return nil, false
			}
			i++
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '/':
			if depth > 0 {
				return nil, false
			}
			segs = append(segs, g[start:i])
			start = i + 1
		}
	}
	segs = append(segs, g[start:])
	pats := make([]*glob.Pattern, len(segs))
	for i, s := range segs {
		if s == "" {
			return nil, false
		}
		p, err := glob.Compile(s, '/')
		if err != nil {
			return nil, false
		}
		pats[i] = p
	}
	return pats, true
}

// descendFunc accepts a folder when, for some glob, the folder is shallower
// than the glob and its last segment matches the glob's segment at that
// depth (the walk checked the segments above already).
func descendFunc(globs [][]*glob.Pattern) func(string) bool {
	return func(dir string) bool {
		depth := strings.Count(dir, "/") + 1
		last := dir[strings.LastIndexByte(dir, '/')+1:]
		for _, segs := range globs {
			if depth <= len(segs) && segs[depth-1].Match(last) {
				return true
			}
		}
		return false
	}
}

// dropLinked removes candidates with a link stored at one of their link
// positions (docs/store-format.md §7); candidates that do not parse have none. A
// position whose object cannot be read (E_CORRUPT) is no link: the
// candidate stored there is dropped, the others stay, and the error names
// each such position once.
func (rd *reader) dropLinked(cands []string) ([]string, error) {
	out := cands[:0]
	var bad []error
	seen := map[string]bool{}
	for _, c := range cands {
		r, err := ref.Parse(c)
		linked := false
		if err == nil {
			for _, pos := range linkPositions(r) {
				info, err := rd.position(pos)
				if CodeOf(err) == ECorrupt {
					if !seen[pos] {
						seen[pos] = true
						bad = append(bad, &OpError{Ref: pos, Err: err})
					}
					linked = linked || pos == c
					continue
				}
				if err != nil {
					return nil, err
				}
				if info.link {
					linked = true
					break
				}
			}
		}
		if !linked {
			out = append(out, c)
		}
	}
	return out, errors.Join(bad...)
}

// Children implements Store.
func (rd *reader) Children(ctx context.Context, r ref.Ref) ([]string, error) {
	if r.IsRelative() {
		return nil, errors.New("the store needs an absolute ref")
	}
	p := strings.TrimSuffix(r.Doc().String(), "/") // a repo, "R/-/", is the folder R/-
	if r.IsZero() {
		p = ""
	}
	unlock, err := rd.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	names, err := rd.t.subdirs(p)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if p == "" {
			out = append(out, n)
		} else {
			out = append(out, strings.TrimSuffix(p, "/")+"/"+n)
		}
	}
	slices.Sort(out)
	return out, nil
}
