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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

var ctx = context.Background()

func set(t testing.TB, s store.Store, r string, v any) {
	t.Helper()
	if err := s.Commit(ctx, store.NewTx("set "+r).Put(storetest.R(t, r), v)); err != nil {
		t.Fatalf("set %s: %v", r, err)
	}
}

func value(t testing.TB, s store.Store, r string) any {
	t.Helper()
	d, err := s.Get(ctx, storetest.R(t, r))
	if err != nil {
		t.Fatalf("get %s: %v", r, err)
	}
	return d.Value
}

// remoteLog is the log of branch in remote: one "subject" per commit,
// newest first.
func remoteLog(t testing.TB, remote, branch string) []string {
	t.Helper()
	out := strings.TrimSpace(gitCLI(t, remote, "log", "--format=%s", branch))
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

func fsck(t testing.TB, repo string) {
	t.Helper()
	gitCLI(t, repo, "fsck", "--strict", "--no-dangling")
}

func TestGitWriteFormat(t *testing.T) {
	remote := newRemote(t)
	opts := gitOptions(t, remote, "state")
	opts.SupportFiles = map[string]string{"support.txt": "state", "docs/README.md": "# state"}
	opts.AuthorName, opts.AuthorEmail = "CI bot", "ci@example.com"
	opts.Mask = func(s string) string { return strings.ReplaceAll(s, "s3cr3t", "<secret>") }
	s := openGit(t, opts)
	if s.Tip() != "" {
		t.Errorf("tip of a missing branch = %q", s.Tip())
	}
	// A read-only command never creates the branch.
	if _, err := s.Get(ctx, storetest.R(t, "+/custom/x")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("get on a missing branch: %v", err)
	}
	if err := s.Commit(ctx, store.NewTx("nothing").Delete(storetest.R(t, "+/custom/x"), true)); err != nil {
		t.Fatal(err)
	}
	if got := remoteLog(t, remote, "--all"); len(got) != 0 {
		t.Fatalf("a transaction changing nothing made commits %q", got)
	}

	if err := s.Commit(ctx, store.NewTx("release s3cr3t").
		Put(storetest.R(t, "example/-/f.ocu.star/@1"), map[string]any{"commit": "c1"}).
		Link(storetest.R(t, "example/-/f.ocu.star/@v1"), storetest.R(t, "example/-/f.ocu.star/@1"))); err != nil {
		t.Fatal(err)
	}
	set(t, s, "+/custom/x", "1")

	if diff := cmp.Diff([]string{"ocu: set +/custom/x", "ocu: release <secret>", "ocu: create store"}, remoteLog(t, remote, "state")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	bodies := gitCLI(t, remote, "log", "--format=%an <%ae>|%cn <%ce>%n%b--", "state")
	wantBodies := "CI bot <ci@example.com>|CI bot <ci@example.com>\nset +/custom/x\n--\n" +
		"CI bot <ci@example.com>|CI bot <ci@example.com>\nset example/-/f.ocu.star/@1\nlink example/-/f.ocu.star/@v1 -> example/-/f.ocu.star/@1\n--\n" +
		"CI bot <ci@example.com>|CI bot <ci@example.com>\nversion 1\nsupport docs/README.md\nsupport support.txt\n--\n"
	if diff := cmp.Diff(wantBodies, strings.ReplaceAll(bodies, "\n\n", "\n")); diff != "" {
		t.Errorf("commit identities and bodies (-want +got):\n%s", diff)
	}
	files := map[string]string{".ocuroot-store": `{"version":1}`, "support.txt": "state", "docs/README.md": "# state"}
	for p, want := range files {
		if got, _ := readRemote(t, remote, "state", p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if got := gitCLI(t, remote, "rev-list", "--max-parents=0", "state"); strings.Count(got, "\n") != 1 {
		t.Errorf("root commits: %q", got)
	}
	fsck(t, remote)
	fsck(t, filepath.Join(s.CacheDir(), "repo"))

	// The cache: a bare repository and meta.json, no work tree, no remote
	// URL in its config, keyed by URL and configured branch.
	home := filepath.Dir(filepath.Dir(s.CacheDir()))
	if filepath.Base(s.CacheDir()) != store.GitCacheKey(remote, "state") || len(store.GitCacheKey(remote, "state")) != 16 {
		t.Errorf("cache folder %s", s.CacheDir())
	}
	filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "@object.json" {
			t.Errorf("work tree file %s in the cache", p)
		}
		return nil
	})
	if cfg, _ := os.ReadFile(filepath.Join(s.CacheDir(), "repo", "config")); strings.Contains(string(cfg), remote) {
		t.Errorf("the cache config names the remote:\n%s", cfg)
	}
	if _, err := os.Stat(filepath.Join(s.CacheDir(), "meta.json")); err != nil {
		t.Error(err)
	}
}

func TestGitReadsCLIPushes(t *testing.T) {
	remote := newRemote(t)
	pushFiles(t, remote, "intent", strs(map[string]string{
		".ocuroot-store":                     `{"version":1}`,
		"refs/+/custom/fromcli/@object.json": `{"kind":"ref","body":"hi"}`,
	}), "by hand")
	s := openGit(t, gitOptions(t, remote, "intent"))
	if diff := cmp.Diff("hi", value(t, s, "+/custom/fromcli")); diff != "" {
		t.Error(diff)
	}
	// The git CLI pushes after the store was opened: a write replays on
	// top and keeps the CLI's commit.
	pushFiles(t, remote, "intent", strs(map[string]string{
		"refs/+/custom/second/@object.json": `{"kind":"ref","body":2}`,
	}), "second by hand")
	set(t, s, "+/custom/mine", "m")
	if diff := cmp.Diff([]string{"ocu: set +/custom/mine", "second by hand", "by hand"}, remoteLog(t, remote, "intent")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	// The write moved the store to the new tip: both are visible.
	if v := value(t, s, "+/custom/second"); fmt.Sprint(v) != "2" {
		t.Errorf("second = %v", v)
	}
	fsck(t, remote)

	// A fresh command sees everything.
	s2 := openGit(t, gitOptions(t, remote, "intent"))
	got, err := s2.Match(ctx, []string{"+/custom/*"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"+/custom/fromcli", "+/custom/mine", "+/custom/second"}, got); diff != "" {
		t.Error(diff)
	}
}

// TestGitOriginalLayout reads a branch laid out by the original client's
// git backend (store format v1 with its extra files) and writes to it
// without disturbing what ocu does not know.
func TestGitOriginalLayout(t *testing.T) {
	remote := newRemote(t)
	pushFiles(t, remote, "state", strs(map[string]string{
		".ocuroot-store": `{"version":1}`,
		"refs/example/-/legacy.ocu.star/@1/@object.json":   `{"kind":"ref","body_type":"release.ReleaseInfo","links":["example/-/legacy.ocu.star/@v2","example/-/legacy.ocu.star/@v1"],"body":{"commit":"c0","package":{}}}`,
		"refs/example/-/legacy.ocu.star/@1/@ref.txt":       "example/-/legacy.ocu.star/@1",
		"refs/example/-/legacy.ocu.star/@v1/@object.json":  `{"kind":"link","body":"example/-/legacy.ocu.star/@1"}`,
		"refs/example/-/legacy.ocu.star/@v2/@object.json":  "{\"body_type\":\"string\",\"body\":\"example/-/legacy.ocu.star/@1\",\"kind\":\"link\"}\n",
		"refs/@/@object.json":                              `{"kind":"link","body":"@c0"}`,
		"refs/@c0/@object.json":                            `{"kind":"ref","body":{"source":"b2N1cm9vdCgiMC4zLjAiKQo="}}`,
		"dependencies/example/-/legacy.ocu.star/@1/x.json": `{}`,
		"support.txt": "written by the original",
	}), "Update state")
	s := openGit(t, gitOptions(t, remote, "state"))
	if v := value(t, s, "example/-/legacy.ocu.star/@v2#commit"); v != "c0" {
		t.Errorf("through a legacy link: %v", v)
	}
	if _, err := s.Get(ctx, storetest.R(t, "@")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("root link followed: %v", err)
	}
	set(t, s, "@/custom/new", true)
	tree := gitCLI(t, remote, "ls-tree", "-r", "--name-only", "state")
	for _, p := range []string{"dependencies/example/-/legacy.ocu.star/@1/x.json", "refs/example/-/legacy.ocu.star/@1/@ref.txt", "support.txt", "refs/@/custom/new/@object.json"} {
		if !strings.Contains(tree, p+"\n") {
			t.Errorf("%s missing after a write:\n%s", p, tree)
		}
	}
	fsck(t, remote)
}

func TestGitVersion(t *testing.T) {
	remote := newRemote(t)
	pushFiles(t, remote, "state", strs(map[string]string{".ocuroot-store": `{"version":3}`}), "v3")
	_, err := store.OpenGit(ctx, gitOptions(t, remote, "state"))
	if store.CodeOf(err) != store.EVersion || !strings.HasSuffix(err.Error(), "(branch state): written by Ocuroot 0.3.11 or later (format 3): run ocuroot state migrate") {
		t.Errorf("open a version 3 branch: %v", err)
	}
	// The later single-store layout: state/ and intent/ on one branch.
	remote = newRemote(t)
	pushFiles(t, remote, "state", strs(map[string]string{"state/.ocuroot-store": `{"version":2}`, "intent/.ocuroot-store": `{"version":2}`}), "v2")
	_, err = store.OpenGit(ctx, gitOptions(t, remote, "state"))
	if store.CodeOf(err) != store.EVersion || !strings.HasSuffix(err.Error(), "(branch state): state/ and intent/ written by Ocuroot 0.3.11 or later (format 2): run ocuroot state migrate") {
		t.Errorf("open a later single store: %v", err)
	}
	// No version file: read as version 1; the next write adds it.
	remote = newRemote(t)
	pushFiles(t, remote, "state", strs(map[string]string{"refs/+/custom/a/@object.json": `{"kind":"ref","body":1}`}), "no version")
	s := openGit(t, gitOptions(t, remote, "state"))
	set(t, s, "+/custom/b", 2)
	if got, _ := readRemote(t, remote, "state", ".ocuroot-store"); got != `{"version":1}` {
		t.Errorf(".ocuroot-store = %q", got)
	}
	if body := gitCLI(t, remote, "log", "-1", "--format=%b", "state"); !strings.Contains(body, "version 1") {
		t.Errorf("message without the version line:\n%s", body)
	}
}

func TestGitOpenErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.git")
	tests := []struct {
		name string
		opts func(o *store.GitOptions)
		code store.Code
		msg  string
	}{
		{"missing repository", func(o *store.GitOptions) { o.URL = missing }, store.EGitRemote,
			"git store " + missing + " (branch state): cannot fetch: repository not found"},
		{"no branch, no create", func(o *store.GitOptions) { o.CreateBranch = false }, store.EGitNoBranch,
			`branch "state" does not exist and create_branch=False`},
		{"offline, never fetched", func(o *store.GitOptions) { o.Offline = true }, store.EGitRemote, "offline, and never fetched"},
		{"unreachable https with credentials", func(o *store.GitOptions) {
			o.URL, o.Remote = "https://127.0.0.1:1/x.git", "https://user:s3cr3t@127.0.0.1:1/x.git"
		}, store.EGitRemote, "git store https://127.0.0.1:1/x.git (branch state): cannot fetch:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := gitOptions(t, newRemote(t), "state")
			tt.opts(&o)
			s, err := store.OpenGit(ctx, o)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if store.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %s %q, want %s containing %q", store.CodeOf(err), err, tt.code, tt.msg)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("credentials in %q", err)
			}
		})
	}
}

