//go:build linux

package openwork_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/internal/historytest"
	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// TestIndexEquivalence runs seeded random sequences of writes on a
// history — ocu's own (store transactions, engine runs at a release's
// commit) and another client's straight into the store folder — and after
// each step compares a long-lived index, and a fresh one reading the index
// file, with a full walk (check). Another client's writes into a watched
// release (the latest, or one holding a failed marker) must be seen at
// once; a write into another finished release is compared after the
// index's clock passed MaxAge (docs/open-work.md §6).
func TestIndexEquivalence(t *testing.T) {
	const (
		releases = 40
		steps    = 40
	)
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			w := newWorld(t, releases, seed)
			for step := range steps {
				op := w.step()
				w.log = append(w.log, fmt.Sprintf("%d: %s", step, op))
				w.compare(w.idx, openwork.New(w.opts))
				if t.Failed() {
					t.Fatalf("after the steps:\n%s", strings.Join(w.log, "\n"))
				}
			}
			// The sequences are fixed: they must hold the writes the
			// index must see at once.
			for _, what := range []string{"latest", "failed", "unwatched"} {
				if w.directs[what] == 0 {
					t.Errorf("no direct write into a %s release in:\n%s", what, strings.Join(w.log, "\n"))
				}
			}
		})
	}
}

// compare is check for several indexes at once, with one full walk: each
// index is refreshed, then answers every query of queries, and AtCommit
// for the commit of every release, as the walk does.
func (w *world) compare(idxs ...*openwork.Index) {
	t := w.t
	t.Helper()
	commits := historytest.Repo + "/-/**/@*/commit/*"
	var globs []string
	for _, g := range queries {
		globs = append(globs, g...)
	}
	all, err := w.h.Store.Match(w.ctx, append(globs, commits), false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for name, g := range queries {
		if want[name], err = ref.FilterGlobs(all, g); err != nil {
			t.Fatal(err)
		}
	}
	atCommit := map[string][]string{}
	for _, r := range all {
		if dir := store.ReleaseFolder(r); dir != "" && strings.HasPrefix(r, dir+"/commit/") {
			h := r[len(dir+"/commit/"):]
			atCommit[h] = append(atCommit[h], dir)
		}
	}
	for i, idx := range idxs {
		if err := idx.Refresh(w.ctx, w.h.Store); err != nil {
			t.Fatal(err)
		}
		for name, g := range queries {
			got, err := ref.FilterGlobs(idx.Refs(), g)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[name], got, cmpEmpty); diff != "" {
				t.Errorf("index %d: %s (-full walk +index):\n%s", i, name, diff)
			}
		}
		for k := 1; k <= w.latest; k++ {
			h := historytest.Commit(k)
			wantAt := slices.Sorted(slices.Values(atCommit[h]))
			if diff := cmp.Diff(wantAt, idx.AtCommit(historytest.Repo, h), cmpEmpty); diff != "" {
				t.Errorf("index %d: releases at the commit of @%d (-full walk +index):\n%s", i, k, diff)
			}
		}
	}
}

// world is a history with what the random steps need to know of it.
type world struct {
	t      *testing.T
	ctx    context.Context
	h      *historytest.History
	rng    *rand.Rand
	clk    *clock
	opts   openwork.Options
	idx    *openwork.Index
	latest int  // the latest release
	chain  int  // the last retry chain number given
	names  int  // the last custom state name given
	qa     bool // environment qa was added
	log    []string
	// made are refs ocu wrote that a later step may delete: custom state
	// and retry chains.
	made []string
	// direct are check_envs tasks another client wrote.
	direct []string
	// directs counts another client's writes by the release written:
	// latest, failed, unwatched.
	directs map[string]int
	// mtime is the last modification time given to a folder by hand.
	mtime time.Time
}

func newWorld(t *testing.T, n int, seed uint64) *world {
	h := historytest.Open(t, n)
	clk := &clock{t: time.Now()}
	// The racy window is a nanosecond: another client's writes into
	// watched releases are seen through the stamps alone (see writeWatched).
	opts := openwork.Options{Now: clk.now, MaxAge: time.Hour, RacyWindow: time.Nanosecond}
	h.OpenWork = opts // the engine's runs keep the same index file
	w := &world{
		t: t, ctx: context.Background(), h: h, rng: rand.New(rand.NewPCG(seed, 0x6f70656e)),
		clk: clk, opts: opts, idx: openwork.New(opts), latest: n,
		mtime: time.Unix(1_500_000_000, 0), directs: map[string]int{},
	}
	w.compare(w.idx)
	return w
}

