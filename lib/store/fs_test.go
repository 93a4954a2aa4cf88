package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// openFS seeds a folder with files and opens it as a filesystem store.
func openFS(t *testing.T, files map[string]string) (store.Store, func(string) (string, bool)) {
	t.Helper()
	base := filepath.Join(t.TempDir(), "store")
	for p, content := range files {
		full := filepath.Join(base, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s, func(p string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(base, p))
		return string(b), err == nil
	}
}

func TestFSConformance(t *testing.T) { storetest.Run(t, openFS) }

func TestFSSymlinks(t *testing.T) {
	tmp := t.TempDir()
	base := filepath.Join(tmp, "store")
	elsewhere := filepath.Join(tmp, "elsewhere")
	mustWrite(t, filepath.Join(elsewhere, "environment/staging/@object.json"), `{"kind":"ref","body":1}`)
	mustWrite(t, filepath.Join(base, "refs/+/custom/ok/@object.json"), `{"kind":"ref","body":1}`)
	if err := os.Symlink(elsewhere, filepath.Join(base, "refs/@")); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_, err = s.Get(ctx, storetest.R(t, "@/environment/staging"))
	if store.CodeOf(err) != store.EUnsafePath || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("read through a symlink: %v", err)
	}
	err = s.Commit(ctx, store.NewTx("x").Put(storetest.R(t, "@/environment/prod"), 1))
	if store.CodeOf(err) != store.EUnsafePath {
		t.Errorf("write through a symlink: %v", err)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "environment/prod")); err == nil {
		t.Error("a write went through the symlink")
	}
	got, err := s.Match(ctx, []string{"**"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"+/custom/ok"}, got); diff != "" {
		t.Errorf("the walk followed a symlink (-want +got):\n%s", diff)
	}

	// The base itself may be a symlink.
	link := filepath.Join(tmp, "via-link")
	if err := os.Symlink(base, link); err != nil {
		t.Fatal(err)
	}
	s2, err := store.OpenFS(link, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Get(ctx, storetest.R(t, "+/custom/ok")); err != nil {
		t.Errorf("read below a symlinked base: %v", err)
	}
}

func TestFSVersion(t *testing.T) {
	const later = ": run ocuroot state migrate"
	tests := []struct {
		name  string
		files map[string]string // below the store root
		err   string
	}{
		{"v1", map[string]string{".ocuroot-store": `{"version":1}`}, ""},
		{"v1 spaced", map[string]string{".ocuroot-store": "{\"version\": 1}\n"}, ""},
		{"v2", map[string]string{".ocuroot-store": `{"version":2}`}, "written by Ocuroot 0.3.11 or later (format 2)" + later},
		{"v3", map[string]string{".ocuroot-store": `{"version":3,"Tags":{"state":{}}}`}, "written by Ocuroot 0.3.11 or later (format 3)" + later},
		{"v4", map[string]string{".ocuroot-store": `{"version":4}`}, "unsupported store format version 4 (ocu reads and writes version 1)"},
		{"string", map[string]string{".ocuroot-store": `{"version":"1"}`}, "unsupported store format version 1 (ocu reads and writes version 1)"},
		{"garbage", map[string]string{".ocuroot-store": `garbage`}, "/.ocuroot-store (ocu reads and writes version 1)"},
		{"later single store", map[string]string{
			"state/.ocuroot-store":  `{"version":3,"Tags":{"state":{}}}`,
			"intent/.ocuroot-store": `{"version":3,"Tags":{"intent":{}}}`,
		}, "state/ and intent/ written by Ocuroot 0.3.11 or later (format 3)" + later},
		{"later single store, intent only", map[string]string{"intent/.ocuroot-store": `{"version":2}`}, "state/ and intent/ written by Ocuroot 0.3.11 or later (format 2)" + later},
		{"state folder of format 1", map[string]string{"state/.ocuroot-store": `{"version":1}`}, ""},
		{"own version file wins", map[string]string{".ocuroot-store": `{"version":1}`, "state/.ocuroot-store": `{"version":3}`}, ""},
		{"empty", map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			for name, content := range tt.files {
				mustWrite(t, filepath.Join(base, name), content)
			}
			s, err := store.OpenFS(base, store.FSOptions{})
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if store.CodeOf(err) != store.EVersion || !strings.HasSuffix(err.Error(), tt.err) {
				t.Errorf("got %v, want %q", err, tt.err)
			}
		})
	}
}

