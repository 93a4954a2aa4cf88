//go:build unix

package store

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// walk implements tree: it lists every folder at or below refs/<prefix> that
// directly holds @object.json, entering the folders f lets it. Folders are
// read with getdents (no stat), by several goroutines at once; symbolic
// links are never followed.
func (t *fsTree) walk(ctx context.Context, prefix string, f walkFilter) ([]string, error) {
	rel := refsDir
	if prefix != "" {
		rel += "/" + prefix
	}
	log := t.log.Load()
	fd, err := t.open(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if log != nil && err != nil {
		if errors.Is(err, errNoObject) || errors.Is(err, unix.ENOTDIR) {
			log.absent(filepath.Join(t.base, rel))
		} else {
			log.spoil(err.Error())
		}
	}
	if errors.Is(err, errNoObject) || errors.Is(err, unix.ENOTDIR) || CodeOf(err) == EUnsafePath {
		return nil, nil // nothing there, or a symlinked folder: not walked
	}
	if err != nil {
		return nil, err
	}
	w := &walker{
		refs:   t.base + "/" + refsDir + "/",
		filter: f,
		ctx:    ctx,
		log:    log,
	}
	w.cond = sync.NewCond(&w.mu)
	w.stack = []string{prefix}
	w.rootfd = fd
	workers := runtime.GOMAXPROCS(0)
	if workers > 8 {
		workers = 8
	}
	if workers < 2 {
		workers = 2
	}
	// Small walks (most engine lookups) stay on this goroutine; once the
	// walk has more folders waiting than one goroutine reads quickly, other
	// workers join.
	results := make([][]string, workers)
	var wg sync.WaitGroup
	spawn := func() {
		for i := 1; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = w.run(nil)
			}()
		}
	}
	results[0] = w.run(spawn)
	wg.Wait()
	if w.err != nil {
		return nil, w.err
	}
	var out []string
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// walker shares a stack of folders (paths below refs/) among goroutines.
type walker struct {
	refs   string // "<base>/refs/"
	filter walkFilter
	ctx    context.Context
	rootfd int // the first folder, already opened and checked
	// log, when not nil, gets the identity of every folder read: what a
	// walk finds changes only when one of them does.
	log *ReadLog

	mu    sync.Mutex
	cond  *sync.Cond
	stack []string
	busy  int // folders being read
	err   error
}

func (w *walker) next() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.stack) == 0 && w.busy > 0 && w.err == nil {
		w.cond.Wait()
	}
	if len(w.stack) == 0 || w.err != nil {
		return "", false
	}
	d := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	w.busy++
	return d, true
}

// done records that a folder was read; it returns how many wait.
func (w *walker) done(children []string, err error) int {
	w.mu.Lock()
	w.busy--
	if err != nil && w.err == nil {
		w.err = err
	}
	w.stack = append(w.stack, children...)
	waiting := len(w.stack)
	w.mu.Unlock()
	w.cond.Broadcast()
	return waiting
}

// parallelAt is the number of waiting folders at which a walk goes parallel.
const parallelAt = 64

// run reads folders until none is left. spawn, if not nil, is called once
// when enough folders wait to share the walk with other goroutines.
func (w *walker) run(spawn func()) []string {
	var found, children []string
	buf := make([]byte, 32<<10)
	for {
		dir, ok := w.next()
		if !ok {
			return found
		}
		children = children[:0]
		err := w.ctx.Err()
		if err == nil {
			children, err = w.read(dir, buf, children, &found)
		}
		if w.done(children, err) >= parallelAt && spawn != nil {
			spawn()
			spawn = nil
		}
	}
}

// read lists one folder: appends it to found when it holds @object.json and
// keep accepts it, and returns its subfolders.
func (w *walker) read(dir string, buf []byte, children []string, found *[]string) ([]string, error) {
	var fd int
	w.mu.Lock()
	fd, w.rootfd = w.rootfd, -1
	w.mu.Unlock()
	full := w.refs + dir
	if dir == "" {
		full = w.refs[:len(w.refs)-1]
	}
	if fd < 0 {
		var err error
		fd, err = unix.Open(full, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if w.log != nil && err != nil {
			if err == unix.ENOENT || err == unix.ENOTDIR {
				w.log.absent(full)
			} else {
				w.log.spoil(full + ": " + err.Error())
			}
		}
		if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
			return children, nil // removed meanwhile, or replaced by a link
		}
		if err != nil {
			return children, err
		}
	}
	defer unix.Close(fd)
	if w.log != nil {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			w.log.spoil(full + ": " + err.Error())
		} else {
			w.log.found(full, &st)
		}
	}
	hasObject := false
	err := readDir(fd, buf, func(name []byte, kind byte) {
		if kind == '?' {
			kind = lstatKind(full + "/" + string(name))
		}
		switch {
		case kind == 'd':
			child := string(name)
			if dir != "" {
				child = dir + "/" + child
			}
			if w.filter.enters(child, len(name)) {
				children = append(children, child)
			}
		case kind == 'f' && string(name) == objectFile:
			hasObject = true
		}
	})
	if err != nil {
		return children, err
	}
	if hasObject && dir != "" && w.filter.keep(dir) {
		*found = append(*found, dir)
	}
	return children, nil
}
