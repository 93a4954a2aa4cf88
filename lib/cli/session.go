package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// Session is a tool's view of its repo: the loaded configuration and the
// opened stores.
type Session struct {
	Config *config.Config
	Store  *store.Combined
}

// Open loads the configuration (repo.ocu.star, or the store overrides) from
// the working directory in ctx (-C applied) and opens the stores.
func (t *Tool) Open(ctx context.Context) (*Session, error) {
	cfg, err := t.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	state, err := t.openStore(ctx, cfg, cfg.State)
	if err != nil {
		return nil, err
	}
	intent := store.Store(state)
	if !cfg.Intent.Same(cfg.State) {
		if intent, err = t.openStore(ctx, cfg, cfg.Intent); err != nil {
			state.Close()
			return nil, err
		}
	}
	return &Session{Config: cfg, Store: store.NewCombined(state, intent)}, nil
}

func (t *Tool) openStore(ctx context.Context, cfg *config.Config, loc config.Location) (store.Store, error) {
	switch loc.Kind {
	case config.KindFS:
		s, err := store.OpenFS(loc.Path, store.FSOptions{Warn: t.Warn})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		return s, nil
	case config.KindGit:
		opts, err := t.gitOptions(ctx, cfg, loc)
		if err != nil {
			return nil, err
		}
		return store.OpenGit(ctx, opts) // its errors name the URL
	}
	return nil, fmt.Errorf("no store configured")
}

// gitOptions are the options of the git store at loc (docs/store-format.md §11, docs/cli.md
// §1.2): the global options, then the environment — OCUROOT_HOME (cache
// root, default ~/.ocuroot), OCUROOT_GIT_USER_NAME and
// OCUROOT_GIT_USER_EMAIL (commit identity when --git-author-* and
// OCU_GIT_AUTHOR_* are unset), OCU_GIT_TOKEN and OCU_GIT_USERNAME (https),
// OCU_GIT_SSH_KEY, OCU_GIT_SSH_KEY_PASSPHRASE, SSH_AUTH_SOCK and
// SSH_KNOWN_HOSTS (ssh).
func (t *Tool) gitOptions(ctx context.Context, cfg *config.Config, loc config.Location) (store.GitOptions, error) {
	if t.Globals.GitTimeout <= 0 {
		return store.GitOptions{}, Usagef("--git-timeout %s: must be more than 0", t.Globals.GitTimeout)
	}
	env := EnvFrom(ctx)
	get := func(key string) string {
		v, _ := env.Lookup(key)
		return v
	}
	home := get("OCUROOT_HOME")
	if home == "" {
		h := get("HOME")
		if h == "" {
			return store.GitOptions{}, fmt.Errorf("%s: no cache folder: set OCUROOT_HOME (or HOME)", loc)
		}
		home = filepath.Join(h, ".ocuroot")
	}
	name, email := t.Globals.GitAuthorName, t.Globals.GitAuthorEmail
	if name == "" {
		name = get("OCUROOT_GIT_USER_NAME")
	}
	if email == "" {
		email = get("OCUROOT_GIT_USER_EMAIL")
	}
	known := []string{"/etc/ssh/ssh_known_hosts"}
	if f := get("SSH_KNOWN_HOSTS"); f != "" {
		known = append([]string{f}, known...)
	} else if h := get("HOME"); h != "" {
		known = append([]string{filepath.Join(h, ".ssh", "known_hosts")}, known...)
	}
	return store.GitOptions{
		URL:          loc.URL,
		Remote:       loc.Remote,
		Branch:       loc.Branch,
		CreateBranch: loc.CreateBranch,
		SupportFiles: loc.SupportFiles,
		Home:         home,
		MaxAge:       t.Globals.GitMaxAge,
		Offline:      t.Globals.GitOffline,
		PushAttempts: t.Globals.GitPushAttempts,
		Timeout:      t.Globals.GitTimeout,
		AuthorName:   name,
		AuthorEmail:  email,
		Auth: store.GitAuth{
			Token:            get("OCU_GIT_TOKEN"),
			Username:         get("OCU_GIT_USERNAME"),
			SSHKeyFile:       get("OCU_GIT_SSH_KEY"),
			SSHKeyPassphrase: get("OCU_GIT_SSH_KEY_PASSPHRASE"),
			SSHAgentSocket:   get("SSH_AUTH_SOCK"),
			KnownHosts:       known,
		},
		Warn: t.Warn,
		Mask: cfg.Secrets.Mask,
	}, nil
}

