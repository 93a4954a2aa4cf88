package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

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
	env := EnvFrom(ctx)
	dir := env.Dir
	if t.Globals.Dir != "" {
		dir = t.Globals.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(env.Dir, dir)
		}
	}
	if dir == "" {
		return nil, errors.New("no working directory")
	}
	cfg, err := config.Load(ctx, config.Options{
		Dir:                dir,
		Environ:            env.Environ,
		StateStore:         t.Globals.StateStore,
		IntentStore:        t.Globals.IntentStore,
		Repo:               t.Globals.Repo,
		RepoURLOverride:    t.Globals.RepoURLOverride,
		RepoCommitOverride: t.Globals.RepoCommitOverride,
		Stderr:             t.Stderr,
	})
	if err != nil {
		return nil, err
	}
	state, err := t.openStore(cfg.State)
	if err != nil {
		return nil, err
	}
	intent := store.Store(state)
	if !cfg.Intent.Same(cfg.State) {
		if intent, err = t.openStore(cfg.Intent); err != nil {
			state.Close()
			return nil, err
		}
	}
	return &Session{Config: cfg, Store: store.NewCombined(state, intent)}, nil
}

func (t *Tool) openStore(loc config.Location) (store.Store, error) {
	switch loc.Kind {
	case config.KindFS:
		s, err := store.OpenFS(loc.Path, store.FSOptions{Warn: t.Warn})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		return s, nil
	case config.KindGit:
		return nil, fmt.Errorf("%s: git stores are not supported by this version of ocu", loc)
	}
	return nil, fmt.Errorf("no store configured")
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
