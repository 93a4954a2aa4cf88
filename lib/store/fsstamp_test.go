//go:build linux

package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
	"golang.org/x/sys/unix"
)

// TestStampRelease: the stamp of a release moves when another client adds
// a folder at the depths it covers (a task, a work item, a chain), and not
// for changes deeper down (docs/open-work.md §6).
func TestStampRelease(t *testing.T) {
	ctx := context.Background()
	const rel = "example/-/app.ocu.star/@3"
	for _, tc := range []struct {
		name  string
		write string // a folder created below the release, written directly
		moves bool
	}{
		{"a task", "task/check_envs", true},
		{"a deploy to a new environment", "deploy/qa/1", true},
		{"a new chain of a work item", "call/build/2", true},
		{"a marker deep in a chain", "call/build/1/functions/1/status/failed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			s, err := store.OpenFS(base, store.FSOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tx := store.NewTx("release")
			for _, r := range []string{rel, rel + "/commit/abc", rel + "/call/build/1/functions/1/status/complete", rel + "/deploy/production/1"} {
				tx.Put(storetest.R(t, r), 1)
			}
			if err := s.Commit(ctx, tx); err != nil {
				t.Fatal(err)
			}
			// Folder times have a coarse clock: let it move on.
			old := time.Now().Add(-time.Hour)
			filepath.Walk(filepath.Join(base, "refs"), func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.IsDir() {
					os.Chtimes(p, old, old)
				}
				return nil
			})
			before, err := s.StampRelease(ctx, rel)
			if err != nil || before.Sum == 0 {
				t.Fatalf("stamp: %+v, %v", before, err)
			}
			if again, _ := s.StampRelease(ctx, rel); again != before {
				t.Fatalf("the stamp of an unchanged release moved: %+v, then %+v", before, again)
			}
			if err := os.MkdirAll(filepath.Join(base, "refs", rel, tc.write), 0o755); err != nil {
				t.Fatal(err)
			}
			after, err := s.StampRelease(ctx, rel)
			if err != nil {
				t.Fatal(err)
			}
			if moved := after.Sum != before.Sum; moved != tc.moves {
				t.Errorf("stamp moved = %v, want %v", moved, tc.moves)
			}
			if tc.moves && after.Newest.Before(before.Newest) {
				t.Errorf("newest change time went back: %v, then %v", before.Newest, after.Newest)
			}
		})
	}
	t.Run("an error names the folder", func(t *testing.T) {
		base := t.TempDir()
		s, err := store.OpenFS(base, store.FSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Commit(ctx, store.NewTx("release").Put(storetest.R(t, rel+"/deploy/production/1"), 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StampRelease(ctx, rel); err != nil {
			t.Fatal(err)
		}
		// With one descriptor free below the limit (the two lowest free are
		// the numbers two opens get), the release folder opens in it and
		// its deploy folder cannot open.
		first, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		second, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		unix.Close(first)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(second)
		var lim unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		low := lim
		low.Cur = uint64(second)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
			t.Skip(err)
		}
		_, err = s.StampRelease(ctx, rel)
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
		if err == nil {
			t.Skip("free descriptors below the limit: no error to see")
		}
		if want := filepath.Join(base, "refs", rel); !strings.Contains(err.Error(), want+"/") || !errors.Is(err, unix.EMFILE) {
			t.Errorf("error %q does not name a folder in %s, or is not EMFILE", err, want)
		}
	})
	t.Run("a release that is not there", func(t *testing.T) {
		s, err := store.OpenFS(t.TempDir(), store.FSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if st, err := s.StampRelease(ctx, rel); err != nil || st.Sum != 0 {
			t.Errorf("stamp %+v, %v; want zero", st, err)
		}
	})
}
