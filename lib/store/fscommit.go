//go:build unix

package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// journal is a transaction written ahead of its files (docs/store-format.md §9.2).
// With Undo every file also carries its content from before the
// transaction, so a transaction that cannot be completed is rolled back;
// journals of older versions lack it and can only be completed.
type journal struct {
	Name  string        `json:"name"`
	Undo  bool          `json:"undo,omitempty"`
	Files []journalFile `json:"files"`
}

type journalFile struct {
	Path    string  `json:"path"`
	Content *string `json:"content"`          // nil: the file is removed
	Before  *string `json:"before,omitempty"` // with Undo; nil: the file did not exist
	// BeforeUnknown, with Undo, marks a file that existed but could not be
	// read (a corrupt object too large to read, a FIFO): it cannot be
	// restored.
	BeforeUnknown bool `json:"before_unknown,omitempty"`
}

// text returns b as a string pointer, nil for nil.
func text(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// fewFiles is the size up to which a commit fsyncs each file instead of
// calling syncfs for the whole file system.
const fewFiles = 16

// Commit implements Store: under the write lock it completes unfinished
// transactions, evaluates tx against the current files, writes a journal,
// applies it, makes it durable and removes the journal. A transaction that
// fails to apply (a full disk, a folder it may not write) is rolled back
// before Commit returns: the error means nothing was written.
func (s *FS) Commit(ctx context.Context, tx *Tx) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx.Empty() { // nothing to write: a filesystem store has no support files
		return nil
	}
	if log := s.tree.log.Load(); log != nil {
		log.spoil("a write")
	}
	unlock, err := s.lockWrites()
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.checkVersion(); err != nil {
		return err
	}
	changes, err := tx.evaluate(s.tree)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	j := journal{Name: tx.Name, Undo: true}
	if _, err := os.Lstat(filepath.Join(s.tree.base, versionFile)); errors.Is(err, os.ErrNotExist) {
		j.Files = append(j.Files, journalFile{Path: versionFile, Content: text([]byte(versionV1))})
	}
	for _, c := range changes {
		f := journalFile{Path: objectPath(c.ref), Content: text(c.data), Before: text(c.old), BeforeUnknown: c.oldUnknown}
		if c.oldUnknown {
			f.Before = nil
		}
		j.Files = append(j.Files, f)
	}
	// Deletions free space: a full disk, too full for the journal or its
	// folder, never blocks them.
	dir, err := s.openJournal(true)
	if err != nil {
		if isNoSpace(err) && onlyRemovals(&j) {
			return s.applyRemovals(&j)
		}
		return err
	}
	defer dir.Close()
	name, err := s.writeJournal(dir, &j)
	if err != nil {
		if isNoSpace(err) && onlyRemovals(&j) {
			return s.applyRemovals(&j)
		}
		return fmt.Errorf("%w; nothing was written", err)
	}
	if err := s.apply(&j); err != nil {
		if rerr := s.rollback(&j); rerr != nil {
			return fmt.Errorf("%w; rolling the transaction back failed too (%v): the next write completes or rolls it back", err, rerr)
		}
		if rerr := s.removeJournal(dir, name); rerr != nil {
			return fmt.Errorf("%w; the transaction was rolled back but its journal stays: %v", err, rerr)
		}
		return fmt.Errorf("%w; nothing was written", err)
	}
	return s.removeJournal(dir, name)
}

