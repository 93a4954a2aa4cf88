package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/state"
)

// evaluated is a package file evaluated at a commit for one release
// (docs/engine.md §4).
type evaluated struct {
	file   string // F
	commit string // H the code comes from
	root   string // folder holding the repo at that commit
	state  *pkgState
	pkg    state.Package
	envs   []state.Environment           // registered (environments files)
	funcs  map[string]*starlark.Function // FuncID.Key() → top-level function
	ids    map[*starlark.Function]state.FuncID
	names  map[string]string // module path → its name in positions (see posName)
	host   *sdk.Host
	eval   *sdk.Evaluator
	// sink receives the log lines of the function running now; nil while
	// the package itself is evaluated (its prints go to stderr).
	sink func(sdk.LogLine)
}

// isEnvironmentsFile reports whether the file only registers environments.
func (ev *evaluated) isEnvironmentsFile() bool { return len(ev.envs) > 0 }

// evaluate runs package file at commit with relative refs based on release
// `release` (a number) of it. Its errors carry the package's own text (a
// fail() message, a shell error), so the registered secrets are masked in
// them (docs/engine.md §16).
func (e *Engine) evaluate(ctx context.Context, file, commit, release string) (_ *evaluated, err error) {
	defer func() { err = e.masked(err) }()
	root, err := e.codeRoot(ctx, commit)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s not found at commit %s", file, commit)
		}
		return nil, err
	}
	base := ref.Ref{Repo: e.Repo, File: file, Marker: ref.State, Release: release}
	ev := &evaluated{file: file, commit: commit, root: root, funcs: map[string]*starlark.Function{}}
	ev.state = &pkgState{file: file, base: base, stateEnvs: func() ([]state.Environment, error) { return e.environments(ctx) }}
	ev.host = &sdk.Host{
		Dir:     filepath.Join(root, filepath.FromSlash(path.Dir(file))),
		Environ: e.Environ,
		Secrets: e.Secrets,
		Log:     ev.log(e),
	}
	builtins := starlark.StringDict{}
	for k, v := range ev.host.Builtins() {
		builtins[k] = v
	}
	for k, v := range ev.state.builtins() {
		builtins[k] = v
	}
	builtins.Freeze()
	ev.eval = &sdk.Evaluator{
		Root:        root,
		Predeclared: func(string) starlark.StringDict { return builtins },
		Print:       ev.host.Print,
	}
	err = e.runBounded(ctx, file, func(thread *starlark.Thread) error {
		_, err := ev.eval.ExecThread(thread, file, src)
		return err
	})
	var limit *limitError
	if errors.As(err, &limit) {
		return nil, fmt.Errorf("%s: %w", file, err)
	} else if err != nil {
		return nil, err
	}
	ev.state.finish()
	ev.ids = ev.topLevel()
	if err := ev.compile(ev.ids); err != nil {
		return nil, err
	}
	return ev, nil
}

// log returns the sink of every log line of the evaluation: the running
// function's, or stderr as "<file>> <text>" while the package evaluates.
func (ev *evaluated) log(e *Engine) func(sdk.LogLine) {
	return func(l sdk.LogLine) {
		if ev.sink != nil {
			ev.sink(l)
			return
		}
		e.progress.stderrLine(ev.file + "> " + l.Text)
	}
}

// topLevel indexes the top-level functions of every module by identity.
// A function's position names its module as the original Ocuroot client
// does (see posName), so that either client can run the other's functions.
// When a loaded module's function gets the same id as one of the package
// file, the package file's wins.
func (ev *evaluated) topLevel() map[*starlark.Function]state.FuncID {
	ids := map[*starlark.Function]state.FuncID{}
	ev.names = map[string]string{}
	for _, m := range ev.eval.Modules() {
		ev.names[m.Path] = m.Load
		if m.Load == "" {
			ev.names[m.Path] = path.Base(m.Path)
		}
	}
	for _, m := range ev.eval.Modules() { // loaded modules first, the package file last
		for name, v := range m.Globals {
			fn, ok := v.(*starlark.Function)
			if !ok || fn.Name() != name || fn.Position().Filename() != m.Path {
				continue
			}
			p := fn.Position()
			id := state.FuncID{Name: name, Pos: fmt.Sprintf("%s:%d:%d", ev.names[m.Path], p.Line, p.Col)}
			ids[fn] = id
			ev.funcs[id.Key()] = fn
		}
	}
	return ids
}

// posName returns the name by which positions in the module at path p are
// stored: the base name of the package file ("release.ocu.star" for
// frontend/release.ocu.star) and the load string of a loaded module
// ("./tasks.ocu.star"), as the original client names them.
func (ev *evaluated) posName(p string) string {
	if n, ok := ev.names[p]; ok {
		return n
	}
	return p
}

// compile checks the declared work and builds the Package (docs/engine.md §4, §5).
func (ev *evaluated) compile(ids map[*starlark.Function]state.FuncID) error {
	st := ev.state
	declaresWork := len(st.items) > 0 || len(st.phases) > 0
	switch {
	case len(st.envs) > 0 && declaresWork:
		return fmt.Errorf("%s declares both environments and work", ev.file)
	case len(st.envs) > 0:
		ev.envs = st.envs
		return nil
	case !declaresWork:
		return fmt.Errorf("%s declares no work and no environments", ev.file)
	}
	ev.pkg = state.Package{Functions: map[string]state.FunctionEntry{}, Phases: st.phases}
	for _, it := range st.items {
		roles := make([]string, 0, len(it.fns))
		for role := range it.fns {
			roles = append(roles, role)
		}
		sort.Strings(roles)
		for _, role := range roles {
			id, ok := ids[it.fns[role]]
			if !ok {
				return locatedf(it.pos, "%s must be a top-level function", role)
			}
			ev.pkg.Functions[id.Key()] = state.FunctionEntry{Function: id}
			switch role {
			case "fn":
				it.work.Call.Fn = id
			case "up":
				it.work.Deploy.Up = id
			case "down":
				it.work.Deploy.Down = id
			}
		}
	}
	return nil
}

// function returns the top-level function id of this evaluation. Positions
// naming the package file by its path from the repo root
// ("frontend/release.ocu.star:14:1", as earlier versions of ocu wrote them)
// are accepted as well as the original's base name.
func (ev *evaluated) function(id state.FuncID) (*starlark.Function, error) {
	if fn, ok := ev.funcs[id.Key()]; ok {
		return fn, nil
	}
	if rest, ok := strings.CutPrefix(id.Pos, ev.file+":"); ok {
		alt := state.FuncID{Name: id.Name, Pos: ev.posName(ev.file) + ":" + rest}
		if fn, ok := ev.funcs[alt.Key()]; ok {
			return fn, nil
		}
	}
	return nil, fmt.Errorf("function %q (%s) not found at commit %s", id.Name, id.Pos, ev.commit)
}

// funcID returns the id of a top-level function of this evaluation.
func (ev *evaluated) funcID(fn *starlark.Function) (state.FuncID, bool) {
	id, ok := ev.ids[fn]
	return id, ok
}

func locatedf(pos, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if pos == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", pos, msg)
}
