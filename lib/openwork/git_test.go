//go:build linux

package openwork_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/internal/historytest"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// git runs the git binary in dir with an environment of its own: no user
// or system configuration, an empty home, a fixed author.
func git(t *testing.T, home, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=cli", "GIT_AUTHOR_EMAIL=cli@example.com",
		"GIT_COMMITTER_NAME=cli", "GIT_COMMITTER_EMAIL=cli@example.com",
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// gitMarker is the file of a marker in a git store's tree.
func gitMarker(r string) (path, content string) {
	return gitDoc(r, marker())
}

// gitDoc is the file of document r holding body in a git store's tree.
func gitDoc(r string, body any) (path, content string) {
	data, err := json.Marshal(map[string]any{"kind": "ref", "body": body})
	if err != nil {
		panic(err) // bodies are plain values
	}
	return "refs/" + r + "/@object.json", string(data)
}

// gitReleases are the documents of finished releases from..to: the
// release, the commit it was made at, a complete build.
func gitReleases(from, to int) map[string]any {
	docs := map[string]any{}
	for k := from; k <= to; k++ {
		rel := historytest.Release(k)
		docs[rel] = map[string]any{"commit": historytest.Commit(k)}
		docs[rel+"/commit/"+historytest.Commit(k)] = map[string]any{}
		docs[rel+"/call/build/1/functions/1/status/complete"] = marker()
	}
	return docs
}

// gitRemote is a bare repository with branch state, a git store of it and
// the git CLI of another client.
type gitRemote struct {
	home   string // the git CLI's
	remote string
	opts   store.GitOptions
}

func newGitRemote(t *testing.T) *gitRemote {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git binary is needed for a local git remote")
	}
	g := &gitRemote{home: t.TempDir(), remote: filepath.Join(t.TempDir(), "remote.git")}
	git(t, g.home, "", "init", "-q", "--bare", "-b", "main", g.remote)
	g.opts = store.GitOptions{
		URL: g.remote, Branch: "state", CreateBranch: true, Home: filepath.Join(t.TempDir(), "ocuroot"),
		Warn: func(msg string) { t.Logf("warning: %s", msg) },
	}
	return g
}

