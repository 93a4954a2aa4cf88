//go:build linux

package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// TestReadLog: a read log records what reads consult — files read,
// lookups that found nothing, folders listed or walked — and Unchanged
// tells every kind of change to them from none; writes spoil it.
func TestReadLog(t *testing.T) {
	ctx := context.Background()
	const pkg = "example/-/app.ocu.star"
	type env struct {
		base string
		s    *store.FS
	}
	open := func(t *testing.T) env {
		base := t.TempDir()
		s, err := store.OpenFS(base, store.FSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		tx := store.NewTx("seed")
		for _, r := range []string{pkg + "/@1", pkg + "/@1/call/build/1", pkg + "/@2", "@/custom/a"} {
			tx.Put(storetest.R(t, r), 1)
		}
		if err := s.Commit(ctx, tx); err != nil {
			t.Fatal(err)
		}
		return env{base, s}
	}
	refs := func(e env, p string) string { return filepath.Join(e.base, "refs", filepath.FromSlash(p)) }
	// reads are what a run consults: a document, a lookup that finds
	// nothing, a folder listed, a walk.
	reads := func(t *testing.T, e env) {
		t.Helper()
		if _, err := e.s.Get(ctx, storetest.R(t, "@/custom/a")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Get(ctx, storetest.R(t, "@/custom/missing")); err == nil {
			t.Fatal("a missing document was found")
		}
		if _, err := e.s.Children(ctx, storetest.R(t, pkg)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Match(ctx, []string{pkg + "/@1/call/**"}, false); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		change func(t *testing.T, e env)
	}{
		{"a document rewritten in place, same bytes", func(t *testing.T, e env) {
			p := filepath.Join(refs(e, "@/custom/a"), "@object.json")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"a document where a lookup found nothing", func(t *testing.T, e env) {
			writeDoc(t, refs(e, "@/custom/missing"))
		}},
		{"a folder in a listed folder", func(t *testing.T, e env) {
			mustMkdir(t, refs(e, pkg+"/@3"))
		}},
		{"a document in a walked folder", func(t *testing.T, e env) {
			writeDoc(t, refs(e, pkg+"/@1/call/build/2"))
		}},
		{"a document removed", func(t *testing.T, e env) {
			if err := os.Remove(filepath.Join(refs(e, "@/custom/a"), "@object.json")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := open(t)
			log := store.NewReadLog()
			if !e.s.LogReads(log) {
				t.Fatal("a folder store keeps no read log")
			}
			reads(t, e)
			e.s.LogReads(nil)
			reads(t, e) // detached: not logged
			if why := log.Spoiled(); why != "" {
				t.Fatalf("spoiled by reads: %s", why)
			}
			var buf bytes.Buffer
			if _, err := log.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			saved, err := store.ParseReadLog(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if saved.Len() != log.Len() || log.Len() < 5 {
				t.Fatalf("log of %d paths, read back %d", log.Len(), saved.Len())
			}
			time.Sleep(10 * time.Millisecond) // past the file system's clock tick
			for _, l := range []*store.ReadLog{log, saved} {
				if same, err := l.Unchanged(ctx); err != nil || !same {
					t.Fatalf("unchanged store: Unchanged = %v, %v", same, err)
				}
			}
			tt.change(t, e)
			for _, l := range []*store.ReadLog{log, saved} {
				if same, err := l.Unchanged(ctx); err != nil || same {
					t.Errorf("after the change: Unchanged = %v, %v", same, err)
				}
			}
		})
	}
	t.Run("a file changed between two reads spoils it", func(t *testing.T) {
		e := open(t)
		log := store.NewReadLog()
		e.s.LogReads(log)
		reads(t, e)
		time.Sleep(10 * time.Millisecond)
		writeDoc(t, refs(e, "@/custom/a")) // another client, in place
		reads(t, e)
		if log.Spoiled() == "" {
			t.Error("a file read with two identities did not spoil the log")
		}
	})
	t.Run("a write spoils it", func(t *testing.T) {
		e := open(t)
		log := store.NewReadLog()
		e.s.LogReads(log)
		reads(t, e)
		if err := e.s.Commit(ctx, store.NewTx("w").Put(storetest.R(t, "@/custom/b"), 1)); err != nil {
			t.Fatal(err)
		}
		if log.Spoiled() == "" {
			t.Error("a write did not spoil the log")
		}
		if _, err := log.WriteTo(new(bytes.Buffer)); err == nil {
			t.Error("a spoiled log was written")
		}
	})
}

func writeDoc(t *testing.T, dir string) {
	t.Helper()
	mustMkdir(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "@object.json"), []byte(`{"kind":"ref","body":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
