package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// Config is what an Engine works with.
type Config struct {
	Store   store.Store  // the combined state and intent store
	Repo    string       // R
	Commit  string       // H: the current commit ("" when unknown)
	Root    string       // the repo root (the checkout)
	Environ []string     // process environment for host.*
	Secrets *sdk.Secrets // values to mask
	Home    string       // OCUROOT_HOME: where other commits are checked out
	// RepoConfig is the exact source of repo.ocu.star, recorded per commit.
	RepoConfig []byte
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// Deadline, when set, is when no new function starts and running
	// package code is stopped (--timeout).
	Deadline time.Time
	// Limits bound each run of package code; the zero value sets none.
	Limits Limits
	// OpenWork configures the open-work index (docs/open-work.md).
	OpenWork openwork.Options
}

// Engine runs releases of one repo against its stores.
type Engine struct {
	Config

	progress *progress
	host     string
	pid      int

	mu       sync.Mutex
	evals    map[string]*evaluated              // "F@N@H" → evaluation used to run functions
	releases map[state.ReleaseID]*state.Release // release documents read, until rewritten
	reads    map[ref.Ref]cachedRead             // documents read since the last commit
	decoder  state.Decoder                      // typed documents from read values

	indexMu    sync.Mutex
	index      *openwork.Index // nil until first used, or when the store has none
	noIndex    bool            // the store cannot be indexed
	indexFresh bool            // index refreshed since the last commit
}

// Options configure New.
type Options struct {
	Stdout, Stderr io.Writer // progress lines; errors and prints outside work
	Prog           string    // the command's name in error lines
}

// New returns an engine writing progress to o.Stdout.
func New(c Config, o Options) *Engine {
	n := Engine{Config: c}
	if n.Now == nil {
		n.Now = time.Now
	}
	if n.Secrets == nil {
		n.Secrets = new(sdk.Secrets)
	}
	n.progress = &progress{out: o.Stdout, err: o.Stderr, prog: o.Prog, secrets: n.Secrets}
	n.host, _ = os.Hostname()
	n.pid = os.Getpid()
	n.evals = map[string]*evaluated{}
	n.releases = map[state.ReleaseID]*state.Release{}
	n.reads = map[ref.Ref]cachedRead{}
	return &n
}

func (e *Engine) now() string { return timestamp(e.Now()) }

// Lock takes the apply lock of the state store for an engine command,
// waiting up to wait; busy after that → an error with code E_LOCKED. It
// returns the unlock function.
func (e *Engine) Lock(ctx context.Context, wait time.Duration) (func(), error) {
	l, ok := e.Store.(store.ApplyLocker)
	if !ok {
		return nil, errors.New("the state store has no apply lock")
	}
	holder := fmt.Sprintf("pid=%d host=%s since=%s", e.pid, e.host, time.Now().UTC().Format(time.RFC3339))
	return l.LockApply(ctx, wait, holder)
}

// MarkInterrupted marks the functions this host left running in a process
// that is gone as failed (docs/engine.md §15); engine commands call it after
// taking the apply lock. It returns how many.
func (e *Engine) MarkInterrupted(ctx context.Context) (int, error) {
	running, err := e.matchOpen(ctx, "**/functions/*/status/running")
	if err != nil {
		return 0, err
	}
	return e.markInterruptedIn(ctx, running)
}

// read reads the document at r through the command's read cache, which
// every commit of the command empties. found is false when nothing is
// stored there. Callers must not modify the value.
func (e *Engine) read(ctx context.Context, r ref.Ref) (store.Doc, bool, error) {
	e.mu.Lock()
	c, ok := e.reads[r]
	e.mu.Unlock()
	if ok {
		return c.doc, c.found, nil
	}
	doc, err := e.Store.Get(ctx, r)
	found := err == nil
	if store.CodeOf(err) == store.ENotFound {
		err = nil
	}
	if err != nil {
		return store.Doc{}, false, fmt.Errorf("%s: %w", r, err)
	}
	e.mu.Lock()
	e.reads[r] = cachedRead{doc, found}
	e.mu.Unlock()
	return doc, found, nil
}