// open opens the git store with options o, closed when t ends.
func (g *gitRemote) open(t *testing.T, o store.GitOptions) *store.Git {
	t.Helper()
	s, err := store.OpenGit(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// commit stores docs in s in one transaction (ocu's write path).
func (g *gitRemote) commit(t *testing.T, s store.Store, docs map[string]any) {
	t.Helper()
	tx := store.NewTx("test")
	for r, v := range docs {
		tx.Put(parse(t, r), roundTrip(t, v))
	}
	if err := s.Commit(context.Background(), tx); err != nil {
		t.Fatal(err)
	}
}

// push commits files (path → content; "" removes) on branch state with
// the git CLI in a fresh clone, and pushes it.
func (g *gitRemote) push(t *testing.T, files map[string]string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	git(t, g.home, "", "clone", "-q", "-b", "state", g.remote, work)
	for p, content := range files {
		full := filepath.Join(work, filepath.FromSlash(p))
		if content == "" {
			git(t, g.home, work, "rm", "-q", "-r", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, g.home, work, "add", "-A")
	git(t, g.home, work, "commit", "-q", "-m", "by hand")
	git(t, g.home, work, "push", "-q", "origin", "HEAD:refs/heads/state")
}

// TestGitIndex: an index of a git store follows every writer through the
// tree diff (no MaxAge): ocu's transactions, commits pushed by the git CLI
// of another client, and a rewritten history whose old tip the cache does
// not hold (a full walk). The index file lives in the store's cache.
func TestGitIndex(t *testing.T) {
	const n = 6
	ctx := context.Background()
	g := newGitRemote(t)
	opts, home, remote := g.opts, g.home, g.remote
	open, commit, push := g.open, g.commit, g.push
	pendingRefs := func(idx *openwork.Index) []string {
		got, err := ref.FilterGlobs(idx.Refs(), queries["pending"])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	s := open(t, opts)
	docs := gitReleases(1, n)
	docs[historytest.Release(n)+"/custom/approval"] = "alice"
	commit(t, s, docs)
	idx := openwork.New(openwork.Options{})
	indexFile := filepath.Join(s.CacheDir(), "open-work")

	t.Run("built by a full walk, kept in the cache", func(t *testing.T) {
		check(t, idx, s, n)
		if !strings.HasPrefix(s.CacheDir(), filepath.Join(opts.Home, "stores")+"/") {
			t.Errorf("cache %s is not below %s/stores", s.CacheDir(), opts.Home)
		}
		if _, err := os.Stat(indexFile); err != nil {
			t.Fatalf("index file: %v", err)
		}
		for k := 1; k <= n; k++ {
			if _, ok := idx.Finished(historytest.Release(k)); !ok {
				t.Errorf("%s is not finished", historytest.Release(k))
			}
		}
	})
	t.Run("ocu's write to an old release", func(t *testing.T) {
		commit(t, s, map[string]any{pendingIn(2): marker()})
		check(t, idx, s, n)
		if got := pendingRefs(idx); !slices.Contains(got, pendingIn(2)) {
			t.Errorf("pending %q, want %s", got, pendingIn(2))
		}
	})
	t.Run("another client's push to an old release", func(t *testing.T) {
		p, c := gitMarker(pendingIn(3))
		push(t, map[string]string{p: c})
		open(t, opts) // another command fetches into the cache
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, idx, s, n)
		if got := pendingRefs(idx); !slices.Contains(got, pendingIn(3)) {
			t.Errorf("pending %q, want %s", got, pendingIn(3))
		}
		// Removed by hand as well: the release is finished again.
		push(t, map[string]string{p: ""})
		s = open(t, opts) // a store opened again
		check(t, idx, s, n)
		if _, ok := idx.Finished(historytest.Release(3)); !ok {
			t.Errorf("%s is not finished again", historytest.Release(3))
		}
	})
	t.Run("another process reads the index file", func(t *testing.T) {
		data, err := os.ReadFile(indexFile)
		if err != nil {
			t.Fatal(err)
		}
		// A line changed by hand shows that the file is read, not rebuilt:
		// release @4 is not walked, so what the file says it keeps is
		// answered.
		line := historytest.Release(4) + "\t\t\tcommit/" + historytest.Commit(4)
		if !strings.Contains(string(data), line+"\n") {
			t.Fatalf("no line %q in the index file:\n%s", line, data)
		}
		forged := strings.Replace(string(data), line+"\n", line+"\tcustom/fromfile\n", 1)
		if err := os.WriteFile(indexFile, []byte(forged), 0o644); err != nil {
			t.Fatal(err)
		}
		other := openwork.New(openwork.Options{})
		if err := other.Refresh(ctx, s); err != nil {
			t.Fatal(err)
		}
		if want := historytest.Release(4) + "/custom/fromfile"; !slices.Contains(other.Refs(), want) {
			t.Errorf("a new index does not answer from the file: %q lacks %s", other.Refs(), want)
		}
		if err := os.WriteFile(indexFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
		check(t, openwork.New(openwork.Options{}), s, n)
	})
	t.Run("a rewritten history", func(t *testing.T) {
		before, err := os.ReadFile(indexFile) // its position is the old tip
		if err != nil {
			t.Fatal(err)
		}
		// The git CLI replaces the branch with one commit of another tree:
		// a pending marker in @5, the custom state of @6 removed.
		work := filepath.Join(t.TempDir(), "work")
		git(t, home, "", "clone", "-q", "-b", "state", remote, work)
		git(t, home, work, "checkout", "-q", "--orphan", "rewritten")
		p, c := gitMarker(pendingIn(5))
		if err := os.MkdirAll(filepath.Join(work, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(work, "refs", filepath.FromSlash(historytest.Release(n)), "custom")); err != nil {
			t.Fatal(err)
		}
		git(t, home, work, "add", "-A")
		git(t, home, work, "commit", "-q", "-m", "rewritten")
		git(t, home, work, "push", "-q", "--force", "origin", "HEAD:refs/heads/state")

		t.Run("a cache that holds the old tip", func(t *testing.T) {
			check(t, idx, open(t, opts), n)
			if got := pendingRefs(idx); !slices.Contains(got, pendingIn(5)) {
				t.Errorf("pending %q, want %s", got, pendingIn(5))
			}
		})
		t.Run("a cache that never saw it", func(t *testing.T) {
			// Another home: a cache that fetched the rewritten branch only,
			// given the index file of before the rewrite. Its position
			// cannot be followed: a full walk.
			o := opts
			o.Home = filepath.Join(t.TempDir(), "ocuroot")
			fresh := open(t, o)
			if err := os.WriteFile(filepath.Join(fresh.CacheDir(), "open-work"), before, 0o644); err != nil {
				t.Fatal(err)
			}
			other := openwork.New(openwork.Options{})
			check(t, other, fresh, n)
			if got := pendingRefs(other); !slices.Contains(got, pendingIn(5)) {
				t.Errorf("pending %q, want %s", got, pendingIn(5))
			}
			if got, _ := ref.FilterGlobs(other.Refs(), queries["custom state"]); len(got) > 0 {
				t.Errorf("custom state of the old history: %q", got)
			}
		})
	})
}

// TestGitIndexEquivalence: a seeded random sequence of writes to a git
// store, by ocu (transactions) and by another client's git CLI (pushes,
// then a store opened again), after each of which a long-lived index and a
// fresh one reading the index file answer like a full walk. No clock is
// moved: the tree diff sees every writer.
func TestGitIndexEquivalence(t *testing.T) {
	const releases, steps = 12, 16
	ctx := context.Background()
	g := newGitRemote(t)
	s := g.open(t, g.opts)
	g.commit(t, s, gitReleases(1, releases))
	latest := releases
	rng := rand.New(rand.NewPCG(7, 0x676974))
	idx := openwork.New(openwork.Options{})
	check(t, idx, s, latest)
	// open are the open markers and custom state in the store.
	open := func() []string {
		refs, err := s.Match(ctx, slices.Concat(queries["pending"], queries["tasks"], queries["custom state"], []string{"+/custom/**"}), false)
		if err != nil {
			t.Fatal(err)
		}
		return refs
	}
	var log []string
	for step := range steps {
		k := 1 + rng.IntN(latest)
		var r string
		switch rng.IntN(3) {
		case 0:
			r = fmt.Sprintf("%s/call/build/%d/functions/1/status/pending", historytest.Release(k), 2+rng.IntN(3))
		case 1:
			r = historytest.Release(k) + "/task/check_envs"
		default:
			r = fmt.Sprintf("%s/custom/c%d", historytest.Release(k), rng.IntN(3))
		}
		var what string
		switch op := rng.IntN(5); {
		case op == 0:
			g.commit(t, s, map[string]any{r: marker()})
			what = "ocu put " + r
		case op == 1 && len(open()) > 0:
			refs := open()
			r = refs[rng.IntN(len(refs))]
			tx := store.NewTx("delete")
			tx.Delete(parse(t, r), false)
			if err := s.Commit(ctx, tx); err != nil {
				t.Fatal(err)
			}
			what = "ocu delete " + r
		case op == 2:
			p, c := gitMarker(r)
			g.push(t, map[string]string{p: c})
			s = g.open(t, g.opts)
			what = "cli push " + r
		case op == 3 && len(open()) > 0:
			refs := open()
			r = refs[rng.IntN(len(refs))]
			g.push(t, map[string]string{"refs/" + r: ""})
			s = g.open(t, g.opts)
			what = "cli remove " + r
		default:
			latest++
			files := map[string]string{}
			for r, body := range gitReleases(latest, latest) {
				p, c := gitDoc(r, body)
				files[p] = c
			}
			g.push(t, files)
			s = g.open(t, g.opts)
			what = "cli push release " + historytest.Release(latest)
		}
		log = append(log, fmt.Sprintf("%d: %s", step, what))
		check(t, idx, s, latest)
		check(t, openwork.New(openwork.Options{}), s, latest)
		if t.Failed() {
			t.Fatalf("after the steps:\n%s", strings.Join(log, "\n"))
		}
	}
}
