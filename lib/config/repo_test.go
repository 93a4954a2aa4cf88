package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

func TestRepoName(t *testing.T) {
	const noName = `cannot determine the repo name: call repo_alias("…") in repo.ocu.star or add a git remote "origin"`
	tests := []struct {
		name    string
		alias   string // repo_alias() argument; empty = none
		origin  string // git remote origin; "-" = no git repository
		opts    Options
		sub     string // the repo root relative to the git work tree
		want    string
		wantErr string
	}{
		{name: "--repo wins", alias: "alias", origin: "https://github.com/o/r.git", opts: Options{Repo: "flag", RepoURLOverride: "https://h/o/x"}, want: "flag"},
		{name: "alias before URL override", alias: "alias", origin: "https://github.com/o/r.git", opts: Options{RepoURLOverride: "https://h/o/x"}, want: "alias"},
		{name: "URL override before origin", origin: "https://github.com/o/r.git", opts: Options{RepoURLOverride: "https://github.com/Org/Repo.git"}, want: "https:/github.com/Org/Repo.git"},
		{name: "URL override without git", origin: "-", opts: Options{RepoURLOverride: "https://h/o/x.git"}, want: "https:/h/o/x.git"},
		{name: "URL override with a path only", origin: "-", opts: Options{RepoURLOverride: "GitHub.com/OcuRoot/Example/"}, want: "GitHub.com/OcuRoot/Example"},
		{
			name: "URL override that is no repo name", origin: "https://github.com/o/r.git", opts: Options{RepoURLOverride: "https://tok:SECRET@h/o/x.git"},
			wantErr: `invalid repo URL override "https://***@h/o/x.git": it is the repo name, as for the original client, and not a valid one (name the repo with --repo or repo_alias())`,
		},
		{name: "origin keeps the host's case", origin: "git@GitHub.com:OcuRoot/Example.git", want: "GitHub.com/OcuRoot/Example"},
		{name: "origin https with the host's case", origin: "https://GitHub.com/OcuRoot/Example.git", want: "GitHub.com/OcuRoot/Example"},
		{name: "origin", origin: "https://github.com/example/example.git", want: "github.com/example/example"},
		{name: "origin with credentials", origin: "https://tok:SECRET@github.com/org/repo.git", want: "github.com/org/repo"},
		{name: "origin SCP", origin: "git@github.com:ocuroot/example.git", want: "github.com/ocuroot/example"},
		{name: "origin of an enclosing repository", origin: "https://github.com/o/mono.git", sub: "services/app", want: "github.com/o/mono"},
		{name: "no origin", origin: "", wantErr: noName},
		{name: "no git repository", origin: "-", wantErr: noName},
		{name: "invalid --repo", opts: Options{Repo: "a b"}, origin: "-", wantErr: `invalid repo name "a b"`},
		{name: "invalid --repo with separator", opts: Options{Repo: "x/-/y"}, origin: "-", wantErr: `invalid repo name "x/-/y"`},
		{name: "invalid normalised origin", origin: "https://github.com/o/r@v.git", wantErr: `invalid repo name "github.com/o/r@v"`},
		{name: "alias", alias: "example", origin: "-", want: "example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := tempDir(t)
			if tt.origin != "-" {
				gitInit(t, work, tt.origin)
			}
			root := mkdir(t, work, tt.sub)
			src := minimal
			if tt.alias != "" {
				src += `repo_alias("` + tt.alias + `")` + "\n"
			}
			writeFiles(t, root, map[string]string{FileName: src})
			o := tt.opts
			o.Dir = root
			c, _, err := load(t, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.RepoName()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("RepoName() = %q, want %q", got, tt.want)
			}
			if again, _ := c.RepoName(); again != got {
				t.Errorf("second call = %q", again)
			}
		})
	}
}

