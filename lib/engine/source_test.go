package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// commitFile writes content to file in the git checkout root and commits
// it; it returns the commit id.
func commitFile(t *testing.T, root, file, content string) string {
	t.Helper()
	repo, err := git.PlainOpen(root)
	if err == git.ErrRepositoryNotExists {
		repo, err = git.PlainInit(root, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add(file); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("commit "+file, &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1e9, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// versionPackage outputs its version; FAIL=yes makes it fail.
func versionPackage(version string) string {
	return `ocuroot("0.3.0")
def f(ctx):
    if host.env().get("FAIL") == "yes":
        fail("failed")
    return done(outputs={"version": "` + version + `"})
call(f, name="a")
`
}

// TestCodeOfTheRelease: a release's functions run with the code of the
// release's commit, checked out below OCUROOT_HOME, whatever the checkout
// holds now.
func TestCodeOfTheRelease(t *testing.T) {
	tr := newTestRepo(t, nil)
	root := tr.e.Root
	h1 := commitFile(t, root, "pkg.ocu.star", versionPackage("one"))
	home := t.TempDir()
	at1 := tr.at(h1, "FAIL=yes")
	at1.e.Home = home
	at1.release("pkg.ocu.star", true)

	h2 := commitFile(t, root, "pkg.ocu.star", versionPackage("two"))
	at2 := tr.at(h2)
	at2.e.Home = home
	const rel = "example/-/pkg.ocu.star/@1"
	if failed, err := at2.e.ReleaseRetry(context.Background(), releaseID(t, rel), false); err != nil || failed {
		t.Fatalf("retry: %v, %v\n%s", failed, err, at2.out.String())
	}
	if got := at2.str(rel + "/call/a#output/version"); got != "one" {
		t.Errorf("ran the code of version %q", got)
	}
	if matches, _ := filepath.Glob(filepath.Join(home, "checkouts", "*", h1, "pkg.ocu.star")); len(matches) != 1 {
		t.Errorf("checkouts: %v", matches)
	}
	// The checkout is reused.
	again := tr.at(h2)
	again.e.Home = home
	ev, err := again.e.evaluate(context.Background(), "pkg.ocu.star", h1, "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ev.root, home) {
		t.Errorf("evaluated in %s", ev.root)
	}

	errs := []struct{ name, home, commit, want string }{
		{"no home", "", h1, "cannot check out commit " + h1 + ": no OCUROOT_HOME"},
		{"short id", t.TempDir(), h1[:12], `cannot check out commit "` + h1[:12] + `": not a full commit id`},
		{"unknown commit", t.TempDir(), strings.Repeat("ab", 20), "cannot check out commit " + strings.Repeat("ab", 20) + ": "},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			n := tr.at(h2)
			n.e.Home = tt.home
			_, err := n.e.evaluate(context.Background(), "pkg.ocu.star", tt.commit, "1")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCodeOutsideGit: another commit cannot be checked out without git.
func TestCodeOutsideGit(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": versionPackage("one")})
	tr.e.Home = t.TempDir()
	_, err := tr.e.evaluate(context.Background(), "pkg.ocu.star", "c0", "1")
	if err == nil || !strings.HasPrefix(err.Error(), "cannot check out commit c0: ") {
		t.Errorf("error %v", err)
	}
	_, err = tr.e.evaluate(context.Background(), "gone.ocu.star", "c1", "1")
	if err == nil || err.Error() != "gone.ocu.star not found at commit c1" {
		t.Errorf("missing file: %v", err)
	}
}