func TestGitDefaultBranch(t *testing.T) {
	remote := newRemote(t)
	// An empty remote: "main", created by the first write.
	o := gitOptions(t, remote, "")
	s := openGit(t, o)
	set(t, s, "+/custom/a", 1)
	if s.Branch() != "main" || len(remoteLog(t, remote, "main")) != 2 {
		t.Errorf("branch %q, log %q", s.Branch(), remoteLog(t, remote, "main"))
	}
	// The remote's HEAD names the default branch.
	gitCLI(t, remote, "branch", "trunk", "main")
	gitCLI(t, remote, "symbolic-ref", "HEAD", "refs/heads/trunk")
	gitCLI(t, remote, "branch", "-D", "main")
	s2 := openGit(t, gitOptions(t, remote, ""))
	if s2.Branch() != "trunk" || value(t, s2, "+/custom/a") == nil {
		t.Errorf("branch %q", s2.Branch())
	}
}

func TestGitFreshness(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	set(t, openGit(t, o), "+/custom/a", "old")
	pushFiles(t, remote, "state", strs(map[string]string{"refs/+/custom/a/@object.json": `{"kind":"ref","body":"new"}`}), "cli")

	tests := []struct {
		name string
		mod  func(*store.GitOptions)
		want string
	}{
		{"offline reads the cache", func(o *store.GitOptions) { o.Offline = true }, "old"},
		{"a young cache is not fetched", func(o *store.GitOptions) { o.MaxAge = time.Hour }, "old"},
		{"max age 0 fetches", func(o *store.GitOptions) {}, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := o
			tt.mod(&o)
			if v := value(t, openGit(t, o), "+/custom/a"); v != tt.want {
				t.Errorf("got %v, want %v", v, tt.want)
			}
		})
	}
	o.Offline = true
	err := openGit(t, o).Commit(ctx, store.NewTx("x").Put(storetest.R(t, "+/custom/b"), 1))
	if store.CodeOf(err) != store.EGitOffline {
		t.Errorf("offline write: %v", err)
	}
}