func TestFSReadsNeverWrite(t *testing.T) {
	tmp := t.TempDir()
	base := filepath.Join(tmp, "missing")
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Get(ctx, storetest.R(t, "+/custom/x")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("get from a missing store: %v", err)
	}
	if got, err := s.Match(ctx, []string{"**"}, true); err != nil || len(got) != 0 {
		t.Errorf("match on a missing store: %v, %v", got, err)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("reads created the store folder: %v", err)
	}
	if err := s.Commit(ctx, store.NewTx("first").Put(storetest.R(t, "+/custom/x"), 1)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, storetest.R(t, "+/custom/x")); err != nil || got.Value.(json.Number) != "1" {
		t.Errorf("read after the first write: %v, %v", got, err)
	}
	for _, leftover := range []string{".ocuroot-journal/*.json", "refs/+/custom/x/.ocuroot-tmp-*"} {
		if m, _ := filepath.Glob(filepath.Join(base, leftover)); len(m) > 0 {
			t.Errorf("left behind: %v", m)
		}
	}
}

func TestFSRecovery(t *testing.T) {
	base := t.TempDir()
	mustWrite(t, filepath.Join(base, "refs/+/custom/old/@object.json"), `{"kind":"ref","body":"old"}`)
	// A crash after the journal became durable, before its files were written.
	mustWrite(t, filepath.Join(base, ".ocuroot-journal/00000000000000000001-1.json"),
		`{"name":"crashed","files":[{"path":"refs/+/custom/a/@object.json","content":"{\n  \"kind\": \"ref\",\n  \"body\": 1\n}"},{"path":"refs/+/custom/old/@object.json","content":null}]}`)
	// A stale temp file from a crashed writer, and a fresh one from a live one.
	stale := filepath.Join(base, ".ocuroot-journal/.ocuroot-tmp-stale")
	mustWrite(t, stale, "x")
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)

	var warnings []string
	s, err := store.OpenFS(base, store.FSOptions{Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "unfinished transaction") {
		t.Errorf("warnings = %q", warnings)
	}
	ctx := context.Background()
	// Readers never recover.
	if _, err := s.Get(ctx, storetest.R(t, "+/custom/a")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("a reader completed the transaction: %v", err)
	}
	// The next writer completes it before its own transaction.
	if err := s.Commit(ctx, store.NewTx("next").Put(storetest.R(t, "+/custom/b"), 2)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Match(ctx, []string{"+/custom/*"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"+/custom/a", "+/custom/b"}, got); diff != "" {
		t.Errorf("after recovery (-want +got):\n%s", diff)
	}
	if ents, _ := os.ReadDir(filepath.Join(base, ".ocuroot-journal")); len(ents) != 0 {
		t.Errorf("journal folder not empty: %v", ents)
	}
}

func TestFSBadJournal(t *testing.T) {
	base := t.TempDir()
	mustWrite(t, filepath.Join(base, ".ocuroot-journal/00000000000000000001-1.json"),
		`{"name":"evil","files":[{"path":"refs/../../escape/@object.json","content":"x"}]}`)
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Commit(context.Background(), store.NewTx("x").Put(storetest.R(t, "+/custom/b"), 2))
	if err == nil || !strings.Contains(err.Error(), "invalid path") {
		t.Errorf("commit with an escaping journal: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(base), "escape")); err == nil {
		t.Error("a journal wrote outside the store")
	}
}

// TestFSLockIsFlock checks that the write lock is flock(2) on .ocuroot-lock,
// so flock(1) and other processes serialise with ocu.
func TestFSLockIsFlock(t *testing.T) {
	base := t.TempDir()
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Commit(ctx, store.NewTx("x").Put(storetest.R(t, "+/custom/a"), 1)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(base, ".ocuroot-lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Commit(ctx, store.NewTx("y").Put(storetest.R(t, "+/custom/b"), 2)) }()
	select {
	case err := <-done:
		t.Fatalf("commit did not wait for the lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// openCombined seeds two filesystem stores, intent ('+') objects in the
// second, and opens them as one Combined store.
func openCombined(t *testing.T, files map[string]string) (store.Store, func(string) (string, bool)) {
	t.Helper()
	stateFiles, intentFiles := map[string]string{}, map[string]string{}
	for p, content := range files {
		if isIntentPath(p) {
			intentFiles[p] = content
		} else {
			stateFiles[p] = content
		}
	}
	state, readState := openFS(t, stateFiles)
	intent, readIntent := openFS(t, intentFiles)
	return store.NewCombined(state, intent), func(p string) (string, bool) {
		if isIntentPath(p) {
			return readIntent(p)
		}
		return readState(p)
	}
}

// isIntentPath reports whether a store path holds an intent object: a
// segment below refs/ starting with '+'.
func isIntentPath(p string) bool {
	if p == ".ocuroot-store" {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, "+") {
			return true
		}
	}
	return false
}

func TestCombinedConformance(t *testing.T) { storetest.Run(t, openCombined) }

func TestFSApplyLock(t *testing.T) {
	base := t.TempDir()
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	unlock, err := s.LockApply(ctx, 0, "pid=1 host=h since=t")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.LockApply(ctx, 0, "pid=2 host=h since=t")
	if store.CodeOf(err) != store.ELocked || !strings.HasSuffix(err.Error(), ".ocuroot-apply.lock (pid=1 host=h since=t)") {
		t.Fatalf("second lock: %v", err)
	}
	done := make(chan error)
	go func() {
		unlock2, err := s.LockApply(ctx, 5*time.Second, "")
		if err == nil {
			unlock2()
		}
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	unlock()
	if err := <-done; err != nil {
		t.Errorf("waiting for the lock: %v", err)
	}
}

// TestMatchPruning checks that globs without "**" find the same refs when
// the walk skips folders by segment as when it enters every folder.
func TestMatchPruning(t *testing.T) {
	files := map[string]string{}
	doc := `{"kind":"ref","body":{}}`
	for _, r := range []string{
		"r/-/p.ocu.star/@1", "r/-/p.ocu.star/@1/commit/c1", "r/-/p.ocu.star/@2/commit/c2",
		"r/-/p.ocu.star/@2/deploy/prod/1/status/complete", "r/-/p.ocu.star/@2/call/b/1/status/pending",
		"r/-/q/p.ocu.star/@1/commit/c1", "r/-/p.ocu.star/@1/custom/a/b",
	} {
		files["refs/"+r+"/@object.json"] = doc
	}
	s, _ := openFS(t, files)
	defer s.Close()
	for _, g := range []string{
		"r/-/p.ocu.star/@*/commit/*",
		"r/-/p.ocu.star/@2/{call,deploy}/*/*/status/*",
		"r/-/{p.ocu.star/@1,q/p.ocu.star/@1}/commit/*",
		"r/-/*/p.ocu.star/@1/commit/c1",
		"r/-/p.ocu.star/@1/custom/*/*",
		"r/-/p.ocu.star/@[12]",
	} {
		pruned, err := s.Match(context.Background(), []string{g}, false)
		if err != nil {
			t.Fatal(err)
		}
		// "**" cannot prune: next to "**/none", the walk enters every folder.
		all, err := s.Match(context.Background(), []string{g, "**/none"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(all, pruned); diff != "" || len(pruned) == 0 {
			t.Errorf("%s: pruned walk differs (-all +pruned):\n%s", g, diff)
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	tests := map[string]string{
		"**/deploy/production":          "/deploy/production",
		"**/functions/*/status/pending": "/status/pending",
		"example/-/{a,b}/@*/commit/*":   "example/-/",
		"+/custom/**":                   "+/custom/",
		"**":                            "",
		"a\\*b/c":                       "b/c",
		"x/[ab]cdefgh/y":                "cdefgh/y",
		"{long-alternative,x}/y":        "/y",
	}
	for g, want := range tests {
		if got := store.RequiredLiteral(g); got != want {
			t.Errorf("RequiredLiteral(%q) = %q, want %q", g, got, want)
		}
	}
}

// TestFSLargeTransaction writes more documents than one goroutine writes
// alone, with deletions in the same transaction.
func TestFSLargeTransaction(t *testing.T) {
	s, read := openFS(t, map[string]string{
		"refs/+/custom/old/a/@object.json":   `{"kind":"ref","body":1}`,
		"refs/+/custom/old/a/b/@object.json": `{"kind":"ref","body":2}`,
	})
	defer s.Close()
	tx := store.NewTx("large")
	tx.Delete(storetest.R(t, "+/custom/old/a/b"), false)
	for i := range 300 {
		tx.Put(storetest.R(t, fmt.Sprintf("+/custom/many/d%03d/x", i)), i)
	}
	tx.Put(storetest.R(t, "+/custom/old/a/b/c"), 3)
	if err := s.Commit(context.Background(), tx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Match(context.Background(), []string{"+/custom/**"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 302 {
		t.Errorf("%d documents, want 302", len(got))
	}
	if _, ok := read("refs/+/custom/old/a/b/@object.json"); ok {
		t.Error("the deleted document is still there")
	}
	if body, _ := read("refs/+/custom/many/d299/x/@object.json"); !strings.Contains(body, "299") {
		t.Errorf("d299: %q", body)
	}
}

func TestWalkScopes(t *testing.T) {
	got := store.WalkScopes([]string{"a/**", "a-c/*", "a/b/**", "x/y", "x/y/z/*"})
	if diff := cmp.Diff([]string{"a", "a-c", "x/y"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestFSReadersShareTheLock: one reader finishing does not release the
// shared lock while another reader of the process still reads.
func TestFSReadersShareTheLock(t *testing.T) {
	base := t.TempDir()
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Commit(context.Background(), store.NewTx("x").Put(storetest.R(t, "+/custom/a"), 1)); err != nil {
		t.Fatal(err)
	}
	unlockA, err := store.ReadLock(s)
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := store.ReadLock(s)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	f, err := os.Open(filepath.Join(base, ".ocuroot-lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
		t.Fatal("a writer got the lock while a reader still reads")
	}
	unlockA()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("the lock was not released after the last reader: %v", err)
	}
}

// TestFSRecoveryRefusesSymlinks: a journal replayed after a crash cannot
// delete through a symbolic link placed inside the store meanwhile.
func TestFSRecoveryRefusesSymlinks(t *testing.T) {
	tmp := t.TempDir()
	base, outside := filepath.Join(tmp, "store"), filepath.Join(tmp, "outside")
	mustWrite(t, filepath.Join(outside, "y/@object.json"), `{"kind":"ref","body":1}`)
	mustWrite(t, filepath.Join(base, ".ocuroot-journal/00000000000000000001-1.json"),
		`{"name":"evil","files":[{"path":"refs/+/custom/y/@object.json","content":null}]}`)
	if err := os.MkdirAll(filepath.Join(base, "refs/+"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(base, "refs/+/custom")); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Commit(context.Background(), store.NewTx("x").Put(storetest.R(t, "+/environment/z"), 1))
	if store.CodeOf(err) != store.EUnsafePath {
		t.Errorf("commit completing the journal: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "y/@object.json")); err != nil {
		t.Errorf("a file outside the store was deleted: %v", err)
	}
}

// TestFSControlFilesRefuseLinks: a symbolic link (or a FIFO) planted in
// place of a control file of the store is refused with E_UNSAFE_PATH naming
// the file, and what it points to is neither truncated, locked nor read.
func TestFSControlFilesRefuseLinks(t *testing.T) {
	ctx := context.Background()
	journal := `{"name":"evil","files":[{"path":"refs/+/custom/evil/@object.json","content":"{\"kind\":\"ref\",\"body\":1}"}]}`
	tests := []struct {
		name  string
		plant func(t *testing.T, base, victim string) // puts the link in base
		op    func(s *store.FS) error
		file  string // named in the error
	}{
		{
			name: "apply lock",
			plant: func(t *testing.T, base, victim string) {
				symlink(t, victim, filepath.Join(base, ".ocuroot-apply.lock"))
			},
			op: func(s *store.FS) error {
				unlock, err := s.LockApply(ctx, 0, "pid=1 host=h since=t")
				if err == nil {
					unlock()
				}
				return err
			},
			file: ".ocuroot-apply.lock",
		},
		{
			name:  "write lock, writer",
			plant: func(t *testing.T, base, victim string) { symlink(t, victim, filepath.Join(base, ".ocuroot-lock")) },
			op: func(s *store.FS) error {
				return s.Commit(ctx, store.NewTx("x").Put(storetest.R(t, "+/custom/a"), 1))
			},
			file: ".ocuroot-lock",
		},
		{
			name:  "write lock, reader",
			plant: func(t *testing.T, base, victim string) { symlink(t, victim, filepath.Join(base, ".ocuroot-lock")) },
			op: func(s *store.FS) error {
				_, err := s.Get(ctx, storetest.R(t, "+/custom/a"))
				return err
			},
			file: ".ocuroot-lock",
		},
		{
			name: "write lock is a FIFO",
			plant: func(t *testing.T, base, victim string) {
				if err := unix.Mkfifo(filepath.Join(base, ".ocuroot-lock"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			op: func(s *store.FS) error {
				_, err := s.Get(ctx, storetest.R(t, "+/custom/a"))
				return err
			},
			file: ".ocuroot-lock",
		},
		{
			name: "journal folder",
			plant: func(t *testing.T, base, victim string) {
				dir := filepath.Dir(victim)
				mustWrite(t, filepath.Join(dir, "00000000000000000001-1.json"), journal)
				symlink(t, dir, filepath.Join(base, ".ocuroot-journal"))
			},
			op: func(s *store.FS) error {
				return s.Commit(ctx, store.NewTx("x").Put(storetest.R(t, "+/custom/a"), 1))
			},
			file: ".ocuroot-journal",
		},
		{
			name: "journal file",
			plant: func(t *testing.T, base, victim string) {
				mustWrite(t, victim, journal)
				if err := os.MkdirAll(filepath.Join(base, ".ocuroot-journal"), 0o755); err != nil {
					t.Fatal(err)
				}
				symlink(t, victim, filepath.Join(base, ".ocuroot-journal/00000000000000000001-1.json"))
			},
			op: func(s *store.FS) error {
				return s.Commit(ctx, store.NewTx("x").Put(storetest.R(t, "+/custom/a"), 1))
			},
			file: ".ocuroot-journal/00000000000000000001-1.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			base, victim := filepath.Join(tmp, "store"), filepath.Join(tmp, "outside", "victim")
			mustWrite(t, victim, "precious")
			if err := os.MkdirAll(base, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.plant(t, base, victim)
			before := snapshot(t, filepath.Dir(victim))
			s, err := store.OpenFS(base, store.FSOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = tt.op(s)
			if store.CodeOf(err) != store.EUnsafePath || !strings.Contains(err.Error(), filepath.Join(base, tt.file)+" ") {
				t.Errorf("got %v, want E_UNSAFE_PATH naming %s", err, tt.file)
			}
			if diff := cmp.Diff(before, snapshot(t, filepath.Dir(victim))); diff != "" {
				t.Errorf("the files outside the store changed (-before +after):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(base, "refs/+/custom/evil")); err == nil {
				t.Error("a journal outside the store was applied")
			}
		})
	}

	t.Run("version file", func(t *testing.T) {
		tmp := t.TempDir()
		base, victim := filepath.Join(tmp, "store"), filepath.Join(tmp, "victim")
		mustWrite(t, victim, `{"version":1}`)
		if err := os.MkdirAll(base, 0o755); err != nil {
			t.Fatal(err)
		}
		symlink(t, victim, filepath.Join(base, ".ocuroot-store"))
		_, err := store.OpenFS(base, store.FSOptions{})
		if store.CodeOf(err) != store.EUnsafePath || !strings.Contains(err.Error(), filepath.Join(base, ".ocuroot-store")) {
			t.Errorf("got %v, want E_UNSAFE_PATH naming .ocuroot-store", err)
		}
	})
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// snapshot returns the names and contents of the files in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestFSNoWarningForWritersAtWork: a reader opening the store while another
// writer commits does not mistake that writer's journal for an unfinished
// transaction.
func TestFSNoWarningForWritersAtWork(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	writer, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	var commits atomic.Int64
	done := make(chan error)
	go func() {
		for i := range 20 {
			tx := store.NewTx("batch")
			for k := range 50 {
				tx.Put(storetest.R(t, fmt.Sprintf("+/custom/k%d", k)), i)
			}
			if err := writer.Commit(ctx, tx); err != nil {
				done <- err
				return
			}
			commits.Add(1)
		}
		done <- nil
	}()
	warnings, readers := 0, 0
	for commits.Load() < 20 {
		s, err := store.OpenFS(base, store.FSOptions{Warn: func(string) { warnings++ }})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		readers++
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if warnings > 0 {
		t.Errorf("%d of %d readers warned about the journal of a writer at work", warnings, readers)
	}
	// A journal no writer holds the lock for is left over: readers warn.
	mustWrite(t, filepath.Join(base, ".ocuroot-journal/00000000000000000001-1.json"), `{"name":"crashed","files":[]}`)
	var got []string
	s, err := store.OpenFS(base, store.FSOptions{Warn: func(m string) { got = append(got, m) }})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if want := []string{base + " has an unfinished transaction; the next write completes it"}; !cmp.Equal(want, got) {
		t.Errorf("warnings for a left-over journal: %q, want %q", got, want)
	}
}

// TestCombinedLongRef: a ref built from valid parts but longer than a ref
// may be fails the whole transaction of a split store before either part is
// written.
func TestCombinedLongRef(t *testing.T) {
	open := func(name string) store.Store {
		s, err := store.OpenFS(filepath.Join(t.TempDir(), name), store.FSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	state, intent := open("state"), open("intent")
	long := storetest.R(t, "x/-/f.ocu.star/@1")
	long.File = strings.Repeat("d/", 2000) + "f.ocu.star"
	tx := store.NewTx("long").Put(storetest.R(t, "+/custom/a"), 1).Put(long, 2)
	err := store.NewCombined(state, intent).Commit(context.Background(), tx)
	if err == nil || !strings.Contains(err.Error(), "ref longer than 4000 bytes") {
		t.Fatalf("commit: %v, want a too long ref", err)
	}
	if _, err := intent.Get(context.Background(), storetest.R(t, "+/custom/a")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("the intent part was written: %v", err)
	}
}
