package cli

import (
	"context"
	"path/filepath"

	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/store"
)

// WorkDir is the working directory of the tool: the one in ctx, with -C
// applied.
func (t *Tool) WorkDir(ctx context.Context) string {
	dir := EnvFrom(ctx).Dir
	if t.Globals.Dir != "" {
		if filepath.IsAbs(t.Globals.Dir) {
			return t.Globals.Dir
		}
		return filepath.Join(dir, t.Globals.Dir)
	}
	return dir
}

// GitOptions returns the options the tool opens the git store at loc with
// (see Open). cfg supplies the secrets masked in commit messages; nil
// masks none.
func (t *Tool) GitOptions(ctx context.Context, cfg *config.Config, loc config.Location) (store.GitOptions, error) {
	if cfg == nil {
		cfg = &config.Config{Secrets: new(sdk.Secrets)}
	}
	return t.gitOptions(ctx, cfg, loc)
}