// TestGitConcurrentWriters: writers with caches of their own (separate
// machines) push to one remote at once.
func TestGitConcurrentWriters(t *testing.T) {
	remote := newRemote(t)
	set(t, openGit(t, gitOptions(t, remote, "intent")), "+/custom/seed", 0)
	const writers = 8
	writeAtOnce(t, remote, "intent", "+/custom/k", writers)
	got, err := openGit(t, gitOptions(t, remote, "intent")).Match(ctx, []string{"+/custom/k*"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers {
		t.Errorf("%d documents landed, want %d: %v", len(got), writers, got)
	}
	if n := len(remoteLog(t, remote, "intent")); n != writers+2 {
		t.Errorf("%d commits, want %d", n, writers+2)
	}
	fsck(t, remote)
}

// TestGitSameDocument: two writers of one document both succeed; the last
// push wins and the other value is in the history.
func TestGitSameDocument(t *testing.T) {
	remote := newRemote(t)
	set(t, openGit(t, gitOptions(t, remote, "intent")), "+/custom/other", 0)
	a, b := openGit(t, gitOptions(t, remote, "intent")), openGit(t, gitOptions(t, remote, "intent"))
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { errA = a.Commit(ctx, store.NewTx("a").Put(storetest.R(t, "+/custom/same"), "a")) })
	wg.Go(func() { errB = b.Commit(ctx, store.NewTx("b").Put(storetest.R(t, "+/custom/same"), "b")) })
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("writers: %v, %v", errA, errB)
	}
	c := openGit(t, gitOptions(t, remote, "intent"))
	final := value(t, c, "+/custom/same")
	var values []any
	if err := c.History(ctx, storetest.R(t, "+/custom/same"), func(r store.Revision) error {
		values = append(values, r.Value)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(values, func(x, y any) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
	if diff := cmp.Diff([]any{"a", "b"}, values); diff != "" || (final != "a" && final != "b") {
		t.Errorf("final %v; history (-want +got):\n%s", final, diff)
	}
	// The other document was not lost.
	if v := value(t, c, "+/custom/other"); fmt.Sprint(v) != "0" {
		t.Errorf("other = %v", v)
	}
}

// TestGitReplayConflict: a create-only write that loses the race to
// another writer fails with E_CONFLICT after replaying on the new tip, and
// keeps nothing.
func TestGitReplayConflict(t *testing.T) {
	remote := newRemote(t)
	set(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/seed", 0)
	a, b := openGit(t, gitOptions(t, remote, "state")), openGit(t, gitOptions(t, remote, "state"))
	if err := a.Commit(ctx, store.NewTx("a").Create(storetest.R(t, "+/custom/x"), "a")); err != nil {
		t.Fatal(err)
	}
	err := b.Commit(ctx, store.NewTx("b").Create(storetest.R(t, "+/custom/x"), "b"))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	if refs := gitCLI(t, filepath.Join(b.CacheDir(), "repo"), "for-each-ref", "refs/ocu/"); refs != "" {
		t.Errorf("kept after a conflict: %s", refs)
	}
	if v := value(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/x"); v != "a" {
		t.Errorf("x = %v", v)
	}
}

func writeHook(t testing.TB, remote, script string) {
	t.Helper()
	p := filepath.Join(remote, "hooks", "pre-receive")
	if script == "" {
		os.Remove(p)
		return
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestGitKeptChanges: a change that cannot be pushed stays in the cache
// and the next command pushes it, exactly once.
func TestGitKeptChanges(t *testing.T) {
	t.Run("refused push", func(t *testing.T) {
		remote := newRemote(t)
		o := gitOptions(t, remote, "state")
		set(t, openGit(t, o), "+/custom/a", 1)
		s := openGit(t, o)
		writeHook(t, remote, "echo no >&2; exit 1")
		err := s.Commit(ctx, store.NewTx("kept").Put(storetest.R(t, "+/custom/b"), 2))
		if store.CodeOf(err) != store.EGitPush {
			t.Fatalf("got %v, want E_GIT_PUSH", err)
		}
		for _, want := range []string{"push failed after 1 attempt: refused by the remote: pre-receive hook declined",
			"the change is kept in " + filepath.Join(s.CacheDir(), "repo") + " as refs/ocu/unpushed/", "pushed by the next write"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if n := len(remoteLog(t, remote, "state")); n != 2 {
			t.Errorf("remote has %d commits", n)
		}
		writeHook(t, remote, "")
		s2 := openGit(t, o) // pushes what is kept
		if v := value(t, s2, "+/custom/b"); fmt.Sprint(v) != "2" {
			t.Errorf("b = %v", v)
		}
		if diff := cmp.Diff([]string{"ocu: kept", "ocu: set +/custom/a", "ocu: create store"}, remoteLog(t, remote, "state")); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
		if refs := gitCLI(t, filepath.Join(s2.CacheDir(), "repo"), "for-each-ref", "refs/ocu/"); refs != "" {
			t.Errorf("still kept: %s", refs)
		}
	})
	t.Run("remote gone during the write", func(t *testing.T) {
		remote := newRemote(t)
		o := gitOptions(t, remote, "state")
		s := openGit(t, o)
		set(t, s, "+/custom/a", 1)
		if err := os.Rename(remote, remote+".away"); err != nil {
			t.Fatal(err)
		}
		err := s.Commit(ctx, store.NewTx("while away").Put(storetest.R(t, "+/custom/b"), 2))
		if store.CodeOf(err) != store.EGitRemote || !strings.Contains(err.Error(), remote) || !strings.Contains(err.Error(), "kept") {
			t.Fatalf("got %v", err)
		}
		if _, err := store.OpenGit(ctx, o); store.CodeOf(err) != store.EGitRemote {
			t.Fatalf("open without the remote: %v", err)
		}
		os.Rename(remote+".away", remote)
		// Another writer moved the branch meanwhile: the kept change is
		// replayed on top of it.
		set(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/c", 3)
		s2 := openGit(t, o)
		for r, want := range map[string]string{"+/custom/a": "1", "+/custom/b": "2", "+/custom/c": "3"} {
			if v := value(t, s2, r); fmt.Sprint(v) != want {
				t.Errorf("%s = %v, want %s", r, v, want)
			}
		}
		fsck(t, remote)
	})
	t.Run("a kept claim is checked again", func(t *testing.T) {
		for _, other := range []bool{false, true} {
			remote := newRemote(t)
			o := gitOptions(t, remote, "state")
			set(t, openGit(t, o), "+/custom/job", "pending")
			job := storetest.R(t, "+/custom/job")
			writeHook(t, remote, "exit 1")
			err := openGit(t, o).Commit(ctx, store.NewTx("claim").Expect(job, "pending").Put(job, "mine"))
			if store.CodeOf(err) != store.EGitPush {
				t.Fatalf("got %v", err)
			}
			writeHook(t, remote, "")
			want := "mine"
			if other { // another machine claims it meanwhile
				set(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/job", "theirs")
				want = "theirs"
			}
			var warnings []string
			o.Warn = func(msg string) { warnings = append(warnings, msg) }
			s := openGit(t, o)
			if v := value(t, s, "+/custom/job"); v != want {
				t.Errorf("other %v: job = %v, want %v", other, v, want)
			}
			repo := filepath.Join(s.CacheDir(), "repo")
			aside := gitCLI(t, repo, "for-each-ref", "--format=%(refname)", "refs/ocu/")
			if other && (len(warnings) != 1 || !strings.Contains(warnings[0], "no longer applies (+/custom/job: changed by another writer)") ||
				!strings.HasPrefix(aside, "refs/ocu/conflicted/")) {
				t.Errorf("a lost claim: warnings %q, refs %q", warnings, aside)
			}
			if !other && (len(warnings) != 0 || aside != "") {
				t.Errorf("warnings %q, refs %q", warnings, aside)
			}
		}
	})
	t.Run("pushed but not recorded", func(t *testing.T) {
		// A writer killed after the remote took its push and before it
		// recorded it: the kept commit is already on the remote.
		remote := newRemote(t)
		o := gitOptions(t, remote, "state")
		s := openGit(t, o)
		set(t, s, "+/custom/a", 1)
		writeHook(t, remote, "exit 1")
		if err := s.Commit(ctx, store.NewTx("landed").Put(storetest.R(t, "+/custom/b"), 2)); store.CodeOf(err) != store.EGitPush {
			t.Fatalf("got %v", err)
		}
		writeHook(t, remote, "")
		repo := filepath.Join(s.CacheDir(), "repo")
		kept := strings.Fields(gitCLI(t, repo, "for-each-ref", "--format=%(objectname)", "refs/ocu/unpushed/"))
		if len(kept) != 1 {
			t.Fatalf("kept: %v", kept)
		}
		gitCLI(t, repo, "push", "-q", remote, kept[0]+":refs/heads/state")
		s.Close()
		s2 := openGit(t, o)
		if diff := cmp.Diff([]string{"ocu: landed", "ocu: set +/custom/a", "ocu: create store"}, remoteLog(t, remote, "state")); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
		if refs := gitCLI(t, filepath.Join(s2.CacheDir(), "repo"), "for-each-ref", "refs/ocu/"); refs != "" {
			t.Errorf("still kept: %s", refs)
		}
	})
}

func TestGitHistoryAndAt(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	s := openGit(t, o)
	step := func(tx *store.Tx) {
		t.Helper()
		if err := s.Commit(ctx, tx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
	}
	x, y := storetest.R(t, "+/custom/x"), storetest.R(t, "+/custom/y")
	step(store.NewTx("1").Put(x, "v1"))                                // 12:00 (after the create commit)
	step(store.NewTx("2").Put(y, "other"))                             // 13:00
	step(store.NewTx("3").Put(x, "v2"))                                // 14:00
	step(store.NewTx("4").Delete(x, false))                            // 15:00
	step(store.NewTx("5").Put(x, nil))                                 // 16:00
	gitCLI(t, remote, "tag", "-a", "-m", "release", "v1.0", "state~3") // after step 2

	var got []string
	err := s.History(ctx, x, func(r store.Revision) error {
		got = append(got, fmt.Sprintf("%s %s %v %v", r.Time.Format(time.RFC3339), r.Author, r.Value, r.Deleted))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-01-01T16:00:00Z ocu <ocu@localhost> <nil> false",
		"2026-01-01T15:00:00Z ocu <ocu@localhost> <nil> true",
		"2026-01-01T14:00:00Z ocu <ocu@localhost> v2 false",
		"2026-01-01T12:00:00Z ocu <ocu@localhost> v1 false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	rev := func(n string) string { return strings.TrimSpace(gitCLI(t, remote, "rev-parse", "state"+n)) }
	tests := []struct {
		when string
		want any // value of x, or an error code
	}{
		{"~0", nil},
		{"~1", store.ENotFound},
		{"~2", "v2"},
		{"~4", "v1"},
		{"~9", store.ENotFound},
		{"2026-01-01T14:30:00Z", "v2"},
		{"2026-01-01T13:00:00+00:00", "v1"},
		{"2026-01-01", store.ENotFound}, // before the first commit
		{"v1.0", "v1"},
		{rev("~2"), "v2"},
		{rev("~2")[:7], "v2"},
		{"nosuchtag", store.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			snap, err := s.At(ctx, tt.when)
			if code, ok := tt.want.(store.Code); ok && err != nil {
				if store.CodeOf(err) != code {
					t.Errorf("got %v, want %s", err, code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, err := snap.Get(ctx, x)
			if code, ok := tt.want.(store.Code); ok {
				if store.CodeOf(err) != code {
					t.Errorf("got %v, %v, want %s", d.Value, err, code)
				}
				return
			}
			if err != nil || d.Value != tt.want {
				t.Errorf("got %v, %v, want %v", d.Value, err, tt.want)
			}
			if err := snap.Commit(ctx, store.NewTx("x").Put(x, 1)); err == nil {
				t.Error("a snapshot was written")
			}
		})
	}
}

func TestGitSupportFiles(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	o.SupportFiles = map[string]string{"a.txt": "a1", "b/c.txt": "c1"}
	set(t, openGit(t, o), "+/custom/x", 1)
	gitCLI(t, remote, "log", "-1", "state") // the branch exists

	tests := []struct {
		name    string
		support map[string]string
		flag    bool
		lines   string // the support lines of the new commit's message
	}{
		{"unchanged", map[string]string{"a.txt": "a1", "b/c.txt": "c1"}, true, ""},
		{"not asked for", map[string]string{"a.txt": "a2"}, false, ""},
		{"one differs", map[string]string{"a.txt": "a2", "b/c.txt": "c1"}, true, "support a.txt\n"},
		{"a new one", map[string]string{"a.txt": "a2", "d.txt": "d"}, true, "support d.txt\n"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := o
			o.SupportFiles = tt.support
			tx := store.NewTx("release").Put(storetest.R(t, "+/custom/x"), i+2)
			tx.SupportFiles = tt.flag
			if err := openGit(t, o).Commit(ctx, tx); err != nil {
				t.Fatal(err)
			}
			var lines string
			for _, l := range strings.Split(gitCLI(t, remote, "log", "-1", "--format=%b", "state"), "\n") {
				if strings.HasPrefix(l, "support ") {
					lines += l + "\n"
				}
			}
			if lines != tt.lines {
				t.Errorf("support lines %q, want %q", lines, tt.lines)
			}
		})
	}
	for p, want := range map[string]string{"a.txt": "a2", "b/c.txt": "c1", "d.txt": "d"} {
		if got, _ := readRemote(t, remote, "state", p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
}

// TestCombinedSupportFiles: state and intent on two remotes whose branches
// already exist (someone pushed an initial commit first) get their support
// files from the first transaction asking for them, also a store that gets
// no operation from it.
func TestCombinedSupportFiles(t *testing.T) {
	tests := []struct {
		name       string
		refs       []string // written by the transaction
		flag       bool     // Tx.SupportFiles
		wantState  bool     // state.yml is on the state branch afterwards, in one new commit
		wantIntent bool     // intent.yml is on the intent branch afterwards, in one new commit
	}{
		{"state and intent", []string{"@/custom/s", "+/custom/i"}, true, true, true},
		{"state only", []string{"@/custom/s"}, true, true, true},
		{"intent only", []string{"+/custom/i"}, true, true, true},
		{"not asked for", []string{"@/custom/s", "+/custom/i"}, false, false, false},
		{"nothing to write but support files", nil, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remotes := [2]string{newRemote(t), newRemote(t)}
			var stores [2]store.Store
			for i, name := range []string{"state", "intent"} {
				pushFiles(t, remotes[i], "main", strs(map[string]string{"README.md": "# ops\n"}), "Initial commit")
				o := gitOptions(t, remotes[i], "main")
				o.SupportFiles = map[string]string{".github/workflows/" + name + ".yml": "on: push # " + name + "\n"}
				stores[i] = openGit(t, o)
			}
			c := store.NewCombined(stores[0], stores[1])
			tx := store.NewTx("release")
			for _, r := range tt.refs {
				tx.Put(storetest.R(t, r), 1)
			}
			tx.SupportFiles = tt.flag
			if err := c.Commit(ctx, tx); err != nil {
				t.Fatal(err)
			}
			for i, name := range []string{"state", "intent"} {
				p := ".github/workflows/" + name + ".yml"
				got, ok := readRemote(t, remotes[i], "main", p)
				want := []bool{tt.wantState, tt.wantIntent}[i]
				if ok != want || (ok && got != "on: push # "+name+"\n") {
					t.Errorf("%s: %s = %q (stored %v), want stored %v", name, p, got, ok, want)
				}
				if n := len(remoteLog(t, remotes[i], "main")) - 1; want && n != 1 {
					t.Errorf("%s: %d new commits, want 1", name, n)
				}
				fsck(t, remotes[i])
			}
			// Asking again writes nothing: the files are there.
			again := store.NewTx("release again")
			again.SupportFiles = true
			before := [2]int{len(remoteLog(t, remotes[0], "main")), len(remoteLog(t, remotes[1], "main"))}
			if err := c.Commit(ctx, again); err != nil {
				t.Fatal(err)
			}
			if tt.flag {
				for i := range remotes {
					if n := len(remoteLog(t, remotes[i], "main")); n != before[i] {
						t.Errorf("store %d: %d commits after an unchanged request, want %d", i, n, before[i])
					}
				}
			}
		})
	}
}

// TestCombinedSupportFilesFS: a filesystem store paired with a git store
// is left untouched by a transaction asking only for support files.
func TestCombinedSupportFilesFS(t *testing.T) {
	remote := newRemote(t)
	pushFiles(t, remote, "main", strs(map[string]string{"README.md": "# ops\n"}), "Initial commit")
	o := gitOptions(t, remote, "main")
	o.SupportFiles = map[string]string{"ci.yml": "on: push\n"}
	fsBase := filepath.Join(t.TempDir(), "intent")
	intent, err := store.OpenFS(fsBase, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { intent.Close() })
	tx := store.NewTx("release").Put(storetest.R(t, "@/custom/s"), 1)
	tx.SupportFiles = true
	if err := store.NewCombined(openGit(t, o), intent).Commit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if got, _ := readRemote(t, remote, "main", "ci.yml"); got != "on: push\n" {
		t.Errorf("ci.yml = %q", got)
	}
	if _, err := os.Stat(fsBase); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the filesystem store was touched: %v", err)
	}
}

func TestGitApplyLock(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	a, b := openGit(t, o), openGit(t, o)
	unlock, err := a.LockApply(ctx, 0, "pid=1 host=h since=s")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.LockApply(ctx, 0, "pid=2")
	if store.CodeOf(err) != store.ELocked || !strings.Contains(err.Error(), filepath.Join(a.CacheDir(), ".ocuroot-apply.lock")+" (pid=1 host=h since=s)") {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	unlock2, err := b.LockApply(ctx, 0, "pid=2")
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

func TestGitRefresh(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	set(t, openGit(t, o), "+/custom/a", "old")
	reader := openGit(t, o)
	pushFiles(t, remote, "state", strs(map[string]string{"refs/+/custom/a/@object.json": `{"kind":"ref","body":"new"}`}), "cli")
	// Fetched less than 5 s ago: the cache is not refetched.
	if err := reader.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if v := value(t, reader, "+/custom/a"); v != "old" {
		t.Errorf("after a refresh within 5 s: %v", v)
	}
	// Another command of the same cache fetched meanwhile: seen at once.
	openGit(t, o)
	if err := reader.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if v := value(t, reader, "+/custom/a"); v != "new" {
		t.Errorf("after another command fetched: %v", v)
	}
}

// TestGitGarbageCollection: when packs pile up in the cache, a write runs
// `git gc --auto`; a reader opened before keeps reading.
func TestGitGarbageCollection(t *testing.T) {
	remote := newRemote(t)
	o := gitOptions(t, remote, "state")
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("refs/+/custom/d%d/@object.json", i)] = fmt.Sprintf(`{"kind":"ref","body":%d}`, i)
	}
	pushFiles(t, remote, "state", strs(files), "seed")
	reader := openGit(t, o)
	if v := value(t, reader, "+/custom/d1"); fmt.Sprint(v) != "1" {
		t.Fatalf("d1 = %v", v)
	}
	repo := filepath.Join(reader.CacheDir(), "repo")
	for i := range 55 {
		cmd := gitCmd(repo, "hash-object", "-w", "--stdin")
		cmd.Stdin = strings.NewReader(fmt.Sprintf("filler %d\n", i))
		h, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		pack := gitCmd(repo, "pack-objects", "-q", "objects/pack/pack")
		pack.Stdin = strings.NewReader(string(h))
		if out, err := pack.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	packs := func() int {
		m, _ := filepath.Glob(filepath.Join(repo, "objects", "pack", "*.pack"))
		return len(m)
	}
	if n := packs(); n < 55 {
		t.Fatalf("%d packs before", n)
	}
	set(t, openGit(t, o), "+/custom/new", true)
	if n := packs(); n > 5 {
		t.Errorf("%d packs after a write, want them repacked", n)
	}
	for i := range 20 {
		if v := value(t, reader, fmt.Sprintf("+/custom/d%d", i)); fmt.Sprint(v) != fmt.Sprint(i) {
			t.Errorf("d%d = %v after gc", i, v)
		}
	}
	if v := value(t, openGit(t, o), "+/custom/new"); v != true {
		t.Errorf("new = %v", v)
	}
	fsck(t, repo)
}

func TestGitFileURL(t *testing.T) {
	remote := newRemote(t)
	s := openGit(t, gitOptions(t, "file://"+remote, "state"))
	set(t, s, "+/custom/a", "via file://")
	if got, _ := readRemote(t, remote, "state", "refs/+/custom/a/@object.json"); !strings.Contains(got, "via file://") {
		t.Errorf("remote holds %q", got)
	}
	if v := value(t, openGit(t, gitOptions(t, remote, "state")), "+/custom/a"); v != "via file://" {
		t.Errorf("read back through the path: %v", v)
	}
}

// TestGitCreateRace: writers that all find the branch missing create it at
// once; one root commit wins and every write lands on top of it.
func TestGitCreateRace(t *testing.T) {
	remote := newRemote(t)
	const writers = 4
	writeAtOnce(t, remote, "state", "+/custom/w", writers)
	if roots := strings.Fields(gitCLI(t, remote, "rev-list", "--max-parents=0", "state")); len(roots) != 1 {
		t.Errorf("%d root commits", len(roots))
	}
	got, err := openGit(t, gitOptions(t, remote, "state")).Match(ctx, []string{"+/custom/*"}, false)
	if err != nil || len(got) != writers {
		t.Errorf("landed: %v, %v", got, err)
	}
	fsck(t, remote)
}

// writeAtOnce opens n caches of branch (separate machines) and has each
// write prefix<i> at the same time; every write must succeed.
func writeAtOnce(t *testing.T, remote, branch, prefix string, n int) {
	t.Helper()
	stores := make([]*store.Git, n)
	for i := range stores {
		stores[i] = openGit(t, gitOptions(t, remote, branch))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range stores {
		wg.Go(func() {
			errs[i] = s.Commit(ctx, store.NewTx("w").Put(storetest.R(t, fmt.Sprintf("%s%d", prefix, i)), i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
}
