package config

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const v030 = "ocuroot(\"0.3.0\")\n"

// minimal is a valid repo.ocu.star.
const minimal = v030 + "store.set(store.fs(\".store\"))\n"

// tempDir returns a new temporary folder with symbolic links resolved, so
// that paths compare equal to what the code computes.
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// writeFiles writes files (slash-separated paths) below root.
func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mkdir creates a folder below root and returns its path.
func mkdir(t *testing.T, root, rel string) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// load runs Load with o, collecting stderr.
func load(t *testing.T, o Options) (*Config, string, error) {
	t.Helper()
	var stderr bytes.Buffer
	o.Stderr = &stderr
	if o.Environ == nil {
		o.Environ = []string{"PATH=" + os.Getenv("PATH")}
	}
	c, err := Load(context.Background(), o)
	return c, stderr.String(), err
}

// loadRepo writes repo.ocu.star (and other files) in a new folder and loads
// it from the root.
func loadRepo(t *testing.T, src string, files map[string]string) (*Config, string, error) {
	t.Helper()
	root := tempDir(t)
	writeFiles(t, root, files)
	writeFiles(t, root, map[string]string{FileName: src})
	return load(t, Options{Dir: root})
}

// gitInit creates a git repository at dir with the given origin URL (none
// when empty).
func gitInit(t *testing.T, dir, origin string) *git.Repository {
	t.Helper()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{origin}}); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// gitCommit makes an empty commit and returns its id.
func gitCommit(t *testing.T, repo *git.Repository, msg string) string {
	t.Helper()
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}