// lockWrites takes the process's and the store's write lock and completes
// (or rolls back) unfinished transactions. The returned function releases
// the locks.
func (s *FS) lockWrites() (func(), error) {
	s.mu.Lock()
	if err := os.MkdirAll(s.tree.base, 0o755); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	lock, err := openControl(filepath.Join(s.tree.base, writeLock), unix.O_RDWR|unix.O_CREAT)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	unlock := func() {
		s.reader.forget()
		flock(lock, unix.LOCK_UN)
		lock.Close()
		s.mu.Unlock()
	}
	if err := flock(lock, unix.LOCK_EX); err != nil {
		lock.Close()
		s.mu.Unlock()
		return nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	if err := s.recover(); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// Recover completes, or rolls back, the transactions a crashed writer left
// unfinished, under the write lock. Engine commands call it (through
// LockApply) before reading anything: they act on whole transactions
// only. Without a journal it does nothing and creates nothing.
func (s *FS) Recover(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.unfinished() {
		return nil
	}
	unlock, err := s.lockWrites()
	if err != nil {
		return err
	}
	unlock()
	return nil
}

// isNoSpace reports whether err says the file system is full.
func isNoSpace(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}

// writeJournal makes j durable in the journal folder and returns its name
// there.
func (s *FS) writeJournal(dir *os.File, j *journal) (string, error) {
	data, err := json.Marshal(j)
	if err != nil {
		return "", err
	}
	tmp, err := writeTempAt(int(dir.Fd()), dir.Name(), data, true)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%020d-%d.json", time.Now().UnixNano(), os.Getpid())
	if err := unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), name); err != nil {
		unix.Unlinkat(int(dir.Fd()), tmp, 0)
		return "", &os.LinkError{Op: "rename", Old: filepath.Join(dir.Name(), tmp), New: filepath.Join(dir.Name(), name), Err: err}
	}
	if err := dir.Sync(); err != nil {
		// Not durable, so not written: a journal left here would be
		// completed by the next writer.
		unix.Unlinkat(int(dir.Fd()), name, 0)
		return "", err
	}
	return name, nil
}

