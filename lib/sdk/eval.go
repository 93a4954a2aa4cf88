package sdk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"
)

// Module is one evaluated file: the main file or a loaded module.
type Module struct {
	// Path is the file's slash-separated path relative to the repo root. It
	// is also the file name of every position in the module.
	Path string
	// Load is the load() string by which the module was first loaded
	// ("./tasks.ocu.star"); empty for a main file.
	Load string
	// Globals are the module's frozen globals.
	Globals starlark.StringDict
}

// Evaluator executes .ocu.star files (docs/engine.md §2): it checks the SDK
// version of every file before running it and implements load(). Use one
// Evaluator per evaluation: each module is evaluated at most once by it.
// An Evaluator is not safe for concurrent use.
type Evaluator struct {
	// Root is the absolute repo root. Module paths are relative to it and
	// load() cannot leave it.
	Root string
	// Predeclared returns the names predeclared in the module at path
	// (relative to Root). Required.
	Predeclared func(path string) starlark.StringDict
	// Print receives print() output of every module (see Host.Print). Nil
	// discards it.
	Print func(thread *starlark.Thread, msg string)
	// ReadFile reads a module to load, given its path relative to Root.
	// Nil reads the file below Root.
	ReadFile func(path string) ([]byte, error)
	// LoadError, when not nil, makes every load() fail with it (stored repo
	// configurations, docs/engine.md §11.5).
	LoadError error

	modules map[string]*moduleEntry
	stack   []string // paths being executed, outermost first
	order   []*Module
}

type moduleEntry struct {
	module  *Module
	err     error
	loading bool
}

// Exec executes the main file at path (slash-separated, relative to Root)
// whose content is src, and returns its frozen globals. The thread is named
// after path and cancelled when ctx is done. Errors are located (see
// Locate): they name the user's file and position.
func (e *Evaluator) Exec(ctx context.Context, path string, src []byte) (starlark.StringDict, error) {
	thread, stop := NewThread(ctx, path)
	defer stop()
	return e.ExecThread(thread, path, src)
}

// ExecThread is Exec on a thread made by the caller (see NewThread); its
// Load and Print functions are replaced.
func (e *Evaluator) ExecThread(thread *starlark.Thread, p string, src []byte) (starlark.StringDict, error) {
	thread.Load = e.load
	if e.Print != nil {
		thread.Print = e.Print
	} else {
		thread.Print = func(*starlark.Thread, string) {}
	}
	m, err := e.exec(thread, cleanModulePath(p), "", src)
	if err != nil {
		return nil, err
	}
	return m.Globals, nil
}

// Modules returns the modules evaluated so far, in the order their
// evaluation finished (loaded modules before the files loading them).
func (e *Evaluator) Modules() []*Module {
	return append([]*Module(nil), e.order...)
}

func cleanModulePath(p string) string {
	return strings.TrimPrefix(path.Clean(filepath.ToSlash(p)), "./")
}

// exec evaluates the module at p once; later calls return the first result.
func (e *Evaluator) exec(thread *starlark.Thread, p, load string, src []byte) (*Module, error) {
	if e.modules == nil {
		e.modules = make(map[string]*moduleEntry)
	}
	if entry, ok := e.modules[p]; ok && !entry.loading {
		return entry.module, entry.err
	}
	entry := &moduleEntry{loading: true}
	e.modules[p] = entry
	e.stack = append(e.stack, p)
	defer func() {
		e.stack = e.stack[:len(e.stack)-1]
		entry.loading = false
	}()

	entry.module, entry.err = e.run(thread, p, load, src)
	if entry.err == nil {
		e.order = append(e.order, entry.module)
	}
	return entry.module, entry.err
}

func (e *Evaluator) run(thread *starlark.Thread, p, load string, src []byte) (*Module, error) {
	f, err := FileOptions().Parse(p, src, 0)
	if err != nil {
		return nil, Locate(err)
	}
	if err := CheckVersion(p, f); err != nil {
		return nil, err
	}
	var predeclared starlark.StringDict
	if e.Predeclared != nil {
		predeclared = e.Predeclared(p)
	}
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return nil, Locate(err)
	}
	globals, err := prog.Init(thread, predeclared)
	if err != nil {
		return nil, Locate(err)
	}
	globals.Freeze()
	return &Module{Path: p, Load: load, Globals: globals}, nil
}

// load implements starlark.Thread.Load.
func (e *Evaluator) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	if e.LoadError != nil {
		return nil, e.LoadError
	}
	from := e.stack[len(e.stack)-1]
	target, err := resolveLoad(from, module)
	if err != nil {
		return nil, err
	}
	if entry, ok := e.modules[target]; ok {
		if entry.loading {
			return nil, e.cycleError(target)
		}
		if entry.err != nil {
			return nil, entry.err
		}
		return entry.module.Globals, nil
	}
	src, err := e.readFile(target)
	if err != nil {
		return nil, err
	}
	m, err := e.exec(thread, target, module, src)
	if err != nil {
		return nil, err
	}
	return m.Globals, nil
}

// resolveLoad returns the module path named by the load string module in
// the file from.
func resolveLoad(from, module string) (string, error) {
	if module == "" {
		return "", errors.New("empty module path")
	}
	if strings.Contains(module, "\\") {
		return "", errors.New("module paths use /, not \\")
	}
	if path.IsAbs(module) {
		return "", errors.New("module paths are relative to the loading file")
	}
	target := path.Join(path.Dir(from), module)
	if target == ".." || strings.HasPrefix(target, "../") {
		return "", errors.New("path escapes the repo root")
	}
	if target == "." {
		return "", errors.New("not a file")
	}
	return target, nil
}

func (e *Evaluator) cycleError(target string) error {
	i := len(e.stack) - 1
	for i > 0 && e.stack[i] != target {
		i--
	}
	chain := append(append([]string(nil), e.stack[i:]...), target)
	return fmt.Errorf("load cycle: %s", strings.Join(chain, " → "))
}

func (e *Evaluator) readFile(p string) ([]byte, error) {
	if e.ReadFile != nil {
		return e.ReadFile(p)
	}
	// Through an os.Root: symbolic links are followed only while they stay
	// inside the repository; one that leaves it fails ("path escapes from
	// parent"), so load() reads nothing outside the repository.
	root, err := os.OpenRoot(e.Root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	data, err := root.ReadFile(filepath.FromSlash(p))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", p, pe.Err)
		}
		return nil, err
	}
	return data, nil
}