func TestRepoNameRelativeOrigin(t *testing.T) {
	// "../example.git" is relative to the repo root.
	base := tempDir(t)
	root := mkdir(t, base, "src/app")
	gitInit(t, root, "../example.git")
	writeFiles(t, root, map[string]string{FileName: minimal})
	c, _, err := load(t, Options{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RepoName()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(filepath.ToSlash(base), "/") + "/src/example"; got != want {
		t.Errorf("RepoName() = %q, want %q", got, want)
	}
}

func TestRepoNameOtherModes(t *testing.T) {
	base := tempDir(t)
	gitInit(t, base, "https://github.com/o/state.git") // a clone of a store branch
	writeFiles(t, base, map[string]string{StoreMarker: ""})
	c, _, err := load(t, Options{Dir: base})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RepoName(); err == nil || err.Error() != "cannot determine the repo name: pass --repo (no repo.ocu.star found)" {
		t.Fatalf("store mode error = %v", err)
	}
	c, _, err = load(t, Options{Dir: base, Repo: "example"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.RepoName(); err != nil || got != "example" {
		t.Fatalf("store mode with --repo: %q, %v", got, err)
	}
	c, _, err = load(t, Options{Dir: base, RepoURLOverride: "git.example.com/x/y.git"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.RepoName(); err != nil || got != "git.example.com/x/y.git" {
		t.Fatalf("store mode with URL override: %q, %v", got, err)
	}
}

func TestCommit(t *testing.T) {
	const noCommits = "cannot determine the commit: the repository has no commits (commit first or set OCU_REPO_COMMIT_OVERRIDE)"
	t.Run("HEAD", func(t *testing.T) {
		root := tempDir(t)
		repo := gitInit(t, root, "")
		gitCommit(t, repo, "first")
		h := gitCommit(t, repo, "second")
		writeFiles(t, root, map[string]string{FileName: minimal, "sub/x": "uncommitted"})
		c, _, err := load(t, Options{Dir: filepath.Join(root, "sub")})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if got != h || len(got) != 40 {
			t.Errorf("Commit() = %q, want %q", got, h)
		}
	})
	t.Run("detached HEAD", func(t *testing.T) {
		root := tempDir(t)
		repo := gitInit(t, root, "")
		first := gitCommit(t, repo, "first")
		gitCommit(t, repo, "second")
		wt, err := repo.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		if err := wt.Checkout(&git.CheckoutOptions{Hash: plumbing.NewHash(first)}); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, root, map[string]string{FileName: minimal})
		c, _, err := load(t, Options{Dir: root})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Commit(); err != nil || got != first {
			t.Errorf("Commit() = %q, %v; want %q", got, err, first)
		}
	})
	t.Run("enclosing repository", func(t *testing.T) {
		work := tempDir(t)
		repo := gitInit(t, work, "")
		h := gitCommit(t, repo, "first")
		root := mkdir(t, work, "apps/one")
		writeFiles(t, root, map[string]string{FileName: minimal})
		c, _, err := load(t, Options{Dir: root})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Commit(); err != nil || got != h {
			t.Errorf("Commit() = %q, %v; want %q", got, err, h)
		}
	})
	t.Run("override", func(t *testing.T) {
		root := tempDir(t)
		writeFiles(t, root, map[string]string{FileName: minimal})
		c, _, err := load(t, Options{Dir: root, RepoCommitOverride: "fa56a23554a75a7ab334f841c5f61f952e52930c"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Commit(); err != nil || got != "fa56a23554a75a7ab334f841c5f61f952e52930c" {
			t.Errorf("Commit() = %q, %v", got, err)
		}
	})
	t.Run("override in store mode", func(t *testing.T) {
		root := tempDir(t)
		writeFiles(t, root, map[string]string{StoreMarker: ""})
		c, _, err := load(t, Options{Dir: root, RepoCommitOverride: "v1.2_x-y"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Commit(); err != nil || got != "v1.2_x-y" {
			t.Errorf("Commit() = %q, %v", got, err)
		}
	})
	errCases := []struct {
		name     string
		override string
		git      string // "" no repository, "empty" no commits
		store    bool
		wantErr  string
	}{
		{name: "no commits", git: "empty", wantErr: noCommits},
		{name: "no git repository", wantErr: "cannot determine the commit: ROOT is not in a git repository (set OCU_REPO_COMMIT_OVERRIDE)"},
		{name: "store mode", store: true, wantErr: "cannot determine the commit: no repo.ocu.star found (set OCU_REPO_COMMIT_OVERRIDE)"},
		{name: "invalid override", override: "a/b", wantErr: `invalid commit "a/b" (a commit id is made of letters, digits, "_", "." and "-" and does not start with "." or "-")`},
		{name: "override starting with a dot", override: ".x", wantErr: `invalid commit ".x" (a commit id is made of letters, digits, "_", "." and "-" and does not start with "." or "-")`},
		{name: "override object.json", override: "object.json", wantErr: `invalid commit "object.json" (a commit id is made of letters, digits, "_", "." and "-" and does not start with "." or "-")`},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			root := tempDir(t)
			if tt.git == "empty" {
				gitInit(t, root, "https://github.com/o/r.git")
			}
			if tt.store {
				writeFiles(t, root, map[string]string{StoreMarker: ""})
			} else {
				writeFiles(t, root, map[string]string{FileName: minimal})
			}
			c, _, err := load(t, Options{Dir: root, RepoCommitOverride: tt.override})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Commit()
			want := strings.ReplaceAll(tt.wantErr, "ROOT", root)
			if err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
		})
	}
}

// TestLazyGit checks that Load does not open git: a broken .git only
// matters to RepoName and Commit.
func TestLazyGit(t *testing.T) {
	root := tempDir(t)
	writeFiles(t, root, map[string]string{FileName: minimal + `repo_alias("example")`, ".git": "gitdir: /nonexistent/broken\n"})
	c, _, err := load(t, Options{Dir: root})
	if err != nil {
		t.Fatalf("Load opened git: %v", err)
	}
	if name, err := c.RepoName(); err != nil || name != "example" {
		t.Fatalf("RepoName with an alias opened git: %q, %v", name, err)
	}
	if _, err := c.Commit(); err == nil {
		t.Fatal("Commit with a broken .git: no error")
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Fatal(err)
	}
}