func (s *FS) removeJournal(dir *os.File, name string) error {
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil && err != unix.ENOENT {
		return &os.PathError{Op: "remove", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return dir.Sync()
}

// openJournal opens the journal folder without following a symbolic link,
// creating it when create is set. Missing and not created: nil, nil.
func (s *FS) openJournal(create bool) (*os.File, error) {
	path := filepath.Join(s.tree.base, journalDir)
	if create {
		if err := unix.Mkdir(path, 0o755); err != nil && err != unix.EEXIST {
			return nil, &os.PathError{Op: "mkdir", Path: path, Err: err}
		}
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENOENT && !create:
		return nil, nil
	case err == unix.ELOOP:
		return nil, errorf(EUnsafePath, "refusing symbolic link %s inside the store", path)
	case err == unix.ENOTDIR:
		return nil, errorf(EUnsafePath, "refusing %s inside the store: not a folder", path)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// apply writes every file of j (idempotent, so a journal can be replayed)
// and makes them durable. It first appends the line of j to the change log
// (see logChanges); when that fails for another reason than a full disk,
// nothing is applied and the error matches errNotLogged. Then it works in
// two steps: every new content is first written to a temp file next to its
// target, in parallel for large transactions — a full disk or a folder
// that cannot be written fails here, before anything is visible, and the
// temp files are removed again. Then files are removed and the temp files
// renamed over their targets. An error is the first failure only.
func (s *FS) apply(j *journal) (err error) {
	var writes, removals []journalFile
	for _, f := range j.Files {
		if err := contained(f.Path); err != nil || !(f.Path == versionFile || strings.HasSuffix(f.Path, "/"+objectFile)) {
			return fmt.Errorf("journal of %s names an invalid path %q", s.tree.base, f.Path)
		}
		if f.Content != nil {
			writes = append(writes, f)
		} else {
			removals = append(removals, f)
		}
	}
	// synced: files and folders to fsync when syncfs is unavailable, the
	// change log first.
	synced, err := s.logged(j)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.sync(synced) // the line stays: a rollback follows
		}
	}()
	dirs := &folders{known: map[string]bool{}}
	temps, err := s.prepare(writes, dirs)
	if err != nil {
		s.discard(temps, dirs)
		return err
	}
	// Removals first, one by one: pruning empty folders must not race with
	// renames below them. The folder that remains holds the change.
	for _, f := range removals {
		survivor, err := s.removeFile(f.Path)
		if err != nil {
			s.discard(temps, dirs)
			return err
		}
		if survivor != "" {
			synced = append(synced, survivor)
		}
	}
	err = inParallel(len(writes), func(i int) error {
		if err := s.rename(temps[i], writes[i].Path); err != nil {
			return err
		}
		temps[i] = "" // renamed: nothing to discard
		return nil
	})
	if err != nil {
		s.discard(temps, dirs)
		return err
	}
	for _, f := range writes {
		full := filepath.Join(s.tree.base, f.Path)
		synced = append(synced, full, filepath.Dir(full))
	}
	for _, d := range dirs.created {
		synced = append(synced, filepath.Dir(d)) // the new folder's entry
	}
	return s.sync(synced)
}

// prepare writes the content of every file of writes to a temp file in its
// folder, creating folders as needed, and returns the temp files' paths
// (index by index; "" where none was written).
func (s *FS) prepare(writes []journalFile, dirs *folders) ([]string, error) {
	temps := make([]string, len(writes))
	err := inParallel(len(writes), func(i int) error {
		tmp, err := s.writeTemp(writes[i], dirs)
		temps[i] = tmp
		return err
	})
	return temps, err
}

// inParallel calls fn for each index below n — on several goroutines when
// n is large: writes to distinct paths are I/O the file system can
// overlap — and stops at the first error, the only one it returns.
func inParallel(n int, fn func(i int) error) error {
	workers := 1
	if n > parallelWrites {
		workers = 8
	}
	var (
		mu    sync.Mutex // guards next and first
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if next >= n || first != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// writeTemp writes the content of f to a new temp file in its folder,
// reached without following a symbolic link, and returns the temp file's
// path.
func (s *FS) writeTemp(f journalFile, dirs *folders) (string, error) {
	rel := filepath.Dir(f.Path)
	if err := s.mkdirs(rel, dirs); err != nil {
		return "", err
	}
	var fd int
	if rel == "." {
		root, err := s.tree.root()
		if err != nil {
			return "", err
		}
		if fd, err = unix.Dup(root); err != nil {
			return "", err
		}
	} else {
		var err error
		if fd, err = s.tree.open(rel, unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
			return "", err
		}
	}
	defer unix.Close(fd)
	dir := filepath.Join(s.tree.base, rel)
	name, err := writeTempAt(fd, dir, []byte(*f.Content), false)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// rename puts the temp file tmp in place of the store file rel.
func (s *FS) rename(tmp, rel string) error {
	if s.failRename != nil {
		if err := s.failRename(rel); err != nil {
			return err
		}
	}
	return os.Rename(tmp, filepath.Join(s.tree.base, rel))
}

// discard removes the temp files of an apply that failed, and the folders
// it created that are empty again.
func (s *FS) discard(temps []string, dirs *folders) {
	for _, t := range temps {
		if t != "" {
			os.Remove(t)
		}
	}
	for _, d := range slices.Backward(dirs.created) {
		os.Remove(d) // fails, harmlessly, when not empty
	}
}

// rollback restores every file of j to its content before the
// transaction. Only files the transaction changed — whose current bytes
// are the content it wrote, or that are gone when it removed them — are
// touched: a file it never reached is left alone, so rolling back a
// transaction that wrote nothing writes nothing. Files the transaction
// created go first: removing them frees the space restoring the others
// may need. A changed file whose earlier content was unreadable cannot be
// restored; it is left as written and reported.
func (s *FS) rollback(j *journal) error {
	if !j.Undo {
		return errors.New("its journal, written by an older version, holds no earlier contents")
	}
	var restores []journalFile
	var synced []string
	var lost []string
	for _, f := range j.Files {
		if f.Path == versionFile {
			continue // a version file a writer created stays: it is always right
		}
		changed, err := s.written(f)
		if err != nil {
			return err
		}
		switch {
		case !changed:
		case f.BeforeUnknown:
			lost = append(lost, filepath.Join(s.tree.base, f.Path))
		case f.Before == nil:
			survivor, err := s.removeFile(f.Path)
			if err != nil {
				return err
			}
			if survivor != "" {
				synced = append(synced, survivor)
			}
		default:
			restores = append(restores, journalFile{Path: f.Path, Content: f.Before})
		}
	}
	dirs := &folders{known: map[string]bool{}}
	for _, f := range restores {
		tmp, err := s.writeTemp(f, dirs)
		if err == nil {
			err = s.rename(tmp, f.Path)
		}
		if err != nil {
			if tmp != "" {
				os.Remove(tmp)
			}
			return err
		}
		full := filepath.Join(s.tree.base, f.Path)
		synced = append(synced, full, filepath.Dir(full))
	}
	for _, d := range dirs.created {
		synced = append(synced, filepath.Dir(d))
	}
	if err := s.sync(synced); err != nil {
		return err
	}
	if len(lost) > 0 {
		return fmt.Errorf("cannot restore %s: its earlier content was unreadable", strings.Join(lost, ", "))
	}
	return nil
}

// written reports whether the file of f holds what the transaction made
// of it: its content, or nothing when the transaction removed it. A file
// that cannot be read as an object (corrupt, a FIFO) holds nothing a
// transaction writes.
func (s *FS) written(f journalFile) (bool, error) {
	cur, err := s.tree.readFile(f.Path)
	switch {
	case errors.Is(err, errNoObject):
		return f.Content == nil, nil
	case CodeOf(err) == ECorrupt:
		return false, nil
	case err != nil:
		return false, err
	}
	return f.Content != nil && string(cur) == *f.Content, nil
}

// onlyRemovals reports whether j removes files and writes none.
func onlyRemovals(j *journal) bool {
	for _, f := range j.Files {
		if f.Content != nil {
			return false
		}
	}
	return true
}

// applyRemovals applies a journal made of removals only without writing
// it, for a disk too full to hold it. Each removal is atomic; when one
// fails, the files removed before it are restored from the journal in
// memory (their space is free again). Only a crash in the middle of it can
// leave part of such a transaction done.
func (s *FS) applyRemovals(j *journal) error {
	synced, err := s.logChanges(j.Files)
	if isNoSpace(err) {
		// No room for the line: the log is dropped before anything is
		// removed, so every index is rebuilt (a crash in the middle leaves
		// no removal an index could miss).
		s.dropLog()
		err = nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w; nothing was written", errNotLogged, err)
	}
	for i, f := range j.Files {
		survivor, err := s.removeFile(f.Path)
		if err != nil {
			if rerr := s.rollback(&journal{Name: j.Name, Undo: j.Undo, Files: j.Files[:i]}); rerr != nil {
				return fmt.Errorf("%w; restoring the files deleted before: %v", err, rerr)
			}
			return fmt.Errorf("%w; nothing was written", err)
		}
		if survivor != "" {
			synced = append(synced, survivor)
		}
	}
	return s.sync(synced)
}

// logged appends the line of j to the change log; on a full disk it drops
// the log instead (see dropLog). Any other failure matches errNotLogged.
func (s *FS) logged(j *journal) ([]string, error) {
	synced, err := s.logChanges(j.Files)
	switch {
	case isNoSpace(err):
		s.dropLog()
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errNotLogged, err)
	}
	return synced, nil
}

// parallelWrites is the size above which a transaction's files are written
// by several goroutines.
const parallelWrites = 64

// sync makes applied files durable: fsync of each for small transactions,
// one syncfs otherwise (falling back to parallel fsyncs).
func (s *FS) sync(paths []string) error {
	slices.Sort(paths)
	paths = slices.Compact(paths)
	if len(paths) > fewFiles {
		if fd, err := s.tree.root(); err == nil && fd >= 0 && syncFS(fd) == nil {
			return nil
		}
	}
	if len(paths) <= fewFiles/2 {
		for _, p := range paths {
			if err := syncPath(p); err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(paths))
	sem := make(chan struct{}, 16)
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := syncPath(p); err != nil && !errors.Is(err, unix.ENOENT) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removeFile deletes a store file and prunes empty folders up to refs/; it
// returns the deepest folder left, which holds the change.
func (s *FS) removeFile(rel string) (string, error) {
	full := filepath.Join(s.tree.base, rel)
	// The folder must be reachable without a symbolic link (a journal
	// replayed after a crash is not trusted more than a ref).
	fd, err := s.tree.open(filepath.Dir(rel), unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, errNoObject) {
		return "", nil // gone already
	}
	if err != nil {
		return "", err
	}
	unix.Close(fd)
	if err := os.Remove(full); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	stop := filepath.Join(s.tree.base, refsDir)
	dir := filepath.Dir(full)
	for ; dir != stop && strings.HasPrefix(dir, stop+"/"); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty (or gone): stop pruning
		}
	}
	return dir, nil
}

// folders records the folders one apply checked or created.
type folders struct {
	mu      sync.Mutex
	known   map[string]bool
	created []string // absolute paths of the folders created
}

// mkdirs creates the store-relative folder rel, refusing symbolic links:
// one openat2 (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) proves an existing
// folder safe; missing folders are created parent first. A folder that
// existed is cleaned of temp files older than an hour.
func (s *FS) mkdirs(rel string, f *folders) error {
	f.mu.Lock()
	done := rel == "." || f.known[rel]
	f.mu.Unlock()
	if done {
		return nil
	}
	fd, err := s.tree.open(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	switch {
	case err == nil:
		unix.Close(fd)
		removeStaleTemps(filepath.Join(s.tree.base, rel))
	case errors.Is(err, errNoObject):
		if err := s.mkdirs(filepath.Dir(rel), f); err != nil {
			return err
		}
		full := filepath.Join(s.tree.base, rel)
		if err := os.Mkdir(full, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		// Writers hold the lock, so nothing replaces it with a link meanwhile.
		f.mu.Lock()
		f.created = append(f.created, full)
		f.mu.Unlock()
	default:
		return err
	}
	f.mu.Lock()
	f.known[rel] = true
	f.mu.Unlock()
	return nil
}

// removeStaleTemps deletes temp files older than an hour left in dir by
// writers that crashed.
func removeStaleTemps(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	removeStaleTempsAt(fd)
}

// removeStaleTempsAt is removeStaleTemps for the folder open at fd.
func removeStaleTempsAt(fd int) {
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		return
	}
	var stale []string
	readDir(fd, make([]byte, 4096), func(name []byte, kind byte) {
		if kind != 'd' && strings.HasPrefix(string(name), tmpPrefix) {
			stale = append(stale, string(name))
		}
	})
	for _, name := range stale {
		var st unix.Stat_t
		if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && time.Since(time.Unix(st.Mtim.Unix())) > time.Hour {
			unix.Unlinkat(fd, name, 0)
		}
	}
}

// writeTemp writes data to a new temp file in dir, fsynced when durable,
// and returns its path.
func writeTemp(dir string, data []byte, durable bool) (string, error) {
	name, err := writeTempAt(unix.AT_FDCWD, dir, data, durable)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// writeTempAt writes data to a new temp file in the folder open at dirfd
// (dir names it in messages), fsynced when durable, and returns its name.
// The name is new (O_EXCL), so no link planted there is followed.
func writeTempAt(dirfd int, dir string, data []byte, durable bool) (string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	name := tmpPrefix + hex.EncodeToString(rnd[:])
	rel := name
	if dirfd == unix.AT_FDCWD {
		rel = filepath.Join(dir, name)
	}
	fd, err := unix.Openat(dirfd, rel, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: filepath.Join(dir, name), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, name))
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlinkat(dirfd, rel, 0)
		return "", err
	}
	return name, nil
}

func syncPath(p string) error {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	err = unix.Fsync(fd)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: p, Err: err}
	}
	return nil
}

// journalEntries lists the journals of unfinished transactions in the
// journal folder open as dir, oldest first.
func journalEntries(dir *os.File) ([]string, error) {
	if _, err := dir.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var names []string
	err := readDir(int(dir.Fd()), make([]byte, 4096), func(name []byte, _ byte) {
		if n := string(name); strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, tmpPrefix) {
			names = append(names, n)
		}
	})
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: dir.Name(), Err: err}
	}
	slices.Sort(names)
	return names, nil
}

