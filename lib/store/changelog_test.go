//go:build unix

package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

const (
	frontend = "example/-/frontend/release.ocu.star"
	backend  = "example/-/backend/release.ocu.star"
)

// position returns the store's change position or fails the test.
func position(t *testing.T, s store.Indexed) string {
	t.Helper()
	pos, err := s.ChangePosition(context.Background())
	if err != nil {
		t.Fatalf("change position: %v", err)
	}
	return pos
}

// changedSince returns the releases changed since pos and the new position,
// failing the test on an error.
func changedSince(t *testing.T, s store.Indexed, pos string) ([]string, string, bool) {
	t.Helper()
	rels, now, ok, err := s.ChangedSince(context.Background(), pos)
	if err != nil {
		t.Fatalf("changed since %q: %v", pos, err)
	}
	return rels, now, ok
}

func openFSAt(t *testing.T, base string) *store.FS {
	t.Helper()
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFSChangeLog: each transaction logs the release folders it touches;
// ChangedSince from the position before it names them, and nothing from
// the position after.
func TestFSChangeLog(t *testing.T) {
	ctx := context.Background()
	s := openFSAt(t, filepath.Join(t.TempDir(), "store"))
	start := position(t, s)
	if rels, now, ok := changedSince(t, s, start); !ok || len(rels) > 0 || now != start {
		t.Fatalf("a store never written: %v %q %v, want nothing from %q", rels, now, ok, start)
	}
	tests := []struct {
		name string
		tx   *store.Tx
		want []string
	}{
		{"a release", store.NewTx("1").Put(storetest.R(t, frontend+"/@1"), 1), []string{frontend + "/@1"}},
		{"two releases, deep", store.NewTx("2").
			Put(storetest.R(t, frontend+"/@2/deploy/production/1/functions/1/status/pending"), 1).
			Put(storetest.R(t, frontend+"/@1/commit/c1"), 1).
			Put(storetest.R(t, backend+"/@12/task/t"), 1), []string{backend + "/@12", frontend + "/@1", frontend + "/@2"}},
		{"global state", store.NewTx("3").Put(storetest.R(t, "@/environment/production"), 1), nil},
		{"package level", store.NewTx("4").Put(storetest.R(t, frontend+"/@/deploy/production"), 1), nil},
		{"intent", store.NewTx("5").Put(storetest.R(t, "+/custom/x"), 1), nil},
		{"a deletion", store.NewTx("6").Delete(storetest.R(t, frontend+"/@1/commit/c1"), false), []string{frontend + "/@1"}},
		{"a hash release", store.NewTx("7").Put(storetest.R(t, backend+"/@3f2a.1/commit/c"), 1), []string{backend + "/@3f2a.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := position(t, s)
			if err := s.Commit(ctx, tt.tx); err != nil {
				t.Fatal(err)
			}
			after := position(t, s)
			rels, now, ok := changedSince(t, s, before)
			if !ok || now != after {
				t.Fatalf("ok %v, position %q; want ok and %q", ok, now, after)
			}
			if diff := cmp.Diff(tt.want, rels); diff != "" {
				t.Errorf("changed since the position before (-want +got):\n%s", diff)
			}
			if rels, now, ok := changedSince(t, s, after); !ok || len(rels) > 0 || now != after {
				t.Errorf("changed since the position after: %v %q %v", rels, now, ok)
			}
		})
	}
	rels, _, ok := changedSince(t, s, start)
	want := []string{backend + "/@12", backend + "/@3f2a.1", frontend + "/@1", frontend + "/@2"}
	if diff := cmp.Diff(want, rels); !ok || diff != "" {
		t.Errorf("changed since the start (ok %v; -want +got):\n%s", ok, diff)
	}
	other := openFSAt(t, filepath.Join(t.TempDir(), "other"))
	if err := other.Commit(ctx, store.NewTx("x").Put(storetest.R(t, frontend+"/@1"), 1)); err != nil {
		t.Fatal(err)
	}
	pos := position(t, s)
	for _, bad := range []string{"", "changes", "changes:x:1", "0123", position(t, other), strings.Replace(pos, ":", ":f", 1), pos + "0"} {
		if _, _, ok := changedSince(t, s, bad); ok {
			t.Errorf("changed since %q: ok", bad)
		}
	}
}

// logFile reads a change-log file of base.
func logFile(t *testing.T, base, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(base, ".ocuroot-index", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestFSChangeLogTornLine: a line cut short by a crash is ignored, and the
// position does not move past it; the next writer starts a line of its own.
func TestFSChangeLogTornLine(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "store")
	s := openFSAt(t, base)
	if err := s.Commit(ctx, store.NewTx("1").Put(storetest.R(t, frontend+"/@1"), 1)); err != nil {
		t.Fatal(err)
	}
	pos := position(t, s)
	appendFile(t, filepath.Join(base, ".ocuroot-index/changes"), backend+"/@7 "+backend+"/@")
	if got := position(t, s); got != pos {
		t.Errorf("position moved past a torn line: %q, was %q", got, pos)
	}
	rels, now, ok := changedSince(t, s, pos)
	if !ok || len(rels) > 0 || now != pos {
		t.Errorf("changed since, with a torn line: %v %q %v", rels, now, ok)
	}
	if err := s.Commit(ctx, store.NewTx("2").Put(storetest.R(t, frontend+"/@2"), 1)); err != nil {
		t.Fatal(err)
	}
	// The torn line reads whole now: walking its releases costs a walk, no
	// more; the new line is not merged into it.
	rels, _, ok = changedSince(t, s, pos)
	if diff := cmp.Diff([]string{backend + "/@7", frontend + "/@2"}, rels); !ok || diff != "" {
		t.Errorf("changed since, after the next write (ok %v; -want +got):\n%s", ok, diff)
	}
}

// TestFSChangeLogRecovery: recovery logs the release folders of each
// journal it applies — one a crash left, with or without its line.
func TestFSChangeLogRecovery(t *testing.T) {
	ctx := context.Background()
	journal := `{"name":"crashed","undo":true,"files":[` +
		`{"path":"refs/` + frontend + `/@4/deploy/production/@object.json","content":"{\"kind\":\"ref\",\"body\":1}"},` +
		`{"path":"refs/` + backend + `/@9/@object.json","content":null,"before":"{\"kind\":\"ref\",\"body\":2}"}]}`
	tests := []struct {
		name   string
		logged bool // a log existed before the crash
		how    func(s *store.FS) error
	}{
		{"Recover, no log yet", false, func(s *store.FS) error { return s.Recover(ctx) }},
		{"Recover", true, func(s *store.FS) error { return s.Recover(ctx) }},
		{"next commit", true, func(s *store.FS) error {
			return s.Commit(ctx, store.NewTx("next").Put(storetest.R(t, "+/custom/a"), 1))
		}},
		{"LockApply", true, func(s *store.FS) error {
			unlock, err := s.LockApply(ctx, 0, "pid=1")
			if err == nil {
				unlock()
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "store")
			mustWrite(t, filepath.Join(base, "refs/"+backend+"/@9/@object.json"), `{"kind":"ref","body":2}`)
			s := openFSAt(t, base)
			if tt.logged {
				if err := s.Commit(ctx, store.NewTx("1").Put(storetest.R(t, frontend+"/@1"), 1)); err != nil {
					t.Fatal(err)
				}
			}
			pos := position(t, s)
			mustWrite(t, filepath.Join(base, ".ocuroot-journal/00000000000000000001-1.json"), journal)
			if err := tt.how(s); err != nil {
				t.Fatal(err)
			}
			if l := leftovers(t, base); len(l) > 0 {
				t.Fatalf("journal not completed: %v", l)
			}
			rels, _, ok := changedSince(t, s, pos)
			if diff := cmp.Diff([]string{backend + "/@9", frontend + "/@4"}, rels); !ok || diff != "" {
				t.Errorf("changed since before recovery (ok %v; -want +got):\n%s", ok, diff)
			}
		})
	}
}

// TestFSChangeLogRotation: past 1 MiB the log goes on in a new file; a
// position in the previous file is still followed, one in a file that is
// gone is not.
func TestFSChangeLogRotation(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "store")
	s := openFSAt(t, base)
	commit := func(r string) {
		t.Helper()
		if err := s.Commit(ctx, store.NewTx(r).Put(storetest.R(t, r+"/commit/c"), 1)); err != nil {
			t.Fatal(err)
		}
	}
	// pad logs releases as if by many transactions, up to past 1 MiB.
	pad := func(n int) {
		t.Helper()
		var b strings.Builder
		for b.Len() <= 1<<20 {
			fmt.Fprintf(&b, "example/-/pad%d/release.ocu.star/@%d\n", n, b.Len())
		}
		appendFile(t, filepath.Join(base, ".ocuroot-index/changes"), b.String())
	}
	commit(frontend + "/@1")
	first := position(t, s)
	pad(1)
	commit(frontend + "/@2") // starts changes, changes.1 is the first file
	if !strings.Contains(logFile(t, base, "changes.1"), "example/-/pad1/") || strings.Contains(logFile(t, base, "changes"), "pad1") {
		t.Fatal("the log did not rotate")
	}
	rels, now, ok := changedSince(t, s, first)
	if !ok || now != position(t, s) || len(rels) < 1000 || !slices.Contains(rels, frontend+"/@2") || slices.Contains(rels, frontend+"/@1") {
		t.Errorf("across the rotation: %d releases, ok %v, position %q", len(rels), ok, now)
	}
	second := position(t, s)
	commit(backend + "/@1")
	pad(2)
	commit(backend + "/@2") // the first file is gone
	if _, _, ok := changedSince(t, s, first); ok {
		t.Errorf("a position in a removed file: ok")
	}
	rels, _, ok = changedSince(t, s, second)
	if !ok || len(rels) < 1000 || rels[0] != backend+"/@1" || rels[1] != backend+"/@2" {
		t.Errorf("from the previous file: %d releases, ok %v", len(rels), ok)
	}
	// From the start of the log: the first file is gone.
	if _, _, ok := changedSince(t, s, "changes:start"); ok {
		t.Errorf("from the start, the first file gone: ok")
	}
}

// TestFSChangeLogUnsafe: a symbolic link in place of the index folder
// stops writes (nothing written) and is never followed by readers.
func TestFSChangeLogUnsafe(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	base := filepath.Join(tmp, "store")
	elsewhere := filepath.Join(tmp, "elsewhere")
	if err := os.MkdirAll(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	s := openFSAt(t, base)
	if err := s.Commit(ctx, store.NewTx("1").Put(storetest.R(t, frontend+"/@1"), 1)); err != nil {
		t.Fatal(err)
	}
	pos := position(t, s)
	if err := os.Rename(filepath.Join(base, ".ocuroot-index"), filepath.Join(elsewhere, "index")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "index"), filepath.Join(base, ".ocuroot-index")); err != nil {
		t.Fatal(err)
	}
	err := s.Commit(ctx, store.NewTx("2").Put(storetest.R(t, frontend+"/@2"), 1))
	if store.CodeOf(err) != store.EUnsafePath || !strings.HasSuffix(err.Error(), "; nothing was written") {
		t.Errorf("commit with a linked index folder: %v", err)
	}
	if _, err := s.Get(ctx, storetest.R(t, frontend+"/@2")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("written anyway: %v", err)
	}
	if got := position(t, s); got != "" {
		t.Errorf("position through a link: %q", got)
	}
	if _, _, ok := changedSince(t, s, pos); ok {
		t.Errorf("changed since, through a link: ok")
	}
}

// TestFSChangeLogFullDisk: a deletion on a disk too full for the journal
// still leaves its release changed for whoever follows the log: logged, or
// the log dropped.
func TestFSChangeLogFullDisk(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "store")
	mountTmpfs(t, base, "2m,nr_inodes=64")
	s := openFSAt(t, base)
	if err := s.Commit(ctx, store.NewTx("1").Put(storetest.R(t, frontend+"/@1/custom/big"), strings.Repeat("x", 10_000))); err != nil {
		t.Fatal(err)
	}
	pos := position(t, s)
	fill(t, filepath.Join(base, "filler"))
	for i := 0; ; i++ {
		err := os.Mkdir(filepath.Join(base, fmt.Sprint("inode", i)), 0o755)
		if errors.Is(err, unix.ENOSPC) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(ctx, store.NewTx("delete").Delete(storetest.R(t, frontend+"/@1/custom/big"), false)); err != nil {
		t.Fatalf("delete on a full disk: %v", err)
	}
	rels, _, ok := changedSince(t, s, pos)
	t.Logf("changed since before the deletion: %v, ok %v", rels, ok)
	if ok && !cmp.Equal(rels, []string{frontend + "/@1"}) {
		t.Errorf("changed since before the deletion: %v, ok", rels)
	}
}

func TestFSIndexInfo(t *testing.T) {
	tmp := t.TempDir()
	missing := openFSAt(t, filepath.Join(tmp, "missing"))
	if got := missing.IndexInfo(); got.Path != "" || got.AllWriters {
		t.Errorf("a store folder that does not exist: %+v", got)
	}
	var st unix.Stat_t
	if err := unix.Stat(tmp, &st); err != nil {
		t.Fatal(err)
	}
	want := store.IndexInfo{
		Path:     filepath.Join(tmp, ".ocuroot-index/open-work"),
		Identity: fmt.Sprintf("fs:%s:%d:%d", tmp, st.Dev, st.Ino),
	}
	if diff := cmp.Diff(want, openFSAt(t, tmp).IndexInfo()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// notIndexed hides the Indexed methods of a store.
type notIndexed struct{ store.Store }

// TestCombinedIndexed: a combined store follows its state store; the
// intent store is matched in full.
func TestCombinedIndexed(t *testing.T) {
	ctx := context.Background()
	state := openFSAt(t, filepath.Join(t.TempDir(), "state"))
	intent := openFSAt(t, filepath.Join(t.TempDir(), "intent"))
	skip := func(r string) bool { return r == frontend+"/@1" }
	tests := []struct {
		name    string
		c       *store.Combined
		indexed bool
	}{
		{"two stores", store.NewCombined(state, intent), true},
		{"one store", store.NewCombined(state, nil), true},
		{"state store not Indexed", store.NewCombined(notIndexed{state}, intent), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := position(t, tt.c)
			tx := store.NewTx("x").
				Put(storetest.R(t, frontend+"/@1/commit/c"), i).
				Put(storetest.R(t, frontend+"/@2/commit/c"), i).
				Put(storetest.R(t, "+/custom/"+strings.ReplaceAll(tt.name, " ", "-")), 1)
			if err := tt.c.Commit(ctx, tx); err != nil {
				t.Fatal(err)
			}
			got, err := tt.c.MatchSkipping(ctx, []string{"**/commit/*", "+/custom/*"}, skip)
			if err != nil {
				t.Fatal(err)
			}
			all, _ := tt.c.Match(ctx, []string{"**/commit/*", "+/custom/*"}, false)
			var want []string
			for _, r := range all {
				if !strings.HasPrefix(r, frontend+"/@1/") {
					want = append(want, r)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" || len(want) < 2 {
				t.Errorf("MatchSkipping (-want +got):\n%s", diff)
			}
			rels, _, ok := changedSince(t, tt.c, before)
			if !tt.indexed {
				if before != "" || ok || tt.c.IndexInfo() != (store.IndexInfo{}) {
					t.Errorf("not Indexed: position %q, ok %v, info %+v", before, ok, tt.c.IndexInfo())
				}
				return
			}
			if diff := cmp.Diff([]string{frontend + "/@1", frontend + "/@2"}, rels); !ok || diff != "" {
				t.Errorf("changed since (ok %v; -want +got):\n%s", ok, diff)
			}
			if tt.c.IndexInfo() != state.IndexInfo() {
				t.Errorf("index info %+v, want the state store's %+v", tt.c.IndexInfo(), state.IndexInfo())
			}
		})
	}
}

// TestFSChangeLogDropped: when a transaction is applied without its line
// (a disk too full to hold it), no position in the log is followed any
// more, not even its start; the next writer starts a log that works again.
func TestFSChangeLogDropped(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, s *store.FS, base string)
	}{
		{"a log", func(t *testing.T, s *store.FS, base string) {}},
		{"a rotated log", func(t *testing.T, s *store.FS, base string) {
			appendFile(t, filepath.Join(base, ".ocuroot-index/changes"), strings.Repeat(frontend+"/@1\n", 1<<20/40))
			if err := s.Commit(ctx, store.NewTx("2").Put(storetest.R(t, frontend+"/@2"), 1)); err != nil {
				t.Fatal(err)
			}
		}},
		{"no log file", func(t *testing.T, s *store.FS, base string) {
			os.Remove(filepath.Join(base, ".ocuroot-index/changes"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "store")
			s := openFSAt(t, base)
			if err := s.Commit(ctx, store.NewTx("1").Put(storetest.R(t, frontend+"/@1"), 1)); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, s, base)
			pos := position(t, s)
			store.DropLog(s)
			for _, p := range []string{pos, "changes:start", position(t, s)} {
				if _, _, ok := changedSince(t, s, p); ok {
					t.Errorf("changed since %q after the log was dropped: ok", p)
				}
			}
			if err := s.Commit(ctx, store.NewTx("3").Put(storetest.R(t, backend+"/@1"), 1)); err != nil {
				t.Fatal(err)
			}
			after := position(t, s)
			if _, _, ok := changedSince(t, s, "changes:start"); ok {
				t.Errorf("changed since the start of a dropped log: ok")
			}
			if err := s.Commit(ctx, store.NewTx("4").Put(storetest.R(t, backend+"/@2"), 1)); err != nil {
				t.Fatal(err)
			}
			rels, _, ok := changedSince(t, s, after)
			if diff := cmp.Diff([]string{backend + "/@2"}, rels); !ok || diff != "" {
				t.Errorf("the log after the drop (ok %v; -want +got):\n%s", ok, diff)
			}
		})
	}
}

// TestFSChangeLogDroppedNoFile: a log that cannot be emptied in place (no
// file could be created there) takes the index with it.
func TestFSChangeLogDroppedNoFile(t *testing.T) {
	base := filepath.Join(t.TempDir(), "store")
	s := openFSAt(t, base)
	mustWrite(t, filepath.Join(base, ".ocuroot-index/open-work"), "index")
	if err := os.Mkdir(filepath.Join(base, ".ocuroot-index/changes"), 0o755); err != nil {
		t.Fatal(err)
	}
	store.DropLog(s)
	if _, err := os.Stat(filepath.Join(base, ".ocuroot-index/open-work")); err == nil {
		t.Errorf("the index survived")
	}
	if got := position(t, s); got != "" {
		t.Errorf("position of a log that is a folder: %q", got)
	}
}