type cachedRead struct {
	doc   store.Doc
	found bool
}

// get reads the document at r into dst; found is false when nothing is
// stored there.
func (e *Engine) get(ctx context.Context, r ref.Ref, dst any) (bool, error) {
	doc, found, err := e.read(ctx, r)
	if err != nil || !found {
		return false, err
	}
	if dst != nil {
		if err := e.decoder.Decode(doc.Value, dst); err != nil {
			return false, fmt.Errorf("%s: %w", r, err)
		}
	}
	return true, nil
}

// release reads the document of release rel (R/-/F/@N), cached for the
// command: only check_envs rewrites it (see forgetRelease).
func (e *Engine) release(ctx context.Context, rel state.ReleaseID) (*state.Release, error) {
	e.mu.Lock()
	doc, ok := e.releases[rel]
	e.mu.Unlock()
	if ok {
		return doc, nil
	}
	doc = new(state.Release)
	found, err := e.get(ctx, rel.Ref(), doc)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("release %s not found", rel)
	}
	e.mu.Lock()
	e.releases[rel] = doc
	e.mu.Unlock()
	return doc, nil
}

// forgetRelease drops a cached release document about to be rewritten.
func (e *Engine) forgetRelease(rel state.ReleaseID) {
	e.mu.Lock()
	delete(e.releases, rel)
	e.mu.Unlock()
}

// getValue reads the value at r (fragment applied, links followed).
func (e *Engine) getValue(ctx context.Context, r ref.Ref) (any, bool, error) {
	doc, found, err := e.read(ctx, r)
	return doc.Value, found, err
}

// resolve returns the ref a read of r lands on, or the zero ref when
// nothing is stored there.
func (e *Engine) resolve(ctx context.Context, r ref.Ref) (ref.Ref, error) {
	doc, found, err := e.read(ctx, r)
	if err != nil || !found {
		return ref.Ref{}, err
	}
	return doc.Ref, nil
}

// resolveWork returns the work item, chain or function a read of r lands
// on; ok is false when nothing is stored there or it is not work.
func (e *Engine) resolveWork(ctx context.Context, r ref.Ref) (state.WorkID, bool, error) {
	res, err := e.resolve(ctx, r)
	if err != nil || res.IsZero() {
		return state.WorkID{}, false, err
	}
	w, err := state.ParseWork(res)
	return w, err == nil, nil
}

func (e *Engine) match(ctx context.Context, globs ...string) ([]string, error) {
	return e.Store.Match(ctx, globs, false)
}

// openWork returns the store's open-work index, refreshed since the
// engine's last commit, or nil when the store has none (docs/open-work.md).
// Like the read cache, it does not see what others write between two of
// the engine's commits.
func (e *Engine) openWork(ctx context.Context) (*openwork.Index, error) {
	e.indexMu.Lock()
	defer e.indexMu.Unlock()
	if e.noIndex {
		return nil, nil
	}
	if e.index == nil {
		if !openwork.Indexable(e.Store) {
			e.noIndex = true
			return nil, nil
		}
		e.index = openwork.New(e.OpenWork)
	}
	if !e.indexFresh {
		if err := e.index.Refresh(ctx, e.Store); err != nil {
			return nil, err
		}
		e.indexFresh = true
	}
	return e.index, nil
}

// matchOpen matches globs of open work: intent, global state, deployment
// links, pending and running markers, check_envs tasks and release custom
// state (what openwork.Index.Refs lists), without walking finished
// releases when the store has an open-work index.
func (e *Engine) matchOpen(ctx context.Context, globs ...string) ([]string, error) {
	idx, err := e.openWork(ctx)
	switch {
	case err != nil:
		return nil, err
	case idx == nil:
		return e.match(ctx, globs...)
	}
	return ref.FilterGlobs(idx.Refs(), globs)
}

