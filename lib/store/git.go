//go:build unix

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"
)

// Error codes of git stores (docs/store-format.md §12).
const (
	EGitRemote   Code = "E_GIT_REMOTE"
	EGitNoBranch Code = "E_GIT_NO_BRANCH"
	EGitAuth     Code = "E_GIT_AUTH"
	EGitPush     Code = "E_GIT_PUSH"
	EGitOffline  Code = "E_GIT_OFFLINE"
)

// Defaults of GitOptions.
const (
	DefaultGitPushAttempts = 8
	DefaultGitTimeout      = 2 * time.Minute
	DefaultGitAuthorName   = "ocu"
	DefaultGitAuthorEmail  = "ocu@localhost"
	defaultBranch          = "main"
)

// GitOptions configures OpenGit.
type GitOptions struct {
	// URL is the redacted remote URL (no user-info; local paths absolute):
	// the store's identity, the cache key and what messages show.
	URL string
	// Remote is the URL handed to the transport, credentials included;
	// empty means URL.
	Remote string
	// Branch is the configured branch; empty means the remote's default
	// branch (its HEAD), or "main" for an empty remote.
	Branch string
	// CreateBranch lets the first write create a missing branch (an orphan
	// root commit holding .ocuroot-store and the support files). Without
	// it a missing branch is E_GIT_NO_BRANCH on every access.
	CreateBranch bool
	// SupportFiles are written at the branch root (path → content) when
	// the branch is created, and by transactions with Tx.SupportFiles set
	// wherever their content differs. ocu never deletes them.
	SupportFiles map[string]string
	// Home is the cache root ($OCUROOT_HOME); the cache of this store is
	// <Home>/stores/<key>.
	Home string
	// MaxAge skips the fetch when the last fetch by any process is younger;
	// 0 fetches once per open.
	MaxAge time.Duration
	// Offline never fetches or pushes: reads see the cache, writes fail.
	Offline bool
	// PushAttempts bounds the pushes of one change (default 8).
	PushAttempts int
	// Timeout bounds each fetch and each push attempt, from connecting to
	// the last byte (default DefaultGitTimeout). A push that times out is
	// not tried again: the change stays kept for the next write.
	Timeout time.Duration
	// AuthorName and AuthorEmail sign the commits (default ocu,
	// ocu@localhost).
	AuthorName, AuthorEmail string
	// Auth holds the credentials for https and ssh remotes.
	Auth GitAuth
	// Warn receives warnings; nil discards them.
	Warn func(msg string)
	// Mask hides secrets in commit messages; nil leaves them as they are.
	Mask func(text string) string
	// Trace, when set, receives the duration of each phase of opening and
	// writing ("fetch", "commit", "push"): for benchmarks.
	Trace func(phase string, d time.Duration)
	// Now is the clock of commit times; nil is time.Now.
	Now func() time.Time
	// AnyFormat opens a tip of any store format (ocuroot state migrate
	// reads the later formats through Files); writes still refuse it.
	AnyFormat bool
}

// Git is a git store (docs/store-format.md §11): the store's tree on one branch of a
// remote repository, kept in a bare cache repository
// <Home>/stores/<key>/repo — no work tree, no index. The cache is written
// only under its lock (<Home>/stores/<key>/.ocuroot-lock), by one process
// at a time.
//
// Opening fetches the branch once (unless offline or fresh enough), so all
// reads of a command see one commit: they read its trees straight from the
// cache's objects, without the lock (objects never change; a pack that
// `git gc` removes stays mapped). Commit builds one commit per transaction
// on the branch tip from objects (go-git plumbing), keeps it as
// refs/ocu/unpushed/<nanos>, pushes it without force and, when the remote
// has moved, pauses, fetches, replays the transaction's operations on the
// new tip and pushes again, a bounded number of times. A change that could
// not be pushed stays in the cache and the next command pushes it first.
type Git struct {
	*reader
	opts   GitOptions
	dir    string // the cache folder
	repo   *gitRepo
	remote *gitRemote
	tree   *gitTree // the tree reads see; tip guarded by tree.mu
	tip    plumbing.Hash

	mu       sync.Mutex // serialises this process's writes
	lockFile *os.File   // <dir>/.ocuroot-lock
	branch   string     // resolved branch
}

// tracking is the remote-tracking ref holding the store's tip.
func (g *Git) tracking() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName("origin", g.branch)
}

