package openwork

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ocu-team/ocu/internal/fanout"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// DefaultMaxAge is how long an index of a folder store is trusted after its
// last full walk (docs/open-work.md §6).
const DefaultMaxAge = 10 * time.Minute

// Globs of the refs an index records (docs/open-work.md §3, §4). Refs lists
// every ref matching them outside finished releases.
var (
	// outsideGlobs are read on every refresh: intent, global state,
	// deployment links.
	outsideGlobs = []string{
		"+/environment/*", "+/custom/**", "**/+*/custom/**", "**/+/deploy/*",
		"@/environment/*", "@/custom/**", "**/@/deploy/*",
	}
	// openGlobs are the markers that make a release open.
	openGlobs = []string{
		"**/functions/*/status/pending", "**/functions/*/status/running", "**/task/check_envs",
	}
	// keptGlobs are what a finished release keeps in the index: the commit
	// it was made at and its custom state; its own document makes it known.
	keptGlobs = []string{"**/@*/commit/*", "**/@*/custom/**", "**/-/**/@?*", "**/@*/**/status/failed"}
)

// Options configure an Index.
type Options struct {
	// MaxAge bounds the time an index of a store whose change record
	// misses other clients' writes (a folder) is trusted after its last
	// full walk; 0 means DefaultMaxAge.
	MaxAge time.Duration
	// Rescan makes the first refresh walk everything.
	Rescan bool
	// Now returns the time MaxAge is measured with; nil means time.Now.
	Now func() time.Time
	// RacyWindow is how close to a walk a folder's change time makes a
	// watched release's stamp untrusted (docs/open-work.md §7); 0 means
	// DefaultRacyWindow.
	RacyWindow time.Duration
}

// Index is the open-work index of one store. Its methods may be called
// from several goroutines.
type Index struct {
	info store.IndexInfo
	opts Options

	mu       sync.Mutex
	loaded   bool
	rescan   bool
	pos      string              // the store's change position the index includes
	full     time.Time           // the last full walk
	finished map[string]*release // release folder → what it keeps
	latest   map[string]string   // package folder → its latest numbered release folder
	named    map[string]bool     // release folders named by deploy intents and deployments (Watch)
	refs     []string            // recorded refs of the last refresh, sorted
	gen      uint64              // last generation given to a release
	saved    bool                // the file holds what memory does
	savedSum [sha256.Size]byte   // of the file's content as last read or written
}

// release is what a finished release keeps.
type release struct {
	kept   string // refs below the release folder, relative to it and tab-separated: commit/H, custom/…
	failed bool   // it holds a failed status marker
	watch  uint64 // its store.ReleaseStamp's Sum when watched; 0: none, or not to be trusted
	gen    uint64 // changes whenever the release is walked again
}

// DefaultRacyWindow is the default Options.RacyWindow: a folder changed
// less than a second before a walk may have changed in the same clock tick
// as the walk read it.
const DefaultRacyWindow = time.Second

// New returns an empty index; the first Refresh loads or builds it.
func New(opts Options) *Index {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RacyWindow <= 0 {
		opts.RacyWindow = DefaultRacyWindow
	}
	return &Index{opts: opts, rescan: opts.Rescan}
}

// Indexable reports whether st can have an open-work index (it implements
// store.Indexed).
func Indexable(st store.Store) bool {
	_, ok := st.(store.Indexed)
	return ok
}

// Refresh brings the index up to date with st: the releases the store's
// change record names since the last refresh, and those new or open, are
// walked; finished ones are not. A full walk replaces it when there is no
// usable index, when the change record cannot be followed, and for a store
// whose record misses other clients' writes, when the last full walk is
// older than MaxAge. The index file is rewritten when it changed; failing
// to write it is not an error (the index is kept in memory). st may be
// another object at each call (a store opened again); an index of another
// store is set aside and the new one's loaded.
func (x *Index) Refresh(ctx context.Context, st store.Store) error {
	return x.update(ctx, st, true)
}

// Check is the part of Refresh that reads no folder of the store: the
// releases its change record names are no longer Finished; the watched
// releases' stamps, open markers, new releases and Refs are left as they
// were, and the index file is not rewritten. When Refresh would walk
// everything (no usable index, MaxAge passed) Check is Refresh. A reader
// that asks only Finished (the view's overview) checks on every request
// and refreshes now and then, so other clients' writes show at its next
// refresh.
func (x *Index) Check(ctx context.Context, st store.Store) error {
	return x.update(ctx, st, false)
}

