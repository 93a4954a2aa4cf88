//go:build unix

package store_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// gitCLI runs the git binary in dir with a configuration of its own (no
// user or system files) and returns its output.
func gitCLI(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func gitCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=cli", "GIT_AUTHOR_EMAIL=cli@example.com",
		"GIT_COMMITTER_NAME=cli", "GIT_COMMITTER_EMAIL=cli@example.com")
	return cmd
}

func needGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git binary is needed for local git remotes")
	}
}

// newRemote makes an empty bare repository.
func newRemote(t testing.TB) string {
	t.Helper()
	needGit(t)
	remote := filepath.Join(t.TempDir(), "remote.git")
	gitCLI(t, "", "init", "-q", "--bare", "-b", "main", remote)
	return remote
}

// pushFiles commits files (path → content; "" content deletes) on branch
// with the git CLI, in a fresh clone, and pushes.
func pushFiles(t testing.TB, remote, branch string, files map[string]*string, msg string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	gitCLI(t, "", "init", "-q", "-b", branch, work)
	gitCLI(t, work, "remote", "add", "origin", remote)
	if strings.Contains(gitCLI(t, work, "ls-remote", "origin", "refs/heads/"+branch), "refs/heads/") {
		gitCLI(t, work, "fetch", "-q", "origin", branch)
		gitCLI(t, work, "reset", "-q", "--hard", "FETCH_HEAD")
	}
	for p, content := range files {
		full := filepath.Join(work, p)
		if content == nil {
			os.Remove(full)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(*content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCLI(t, work, "add", "-A")
	gitCLI(t, work, "commit", "-q", "--allow-empty", "-m", msg)
	gitCLI(t, work, "push", "-q", "origin", "HEAD:refs/heads/"+branch)
}

func strs(files map[string]string) map[string]*string {
	out := map[string]*string{}
	for p, c := range files {
		out[p] = &c
	}
	return out
}

// readRemote reads a file of branch in remote with the git CLI; a folder
// reads as "" and ok.
func readRemote(t testing.TB, remote, branch, path string) (string, bool) {
	t.Helper()
	typ, err := gitCmd(remote, "cat-file", "-t", branch+":"+path).Output()
	if err != nil {
		return "", false
	}
	if strings.TrimSpace(string(typ)) != "blob" {
		return "", true
	}
	return gitCLI(t, remote, "cat-file", "blob", branch+":"+path), true
}

func gitOptions(t testing.TB, remote, branch string) store.GitOptions {
	return store.GitOptions{
		URL:          remote,
		Branch:       branch,
		CreateBranch: true,
		Home:         filepath.Join(t.TempDir(), "home"),
		Warn:         func(msg string) { t.Logf("warning: %s", msg) },
	}
}

func openGit(t testing.TB, opts store.GitOptions) *store.Git {
	t.Helper()
	s, err := store.OpenGit(context.Background(), opts)
	if err != nil {
		t.Fatalf("open git store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openGitConformance seeds a bare remote's branch "state" with files pushed
// by the git CLI and opens it with a cache of its own.
func openGitConformance(t *testing.T, files map[string]string) (store.Store, func(string) (string, bool)) {
	t.Helper()
	remote := newRemote(t)
	if files != nil {
		pushFiles(t, remote, "state", strs(files), "seed")
	}
	s := openGit(t, gitOptions(t, remote, "state"))
	return s, func(p string) (string, bool) { return readRemote(t, remote, "state", p) }
}

func TestGitConformance(t *testing.T) { storetest.Run(t, openGitConformance) }