// recover completes every unfinished transaction (docs/store-format.md §9.3). The caller
// holds the write lock.
func (s *FS) recover() error {
	dir, err := s.openJournal(false)
	if dir == nil || err != nil {
		return err
	}
	defer dir.Close()
	names, err := journalEntries(dir)
	if err != nil {
		return err
	}
	removeStaleTempsAt(int(dir.Fd()))
	for _, n := range names {
		path := filepath.Join(dir.Name(), n)
		f, err := openControlAt(int(dir.Fd()), n, path, unix.O_RDONLY)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
		var j journal
		if err := json.Unmarshal(data, &j); err != nil {
			return fmt.Errorf("unreadable journal %s: %w", path, err)
		}
		if err := s.apply(&j); err != nil {
			if errors.Is(err, errNotLogged) {
				return fmt.Errorf("completing transaction %q from %s: %w", j.Name, path, err)
			}
			if rerr := s.rollback(&j); rerr != nil {
				return fmt.Errorf("completing transaction %q from %s: %w; rolling it back: %v", j.Name, path, err, rerr)
			}
			s.warn(fmt.Sprintf("%s: rolled back unfinished transaction %q: it could not be completed: %v", s.tree.base, j.Name, err))
		}
		if err := s.removeJournal(dir, n); err != nil {
			return err
		}
	}
	return nil
}
