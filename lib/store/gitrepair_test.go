//go:build unix

package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// deletePacks deletes every pack of the cache of s (its objects fetched
// from the remote) and returns how many there were.
func deletePacks(t *testing.T, cacheDir string) int {
	t.Helper()
	packs, err := filepath.Glob(filepath.Join(cacheDir, "repo", "objects", "pack", "pack-*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packs {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	return len(packs) / 2
}

// TestGitDamagedCache: a cache that lost a pack is fetched again, whether
// the damage shows when the store is opened or on a later read or write;
// the command goes on, with a warning.
func TestGitDamagedCache(t *testing.T) {
	tests := []struct {
		name string
		// damage prepares a remote and the cache of o, then deletes the
		// cache's packs; o.Warn is reset afterwards.
		damage func(t *testing.T, remote string, o store.GitOptions)
		// use reads or writes through the reopened store.
		use func(t *testing.T, s *store.Git) error
	}{
		{"seen at open, then read", fetchedByReader, func(t *testing.T, s *store.Git) error {
			return wantValue(t, s, "+/custom/x", "1")
		}},
		{"seen at open, then written", fetchedByReader, func(t *testing.T, s *store.Git) error {
			return s.Commit(ctx, store.NewTx("after").Put(storetest.R(t, "+/custom/y"), 2))
		}},
		{"seen by a read", fetchedUnderOwnCommit, func(t *testing.T, s *store.Git) error {
			return wantValue(t, s, "+/custom/x", "1")
		}},
		{"seen by a match", fetchedUnderOwnCommit, func(t *testing.T, s *store.Git) error {
			got, err := s.Match(ctx, []string{"+/custom/**"}, false)
			if err == nil && len(got) != 2 {
				err = fmt.Errorf("matched %q", got)
			}
			return err
		}},
		{"seen by a write", fetchedUnderOwnCommit, func(t *testing.T, s *store.Git) error {
			x := storetest.R(t, "+/custom/x")
			return s.Commit(ctx, store.NewTx("after").Expect(x, 1).Put(x, 2))
		}},
		{"seen by a history read", fetchedUnderOwnCommit, func(t *testing.T, s *store.Git) error {
			n := 0
			err := s.History(ctx, storetest.R(t, "+/custom/x"), func(store.Revision) error { n++; return nil })
			if err == nil && n != 1 {
				err = fmt.Errorf("%d revisions", n)
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := newRemote(t)
			o := gitOptions(t, remote, "state")
			tt.damage(t, remote, o)
			var warnings []string
			o.Warn = func(msg string) { warnings = append(warnings, msg) }
			s, err := store.OpenGit(ctx, o)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			if atOpen := len(warnings) == 1; atOpen != strings.HasPrefix(tt.name, "seen at open") {
				t.Fatalf("repaired at open: %v (warnings %q)", atOpen, warnings)
			}
			if err := tt.use(t, s); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("git store %s (branch state): the cache %s was damaged (git object ", remote, filepath.Join(s.CacheDir(), "repo"))
			if len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) || !strings.HasSuffix(warnings[0], ": object not found); fetched the store again") {
				t.Errorf("warnings %q, want one starting %q", warnings, want)
			}
			// The cache is whole again: a new command reads everything
			// without fetching it again.
			warnings = nil
			s2 := openGit(t, o)
			if err := wantValue(t, s2, "+/custom/x", ""); err != nil {
				t.Error(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings %q", warnings)
			}
			fsck(t, filepath.Join(s.CacheDir(), "repo"))
			fsck(t, remote)
		})
	}
}

// wantValue reads r and compares its value with want ("": any value).
func wantValue(t *testing.T, s store.Store, r string, want string) error {
	d, err := s.Get(ctx, storetest.R(t, r))
	if err != nil {
		return err
	}
	if got := fmt.Sprint(d.Value); want != "" && got != want {
		return fmt.Errorf("%s = %s, want %s", r, got, want)
	}
	return nil
}

// fetchedByReader: another writer made the store; the cache only fetched
// it, so its tip commit is in the deleted pack and opening sees the
// damage.
func fetchedByReader(t *testing.T, remote string, o store.GitOptions) {
	set(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/x", 1)
	s := openGit(t, o)
	s.Close()
	if deletePacks(t, s.CacheDir()) == 0 {
		t.Fatal("no pack in the cache")
	}
}

// fetchedUnderOwnCommit: the cache made the store and its last commit
// (loose objects); only another writer's document came in a pack, so
// opening finds the tip whole and the damage shows when that document is
// read.
func fetchedUnderOwnCommit(t *testing.T, remote string, o store.GitOptions) {
	set(t, openGit(t, o), "+/custom/a", 0)
	set(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/x", 1)
	s := openGit(t, o) // fetches x
	set(t, s, "+/custom/a", 1)
	s.Close()
	if deletePacks(t, s.CacheDir()) == 0 {
		t.Fatal("no pack in the cache")
	}
}

// TestGitDamagedCacheWithOwnCommits: a damaged cache that holds a change
// not pushed yet is left alone; the error names the store, the change and
// the way out, and following it works.
func TestGitDamagedCacheWithOwnCommits(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	set(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/x", 1)
	s := openGit(t, o)
	writeHook(t, remote, "exit 1")
	if err := s.Commit(ctx, store.NewTx("kept").Put(storetest.R(t, "+/custom/b"), 2)); store.CodeOf(err) != store.EGitPush {
		t.Fatalf("got %v, want E_GIT_PUSH", err)
	}
	writeHook(t, remote, "")
	s.Close()
	deletePacks(t, s.CacheDir())

	repo := filepath.Join(s.CacheDir(), "repo")
	_, err := store.OpenGit(ctx, o)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		fmt.Sprintf("git store %s (branch state): the cache %s is damaged (git object ", remote, repo),
		"object not found) and holds 1 commit not on the remote (refs/ocu/unpushed/…): save what you need of them with git, then delete " + s.CacheDir() + "; the next command fetches the store again",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("more than one line: %q", err)
	}
	if refs := gitCLI(t, repo, "for-each-ref", "refs/ocu/unpushed/"); refs == "" {
		t.Error("the kept change is gone")
	}
	if err := os.RemoveAll(s.CacheDir()); err != nil {
		t.Fatal(err)
	}
	if err := wantValue(t, openGit(t, o), "+/custom/x", "1"); err != nil {
		t.Error(err)
	}
}

// TestGitFailedRepairFetchesAgain: when the fetch repairing a damaged
// cache fails, the emptied cache is not taken for a fresh one: the next
// command fetches (and fails while the remote is gone, even within the
// maximum age), an offline one refuses, and once the remote is back the
// store reads whole again.
func TestGitFailedRepairFetchesAgain(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	o.MaxAge = time.Hour
	fetchedByReader(t, remote, o)
	away := remote + ".away"
	if err := os.Rename(remote, away); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenGit(ctx, o); err == nil {
		t.Fatal("open repaired the cache from a remote that is gone")
	}
	for _, offline := range []bool{false, true} {
		o := o
		o.Offline = offline
		s, err := store.OpenGit(ctx, o)
		if err == nil {
			_, gerr := s.Get(ctx, storetest.R(t, "+/custom/x"))
			s.Close()
			t.Errorf("offline %v: opened the emptied cache without fetching (get: %v)", offline, gerr)
		}
	}
	if err := os.Rename(away, remote); err != nil {
		t.Fatal(err)
	}
	if err := wantValue(t, openGit(t, o), "+/custom/x", "1"); err != nil {
		t.Error(err)
	}
}

// TestGitRepairKeepsGoingWhenAsideStays: a damaged cache set aside that
// cannot be removed (a mount point inside it) is a warning; the repair
// fetches the store again all the same.
func TestGitRepairKeepsGoingWhenAsideStays(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	fetchedByReader(t, remote, o)
	s := filepath.Join(o.Home, "stores", store.GitCacheKey(o.URL, o.Branch))
	busy := filepath.Join(s, "repo", "busy")
	if err := os.Mkdir(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", busy, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): this fault injection needs root", err)
	}
	t.Cleanup(func() {
		asides, _ := filepath.Glob(filepath.Join(s, "repo.damaged-*", "busy"))
		for _, p := range append(asides, busy) {
			unix.Unmount(p, unix.MNT_DETACH)
		}
	})
	var warnings []string
	o.Warn = func(msg string) { warnings = append(warnings, msg) }
	if err := wantValue(t, openGit(t, o), "+/custom/x", "1"); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "cannot remove the damaged cache "+filepath.Join(s, "repo.damaged-")) ||
		!strings.HasSuffix(warnings[1], "fetched the store again") {
		t.Errorf("warnings %q", warnings)
	}
}
