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
}

// Engine runs releases of one repo against its stores.
type Engine struct {
	Config

	progress *progress
	host     string
	pid      int

	mu       sync.Mutex
	evals    map[string]*evaluated     // "F@N@H" → evaluation used to run functions
	releases map[string]*state.Release // release documents read, until rewritten
	reads    map[string]cachedRead     // documents read since the last commit
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
	n.releases = map[string]*state.Release{}
	n.reads = map[string]cachedRead{}
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
	running, err := e.match(ctx, "**/functions/*/status/running")
	if err != nil {
		return 0, err
	}
	return e.markInterruptedIn(ctx, running)
}

// read reads the document at r through the command's read cache, which
// every commit of the command empties. found is false when nothing is
// stored there. Callers must not modify the value.
func (e *Engine) read(ctx context.Context, r string) (store.Doc, bool, error) {
	e.mu.Lock()
	c, ok := e.reads[r]
	e.mu.Unlock()
	if ok {
		return c.doc, c.found, nil
	}
	rr, err := ref.Parse(r)
	if err != nil {
		return store.Doc{}, false, err
	}
	doc, err := e.Store.Get(ctx, rr)
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
func (e *Engine) get(ctx context.Context, r string, dst any) (bool, error) {
	doc, found, err := e.read(ctx, r)
	if err != nil || !found {
		return false, err
	}
	if dst != nil {
		if err := state.Decode(doc.Value, dst); err != nil {
			return false, fmt.Errorf("%s: %w", r, err)
		}
	}
	return true, nil
}

// release reads the document of release rel (R/-/F/@N), cached for the
// command: only check_envs rewrites it (see forgetRelease).
func (e *Engine) release(ctx context.Context, rel string) (*state.Release, error) {
	e.mu.Lock()
	doc, ok := e.releases[rel]
	e.mu.Unlock()
	if ok {
		return doc, nil
	}
	doc = new(state.Release)
	found, err := e.get(ctx, rel, doc)
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
func (e *Engine) forgetRelease(rel string) {
	e.mu.Lock()
	delete(e.releases, rel)
	e.mu.Unlock()
}

// getValue reads the value at r (fragment applied, links followed).
func (e *Engine) getValue(ctx context.Context, r string) (any, bool, error) {
	doc, found, err := e.read(ctx, r)
	return doc.Value, found, err
}

// resolve returns the ref a read of r lands on, or "" when nothing is
// stored there.
func (e *Engine) resolve(ctx context.Context, r string) (string, error) {
	doc, found, err := e.read(ctx, r)
	if err != nil || !found {
		return "", err
	}
	return doc.Ref.String(), nil
}

func (e *Engine) match(ctx context.Context, globs ...string) ([]string, error) {
	return e.Store.Match(ctx, globs, false)
}

func (e *Engine) commit(ctx context.Context, tx *store.Tx) error {
	if tx.Empty() {
		return nil
	}
	e.mu.Lock()
	clear(e.reads)
	e.mu.Unlock()
	return e.Store.Commit(ctx, tx)
}

// batch builds a transaction from refs the engine spells as strings; the
// first invalid ref (a repo name too long for a ref, say) fails the commit.
type batch struct {
	tx  *store.Tx
	err error
}

func newBatch(name string) *batch { return &batch{tx: store.NewTx(name)} }

func (b *batch) parse(s string) (ref.Ref, bool) {
	r, err := ref.Parse(s)
	if err != nil && b.err == nil {
		b.err = err
	}
	return r, err == nil
}

func (b *batch) put(r string, v any) {
	if rr, ok := b.parse(r); ok {
		b.tx.Put(rr, v)
	}
}

func (b *batch) create(r string, v any) {
	if rr, ok := b.parse(r); ok {
		b.tx.Create(rr, v)
	}
}

func (b *batch) del(r string) {
	if rr, ok := b.parse(r); ok {
		b.tx.Delete(rr, true)
	}
}

func (b *batch) link(l, target string) {
	lr, ok1 := b.parse(l)
	tr, ok2 := b.parse(target)
	if ok1 && ok2 {
		b.tx.Link(lr, tr)
	}
}

func (b *batch) unlink(l string) {
	if lr, ok := b.parse(l); ok {
		b.tx.Unlink(lr)
	}
}

// commitBatch commits b; nothing is written when it holds an invalid ref.
func (e *Engine) commitBatch(ctx context.Context, b *batch) error {
	if b.err != nil {
		return b.err
	}
	return e.commit(ctx, b.tx)
}

// environments lists the environments in state, sorted by name.
func (e *Engine) environments(ctx context.Context) ([]state.Environment, error) {
	refs, err := e.match(ctx, "@/environment/*")
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
