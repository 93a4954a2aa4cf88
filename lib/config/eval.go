package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/sdk"
)

// FileName is the name of the repo configuration file.
const FileName = "repo.ocu.star"

// StoreMarker is the file marking the root of a filesystem store.
const StoreMarker = ".ocuroot-store"

// packageOnly are the builtins of package files that repo.ocu.star must
// not call (docs/engine.md §3, rows P and W).
var packageOnly = []string{
	"environment", "register_environment", "environments", "phase", "call",
	"deploy", "next", "done", "input", "ref",
}

// ErrNoTrigger is returned by CallTrigger when the file registers no
// trigger.
var ErrNoTrigger = errors.New("repo.ocu.star registers no trigger")

// RepoFile is an evaluated repo.ocu.star (docs/engine.md §1.2).
type RepoFile struct {
	// Filename is the file's name in messages (see EvalOptions).
	Filename string
	// Source holds the exact bytes evaluated.
	Source []byte
	// Alias is the argument of repo_alias(), or "".
	Alias string
	// State and Intent are the stores given to store.set(); State is nil
	// when store.set was not called, Intent when no intent store was given.
	State, Intent *Location
	// Trigger is the function registered with trigger(), or nil. Call it
	// with CallTrigger.
	Trigger *starlark.Function
	// Globals are the file's frozen globals.
	Globals starlark.StringDict

	host *sdk.Host
}

// EvalOptions tells Evaluate how to evaluate a repo.ocu.star source.
type EvalOptions struct {
	// Filename is the file's name in messages and print() prefixes; default
	// "repo.ocu.star" (the path relative to the repo root).
	Filename string
	// Root is the absolute repo root: base of store.fs() and store.git()
	// local paths and of load().
	Root string
	// Dir is the working directory of host.*; default Root.
	Dir string
	// Environ is the environment seen by host.env and host.shell.
	Environ []string
	// Secrets receives the values of secret(); nil creates a new set.
	Secrets *sdk.Secrets
	// Stderr receives print() and host.shell output as "<file>> <text>";
	// nil discards it.
	Stderr io.Writer
	// NoLoad makes every load() fail (stored repo configurations,
	// docs/engine.md §11.5).
	NoLoad bool
}

// Evaluate evaluates the repo configuration src (docs/engine.md §1.2) with the
// builtins ocuroot, repo_alias, store.fs, store.git, store.set, trigger,
// host.* and its bare aliases, secret, json, struct, print and load; the
// builtins of package files fail with "<name>() is not available in
// repo.ocu.star". It checks what the file calls (store.set and repo_alias
// at most once, a valid alias, trigger at most once with a function taking
// one positional parameter, valid stores) but not that store.set was
// called: Load does. Errors read "repo.ocu.star:LINE:COL: cause". Nothing is
// written anywhere, except by the file's own host.* calls.
func Evaluate(ctx context.Context, src []byte, o EvalOptions) (*RepoFile, error) {
	if o.Filename == "" {
		o.Filename = FileName
	}
	if o.Dir == "" {
		o.Dir = o.Root
	}
	if o.Secrets == nil {
		o.Secrets = new(sdk.Secrets)
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	file := &RepoFile{Filename: o.Filename, Source: src}
	out := &prefixWriter{w: o.Stderr, file: o.Filename}
	file.host = &sdk.Host{Dir: o.Dir, Environ: o.Environ, Secrets: o.Secrets, Log: out.log}

	st := &evalState{root: o.Root, file: file}
	predeclared := starlark.StringDict{}
	for name, v := range file.host.Builtins() {
		predeclared[name] = v
	}
	for _, name := range packageOnly {
		predeclared[name] = sdk.Unavailable(name, FileName)
	}
	predeclared["repo_alias"] = starlark.NewBuiltin("repo_alias", st.repoAlias)
	predeclared["trigger"] = starlark.NewBuiltin("trigger", st.trigger)
	predeclared["store"] = &starlarkstruct.Module{Name: "store", Members: starlark.StringDict{
		"fs":  starlark.NewBuiltin("store.fs", st.storeFS),
		"git": starlark.NewBuiltin("store.git", st.storeGit),
		"set": starlark.NewBuiltin("store.set", st.storeSet),
	}}
	predeclared.Freeze()

	ev := &sdk.Evaluator{
		Root:        o.Root,
		Predeclared: func(string) starlark.StringDict { return predeclared },
		Print:       file.host.Print,
	}
	if o.NoLoad {
		ev.LoadError = errors.New("load() is not available in a stored repo.ocu.star")
	}
	globals, err := ev.Exec(ctx, o.Filename, src)
	if err != nil {
		return nil, err
	}
	file.Globals = globals
	return file, nil
}

// CallTrigger calls the registered trigger function with commit, on a
// thread cancelled with ctx; print() and host.shell output go where the
// evaluation's went. Without a trigger it returns ErrNoTrigger.
func (f *RepoFile) CallTrigger(ctx context.Context, commit string) error {
	if f.Trigger == nil {
		return ErrNoTrigger
	}
	thread, stop := sdk.NewThread(ctx, "trigger")
	defer stop()
	return f.CallTriggerThread(thread, commit)
}

// CallTriggerThread is CallTrigger on thread, which the caller made (with
// sdk.NewThread) and bounds: the engine runs triggers with the limits of
// package code.
func (f *RepoFile) CallTriggerThread(thread *starlark.Thread, commit string) error {
	if f.Trigger == nil {
		return ErrNoTrigger
	}
	thread.Print = f.host.Print
	_, err := starlark.Call(thread, f.Trigger, starlark.Tuple{starlark.String(commit)}, nil)
	return sdk.Locate(err)
}

// prefixWriter writes log lines as "<file>> <text>".
type prefixWriter struct {
	mu   sync.Mutex
	w    io.Writer
	file string
}

func (p *prefixWriter) log(line sdk.LogLine) {
	file := p.file
	if line.Pos.IsValid() {
		file = line.Pos.Filename()
	}
	var b strings.Builder
	for l := range strings.SplitSeq(line.Text, "\n") {
		b.WriteString(file)
		b.WriteString("> ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.w, b.String())
}

// evalState records what the file called.
type evalState struct {
	root string
	file *RepoFile

	aliasSet, setCalled bool
}

func (st *evalState) repoAlias(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var alias string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "alias", &alias); err != nil {
		return nil, err
	}
	if st.aliasSet {
		return nil, errors.New("repo_alias() called twice")
	}
	if alias == "" {
		return nil, errors.New("repo_alias(): the alias must not be empty")
	}
	if err := ref.ValidateRepo(alias); err != nil {
		return nil, fmt.Errorf("invalid repo name %q", alias)
	}
	st.aliasSet = true
	st.file.Alias = alias
	return starlark.None, nil
}

func (st *evalState) trigger(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &v); err != nil {
		return nil, err
	}
	if st.file.Trigger != nil {
		return nil, errors.New("trigger() called twice")
	}
	fn, ok := v.(*starlark.Function)
	if !ok {
		return nil, fmt.Errorf("trigger(): want a function, got %s", v.Type())
	}
	if !takesOnePositional(fn) {
		return nil, fmt.Errorf("trigger(): %s must take one positional parameter (the commit)", fn.Name())
	}
	st.file.Trigger = fn
	return starlark.None, nil
}

// takesOnePositional reports whether fn can be called with exactly one
// positional argument and nothing else.
func takesOnePositional(fn *starlark.Function) bool {
	n := fn.NumParams()
	if fn.HasVarargs() {
		n--
	}
	if fn.HasKwargs() {
		n--
	}
	npos := n - fn.NumKwonlyParams()
	if npos < 1 && !fn.HasVarargs() {
		return false
	}
	for i := 1; i < n; i++ { // every other parameter needs a default
		if fn.ParamDefault(i) == nil {
			return false
		}
	}
	return true
}

// storeValue is the Starlark value of store.fs() and store.git().
type storeValue struct{ loc Location }

func (s *storeValue) String() string        { return "<store " + s.loc.String() + ">" }
func (s *storeValue) Type() string          { return "store" }
func (s *storeValue) Freeze()               {}
func (s *storeValue) Truth() starlark.Bool  { return true }
func (s *storeValue) Hash() (uint32, error) { return starlark.String(s.loc.String()).Hash() }

func (st *evalState) storeFS(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p); err != nil {
		return nil, err
	}
	if p == "" {
		return nil, errors.New("store.fs(): the path must not be empty")
	}
	loc, err := fsLocation(filepath.FromSlash(p), st.root)
	if err != nil {
		return nil, fmt.Errorf("store.fs(): %v", err)
	}
	return &storeValue{loc: loc}, nil
}