// step makes one random write and says what it did.
func (w *world) step() string {
	t := w.t
	t.Helper()
	rel := historytest.Release
	k := 1 + w.rng.IntN(w.latest)
	switch op := w.rng.IntN(16); op {
	case 0: // ocu: release-level custom state, new or rewritten
		r := fmt.Sprintf("%s/custom/c%d", rel(k), w.rng.IntN(w.names+1))
		w.put(r, w.rng.IntN(100))
		return "ocu put " + r
	case 1: // ocu: intent and global state
		r := []string{
			"+/custom/g%d", "@/custom/g%d", historytest.Package + "/+" + fmt.Sprint(k) + "/custom/i%d",
		}[w.rng.IntN(3)]
		r = fmt.Sprintf(r, w.rng.IntN(4))
		w.put(r, w.rng.IntN(100))
		return "ocu put " + r
	case 2: // ocu: a retry of the build, left pending
		chain := w.retry(k)
		w.commitDocs("retry", w.retryDocs(k, chain))
		w.made = append(w.made, chain)
		return "ocu retry " + chain
	case 3: // ocu: a check_envs task
		r := rel(k) + "/task/check_envs"
		w.put(r, marker())
		return "ocu put " + r
	case 4: // ocu: something written before removed
		if len(w.made) == 0 {
			return "ocu delete: nothing to delete"
		}
		i := w.rng.IntN(len(w.made))
		r := w.made[i]
		w.made = slices.Delete(w.made, i, i+1)
		w.deleteAll(r)
		return "ocu delete " + r
	case 5: // a deploy intent applied at the latest commit: a pending deploy in @k
		w.put(historytest.Package+"/+/deploy/production", map[string]any{"release": rel(k)})
		w.run(w.latest, "apply", apply)
		return fmt.Sprintf("deploy %s, apply at @%d", rel(k), w.latest)
	case 6: // a deploy of @k refused: a failed marker in @k
		w.put(historytest.Package+"/+/deploy/production", map[string]any{
			"release": rel(k), "input": map[string]any{"refuse": map[string]any{"value": true}},
		})
		w.run(k, "apply", apply)
		return fmt.Sprintf("refused deploy of %s, apply at its commit", rel(k))
	case 7: // apply at @k's commit
		w.run(k, "apply", apply)
		return fmt.Sprintf("apply at @%d", k)
	case 8: // work continue at @k's commit
		w.run(k, "work continue", func(ctx context.Context, e *engine.Engine) error {
			_, err := e.WorkContinue(ctx, 10)
			return err
		})
		return fmt.Sprintf("work continue at @%d", k)
	case 9: // work tasks at @k's commit
		w.run(k, "work tasks", func(ctx context.Context, e *engine.Engine) error {
			_, _, err := e.Tasks(ctx)
			return err
		})
		return fmt.Sprintf("work tasks at @%d", k)
	case 10: // an environment added or removed, applied at the latest commit
		w.qa = !w.qa
		if w.qa {
			w.put("+/environment/qa", map[string]any{"name": "qa", "attributes": map[string]any{"type": "qa"}})
		} else {
			w.deleteAll("+/environment/qa")
		}
		w.run(w.latest, "apply", apply)
		return fmt.Sprintf("environment qa %v, apply at @%d", w.qa, w.latest)
	case 11, 14, 15: // another client writes into a watched release
		return w.writeWatched()
	case 12: // another client writes into an unwatched finished release
		return w.writeUnwatched()
	case 13: // a new release, or another client removing its task
		if len(w.direct) > 0 && w.rng.IntN(2) == 0 {
			i := w.rng.IntN(len(w.direct))
			r := w.direct[i]
			w.direct = slices.Delete(w.direct, i, i+1)
			if w.exists(r) {
				if err := w.h.RemoveDirect(r); err != nil {
					t.Fatal(err)
				}
			}
			return "direct remove " + r
		}
		w.latest++
		w.run(w.latest, "release", func(ctx context.Context, e *engine.Engine) error {
			_, err := e.ReleaseNew(ctx, historytest.File, true)
			return err
		})
		if !w.exists(rel(w.latest)) {
			t.Fatalf("release %s was not made", rel(w.latest))
		}
		return "new release " + rel(w.latest)
	default:
		panic(op)
	}
}

