package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// mountTmpfs mounts a tmpfs of size on dir for the test, or skips it when
// mounting is not permitted.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v): this fault injection needs root", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
}

// bigBatch sets n documents of size bytes each.
func bigBatch(t *testing.T, n, size int) *store.Tx {
	tx := store.NewTx(fmt.Sprintf("set %d documents", n))
	for i := range n {
		tx.Put(storetest.R(t, fmt.Sprintf("+/custom/d%03d", i)), strings.Repeat("x", size))
	}
	return tx
}

// leftovers lists the temp files and journals left in base.
func leftovers(t *testing.T, base string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasPrefix(d.Name(), ".ocuroot-tmp-") || strings.Contains(p, ".ocuroot-journal/")) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func matchAll(t *testing.T, s store.Store) []string {
	t.Helper()
	got, err := s.Match(context.Background(), []string{"**"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestFSFullDisk: a batch that does not fit on the disk fails with one
// error and leaves nothing of itself; it can be re-run; later writes and
// deletions work.
func TestFSFullDisk(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "store")
	mountTmpfs(t, base, "2m")
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Commit(ctx, store.NewTx("keep").Put(storetest.R(t, "+/custom/keep"), "old")); err != nil {
		t.Fatal(err)
	}
	// 300 documents of 10 KB: the journal does not fit. Of 3 KB: the
	// journal fits, the documents do not. Either can be re-run.
	for _, size := range []int{10_000, 10_000, 3_000, 3_000} {
		tx := bigBatch(t, 300, size)
		tx.Put(storetest.R(t, "+/custom/keep"), "new")
		err := s.Commit(ctx, tx)
		if !errors.Is(err, unix.ENOSPC) || strings.Contains(err.Error(), "\n") || !strings.HasSuffix(err.Error(), "nothing was written") {
			t.Fatalf("%d bytes: got %q, want one line of ENOSPC", size, err)
		}
		if where := "/.ocuroot-journal/"; size < 10_000 {
			if strings.Contains(err.Error(), where) {
				t.Errorf("%d bytes: the journal did not fit: %v", size, err)
			}
		} else if !strings.Contains(err.Error(), where) {
			t.Errorf("%d bytes: the journal fit: %v", size, err)
		}
		if diff := cmp.Diff([]string{"+/custom/keep"}, matchAll(t, s)); diff != "" {
			t.Errorf("%d bytes: the failed batch is visible (-want +got):\n%s", size, diff)
		}
		if doc, err := s.Get(ctx, storetest.R(t, "+/custom/keep")); err != nil || doc.Value != "old" {
			t.Errorf("%d bytes: +/custom/keep = %v, %v; want old", size, doc.Value, err)
		}
		if l := leftovers(t, base); len(l) > 0 {
			t.Errorf("%d bytes: left behind %v", size, l)
		}
	}
	// A smaller batch fits.
	if err := s.Commit(ctx, bigBatch(t, 20, 10_000)); err != nil {
		t.Fatalf("a batch that fits: %v", err)
	}

	// With the disk full to the last byte, deleting a document still works.
	filler := filepath.Join(base, "filler")
	fill(t, filler)
	err = s.Commit(ctx, store.NewTx("set").Put(storetest.R(t, "+/custom/more"), 1))
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("write on a full disk: %v", err)
	}
	// A document with a 10 KB body fills three pages: each deletion frees
	// enough for a small journal. Fill them up again each time.
	for _, refs := range [][]string{{"+/custom/d000"}, {"+/custom/d001", "+/custom/d002", "+/custom/d003"}} {
		fill(t, filler)
		tx := store.NewTx("delete")
		for _, r := range refs {
			tx.Delete(storetest.R(t, r), false)
		}
		if err := s.Commit(ctx, tx); err != nil {
			t.Fatalf("delete %v on a full disk: %v", refs, err)
		}
		for _, r := range refs {
			if _, err := s.Get(ctx, storetest.R(t, r)); store.CodeOf(err) != store.ENotFound {
				t.Errorf("deleted document %s: %v", r, err)
			}
		}
	}
}

// fill appends to the file at path until the disk is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			return
		}
	}
}