// releaseRefsAt returns the releases of the repo made at commit h, as refs
// of their commit/H documents or of the releases themselves, unsorted.
func (e *Engine) releaseRefsAt(ctx context.Context, h string) ([]string, error) {
	idx, err := e.openWork(ctx)
	if err != nil {
		return nil, err
	}
	if idx == nil {
		return e.match(ctx, e.Repo+"/-/**/@*/commit/"+h, e.Repo+"/-/**/@"+h+".*")
	}
	return idx.AtCommit(e.Repo, h), nil
}

// matchRefs matches globs and returns the refs matched, parsed.
func (e *Engine) matchRefs(ctx context.Context, globs ...string) ([]ref.Ref, error) {
	refs, err := e.match(ctx, globs...)
	if err != nil {
		return nil, err
	}
	out := make([]ref.Ref, 0, len(refs))
	for _, s := range refs {
		if r, err := ref.Parse(s); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// matchWork matches globs of status markers (…/status/<s>) and returns the
// work items, chains or functions they belong to, in the order matched.
func (e *Engine) matchWork(ctx context.Context, globs ...string) ([]state.WorkID, error) {
	refs, err := e.match(ctx, globs...)
	if err != nil {
		return nil, err
	}
	out := make([]state.WorkID, 0, len(refs))
	for _, r := range refs {
		if w, ok := ownerOfMarker(r); ok {
			out = append(out, w)
		}
	}
	return out, nil
}

// ownerOfMarker returns the work item, chain or function whose status
// marker is m (…/status/<s>).
func ownerOfMarker(m string) (state.WorkID, bool) {
	i := strings.LastIndex(m, "/status/")
	if i < 0 {
		return state.WorkID{}, false
	}
	r, err := ref.Parse(m[:i])
	if err != nil {
		return state.WorkID{}, false
	}
	w, err := state.ParseWork(r)
	return w, err == nil
}

// commit commits tx, emptying the read cache. A ref built from valid parts
// can still be too long for a ref (a long repo name, say): the store refuses
// such a transaction whole.
func (e *Engine) commit(ctx context.Context, tx *store.Tx) error {
	if tx.Empty() {
		return nil
	}
	e.mu.Lock()
	clear(e.reads)
	e.mu.Unlock()
	e.indexMu.Lock()
	e.indexFresh = false
	e.indexMu.Unlock()
	return e.Store.Commit(ctx, tx)
}

// putStatus adds to tx the status marker s of w, stamped now.
func (e *Engine) putStatus(tx *store.Tx, w state.WorkID, s string) {
	tx.Put(w.StatusRef(s), state.Marker{Time: e.now()})
}

// environments lists the environments in state, sorted by name.
func (e *Engine) environments(ctx context.Context) ([]state.Environment, error) {
	refs, err := e.matchRefs(ctx, "@/environment/*")
	if err != nil {
		return nil, err
	}
	var envs []state.Environment
	for _, r := range refs {
		var env state.Environment
		found, err := e.get(ctx, r, &env)
		if err != nil || !found {
			continue // unreadable or gone: not an environment
		}
		envs = append(envs, env)
	}
	slices.SortFunc(envs, func(a, b state.Environment) int { return strings.Compare(a.Name, b.Name) })
	return envs, nil
}

// numbers returns the numeric last segments of refs, ascending.
func numbers(refs []string) []int {
	var out []int
	for _, r := range refs {
		last := r[strings.LastIndexByte(r, '/')+1:]
		last = strings.TrimPrefix(last, "@")
		if n, err := strconv.Atoi(last); err == nil && n > 0 && strconv.Itoa(n) == last {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// nextNumber is 1 + the highest number among refs' last segments.
func nextNumber(refs []string) int {
	ns := numbers(refs)
	if len(ns) == 0 {
		return 1
	}
	return ns[len(ns)-1] + 1
}

// compareRefs orders refs with numeric segments compared as numbers, a
// release "@N" included (@9 before @10).
func compareRefs(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		an, aerr := strconv.Atoi(strings.TrimPrefix(as[i], "@"))
		bn, berr := strconv.Atoi(strings.TrimPrefix(bs[i], "@"))
		if aerr == nil && berr == nil && an != bn && (as[i][0] == '@') == (bs[i][0] == '@') {
			return an - bn
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}