func apply(ctx context.Context, e *engine.Engine) error {
	_, err := e.Apply(ctx, engine.ApplyOptions{})
	return err
}

// run runs fn with an engine at the commit of release k.
func (w *world) run(k int, what string, fn func(context.Context, *engine.Engine) error) {
	w.t.Helper()
	var out bytes.Buffer
	if err := fn(w.ctx, w.h.Engine(k, &out, &out)); err != nil {
		w.t.Fatalf("%s at @%d: %v\n%s", what, k, err, out.String())
	}
}

// put stores v at r through the store (ocu's write path); release-level
// custom state is remembered for a later delete.
func (w *world) put(r string, v any) {
	w.t.Helper()
	if err := w.h.Put(w.ctx, r, v); err != nil {
		w.t.Fatal(err)
	}
	if strings.Contains(r, "/custom/") {
		w.made = append(w.made, r)
	}
}

// deleteAll deletes r and every document below it in one transaction.
func (w *world) deleteAll(r string) {
	w.t.Helper()
	refs, err := w.h.Store.Match(w.ctx, []string{r, r + "/**"}, false)
	if err != nil {
		w.t.Fatal(err)
	}
	tx := store.NewTx("delete " + r)
	for _, s := range refs {
		tx.Delete(parse(w.t, s), true)
	}
	if tx.Empty() {
		return
	}
	if err := w.h.Store.Commit(w.ctx, tx); err != nil {
		w.t.Fatal(err)
	}
}

// commitDocs stores docs in one transaction.
func (w *world) commitDocs(name string, docs map[string]any) {
	w.t.Helper()
	tx := store.NewTx(name)
	for r, v := range docs {
		tx.Put(parse(w.t, r), roundTrip(w.t, v))
	}
	if err := w.h.Store.Commit(w.ctx, tx); err != nil {
		w.t.Fatal(err)
	}
}

// retry returns a new chain of the build of release k.
func (w *world) retry(k int) string {
	w.chain++
	return fmt.Sprintf("%s/call/build/%d", historytest.Release(k), 10+w.chain)
}

