package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/sdk"
)

// Options are the inputs of Load: the working directory and the global
// options of docs/cli.md §1.2 (flags already merged with their environment
// variables by the caller).
type Options struct {
	// Dir is the absolute working directory (-C already applied).
	Dir string
	// Environ is the process environment ("KEY=value"), seen by host.env
	// and host.shell in repo.ocu.star.
	Environ []string
	// StateStore and IntentStore are location strings (--state-store,
	// --intent-store); empty when not given.
	StateStore, IntentStore string
	// Repo is --repo / OCU_REPO.
	Repo string
	// RepoURLOverride is --repo-url-override / OCU_REPO_URL_OVERRIDE.
	RepoURLOverride string
	// RepoCommitOverride is --repo-commit-override / OCU_REPO_COMMIT_OVERRIDE.
	RepoCommitOverride string
	// Stderr receives print() output of repo.ocu.star (outside work
	// functions) as "<file>> <text>"; nil discards it.
	Stderr io.Writer
	// Secrets receives the values of secret(); nil creates a new set
	// (Config.Secrets).
	Secrets *sdk.Secrets
}

// Mode tells how the configuration was found (docs/engine.md §1.1).
type Mode string

const (
	// ModeRepo: a repo.ocu.star was found; Root is the repo root.
	ModeRepo Mode = "repo"
	// ModeStore: a .ocuroot-store was found first; Root is that folder,
	// used as one filesystem store for both roles.
	ModeStore Mode = "store"
	// ModeOverride: neither file was found; the stores come from
	// --state-store and --intent-store only; Root is empty.
	ModeOverride Mode = "override"
)

// Config is the loaded configuration of one tool invocation.
type Config struct {
	// Mode tells how the configuration was found.
	Mode Mode
	// Dir is the working directory (Options.Dir, cleaned).
	Dir string
	// Root is the repo root (ModeRepo) or the store folder (ModeStore).
	Root string
	// File is the evaluated repo.ocu.star (ModeRepo only).
	File *RepoFile
	// State and Intent are the store locations. Intent equals State when no
	// intent store is configured (check with State.Same(Intent)).
	State, Intent Location
	// Secrets holds the values registered with secret().
	Secrets *sdk.Secrets

	opts Options

	gitOnce sync.Once
	gitRepo *git.Repository
	gitErr  error

	nameOnce sync.Once
	name     string
	nameErr  error

	commitOnce sync.Once
	commit     string
	commitErr  error
}

// Load finds and evaluates the configuration (docs/engine.md §1.1, §1.2):
// walking up from o.Dir, the first folder holding repo.ocu.star (repo
// mode) or .ocuroot-store (store mode) decides. o.StateStore and
// o.IntentStore override the stores in both modes and allow running with
// neither file.
//
// Overrides: a state store override replaces the configured pair; the
// intent store is then the intent store override, or the same store. An
// intent store override alone replaces only the intent store.
//
// Load never opens a store and never opens git: RepoName and Commit do the
// latter when asked.
func Load(ctx context.Context, o Options) (*Config, error) {
	if !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("working directory %q is not absolute", o.Dir)
	}
	dir := filepath.Clean(o.Dir)
	c := &Config{Dir: dir, Secrets: o.Secrets, opts: o}
	if c.Secrets == nil {
		c.Secrets = new(sdk.Secrets)
	}
	c.Secrets.AddCredentials(o.Environ)

	mode, root, err := discover(dir)
	if err != nil {
		return nil, err
	}
	var state, intent *Location
	switch mode {
	case ModeRepo:
		src, err := os.ReadFile(filepath.Join(root, FileName))
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %v", filepath.Join(root, FileName), errors.Unwrap(err))
		}
		file, err := Evaluate(ctx, src, EvalOptions{
			Root:    root,
			Environ: o.Environ,
			Secrets: c.Secrets,
			Stderr:  o.Stderr,
		})
		if err != nil {
			return nil, err
		}
		if file.State == nil && o.StateStore == "" {
			return nil, fmt.Errorf("%s does not call store.set(...)", FileName)
		}
		c.File = file
		state, intent = file.State, file.Intent
	case ModeStore:
		l := Location{Kind: KindFS, Path: root}
		state = &l
	case "":
		if o.StateStore == "" {
			return nil, fmt.Errorf("%s not found in %s or any parent directory (create one, or pass --state-store)", FileName, dir)
		}
		mode = ModeOverride
	}
	c.Mode, c.Root = mode, root

	if o.StateStore != "" {
		l, err := ParseLocation(o.StateStore, dir)
		if err != nil {
			return nil, &LocationError{Option: "--state-store", Err: err}
		}
		state, intent = &l, nil
	}
	if o.IntentStore != "" {
		l, err := ParseLocation(o.IntentStore, dir)
		if err != nil {
			return nil, &LocationError{Option: "--intent-store", Err: err}
		}
		intent = &l
	}
	c.State = *state
	if intent != nil {
		c.Intent = *intent
	} else {
		c.Intent = c.State
	}
	c.Secrets.Add(c.State.Credential())
	c.Secrets.Add(c.Intent.Credential())
	return c, nil
}