// TestFSReadOnlyFolder: a batch with one document in a folder that cannot
// be written (a read-only bind mount) fails whole; once the folder is
// writable again, an unrelated write does not apply it.
func TestFSReadOnlyFolder(t *testing.T) {
	ctx := context.Background()
	s, _ := openFS(t, map[string]string{"refs/+/custom/ro/x/@object.json": `{"kind":"ref","body":"old"}`})
	defer s.Close()
	base := s.(*store.FS).Base()
	ro := filepath.Join(base, "refs/+/custom/ro/x")
	if err := unix.Mount(ro, ro, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind mount (%v): this fault injection needs root", err)
	}
	defer unix.Unmount(ro, unix.MNT_DETACH)
	if err := unix.Mount("", ro, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only (%v)", err)
	}
	tx := store.NewTx("three").
		Put(storetest.R(t, "+/custom/a"), 1).
		Put(storetest.R(t, "+/custom/ro/x"), "new").
		Put(storetest.R(t, "+/custom/b"), 2)
	err := s.Commit(ctx, tx)
	if !errors.Is(err, unix.EROFS) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %q, want one line of EROFS", err)
	}
	if diff := cmp.Diff([]string{"+/custom/ro/x"}, matchAll(t, s)); diff != "" {
		t.Errorf("part of the failed batch is visible (-want +got):\n%s", diff)
	}
	if err := unix.Unmount(ro, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, store.NewTx("other").Put(storetest.R(t, "+/custom/c"), 3)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"+/custom/c", "+/custom/ro/x"}, matchAll(t, s)); diff != "" {
		t.Errorf("a later write applied the failed batch (-want +got):\n%s", diff)
	}
	if doc, err := s.Get(ctx, storetest.R(t, "+/custom/ro/x")); err != nil || doc.Value != "old" {
		t.Errorf("+/custom/ro/x = %v, %v; want old", doc.Value, err)
	}
}

