package cli

import (
	"context"
	"runtime/debug"
	"strings"
)

// Exit codes (docs/cli.md §1.3).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	ExitBusy    = 75
)

// Env is what a tool knows of its process: working directory and
// environment ("KEY=value").
type Env struct {
	Dir     string
	Environ []string
}

type envKey struct{}

// WithEnv returns a context carrying env for the tools.
func WithEnv(ctx context.Context, env Env) context.Context {
	return context.WithValue(ctx, envKey{}, env)
}

// EnvFrom returns the Env carried by ctx (empty if none).
func EnvFrom(ctx context.Context) Env {
	env, _ := ctx.Value(envKey{}).(Env)
	return env
}

// Lookup returns the value of the environment variable key.
func (e Env) Lookup(key string) (string, bool) {
	for i := len(e.Environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e.Environ[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Version is the version of the tools: the module version they were built
// from, or "dev".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
