package sdk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// Log streams (docs/engine.md §6, log list).
const (
	StreamPrint  = 0 // print()
	StreamStdout = 1 // host.shell standard output
	StreamStderr = 2 // host.shell standard error (and error lines)
)

// LogLine is one line of output produced by Starlark code.
type LogLine struct {
	Stream int             // StreamPrint, StreamStdout or StreamStderr
	Text   string          // already masked; no trailing newline
	Pos    syntax.Position // the print() or host.shell() call in user code (invalid when unknown)
	Thread string          // name of the Starlark thread
}

// Host provides the builtins every .ocu.star file may use (docs/engine.md §3,
// rows R P W). The fields must not change once Builtins has been called.
type Host struct {
	// Dir is the absolute working directory: relative paths of host.*
	// resolve against it and host.pwd returns it.
	Dir string
	// Environ is the inherited environment ("KEY=value" entries) of
	// host.shell and the content of host.env, less the credentials (see
	// IsCredential). The process environment is never read directly: pass
	// os.Environ() to inherit it.
	Environ []string
	// Secrets receives the values of secret(); it masks log lines. When nil,
	// Builtins creates one.
	Secrets *Secrets
	// Log receives print() output and host.shell output lines (unless
	// mute). It may be called from several goroutines, never concurrently
	// for one host.shell call. Nil discards them.
	Log func(LogLine)

	once     sync.Once
	builtins starlark.StringDict
}

// Builtins returns the predeclared names provided by h: host (a module with
// shell, env, os, arch, pwd, read, read_file, write, write_file, read_dir,
// is_dir), the bare aliases shell, env, os, arch, pwd, read, write,
// read_dir, is_dir, the http module (get, head, post, put, patch, delete;
// see httpModule), and secret, json, struct and ocuroot. The returned dict
// is shared: copy it before adding names.
func (h *Host) Builtins() starlark.StringDict {
	h.once.Do(func() {
		if h.Secrets == nil {
			h.Secrets = new(Secrets)
		}
		h.Secrets.AddCredentials(h.Environ)
		members := starlark.StringDict{
			"shell":    starlark.NewBuiltin("shell", h.shell),
			"env":      starlark.NewBuiltin("env", h.env),
			"os":       starlark.NewBuiltin("os", hostOS),
			"arch":     starlark.NewBuiltin("arch", hostArch),
			"pwd":      starlark.NewBuiltin("pwd", h.pwd),
			"read":     starlark.NewBuiltin("read", h.read),
			"write":    starlark.NewBuiltin("write", h.write),
			"read_dir": starlark.NewBuiltin("read_dir", h.readDir),
			"is_dir":   starlark.NewBuiltin("is_dir", h.isDir),
		}
		b := starlark.StringDict{}
		for name, v := range members {
			b[name] = v
		}
		members["read_file"] = members["read"]
		members["write_file"] = members["write"]
		members.Freeze()
		b["host"] = &starlarkstruct.Module{Name: "host", Members: members}
		b["http"] = httpModule{h}
		b["secret"] = starlark.NewBuiltin("secret", h.secret)
		b["json"] = json.Module
		b["struct"] = starlark.NewBuiltin("struct", starlarkstruct.Make)
		b["ocuroot"] = ocurootBuiltin
		h.builtins = b
	})
	return h.builtins
}

// Print is a starlark.Thread.Print function sending print() output to
// h.Log, masked, with the position of the print() call.
func (h *Host) Print(thread *starlark.Thread, msg string) {
	if h.Log == nil {
		return
	}
	pos, _ := CallerPos(thread)
	h.Log(LogLine{Stream: StreamPrint, Text: h.Secrets.Mask(msg), Pos: pos, Thread: thread.Name})
}

// path resolves p against h.Dir.
func (h *Host) path(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(h.Dir, p)
}

// userPathError rewrites a *fs.PathError to name the path as the user gave it.
func userPathError(err error, p string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: p, Err: pe.Err}
	}
	return err
}

