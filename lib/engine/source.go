package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// codeRoot returns the folder holding the repo root at commit: the checkout
// when it is at that commit, otherwise that commit materialized with go-git
// into $OCUROOT_HOME/checkouts (engine issue: release code runs at the
// release's commit).
func (e *Engine) codeRoot(ctx context.Context, commit string) (string, error) {
	if commit == "" || commit == e.Commit {
		return e.Root, nil
	}
	repo, err := git.PlainOpenWithOptions(e.Root, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return "", fmt.Errorf("cannot check out commit %s: %w", commit, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", fmt.Errorf("cannot check out commit %s: %w", commit, err)
	}
	top := wt.Filesystem.Root()
	rel, err := filepath.Rel(top, e.Root)
	if err != nil {
		return "", err
	}
	if e.Home == "" {
		return "", fmt.Errorf("cannot check out commit %s: no OCUROOT_HOME", commit)
	}
	sum := sha256.Sum256([]byte(top))
	dest := filepath.Join(e.Home, "checkouts", hex.EncodeToString(sum[:8]), commit)
	if _, err := os.Stat(dest); err == nil {
		return filepath.Join(dest, rel), nil
	}
	h := plumbing.NewHash(commit)
	if len(commit) != 40 || h.String() != commit {
		return "", fmt.Errorf("cannot check out commit %q: not a full commit id", commit)
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		return "", fmt.Errorf("cannot check out commit %s: %w", commit, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return "", fmt.Errorf("cannot check out commit %s: %w", commit, err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".tmp-"+commit[:12]+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	err = tree.Files().ForEach(func(f *object.File) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return writeBlob(tmp, f)
	})
	if err != nil {
		return "", fmt.Errorf("cannot check out commit %s: %w", commit, err)
	}
	if err := os.Rename(tmp, dest); err != nil && !errors.Is(err, os.ErrExist) {
		if _, serr := os.Stat(dest); serr != nil { // another process won the race: fine
			return "", err
		}
	}
	return filepath.Join(dest, rel), nil
}

// writeBlob writes one file of a commit's tree below dir.
func writeBlob(dir string, f *object.File) error {
	p := filepath.Join(dir, filepath.FromSlash(f.Name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	r, err := f.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	if f.Mode == filemode.Symlink {
		target, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return os.Symlink(string(target), p)
	}
	perm := os.FileMode(0o644)
	if f.Mode == filemode.Executable {
		perm = 0o755
	}
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