func (x *Index) update(ctx context.Context, st store.Store, walk bool) error {
	ix, ok := st.(store.Indexed)
	if !ok {
		return fmt.Errorf("%v cannot be indexed", st)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if info := ix.IndexInfo(); !x.loaded || info != x.info {
		x.info, x.pos, x.finished, x.refs, x.named = info, "", nil, nil, nil
		x.load()
		x.loaded = true
	}
	// A last full walk more than MaxAge ahead of the clock (set back, or
	// another machine's running ahead) is of unknown age: not trusted.
	age := x.opts.Now().Sub(x.full)
	full := x.rescan || x.pos == "" || x.finished == nil ||
		(!x.info.AllWriters && (age > x.opts.MaxAge || age < -x.opts.MaxAge))
	if !full {
		changed, now, ok, err := ix.ChangedSince(ctx, x.pos)
		if err != nil {
			return err
		}
		if !ok {
			full = true
		} else {
			for _, c := range changed {
				if _, ok := x.finished[c]; ok {
					delete(x.finished, c)
					x.saved = false
				}
			}
			if now != x.pos {
				x.pos, x.saved = now, false
			}
		}
	}
	if full {
		pos, err := ix.ChangePosition(ctx)
		if err != nil {
			return err
		}
		x.pos, x.full, x.finished, x.saved = pos, x.opts.Now(), map[string]*release{}, false
	}
	stamper, _ := st.(store.Stamper)
	if x.info.AllWriters {
		stamper = nil // the change record sees every writer
	}
	if !walk && !full {
		return nil
	}
	if stamper != nil && !full {
		if err := x.checkWatched(ctx, stamper); err != nil {
			return err
		}
	}
	walked := time.Now()
	globs := slices.Concat(outsideGlobs, openGlobs, keptGlobs)
	finished := x.finished
	refs, err := ix.MatchSkipping(ctx, globs, func(rel string) bool {
		_, ok := finished[rel]
		return ok
	})
	if err != nil {
		return err
	}
	x.rescan = false
	x.classify(refs)
	if stamper != nil {
		if err := x.stampWatched(ctx, stamper, walked); err != nil {
			return err
		}
	}
	if !x.saved {
		x.saved = x.save() == nil
	}
	return nil
}

// watched reports whether finished release dir is on the watch list
// (docs/open-work.md §6): its package's latest release, or one holding a
// failed marker (what a retry starts from).
func (x *Index) watched(dir string, rel *release) bool {
	return rel.failed || x.named[dir] || x.latest[dir[:strings.LastIndexByte(dir, '/')]] == dir
}

// Watches reports whether the index watches releases for other clients'
// writes (a folder store, whose change record misses them; not a git
// store), so that Watch is worth calling. False before the first Refresh.
func (x *Index) Watches() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.loaded && !x.info.AllWriters
}

// Watch makes dirs the release folders that deploy intents and current
// deployments name, watched from now on as the latest releases are
// (docs/open-work.md §6); the releases named before and not now are no
// longer watched for it. It reports whether a finished release named now
// was not watched before: nothing is known of it since the last full walk,
// so the caller must Refresh (which walks it) before trusting the index.
// A changed list is written to the index file.
func (x *Index) Watch(dirs []string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	named := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		if store.ReleaseFolder(d) == d {
			named[d] = true
		}
	}
	if maps.Equal(named, x.named) {
		return false
	}
	unknown := false
	for dir := range named {
		if rel, ok := x.finished[dir]; ok && !x.watched(dir, rel) {
			delete(x.finished, dir) // walked, then stamped, by the next Refresh
			unknown = true
		}
	}
	x.named, x.saved = named, false
	if x.loaded {
		x.saved = x.save() == nil
	}
	return unknown
}

// checkWatched drops from the finished releases the watched ones whose
// stamp moved, or was not to be trusted, so that the walk reads them.
func (x *Index) checkWatched(ctx context.Context, stamper store.Stamper) error {
	var dirs []string
	for dir, rel := range x.finished {
		if x.watched(dir, rel) {
			dirs = append(dirs, dir)
		}
	}
	stamps, err := stampAll(ctx, stamper, dirs)
	if err != nil {
		return err
	}
	for i, dir := range dirs {
		if rel := x.finished[dir]; rel.watch == 0 || rel.watch != stamps[i].Sum {
			delete(x.finished, dir)
			x.saved = false
		}
	}
	return nil
}

// stampWatched records the stamps of the watched finished releases that
// have none; a stamp showing a change after walked (less RacyWindow) is
// not trusted, so the next refresh walks the release again.
func (x *Index) stampWatched(ctx context.Context, stamper store.Stamper, walked time.Time) error {
	var dirs []string
	for dir, rel := range x.finished {
		if rel.watch == 0 && x.watched(dir, rel) {
			dirs = append(dirs, dir)
		}
	}
	stamps, err := stampAll(ctx, stamper, dirs)
	if err != nil {
		return err
	}
	for i, dir := range dirs {
		if stamps[i].Newest.Before(walked.Add(-x.opts.RacyWindow)) {
			x.finished[dir].watch = stamps[i].Sum
			x.saved = false
		}
	}
	return nil
}