// retryDocs are the documents of a retry of release k's build, pending:
// what `ocuroot release retry` would write, and what work continue at the
// release's commit runs.
func (w *world) retryDocs(k int, chain string) map[string]any {
	w.t.Helper()
	d, err := w.h.Store.Get(w.ctx, parse(w.t, historytest.Release(k)+"/call/build/1/functions/1"))
	if err != nil {
		w.t.Fatal(err)
	}
	var f1 state.Function
	data, err := json.Marshal(d.Value)
	if err == nil {
		err = json.Unmarshal(data, &f1)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	const now = "2026-01-05T10:00:00Z"
	inputs := state.Inputs{}
	for name, in := range f1.Current.Inputs {
		inputs[name] = state.Descriptor{Value: in.Value}
	}
	return map[string]any{
		chain:                     state.Chain{Release: historytest.Release(k), Entrypoint: chain + "/functions/1"},
		chain + "/status/pending": state.Marker{Time: now},
		chain + "/functions/1": state.Function{
			Current: state.FunctionState{Fn: f1.Current.Fn, ID: "1", Inputs: inputs, Status: state.StatusPending},
			History: []state.HistoryEntry{{Status: state.StatusPending, Time: now}},
		},
		chain + "/functions/1/status/pending": state.Marker{Time: now},
	}
}

// failedReleases are the numbered releases holding a failed marker, by a
// full walk.
func (w *world) failedReleases() []int {
	w.t.Helper()
	refs, err := w.h.Store.Match(w.ctx, []string{historytest.Package + "/@*/**/status/failed"}, false)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []int
	for _, r := range refs {
		var k int
		if _, err := fmt.Sscanf(strings.TrimPrefix(store.ReleaseFolder(r), historytest.Package+"/@"), "%d", &k); err == nil {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// writeWatched writes, as another client, new work into the latest
// release or a failed one: a retry chain, a check_envs task, or new custom
// state. Each adds an entry to a folder the release's stamp covers.
//
// Folder times come from a coarse clock (steps of a few milliseconds): the
// folder gaining the entry may have been changed last in the same tick as
// the index stamped it, and would then keep the stamped times. The racy
// rule (a stamp that recent is not trusted) covers that in use; here the
// racy window is a nanosecond so that the stamps alone are tested, and the
// folder's modification time is set to a value never given before, so the
// stamp moves whatever tick the write landed in.
func (w *world) writeWatched() string {
	t := w.t
	t.Helper()
	k, what := w.latest, "latest"
	if failed := w.failedReleases(); len(failed) > 0 && w.rng.IntN(3) > 0 {
		k, what = failed[w.rng.IntN(len(failed))], "failed"
	}
	rel := historytest.Release(k)
	var docs map[string]any
	switch w.rng.IntN(3) {
	case 0:
		docs = w.retryDocs(k, w.retry(k))
	case 1:
		r := rel + "/task/check_envs"
		if w.exists(r) {
			docs = w.retryDocs(k, w.retry(k))
			break
		}
		docs = map[string]any{r: marker()}
		w.direct = append(w.direct, r)
	default:
		w.names++
		docs = map[string]any{fmt.Sprintf("%s/custom/c%d", rel, w.names): w.names}
	}
	w.writeDirect(rel, docs, true)
	w.directs[what]++
	return fmt.Sprintf("direct write into the %s release %s: %s", what, rel, strings.Join(slices.Sorted(maps.Keys(docs)), " "))
}

// writeUnwatched writes, as another client, a retry chain into a finished
// release that is not watched, then moves the clock past MaxAge: only a
// full walk sees such a write.
func (w *world) writeUnwatched() string {
	t := w.t
	t.Helper()
	failed := w.failedReleases()
	var k int
	for range 10 {
		k = 1 + w.rng.IntN(w.latest-1)
		if _, ok := w.idx.Finished(historytest.Release(k)); ok && !slices.Contains(failed, k) {
			break
		}
	}
	chain := w.retry(k)
	w.writeDirect(historytest.Release(k), w.retryDocs(k, chain), false)
	w.clk.t = w.clk.t.Add(w.opts.MaxAge + time.Second)
	w.directs["unwatched"]++
	return "direct write into the unwatched release " + chain + ", then MaxAge"
}

// writeDirect writes docs below release folder rel as another client
// would; with mark, the folder gaining a new entry gets a modification
// time of its own (see writeWatched).
func (w *world) writeDirect(rel string, docs map[string]any, mark bool) {
	t := w.t
	t.Helper()
	refs := filepath.Join(w.h.Base, "refs")
	var parents []string
	for r := range docs {
		// The first missing folder on the way from rel down to r: its
		// parent gains the entry.
		parent := filepath.Join(refs, filepath.FromSlash(rel))
		for _, seg := range strings.Split(strings.TrimPrefix(r, rel+"/"), "/") {
			next := filepath.Join(parent, seg)
			if _, err := os.Lstat(next); err != nil {
				break
			}
			parent = next
		}
		if depth := strings.Count(strings.TrimPrefix(parent, filepath.Join(refs, filepath.FromSlash(rel))), "/"); mark && depth > 2 {
			t.Fatalf("%s: the new entry is in %s, below what a stamp covers", r, parent)
		}
		parents = append(parents, parent)
	}
	if err := w.h.WriteDirect(docs); err != nil {
		t.Fatal(err)
	}
	if !mark {
		return
	}
	for _, p := range parents {
		w.mtime = w.mtime.Add(time.Second)
		if err := os.Chtimes(p, w.mtime, w.mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) exists(r string) bool {
	w.t.Helper()
	switch _, err := w.h.Store.Get(w.ctx, parse(w.t, r)); {
	case err == nil:
		return true
	case store.CodeOf(err) == store.ENotFound:
		return false
	default:
		w.t.Fatal(err)
		return false
	}
}

func parse(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// roundTrip turns a document type into the values a store reads back.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := store.DecodeValue(data)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRacyStamps: another client adds work to a watched release (the
// latest) right after an index read it, and sets the times of the folder
// gaining the entry back to what they were, as a change within the same
// clock tick would leave them (docs/open-work.md §7). The next refresh
// still walks the release: while the folder's change time is within the
// racy window of the walk, its stamp is not trusted (the index file records
// none); once it is older, the stamp holds the change time, which cannot be
// set back.
func TestRacyStamps(t *testing.T) {
	ctx := context.Background()
	h := historytest.Open(t, 5)
	latest := historytest.Release(5)
	// A new chain of the build: call/build gains an entry. It is the
	// deepest folder a stamp covers, by its times only (not its listing).
	build := filepath.Join(h.Base, "refs", filepath.FromSlash(latest), "call", "build")
	clk := &clock{t: time.Now()}
	opts := openwork.Options{Now: clk.now, MaxAge: time.Hour}
	idx := openwork.New(opts)
	n := 0
	// write adds a pending function to the latest release as another
	// client, leaving the times of call/build as they were before.
	write := func(t *testing.T) string {
		t.Helper()
		n++
		r := fmt.Sprintf("%s/call/build/%d/functions/1/status/pending", latest, 100+n)
		before, err := os.Lstat(build)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.WriteDirect(map[string]any{r: marker()}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(build, before.ModTime(), before.ModTime()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// finish removes what write wrote, through the store: the release is
	// finished again.
	finish := func(t *testing.T, r string) {
		t.Helper()
		tx := store.NewTx("finish")
		tx.Delete(parse(t, r), false)
		if err := h.Store.Commit(ctx, tx); err != nil {
			t.Fatal(err)
		}
		check(t, idx, h.Store, 5)
		if _, ok := idx.Finished(latest); !ok {
			t.Fatalf("%s is not finished", latest)
		}
	}
	seen := func(t *testing.T, r string) {
		t.Helper()
		check(t, idx, h.Store, 5)
		if got, _ := ref.FilterGlobs(idx.Refs(), queries["pending"]); !slices.Contains(got, r) {
			t.Errorf("%s not seen: %q", r, got)
		}
		finish(t, r)
	}

	t.Run("changed within the racy window", func(t *testing.T) {
		finish(t, write(t))
		start := time.Now()
		if err := idx.Refresh(ctx, h.Store); err != nil {
			t.Fatal(err)
		}
		// A load of more than the window (a second by default) between
		// the write and the walk would make the stamp trusted; the change
		// time still moves below.
		if time.Since(start) < 500*time.Millisecond {
			if stamp := fileStamp(t, h.Base, latest); stamp != "" {
				t.Errorf("the stamp of %s, changed just before the walk, is recorded: %s", latest, stamp)
			}
		}
		seen(t, write(t))
	})
	t.Run("the same with a window of a nanosecond records a stamp", func(t *testing.T) {
		// What makes the test above fail without the racy rule: the stamp
		// is taken and trusted.
		finish(t, write(t))
		fine := openwork.New(openwork.Options{Now: clk.now, MaxAge: time.Hour, RacyWindow: time.Nanosecond, Rescan: true})
		if err := fine.Refresh(ctx, h.Store); err != nil {
			t.Fatal(err)
		}
		if fileStamp(t, h.Base, latest) == "" {
			t.Errorf("no stamp recorded for %s with a window of a nanosecond", latest)
		}
		seen(t, write(t))
	})
	t.Run("changed after a trusted stamp", func(t *testing.T) {
		// Let the folders' change times fall out of the racy window, so
		// that the next walk records a stamp and trusts it.
		time.Sleep(openwork.DefaultRacyWindow + 100*time.Millisecond)
		idx = openwork.New(opts)
		clk.t = clk.t.Add(2 * time.Hour) // a full walk: the release is walked and stamped
		if err := idx.Refresh(ctx, h.Store); err != nil {
			t.Fatal(err)
		}
		if fileStamp(t, h.Base, latest) == "" {
			t.Fatalf("no stamp recorded for %s", latest)
		}
		seen(t, write(t))
	})
}

// fileStamp returns the stamp the index file in store folder base records
// for release folder rel ("" for none).
func fileStamp(t *testing.T, base, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(base, ".ocuroot-index", "open-work"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if fields := strings.Split(line, "\t"); len(fields) >= 3 && fields[0] == rel {
			return fields[1]
		}
	}
	t.Fatalf("no line for %s in the index file:\n%s", rel, data)
	return ""
}