func (st *evalState) storeGit(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		url          string
		branch       starlark.Value = starlark.None
		createBranch                = true
		supportFiles starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"remote_url", &url, "branch?", &branch, "create_branch?", &createBranch, "support_files?", &supportFiles); err != nil {
		return nil, err
	}
	loc, err := gitLocation(url, st.root)
	if err != nil {
		return nil, fmt.Errorf("store.git(): %v", err)
	}
	switch br := branch.(type) {
	case starlark.NoneType:
	case starlark.String:
		if err := validateBranch(string(br)); err != nil {
			return nil, fmt.Errorf("store.git(): %v", err)
		}
		loc.Branch = string(br)
	default:
		return nil, fmt.Errorf("store.git(): branch must be a string or None, got %s", branch.Type())
	}
	loc.CreateBranch = createBranch
	switch sf := supportFiles.(type) {
	case starlark.NoneType:
	case *starlark.Dict:
		files := make(map[string]string, sf.Len())
		for _, item := range sf.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("store.git(): support_files keys must be strings, got %s", item[0].Type())
			}
			v, ok := item[1].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("store.git(): support_files[%q] must be a string, got %s", string(k), item[1].Type())
			}
			if err := validateSupportFile(string(k)); err != nil {
				return nil, fmt.Errorf("store.git(): %v", err)
			}
			files[string(k)] = string(v)
		}
		loc.SupportFiles = files
	default:
		return nil, fmt.Errorf("store.git(): support_files must be a dict or None, got %s", supportFiles.Type())
	}
	return &storeValue{loc: loc}, nil
}

func (st *evalState) storeSet(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var state, intent starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "state", &state, "intent?", &intent); err != nil {
		return nil, err
	}
	if st.setCalled {
		return nil, errors.New("store.set() called twice")
	}
	s, ok := state.(*storeValue)
	if !ok {
		return nil, fmt.Errorf("store.set(): state must be a store from store.fs() or store.git(), got %s", state.Type())
	}
	var in *Location
	switch iv := intent.(type) {
	case starlark.NoneType:
	case *storeValue:
		l := iv.loc
		in = &l
	default:
		return nil, fmt.Errorf("store.set(): intent must be a store from store.fs() or store.git(), or None, got %s", intent.Type())
	}
	st.setCalled = true
	l := s.loc
	st.file.State = &l
	st.file.Intent = in
	return starlark.None, nil
}