// unpushedPrefix names the refs of changes not yet on the remote.
const unpushedPrefix = "refs/ocu/unpushed/"

// conflictedPrefix names kept changes that could no longer be replayed.
const conflictedPrefix = "refs/ocu/conflicted/"

// GitCacheKey returns the name of a git store's cache folder below
// <Home>/stores: the first 16 hex digits of SHA-256 of the redacted URL, a
// newline and the configured branch.
func GitCacheKey(url, branch string) string {
	sum := sha256.Sum256([]byte(url + "\n" + branch))
	return hex.EncodeToString(sum[:])[:16]
}

// gitMeta is <cache>/meta.json.
type gitMeta struct {
	URL     string    `json:"url"`
	Branch  string    `json:"branch"`
	Fetched time.Time `json:"fetched"`
}

// OpenGit opens the git store described by opts: it creates the cache when
// missing, fetches the branch (docs/store-format.md §11.2) and pushes any change an
// earlier command could not push. Errors name the URL and never show
// credentials.
func OpenGit(ctx context.Context, opts GitOptions) (*Git, error) {
	if opts.URL == "" {
		return nil, errors.New("git store: no URL")
	}
	if opts.Remote == "" {
		opts.Remote = opts.URL
	}
	if opts.Home == "" {
		return nil, fmt.Errorf("git store %s: no cache folder (set OCUROOT_HOME)", opts.URL)
	}
	if opts.PushAttempts < 1 {
		opts.PushAttempts = DefaultGitPushAttempts
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultGitTimeout
	}
	if opts.AuthorName == "" {
		opts.AuthorName = DefaultGitAuthorName
	}
	if opts.AuthorEmail == "" {
		opts.AuthorEmail = DefaultGitAuthorEmail
	}
	dir := filepath.Join(opts.Home, "stores", GitCacheKey(opts.URL, opts.Branch))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("git store %s: cache: %w", opts.URL, err)
	}
	remote, err := newGitRemote(opts.URL, opts.Remote, opts.Auth, opts.Timeout)
	if err != nil {
		return nil, err
	}
	g := &Git{opts: opts, dir: dir, remote: remote, branch: opts.Branch}
	if err := g.open(ctx); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func (g *Git) open(ctx context.Context) error {
	lf, err := os.OpenFile(filepath.Join(g.dir, writeLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	g.lockFile = lf
	unlock, err := g.lock(unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	if g.repo, err = openGitRepo(filepath.Join(g.dir, "repo")); err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	g.tree = &gitTree{repo: g.repo}
	g.reader = newReader(g.tree, g.tree.readLock)

	meta, _ := g.readMeta()
	if g.branch == "" {
		g.branch = meta.Branch
	}
	fresh := g.opts.MaxAge > 0 && meta.URL == g.opts.URL && meta.Branch != "" && time.Since(meta.Fetched) < g.opts.MaxAge
	switch {
	case g.opts.Offline && meta.Fetched.IsZero():
		return errorf(EGitRemote, "git store %s (branch %s): offline, and never fetched into %s", g.opts.URL, g.branchName(), g.dir)
	case !g.opts.Offline && !fresh:
		if err := g.fetch(ctx); err != nil {
			return err
		}
	}
	if g.branch == "" {
		g.branch = defaultBranch
	}
	err = g.moveToTracking()
	if isDamage(err) {
		if err = g.repair(ctx, err); err == nil {
			err = g.moveToTracking()
		}
		if isDamage(err) {
			err = g.damagedError(err, nil)
		}
	}
	if err != nil {
		return err
	}
	if !g.opts.Offline {
		if err := g.pushKept(ctx); err != nil {
			g.warn(err.Error())
		}
		g.collectGarbage() // fetches add packs too
	}
	return nil
}

// moveToTracking makes reads see the remote-tracking ref's commit.
func (g *Git) moveToTracking() error {
	tip, ok, err := g.repo.ref(g.tracking())
	if err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	if !ok && !g.opts.CreateBranch {
		return g.noBranch()
	}
	return g.moveTo(tip)
}

func (g *Git) noBranch() error {
	return errorf(EGitNoBranch, "git store %s: branch %q does not exist and create_branch=False", g.opts.URL, g.branch)
}

// branchName is the branch for messages.
func (g *Git) branchName() string {
	if g.branch == "" {
		return "default"
	}
	return g.branch
}

// moveTo makes reads see commit tip (zero: an empty store), checking its
// format version.
func (g *Git) moveTo(tip plumbing.Hash) error {
	root := plumbing.ZeroHash
	if !tip.IsZero() {
		c, err := g.repo.commit(tip)
		if err != nil {
			return fmt.Errorf("git store %s: %w", g.opts.URL, err)
		}
		root = c.tree
		if err := g.checkVersion(root); err != nil && !g.opts.AnyFormat {
			return err
		}
	}
	g.tree.mu.Lock()
	g.tree.root, g.tip = root, tip
	g.tree.mu.Unlock()
	return nil
}

// checkVersion reads .ocuroot-store of a tree: missing or version 1.
func (g *Git) checkVersion(root plumbing.Hash) error {
	data, err := g.repo.fileAt(root, versionFile)
	var verr error
	switch {
	case errors.Is(err, errNoObject):
		verr = laterLayoutError(func(name string) ([]byte, error) {
			data, err := g.repo.fileAt(root, name)
			if errors.Is(err, errNoObject) {
				return nil, nil
			}
			return data, err
		})
	case err != nil:
		return err
	default:
		if e := versionError(data, versionFile); e != nil {
			verr = e
		}
	}
	var e *Error
	if errors.As(verr, &e) {
		e.Msg = fmt.Sprintf("git store %s (branch %s): %s", g.opts.URL, g.branch, e.Msg)
	}
	return verr
}

// Files calls fn with the path (from the branch root, '/'-separated) and
// the content of every file in the tree reads see, in tree order; symbolic
// links and submodules are left out. It reads whatever format the tree
// holds.
func (g *Git) Files(fn func(path string, data []byte) error) error {
	g.tree.mu.RLock()
	root := g.tree.root
	g.tree.mu.RUnlock()
	var walk func(dir string, h plumbing.Hash) error
	walk = func(dir string, h plumbing.Hash) error {
		entries, err := g.repo.tree(h)
		if err != nil {
			return err
		}
		for _, e := range entries {
			switch {
			case e.isTree():
				if err := walk(dir+e.name+"/", e.hash); err != nil {
					return err
				}
			case e.isFile():
				data, err := g.repo.read(plumbing.BlobObject, e.hash)
				if err != nil {
					return err
				}
				if err := fn(dir+e.name, data); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("", root)
}

// String names the store in messages: git+URL#BRANCH.
func (g *Git) String() string { return "git+" + g.opts.URL + "#" + g.branchName() }

// CacheDir is the store's cache folder; it also holds the apply lock of a
// git state store (.ocuroot-apply.lock).
func (g *Git) CacheDir() string { return g.dir }

// Branch is the branch the store reads and writes.
func (g *Git) Branch() string { return g.branch }

// Tip is the commit reads see, as hex; "" for a branch that does not
// exist yet.
func (g *Git) Tip() string {
	g.tree.mu.RLock()
	defer g.tree.mu.RUnlock()
	if g.tip.IsZero() {
		return ""
	}
	return g.tip.String()
}

// Close releases the cache.
func (g *Git) Close() error {
	var errs []error
	if g.repo != nil {
		errs = append(errs, g.repo.close())
	}
	if g.lockFile != nil {
		errs = append(errs, g.lockFile.Close())
	}
	errs = append(errs, g.remote.close())
	return errors.Join(errs...)
}

// LockApply implements ApplyLocker: the apply lock of a git state store is
// <cache>/.ocuroot-apply.lock (docs/store-format.md §11.1). It serialises the engine
// commands of one machine (one OCUROOT_HOME); writers elsewhere are kept
// consistent by the push protocol.
func (g *Git) LockApply(ctx context.Context, wait time.Duration, holder string) (func(), error) {
	return lockFile(ctx, filepath.Join(g.dir, applyLock), wait, holder)
}

// Refresh brings a long-running reader up to date (docs/store-format.md §11.2): when
// the last fetch by any process is older than max(5s, MaxAge) it fetches,
// and reads move to the newest tip the cache knows. Offline it only looks
// at the cache.
func (g *Git) Refresh(ctx context.Context) error {
	unlock, err := g.lockExclusive()
	if err != nil {
		return err
	}
	defer unlock()
	meta, _ := g.readMeta()
	if !g.opts.Offline && time.Since(meta.Fetched) >= max(5*time.Second, g.opts.MaxAge) {
		if err := g.fetch(ctx); err != nil {
			return err
		}
	}
	tip, _, err := g.repo.ref(g.tracking())
	if err != nil {
		return err
	}
	defer g.reader.forget()
	return g.moveTo(tip)
}

// lockExclusive takes g.mu and the cache's lock exclusively, as every step
// that changes the cache does (a write, a refresh, a repair); the function
// it returns releases both.
func (g *Git) lockExclusive() (func(), error) {
	g.mu.Lock()
	unlock, err := g.lock(unix.LOCK_EX)
	if err != nil {
		g.mu.Unlock()
		return nil, err
	}
	return func() {
		unlock()
		g.mu.Unlock()
	}, nil
}

// lock takes the cache lock (LOCK_EX or LOCK_SH) and returns the unlock.
func (g *Git) lock(how int) (func(), error) {
	if err := flock(g.lockFile, how); err != nil {
		return nil, fmt.Errorf("lock %s: %w", g.lockFile.Name(), err)
	}
	return func() { flock(g.lockFile, unix.LOCK_UN) }, nil
}

func (g *Git) warn(msg string) {
	if g.opts.Warn != nil {
		g.opts.Warn(msg)
	}
}

func (g *Git) trace(phase string, start time.Time) {
	if g.opts.Trace != nil {
		g.opts.Trace(phase, time.Since(start))
	}
}

func (g *Git) now() time.Time {
	if g.opts.Now != nil {
		return g.opts.Now()
	}
	return time.Now()
}

func (g *Git) readMeta() (gitMeta, error) {
	var m gitMeta
	data, err := os.ReadFile(filepath.Join(g.dir, "meta.json"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

// writeMeta records in meta.json that the branch was fetched now.
func (g *Git) writeMeta() error { return g.writeMetaFetched(time.Now().UTC()) }

// writeMetaFetched writes meta.json with the time of the last fetch
// (zero: the cache holds no fetch to trust).
func (g *Git) writeMetaFetched(fetched time.Time) error {
	data, err := json.MarshalIndent(gitMeta{URL: g.opts.URL, Branch: g.branch, Fetched: fetched}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := writeTemp(g.dir, append(data, '\n'), false)
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(g.dir, "meta.json"))
}

// fetch brings the remote branch into the cache and points the tracking
// ref at it (removing it when the branch does not exist). The caller holds
// the cache lock exclusively.
func (g *Git) fetch(ctx context.Context) error {
	start := time.Now()
	defer g.trace("fetch", start)
	var haves []plumbing.Hash
	if g.branch != "" {
		if h, ok, _ := g.repo.ref(g.tracking()); ok {
			haves = append(haves, h)
		}
	}
	var tip plumbing.Hash
	_, err := g.remote.fetch(ctx, g.repo, func(adv advertised) []plumbing.Hash {
		if g.branch == "" {
			g.branch = strings.TrimPrefix(adv.head, "refs/heads/")
		}
		if g.branch == "" {
			g.branch = defaultBranch
		}
		tip = adv.refs[plumbing.NewBranchReferenceName(g.branch).String()]
		if tip.IsZero() {
			return nil
		}
		return []plumbing.Hash{tip}
	}, haves)
	if err != nil {
		return g.remoteError("cannot fetch", err)
	}
	if g.branch == "" {
		g.branch = defaultBranch // an empty remote
	}
	if tip.IsZero() {
		err = g.repo.removeRef(g.tracking())
	} else {
		err = g.repo.setRef(g.tracking(), tip)
	}
	if err != nil {
		return fmt.Errorf("git store %s: cache: %w", g.opts.URL, err)
	}
	return g.writeMeta()
}

// remoteError classifies a transport failure: E_GIT_AUTH or E_GIT_REMOTE.
func (g *Git) remoteError(what string, err error) error {
	why := redactErr(err, g.opts.Remote, g.opts.URL)
	if isAuthError(err) {
		return &Error{Code: EGitAuth, Msg: fmt.Sprintf("git store %s: authentication failed: %s", g.opts.URL, why), Err: err}
	}
	return &Error{Code: EGitRemote, Msg: fmt.Sprintf("git store %s (branch %s): %s: %s", g.opts.URL, g.branchName(), what, why), Err: err}
}