func (h *Host) secret(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	s, ok := v.(starlark.String)
	if !ok {
		return nil, fmt.Errorf("secret: want a string, got %s", v.Type())
	}
	if s == "" {
		return nil, fmt.Errorf("secret: the value must not be empty")
	}
	h.Secrets.Add(string(s))
	return s, nil
}

// env implements host.env(): a dict of the environment without the
// credentials; host.env(name): the value of one variable, or None when it
// is not set. Asked for by name, a credential is returned (and is already
// masked as a secret).
func (h *Host) env(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name starlark.Value = starlark.None
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &name); err != nil {
		return nil, err
	}
	m := EnvironMap(h.Environ)
	if name != starlark.None {
		k, ok := name.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: want a variable name, got %s", b.Name(), name.Type())
		}
		if v, ok := m[string(k)]; ok {
			return starlark.String(v), nil
		}
		return starlark.None, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !IsCredential(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	d := starlark.NewDict(len(keys))
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), starlark.String(m[k]))
	}
	return d, nil
}

// IsCredential reports whether the environment variable name holds one of
// ocu's own credentials: OCU_GIT_TOKEN and OCU_GIT_SSH_KEY_PASSPHRASE. Their
// values are secrets, host.env() leaves them out and host.shell commands do
// not inherit them; a package that needs one asks for it by name,
// host.env("OCU_GIT_TOKEN"), and passes it on explicitly
// (host.shell(..., env={...})).
func IsCredential(name string) bool {
	switch name {
	case "OCU_GIT_TOKEN", "OCU_GIT_SSH_KEY_PASSPHRASE":
		return true
	}
	return false
}

// withoutCredentials returns environ without the credential variables.
func withoutCredentials(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !IsCredential(k) {
			out = append(out, kv)
		}
	}
	return out
}

// EnvironMap turns "KEY=value" entries into a map; of duplicate keys the
// last wins (as for a started process); entries without "=" are skipped.
func EnvironMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		m[k] = v
	}
	return m
}

func hostOS(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(runtime.GOOS), nil
}

func hostArch(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(runtime.GOARCH), nil
}

func (h *Host) pwd(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(h.Dir), nil
}

func (h *Host) read(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(h.path(p))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), userPathError(err, p))
	}
	return starlark.String(data), nil
}

func (h *Host) write(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	var content starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p, "content", &content); err != nil {
		return nil, err
	}
	var data []byte
	switch c := content.(type) {
	case starlark.String:
		data = []byte(c)
	case starlark.Bytes:
		data = []byte(c)
	default:
		return nil, fmt.Errorf("%s: content must be a string, got %s", b.Name(), content.Type())
	}
	full := h.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), userPathError(err, p))
	}
	return starlark.None, nil
}

func (h *Host) readDir(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(h.path(p))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), userPathError(err, p))
	}
	names := make([]starlark.Value, len(entries))
	for i, e := range entries { // os.ReadDir sorts by name
		names[i] = starlark.String(e.Name())
	}
	return starlark.NewList(names), nil
}

func (h *Host) isDir(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p); err != nil {
		return nil, err
	}
	fi, err := os.Stat(h.path(p))
	return starlark.Bool(err == nil && fi.IsDir()), nil
}

// contextKey is the thread-local key of the context set by NewThread.
const contextKey = "ocu.sdk.context"

// NewThread returns a Starlark thread named name whose execution is
// cancelled when ctx is done; host.shell commands started on it are
// interrupted too. Call stop when the thread is no longer used.
func NewThread(ctx context.Context, name string) (thread *starlark.Thread, stop func()) {
	thread = &starlark.Thread{Name: name}
	thread.SetLocal(contextKey, ctx)
	unregister := context.AfterFunc(ctx, func() {
		thread.Cancel(context.Cause(ctx).Error())
	})
	return thread, func() { unregister() }
}

// threadContext returns the context given to NewThread, or
// context.Background().
func threadContext(thread *starlark.Thread) context.Context {
	if thread != nil {
		if ctx, ok := thread.Local(contextKey).(context.Context); ok {
			return ctx
		}
	}
	return context.Background()
}
