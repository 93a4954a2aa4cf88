package openwork_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/internal/historytest"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// queries are the questions the engine and the view ask the index, each
// a set of globs whose answer from Refs must equal a full walk's.
var queries = map[string][]string{
	"pending":      {"**/functions/*/status/pending"},
	"running":      {"**/functions/*/status/running"},
	"tasks":        {"**/task/check_envs"},
	"intent":       {"+/environment/*", "+/custom/**", "**/+*/custom/**", "**/+/deploy/*"},
	"state":        {"@/environment/*", "@/custom/**", "**/@*/custom/**", "**/@/deploy/*"},
	"custom state": {"**/@*/custom/**"},
}

// clock is a settable time for MaxAge.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// check compares every query and the releases at the commits of releases
// 1..n between the index (refreshed first) and a full walk of st.
func check(t *testing.T, idx *openwork.Index, st store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	if err := idx.Refresh(ctx, st); err != nil {
		t.Fatal(err)
	}
	for name, globs := range queries {
		want, err := st.Match(ctx, globs, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ref.FilterGlobs(idx.Refs(), globs)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
			t.Errorf("%s (-full walk +index):\n%s", name, diff)
		}
	}
	for k := 1; k <= n; k++ {
		h := historytest.Commit(k)
		refs, err := st.Match(ctx, []string{historytest.Repo + "/-/**/@*/commit/" + h}, false)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range refs {
			want = append(want, strings.TrimSuffix(r, "/commit/"+h))
		}
		if diff := cmp.Diff(want, idx.AtCommit(historytest.Repo, h), cmpEmpty); diff != "" {
			t.Errorf("releases at the commit of @%d (-full walk +index):\n%s", k, diff)
		}
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func marker() state.Marker { return state.Marker{Time: "2026-01-01T00:00:00Z"} }

// pendingIn is the pending marker of a retried build in release k.
func pendingIn(k int) string {
	return historytest.Release(k) + "/call/build/2/functions/1/status/pending"
}

func TestIndexFollowsTheStore(t *testing.T) {
	const n = 30
	ctx := context.Background()
	h := historytest.Open(t, n)
	clk := &clock{t: time.Now()}
	opts := openwork.Options{Now: clk.now, MaxAge: time.Hour}
	idx := openwork.New(opts)

	t.Run("built by a full walk", func(t *testing.T) {
		check(t, idx, h.Store, n)
		if _, ok := idx.Finished(historytest.Release(5)); !ok {
			t.Errorf("%s is not recorded as finished", historytest.Release(5))
		}
		if _, err := os.Stat(filepath.Join(h.Base, ".ocuroot-index", "open-work")); err != nil {
			t.Errorf("index file: %v", err)
		}
	})
	t.Run("ocu's writes to old releases are seen at once", func(t *testing.T) {
		if err := h.Put(ctx, pendingIn(3), marker()); err != nil {
			t.Fatal(err)
		}
		if err := h.Put(ctx, historytest.Release(4)+"/custom/approval", "alice"); err != nil {
			t.Fatal(err)
		}
		check(t, idx, h.Store, n)
		if _, ok := idx.Finished(historytest.Release(3)); ok {
			t.Errorf("%s is still finished", historytest.Release(3))
		}
	})
	t.Run("Check takes ocu's writes from the change log without walking", func(t *testing.T) {
		check(t, idx, h.Store, n)
		rel10 := historytest.Release(10)
		if _, ok := idx.Finished(rel10); !ok {
			t.Fatalf("%s is not finished", rel10)
		}
		before := idx.Refs()
		if err := h.Put(ctx, rel10+"/custom/note", "x"); err != nil {
			t.Fatal(err)
		}
		if err := idx.Check(ctx, h.Store); err != nil {
			t.Fatal(err)
		}
		if _, ok := idx.Finished(rel10); ok {
			t.Errorf("%s is still finished after Check", rel10)
		}
		if !slices.Equal(before, idx.Refs()) {
			t.Errorf("Check changed Refs: it walked")
		}
		check(t, idx, h.Store, n) // Refresh walks it, and it is finished again
		if _, ok := idx.Finished(rel10); !ok {
			t.Errorf("%s is not finished again after Refresh", rel10)
		}
	})
	t.Run("another client's write to a finished release waits for MaxAge", func(t *testing.T) {
		if err := h.WriteDirect(map[string]any{pendingIn(5): marker()}); err != nil {
			t.Fatal(err)
		}
		if err := idx.Refresh(ctx, h.Store); err != nil {
			t.Fatal(err)
		}
		// Not walked: this is what makes the index cheap, and why it is
		// trusted for MaxAge only.
		if got, _ := ref.FilterGlobs(idx.Refs(), queries["pending"]); slices.Contains(got, pendingIn(5)) {
			t.Fatalf("the index walked finished release @5: %q", got)
		}
		clk.t = clk.t.Add(time.Hour + time.Second)
		check(t, idx, h.Store, n)
	})
	t.Run("another process reads the index file", func(t *testing.T) {
		if err := h.WriteDirect(map[string]any{pendingIn(6): marker()}); err != nil {
			t.Fatal(err)
		}
		other := openwork.New(opts)
		if err := other.Refresh(ctx, h.Store); err != nil {
			t.Fatal(err)
		}
		if got, _ := ref.FilterGlobs(other.Refs(), queries["pending"]); slices.Contains(got, pendingIn(6)) {
			t.Fatalf("a new index walked finished release @6 instead of reading the file: %q", got)
		}
		if err := h.Put(ctx, pendingIn(7), marker()); err != nil {
			t.Fatal(err)
		}
		if err := other.Refresh(ctx, h.Store); err != nil {
			t.Fatal(err)
		}
		if got, _ := ref.FilterGlobs(other.Refs(), queries["pending"]); !slices.Contains(got, pendingIn(7)) {
			t.Errorf("an ocu write after loading the file is not seen: %q", got)
		}
	})
	t.Run("rescan walks everything", func(t *testing.T) {
		check(t, openwork.New(openwork.Options{Rescan: true, Now: clk.now, MaxAge: time.Hour}), h.Store, n)
	})
	t.Run("a damaged index file is rebuilt", func(t *testing.T) {
		if err := h.WriteDirect(map[string]any{pendingIn(8): marker()}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(h.Base, ".ocuroot-index", "open-work")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for name, bad := range map[string][]byte{
			"truncated":       data[:len(data)-len(data)/3],
			"another version": append([]byte("ocu-open-work\t9\n"), data[len("ocu-open-work\t1\n"):]...),
			"empty":           nil,
		} {
			t.Run(name, func(t *testing.T) {
				if err := os.WriteFile(path, bad, 0o644); err != nil {
					t.Fatal(err)
				}
				check(t, openwork.New(opts), h.Store, n)
			})
		}
	})
	t.Run("removed work is gone", func(t *testing.T) {
		tx := store.NewTx("remove")
		for _, k := range []int{3, 5, 6, 7, 8} {
			r, err := ref.Parse(pendingIn(k))
			if err != nil {
				t.Fatal(err)
			}
			tx.Delete(r, false)
		}
		if err := h.Store.Commit(ctx, tx); err != nil {
			t.Fatal(err)
		}
		check(t, idx, h.Store, n)
		for _, k := range []int{3, 5} {
			if _, ok := idx.Finished(historytest.Release(k)); !ok {
				t.Errorf("%s is not finished again", historytest.Release(k))
			}
		}
	})
}

// TestIndexOfAnotherStore: an index file copied into another store folder
// names the store it was built for, and is rebuilt.
func TestIndexOfAnotherStore(t *testing.T) {
	ctx := context.Background()
	a, b := historytest.Open(t, 5), historytest.Open(t, 5)
	if err := openwork.New(openwork.Options{}).Refresh(ctx, a.Store); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteDirect(map[string]any{pendingIn(2): marker()}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(a.Base, ".ocuroot-index", "open-work"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(b.Base, ".ocuroot-index"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Base, ".ocuroot-index", "open-work"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	check(t, openwork.New(openwork.Options{}), b.Store, 5)
}

// TestIndexFileNotRegular: an index file that is a FIFO (or anything but a
// regular file) is not waited on: the index is rebuilt by a full walk.
func TestIndexFileNotRegular(t *testing.T) {
	ctx := context.Background()
	h := historytest.Open(t, 5)
	if err := openwork.New(openwork.Options{}).Refresh(ctx, h.Store); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteDirect(map[string]any{pendingIn(2): marker()}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(h.Base, ".ocuroot-index", "open-work")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	idx := openwork.New(openwork.Options{})
	done := make(chan error, 1)
	go func() { done <- idx.Refresh(ctx, h.Store) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		// Release the open, so that the goroutine ends with the test.
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		t.Fatal("Refresh waits for a writer of the FIFO at the index file")
	}
	check(t, idx, h.Store, 5)
}

// TestIndexFolderLeftToTheOwner: a process that does not own the store
// folder (a viewer run as root, or by another member of a group that may
// write the folder) does not create .ocuroot-index there: the folder would
// be its own, and the store's writers could no longer append to the change
// log in it, so every write of theirs would fail. It keeps its index in
// memory instead; once the folder is there, it writes its index file.
func TestIndexFolderLeftToTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a folder's owner needs root")
	}
	ctx := context.Background()
	h := historytest.Open(t, 5)
	dir := filepath.Join(h.Base, ".ocuroot-index")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(h.Base, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	idx := openwork.New(openwork.Options{})
	check(t, idx, h.Store, 5)
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("a reader that does not own the store folder created %s (%v)", dir, err)
	}
	if err := h.Put(ctx, pendingIn(2), marker()); err != nil { // a writer makes the folder
		t.Fatal(err)
	}
	check(t, idx, h.Store, 5)
	if _, err := os.Stat(filepath.Join(dir, "open-work")); err != nil {
		t.Errorf("index file not written once the folder is there: %v", err)
	}
}

// TestIndexFullWalkInTheFuture: an index whose last full walk lies ahead
// of the clock by more than MaxAge (the clock was set back, or another
// machine sharing the folder runs ahead) cannot tell how old it is: it is
// not trusted, and another client's write to an old release is found.
func TestIndexFullWalkInTheFuture(t *testing.T) {
	const n = 5
	ctx := context.Background()
	h := historytest.Open(t, n)
	clk := &clock{t: time.Now()}
	opts := openwork.Options{Now: clk.now, MaxAge: time.Hour}
	if err := openwork.New(opts).Refresh(ctx, h.Store); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteDirect(map[string]any{pendingIn(2): marker()}); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(-3 * time.Hour)
	check(t, openwork.New(opts), h.Store, n)
}

// TestIndexRemovesStaleTemps: a temporary index file a crashed writer left
// (older than an hour) is removed by the next write of the index; a recent
// one, maybe another process's being written, is left.
func TestIndexRemovesStaleTemps(t *testing.T) {
	ctx := context.Background()
	h := historytest.Open(t, 3)
	dir := filepath.Join(h.Base, ".ocuroot-index")
	if err := openwork.New(openwork.Options{}).Refresh(ctx, h.Store); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(dir, ".ocuroot-tmp-open-work-1"), filepath.Join(dir, ".ocuroot-tmp-open-work-2")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("torn"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	// A write of the index: an ocu write changes its position.
	if err := h.Put(ctx, historytest.Release(2)+"/custom/x", 1); err != nil {
		t.Fatal(err)
	}
	if err := openwork.New(openwork.Options{}).Refresh(ctx, h.Store); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temporary file: %v", err)
	}
}