// TestFSRollback: a transaction failing after some of its files became
// visible is rolled back from the journal's earlier contents: created
// files go, overwritten and deleted ones come back.
func TestFSRollback(t *testing.T) {
	ctx := context.Background()
	s, read := openFS(t, map[string]string{
		".ocuroot-store":                      `{"version":1}`,
		"refs/+/custom/old/@object.json":      `{"kind":"ref","body":"old"}`,
		"refs/+/custom/gone/@object.json":     `{"kind":"ref","body":"gone"}`,
		"refs/+/custom/gone/sub/@object.json": `{"kind":"ref","body":"sub"}`,
	})
	defer s.Close()
	fs := s.(*store.FS)
	before := matchAll(t, s)
	store.FailRename(fs, func(p string) error {
		if p == "refs/+/custom/z/@object.json" {
			return &os.PathError{Op: "rename", Path: p, Err: unix.EIO}
		}
		return nil
	})
	tx := store.NewTx("four").
		Put(storetest.R(t, "+/custom/a/b"), 1).
		Put(storetest.R(t, "+/custom/old"), "new").
		Delete(storetest.R(t, "+/custom/gone"), false).
		Put(storetest.R(t, "+/custom/z"), 2)
	err := s.Commit(ctx, tx)
	if !errors.Is(err, unix.EIO) || !strings.HasSuffix(err.Error(), "nothing was written") {
		t.Fatalf("got %v", err)
	}
	if diff := cmp.Diff(before, matchAll(t, s)); diff != "" {
		t.Errorf("not rolled back (-before +after):\n%s", diff)
	}
	for p, want := range map[string]string{
		"refs/+/custom/old/@object.json":  `{"kind":"ref","body":"old"}`,
		"refs/+/custom/gone/@object.json": `{"kind":"ref","body":"gone"}`,
	} {
		if got, _ := read(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if _, ok := read("refs/+/custom/a"); ok {
		t.Error("a folder created by the failed transaction stays")
	}
	if l := leftovers(t, fs.Base()); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

// TestFSRecoveryRollsBack: a crashed transaction that cannot be completed
// is rolled back by the next writer instead of blocking the store.
func TestFSRecoveryRollsBack(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	// The crash left +/custom/a written and +/custom/old overwritten;
	// +/custom/z cannot be written.
	mustWrite(t, filepath.Join(base, ".ocuroot-store"), `{"version":1}`)
	mustWrite(t, filepath.Join(base, "refs/+/custom/a/@object.json"), `{"kind":"ref","body":1}`)
	mustWrite(t, filepath.Join(base, "refs/+/custom/old/@object.json"), `{"kind":"ref","body":"new"}`)
	mustWrite(t, filepath.Join(base, ".ocuroot-journal/00000000000000000001-1.json"), `{"name":"crashed","undo":true,"files":[`+
		`{"path":"refs/+/custom/a/@object.json","content":"{\"kind\":\"ref\",\"body\":1}"},`+
		`{"path":"refs/+/custom/old/@object.json","content":"{\"kind\":\"ref\",\"body\":\"new\"}","before":"{\"kind\":\"ref\",\"body\":\"old\"}"},`+
		`{"path":"refs/+/custom/z/@object.json","content":"{\"kind\":\"ref\",\"body\":2}"}]}`)
	var warnings []string
	s, err := store.OpenFS(base, store.FSOptions{Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	store.FailRename(s, func(p string) error {
		if strings.Contains(p, "custom/z/") {
			return unix.EIO
		}
		return nil
	})
	if err := s.Commit(ctx, store.NewTx("next").Put(storetest.R(t, "+/custom/b"), 3)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"+/custom/b", "+/custom/old"}, matchAll(t, s)); diff != "" {
		t.Errorf("after recovery (-want +got):\n%s", diff)
	}
	if doc, err := s.Get(ctx, storetest.R(t, "+/custom/old")); err != nil || doc.Value != "old" {
		t.Errorf("+/custom/old = %v, %v; want old", doc.Value, err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[1], `rolled back unfinished transaction "crashed"`) {
		t.Errorf("warnings = %q", warnings)
	}
	if l := leftovers(t, base); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

// TestLockApplyRecovers: taking the apply lock completes the transactions
// a crashed writer left in the state store and in the intent store, so the
// engine never reads half of one.
func TestLockApplyRecovers(t *testing.T) {
	ctx := context.Background()
	journal := func(p string) string {
		return `{"name":"crashed","undo":true,"files":[{"path":"refs/` + p + `/@object.json","content":"{\"kind\":\"ref\",\"body\":1}"}]}`
	}
	state, _ := openFS(t, map[string]string{".ocuroot-journal/00000000000000000001-1.json": journal("@/custom/s")})
	intent, _ := openFS(t, map[string]string{".ocuroot-journal/00000000000000000001-1.json": journal("+/custom/i")})
	c := store.NewCombined(state, intent)
	defer c.Close()
	if got := matchAll(t, c); len(got) != 0 {
		t.Fatalf("a reader completed a transaction: %v", got)
	}
	unlock, err := c.LockApply(ctx, 0, "pid=1 host=h since=t")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if diff := cmp.Diff([]string{"+/custom/i", "@/custom/s"}, matchAll(t, c)); diff != "" {
		t.Errorf("after LockApply (-want +got):\n%s", diff)
	}
	for _, s := range []store.Store{state, intent} {
		if l := leftovers(t, s.(*store.FS).Base()); len(l) > 0 {
			t.Errorf("left behind %v", l)
		}
	}
}

// TestFSSpecialFiles: an @object.json that is a FIFO, a device or larger
// than the document size limit is refused at once, by readers and by
// writers, and does not block the store.
func TestFSSpecialFiles(t *testing.T) {
	ctx := context.Background()
	s, _ := openFS(t, map[string]string{"refs/+/custom/ok/@object.json": `{"kind":"ref","body":1}`})
	defer s.Close()
	base := s.(*store.FS).Base()
	plant := map[string]func(path string) error{
		"fifo": func(p string) error { return unix.Mkfifo(p, 0o644) },
		"zero": func(p string) error { return unix.Mknod(p, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5))) },
		"big": func(p string) error {
			f, err := os.Create(p)
			if err == nil {
				err = f.Truncate(store.MaxDocumentSize + 1)
				f.Close()
			}
			return err
		},
	}
	tests := []struct{ name, want string }{
		{"fifo", "not a regular file"},
		{"zero", "not a regular file"},
		{"big", "is larger than the document size limit (64 MiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(base, "refs/+/custom", tt.name, "@object.json")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := plant[tt.name](path); errors.Is(err, unix.EPERM) {
				t.Skipf("cannot create it: %v", err)
			} else if err != nil {
				t.Fatal(err)
			}
			r := storetest.R(t, "+/custom/"+tt.name)
			_, err := s.Get(ctx, r)
			if store.CodeOf(err) != store.ECorrupt || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("get: %v, want E_CORRUPT naming %s: %s", err, path, tt.want)
			}
			err = s.Commit(ctx, store.NewTx("x").Put(r, 2).Put(storetest.R(t, "+/custom/other"), 3))
			if store.CodeOf(err) != store.ECorrupt {
				t.Errorf("overwrite: %v, want E_CORRUPT", err)
			}
			// The store is not frozen.
			if err := s.Commit(ctx, store.NewTx("x").Put(storetest.R(t, "+/custom/ok"), 2)); err != nil {
				t.Errorf("another write: %v", err)
			}
		})
	}
}

// TestFSWriteSizeLimit: a document whose stored form would exceed the
// document size limit is not written.
func TestFSWriteSizeLimit(t *testing.T) {
	s, read := openFS(t, nil)
	defer s.Close()
	err := s.Commit(context.Background(), store.NewTx("x").Put(storetest.R(t, "+/custom/huge"), strings.Repeat("x", store.MaxDocumentSize)))
	if err == nil || !strings.Contains(err.Error(), "over the document size limit (64 MiB)") {
		t.Errorf("got %v", err)
	}
	if _, ok := read("refs/+/custom/huge/@object.json"); ok {
		t.Error("written")
	}
}

// TestFSRollbackKeepsUnreadableCorrupt: a transaction replacing a corrupt
// object that cannot be read (a FIFO, a file over the size limit) and
// failing before that object was touched leaves it as it was: rollback
// restores only the files the transaction changed.
func TestFSRollbackKeepsUnreadableCorrupt(t *testing.T) {
	plant := map[string]func(path string) error{
		"fifo": func(p string) error { return unix.Mkfifo(p, 0o644) },
		"big": func(p string) error {
			f, err := os.Create(p)
			if err == nil {
				err = f.Truncate(store.MaxDocumentSize + 1)
				f.Close()
			}
			return err
		},
	}
	for _, name := range []string{"fifo", "big"} {
		t.Run(name, func(t *testing.T) {
			s, _ := openFS(t, map[string]string{".ocuroot-store": `{"version":1}`})
			defer s.Close()
			fs := s.(*store.FS)
			path := filepath.Join(fs.Base(), "refs/+/custom/bad/@object.json")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := plant[name](path); err != nil {
				t.Fatal(err)
			}
			var before unix.Stat_t
			if err := unix.Lstat(path, &before); err != nil {
				t.Fatal(err)
			}
			store.FailRename(fs, func(p string) error {
				if p == "refs/+/custom/a/@object.json" {
					return &os.PathError{Op: "rename", Path: p, Err: unix.EIO}
				}
				return nil
			})
			tx := store.NewTx("replace").
				Put(storetest.R(t, "+/custom/a"), 1).
				Put(storetest.R(t, "+/custom/bad"), 2).
				ReplacingCorrupt(func(string, error) {})
			if err := s.Commit(context.Background(), tx); !errors.Is(err, unix.EIO) || !strings.HasSuffix(err.Error(), "nothing was written") {
				t.Fatalf("got %v", err)
			}
			var after unix.Stat_t
			if err := unix.Lstat(path, &after); err != nil {
				t.Fatal(err)
			}
			if after.Ino != before.Ino || after.Mode != before.Mode || after.Size != before.Size {
				t.Errorf("the untouched corrupt object changed: mode %o size %d, was mode %o size %d", after.Mode, after.Size, before.Mode, before.Size)
			}
		})
	}
}

// TestFSFullDiskNoJournalFolder: on a disk full to the last block and
// inode, deleting documents works in a store that has no journal folder
// yet (never written by ocu).
func TestFSFullDiskNoJournalFolder(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "store")
	mountTmpfs(t, base, "2m,nr_inodes=64")
	mustWrite(t, filepath.Join(base, ".ocuroot-store"), `{"version":1}`)
	mustWrite(t, filepath.Join(base, ".ocuroot-lock"), "")
	mustWrite(t, filepath.Join(base, "refs/+/custom/a/@object.json"), `{"kind":"ref","body":"`+strings.Repeat("x", 10_000)+`"}`)
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, filepath.Join(base, "filler"))
	for i := 0; ; i++ {
		err := os.Mkdir(filepath.Join(base, fmt.Sprint("inode", i)), 0o755)
		if errors.Is(err, unix.ENOSPC) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(ctx, store.NewTx("delete").Delete(storetest.R(t, "+/custom/a"), false)); err != nil {
		t.Fatalf("delete on a full disk: %v", err)
	}
	if _, err := s.Get(ctx, storetest.R(t, "+/custom/a")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("deleted document: %v", err)
	}
}