// discover walks up from dir (docs/engine.md §1.1). It returns mode "" when
// neither file exists.
func discover(dir string) (Mode, string, error) {
	for d := dir; ; {
		if isFile(filepath.Join(d, FileName)) {
			return ModeRepo, d, nil
		}
		if isFile(filepath.Join(d, StoreMarker)) {
			return ModeStore, d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", nil
		}
		d = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// errNoRepoName is the error of docs/engine.md §1.3 when nothing names the repo.
var errNoRepoName = errors.New(`cannot determine the repo name: call repo_alias("…") in repo.ocu.star or add a git remote "origin"`)

// RepoName returns the repo identity R (docs/engine.md §1.3), computed on first
// use: Options.Repo, else repo_alias(), else Options.RepoURLOverride with
// its path cleaned (see OverrideRepoName), else the normalised URL of the git remote
// "origin" of the repository containing the repo root (repo mode only).
// The result is a valid repo part of a ref, else the error is
// `invalid repo name "…"`.
func (c *Config) RepoName() (string, error) {
	c.nameOnce.Do(func() { c.name, c.nameErr = c.repoName() })
	return c.name, c.nameErr
}

func (c *Config) repoName() (string, error) {
	var name string
	switch {
	case c.opts.Repo != "":
		name = c.opts.Repo
	case c.File != nil && c.File.Alias != "":
		name = c.File.Alias
	case c.opts.RepoURLOverride != "":
		name = OverrideRepoName(c.opts.RepoURLOverride)
		if err := ref.ValidateRepo(name); err != nil {
			return "", fmt.Errorf("invalid repo URL override %q: it is the repo name, as for the original client, and not a valid one (name the repo with --repo or repo_alias())", displayURL(c.opts.RepoURLOverride))
		}
	case c.Mode != ModeRepo:
		return "", fmt.Errorf("cannot determine the repo name: pass --repo (no %s found)", FileName)
	default:
		url, err := c.originURL()
		if err != nil {
			return "", err
		}
		n, err := NormalizeURL(url, c.Root)
		if err != nil {
			return "", fmt.Errorf("cannot determine the repo name from the URL of remote \"origin\" %q: %v", displayURL(url), err)
		}
		name = n
	}
	if err := ref.ValidateRepo(name); err != nil {
		return "", fmt.Errorf("invalid repo name %q", name)
	}
	return name, nil
}

// originURL returns the first URL of the remote "origin".
func (c *Config) originURL() (string, error) {
	repo, err := c.git()
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return "", errNoRepoName
	}
	if err != nil {
		return "", fmt.Errorf("cannot determine the repo name: %v", err)
	}
	remote, err := repo.Remote("origin")
	if errors.Is(err, git.ErrRemoteNotFound) {
		return "", errNoRepoName
	}
	if err != nil {
		return "", fmt.Errorf("cannot determine the repo name: %v", err)
	}
	urls := remote.Config().URLs
	if len(urls) == 0 || urls[0] == "" {
		return "", errNoRepoName
	}
	return urls[0], nil
}

// Commit returns the current commit H (docs/engine.md §1.4), computed on first
// use: Options.RepoCommitOverride, else the full hex id of HEAD of the git
// repository containing the repo root (repo mode only). It must be a valid
// release value.
func (c *Config) Commit() (string, error) {
	c.commitOnce.Do(func() { c.commit, c.commitErr = c.head() })
	return c.commit, c.commitErr
}

func (c *Config) head() (string, error) {
	if h := c.opts.RepoCommitOverride; h != "" {
		if err := validateCommit(h); err != nil {
			return "", err
		}
		return h, nil
	}
	if c.Mode != ModeRepo {
		return "", fmt.Errorf("cannot determine the commit: no %s found (set OCU_REPO_COMMIT_OVERRIDE)", FileName)
	}
	repo, err := c.git()
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return "", fmt.Errorf("cannot determine the commit: %s is not in a git repository (set OCU_REPO_COMMIT_OVERRIDE)", c.Root)
	}
	if err != nil {
		return "", fmt.Errorf("cannot determine the commit: %v", err)
	}
	ref, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", errors.New("cannot determine the commit: the repository has no commits (commit first or set OCU_REPO_COMMIT_OVERRIDE)")
	}
	if err != nil {
		return "", fmt.Errorf("cannot determine the commit: %v", err)
	}
	h := ref.Hash().String()
	if err := validateCommit(h); err != nil {
		return "", err
	}
	return h, nil
}

// git opens the repository containing the repo root, once.
func (c *Config) git() (*git.Repository, error) {
	c.gitOnce.Do(func() {
		c.gitRepo, c.gitErr = git.PlainOpenWithOptions(c.Root, &git.PlainOpenOptions{
			DetectDotGit:          true,
			EnableDotGitCommonDir: true,
		})
	})
	return c.gitRepo, c.gitErr
}
