//go:build unix

package store_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// TestGitChangedSince: the release folders that differ between a commit
// and the tip reads see, whoever wrote them: the store itself, or another
// client pushing with the git CLI.
func TestGitChangedSince(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	s := openGit(t, o)
	if pos := position(t, s); pos != "" {
		t.Fatalf("position of an empty branch: %q", pos)
	}
	set(t, s, frontend+"/@1", 1)
	first := position(t, s)
	if first != s.Tip() || first == "" {
		t.Fatalf("position %q, tip %q", first, s.Tip())
	}
	if rels, now, ok := changedSince(t, s, first); !ok || len(rels) > 0 || now != first {
		t.Errorf("changed since the tip: %v %q %v", rels, now, ok)
	}
	err := s.Commit(ctx, store.NewTx("store").
		Put(storetest.R(t, frontend+"/@2/deploy/production/1/functions/1/status/pending"), 1).
		Put(storetest.R(t, frontend+"/@2/deploy/staging"), 1).
		Put(storetest.R(t, "@/environment/production"), 1).
		Put(storetest.R(t, frontend+"/@/deploy/production"), 1).
		Put(storetest.R(t, "+/custom/x"), 1))
	if err != nil {
		t.Fatal(err)
	}
	second := position(t, s)
	rels, now, ok := changedSince(t, s, first)
	if diff := cmp.Diff([]string{frontend + "/@2"}, rels); !ok || now != second || diff != "" {
		t.Errorf("after a commit of the store (ok %v, position %q; -want +got):\n%s", ok, now, diff)
	}
	doc := `{"kind":"ref","body":2}`
	pushFiles(t, remote, "state", map[string]*string{
		"refs/" + frontend + "/@1/@object.json":                                                &doc,
		"refs/" + frontend + "/@2/deploy/production/1/functions/1/status/pending/@object.json": nil,
		"refs/" + backend + "/@1/commit/c/@object.json":                                        &doc,
		"refs/" + backend + "/@2/@object.json":                                                 &doc,
		"refs/@/custom/y/@object.json":                                                         &doc,
		"refs/" + backend + "/@/deploy/staging/@object.json":                                   &doc,
		"README.md": &doc,
	}, "cli")
	openGit(t, o) // another command fetches
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	third := position(t, s)
	if third == second {
		t.Fatal("the push was not seen")
	}
	want := []string{backend + "/@1", backend + "/@2", frontend + "/@1", frontend + "/@2"}
	rels, now, ok = changedSince(t, s, second)
	if diff := cmp.Diff(want, rels); !ok || now != third || diff != "" {
		t.Errorf("after a push by the git CLI (ok %v, position %q; -want +got):\n%s", ok, now, diff)
	}
	rels, _, ok = changedSince(t, s, first)
	if diff := cmp.Diff(want, rels); !ok || diff != "" {
		t.Errorf("across both (ok %v; -want +got):\n%s", ok, diff)
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("0", 40), strings.Repeat("1", 40), first[:12], "changes:start"} {
		if _, _, ok := changedSince(t, s, bad); ok {
			t.Errorf("changed since %q: ok", bad)
		}
	}
}

func TestGitIndexInfo(t *testing.T) {
	remote := newRemote(t)
	s := openGit(t, gitOptions(t, remote, "state"))
	want := store.IndexInfo{
		Path:       filepath.Join(s.CacheDir(), "open-work"),
		Identity:   "git:" + remote + "#state",
		AllWriters: true,
	}
	if diff := cmp.Diff(want, s.IndexInfo()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