// At returns the session's stores as read at when (docs/store-format.md §11.7): each
// git store at its own commit for when. Filesystem stores have no history:
// a usage error.
func (s *Session) At(ctx context.Context, when string) (*store.Combined, error) {
	if err := checkWhen(when); err != nil {
		return nil, err
	}
	state, ok := s.Store.State.(*store.Git)
	intent, ok2 := s.Store.Intent.(*store.Git)
	if !ok || !ok2 {
		return nil, Usagef("--at needs a git store")
	}
	st, err := state.At(ctx, when)
	if intent == state {
		if err != nil {
			return nil, err
		}
		return store.NewCombined(st, st), nil
	}
	it, ierr := intent.At(ctx, when)
	// A commit or tag of one repository: the other store is read as of
	// that commit's time.
	switch {
	case err == nil && store.CodeOf(ierr) == store.ENotFound && !st.Time().IsZero():
		it, ierr = intent.At(ctx, st.Time().Format(time.RFC3339))
	case ierr == nil && store.CodeOf(err) == store.ENotFound && !it.Time().IsZero():
		st, err = state.At(ctx, it.Time().Format(time.RFC3339))
	}
	if err == nil {
		err = ierr
	}
	if err != nil {
		return nil, err
	}
	return store.NewCombined(st, it), nil
}

// looksLikeDate matches what can only be meant as a date or a time.
var looksLikeDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]|$)`)

// checkWhen refuses, as a usage problem, a --at value that can name no
// point of history: ~N without a number, a malformed date or time, or
// text that cannot be a tag (nor a commit).
func checkWhen(when string) error {
	bad := func(why string) error { return Usagef("--at %q: %s", when, why) }
	if n, ok := strings.CutPrefix(when, "~"); ok {
		if _, err := strconv.ParseUint(n, 10, 31); err != nil {
			return bad("~N needs a number of commits")
		}
		return nil
	}
	if looksLikeDate.MatchString(when) {
		_, err1 := time.Parse(time.RFC3339, when)
		_, err2 := time.Parse(time.DateOnly, when)
		if err1 != nil && err2 != nil {
			return bad("invalid date or time (expected 2026-01-02 or 2026-01-02T15:04:05Z)")
		}
		return nil
	}
	if config.CheckRefName(when) != nil {
		return bad("not a commit, tag, date or ~N")
	}
	return nil
}

// historian is a store that keeps the history of its documents.
type historian interface {
	History(ctx context.Context, r ref.Ref, fn func(store.Revision) error) error
}

// History reports every version of the document at r, newest first, from
// the store of st that holds r. Stores without history (filesystem stores)
// are a usage error.
func History(ctx context.Context, st *store.Combined, r ref.Ref, fn func(store.Revision) error) error {
	s := st.State
	if r.Marker == ref.Intent {
		s = st.Intent
	}
	h, ok := s.(historian)
	if !ok {
		return Usagef("--history needs a git store")
	}
	return h.History(ctx, r, fn)
}

// Close closes the stores.
func (s *Session) Close() error { return s.Store.Close() }

// Ref parses a ref given on the command line and resolves it against the
// repo (base R/-/). Invalid refs are *ref.Error (exit code 2).
func (s *Session) Ref(input string) (ref.Ref, error) {
	r, err := ref.ParseTool(input)
	if err != nil || !r.IsRelative() {
		return r, err
	}
	name, err := s.Config.RepoName()
	if err != nil {
		return r, &UsageErr{Err: err}
	}
	return r.Resolve(ref.Ref{Repo: name})
}

// LoadConfig loads the configuration (repo.ocu.star, or the store
// overrides and the other global options) from the working directory in
// ctx, -C applied, without opening the stores.
func (t *Tool) LoadConfig(ctx context.Context) (*config.Config, error) {
	dir := t.WorkDir(ctx)
	if dir == "" {
		return nil, errors.New("no working directory")
	}
	return config.Load(ctx, config.Options{
		Dir:                dir,
		Environ:            EnvFrom(ctx).Environ,
		StateStore:         t.Globals.StateStore,
		IntentStore:        t.Globals.IntentStore,
		Repo:               t.Globals.Repo,
		RepoURLOverride:    t.Globals.RepoURLOverride,
		RepoCommitOverride: t.Globals.RepoCommitOverride,
		Stderr:             t.Stderr,
	})
}