// stampAll stamps dirs, a few at a time.
func stampAll(ctx context.Context, stamper store.Stamper, dirs []string) ([]store.ReleaseStamp, error) {
	out := make([]store.ReleaseStamp, len(dirs))
	errs := make([]error, len(dirs))
	fanout.Each(len(dirs), 4, func(i int) {
		out[i], errs[i] = stamper.StampRelease(ctx, dirs[i])
	})
	return out, errors.Join(errs...)
}

// classify records the releases a refresh walked: an open one's refs are
// listed, a finished one joins the index.
func (x *Index) classify(refs []string) {
	var out []string
	byRelease := map[string][]string{}
	for _, r := range refs {
		if dir := store.ReleaseFolder(r); dir != "" {
			byRelease[dir] = append(byRelease[dir], r)
		} else {
			out = append(out, r)
		}
	}
	open := map[string]bool{}
	for dir, rs := range byRelease {
		if slices.ContainsFunc(rs, isOpenMarker) {
			out = append(out, rs...)
			open[dir] = true
			continue
		}
		x.gen++
		rel := &release{gen: x.gen}
		var kept []string
		for _, r := range rs {
			switch {
			case r == dir:
			case strings.HasSuffix(r, "/status/failed"):
				rel.failed = true
			default:
				kept = append(kept, r[len(dir)+1:])
			}
		}
		rel.kept = strings.Join(kept, "\t")
		x.finished[dir] = rel
		x.saved = false
	}
	x.latest = map[string]string{}
	for dir := range x.finished {
		x.noteLatest(dir)
	}
	for dir := range open {
		x.noteLatest(dir)
	}
	for dir, rel := range x.finished {
		if !strings.Contains(rel.kept, "custom/") {
			continue
		}
		for k := range strings.SplitSeq(rel.kept, "\t") {
			if strings.HasPrefix(k, "custom/") {
				out = append(out, dir+"/"+k)
			}
		}
	}
	slices.Sort(out)
	x.refs = slices.Compact(out)
}

// noteLatest makes release folder dir its package's latest if its number
// is the highest seen.
func (x *Index) noteLatest(dir string) {
	i := strings.LastIndexByte(dir, '/')
	pkg, n := dir[:i], dir[i+2:]
	if !state.IsNumber(n) {
		return
	}
	if cur, ok := x.latest[pkg]; !ok || state.CompareNumbers(n, cur[len(pkg)+2:]) > 0 {
		x.latest[pkg] = dir
	}
}

// isOpenMarker reports whether r is one of openGlobs' markers.
func isOpenMarker(r string) bool {
	if strings.HasSuffix(r, "/task/check_envs") {
		return true
	}
	fn, ok := strings.CutSuffix(r, "/status/pending")
	if !ok {
		fn, ok = strings.CutSuffix(r, "/status/running")
	}
	if !ok {
		return false
	}
	i := strings.LastIndexByte(fn, '/')
	return i > 0 && strings.HasSuffix(fn[:i], "/functions")
}

// Refs returns, as of the last Refresh and sorted, the intent and global
// state the engine reads (environments, custom state, deploy intents and
// deployment links), the pending and running function markers and
// check_envs tasks, and the release-level custom state of every release.
// The slice must not be modified.
func (x *Index) Refs() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.refs
}

// AtCommit returns the releases of repo made at commit h as of the last
// Refresh: those holding a commit/H document, and legacy releases named
// @H.<n>. Order is unspecified.
func (x *Index) AtCommit(repo, h string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	prefix := repo + "/-/"
	legacy := "@" + h + "."
	var out []string
	for dir, rel := range x.finished {
		if !strings.HasPrefix(dir, prefix) {
			continue
		}
		if strings.HasPrefix(dir[strings.LastIndexByte(dir, '/')+1:], legacy) || keeps(rel.kept, "commit/"+h) {
			out = append(out, dir)
		}
	}
	for _, r := range x.refs {
		if !strings.HasPrefix(r, prefix) {
			continue
		}
		dir := store.ReleaseFolder(r)
		if dir == "" {
			continue
		}
		if r == dir+"/commit/"+h || (r == dir && strings.HasPrefix(dir[strings.LastIndexByte(dir, '/')+1:], legacy)) {
			out = append(out, dir)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// keeps reports whether kept (tab-separated) holds ref suffix k.
func keeps(kept, k string) bool {
	for s := range strings.SplitSeq(kept, "\t") {
		if s == k {
			return true
		}
	}
	return false
}

// Finished reports whether release folder dir was finished at the last
// Refresh, with a generation that changes whenever the release is walked
// again: what was read of a finished release stays true while its
// generation does.
func (x *Index) Finished(dir string) (gen uint64, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	rel, ok := x.finished[dir]
	if !ok {
		return 0, false
	}
	return rel.gen, true
}
