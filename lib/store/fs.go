//go:build unix

package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Files of a filesystem store (docs/store-format.md §2).
const (
	versionFile = ".ocuroot-store"
	versionV1   = `{"version":1}`
	writeLock   = ".ocuroot-lock"
	journalDir  = ".ocuroot-journal"
	tmpPrefix   = ".ocuroot-tmp-"
	refsDir     = "refs"
	objectFile  = "@object.json"
)

// errSymlink reports a symbolic link met below the store root.
var errSymlink = errors.New("symbolic link inside the store")

// FSOptions configures OpenFS.
type FSOptions struct {
	// Warn receives warnings, such as an unfinished transaction seen by a
	// reader. Nil discards them.
	Warn func(msg string)
}

// FS is a filesystem store in Ocuroot store format version 1: each document
// at <base>/refs/<canonical ref>/@object.json. Reads never write; writes go
// through journaled, locked transactions (docs/store-format.md §9).
type FS struct {
	*reader
	tree *fsTree
	opts FSOptions

	mu sync.Mutex // serialises this process's commits

	// failRename, when set by a test, makes renaming a temp file over the
	// store file at the given path fail with the error it returns.
	failRename func(path string) error

	// The write-lock file, opened for readers' LOCK_SH. flock belongs to
	// the open file, so the goroutines of this process share one lock:
	// taken by the first reader, released by the last.
	rmu     sync.Mutex
	shared  *os.File
	readers int
}

// OpenFS opens the filesystem store rooted at base. A missing base is an
// empty store; OpenFS creates nothing. A version file other than version 1
// fails with E_VERSION.
func OpenFS(base string, opts FSOptions) (*FS, error) {
	abs, err := filepath.Abs(base)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	s := &FS{tree: &fsTree{base: abs, dirfd: -1}, opts: opts}
	s.reader = newReader(s.tree, s.readLock)
	if err := s.checkVersion(); err != nil {
		return nil, err
	}
	if opts.Warn != nil && s.leftover() {
		opts.Warn(abs + " has an unfinished transaction; the next write completes it")
	}
	return s, nil
}

// leftover reports whether a crashed writer left an unfinished transaction:
// a journal seen while no writer holds the write lock. A journal of a
// writer at work is not one; that writer removes it.
func (s *FS) leftover() bool {
	if !s.unfinished() {
		return false
	}
	lock, err := openControl(filepath.Join(s.tree.base, writeLock), unix.O_RDONLY)
	if err != nil {
		return true // no writer ever locked, or a lock file that is not one
	}
	defer lock.Close()
	if flock(lock, unix.LOCK_SH|unix.LOCK_NB) != nil {
		return false // a writer holds the lock: it completes the journal
	}
	defer flock(lock, unix.LOCK_UN)
	return s.unfinished()
}

// unfinished reports whether the journal folder holds a transaction.
func (s *FS) unfinished() bool {
	dir, err := s.openJournal(false)
	if dir == nil || err != nil {
		return false
	}
	defer dir.Close()
	names, _ := journalEntries(dir)
	return len(names) > 0
}

// warn reports msg through FSOptions.Warn, if set.
func (s *FS) warn(msg string) {
	if s.opts.Warn != nil {
		s.opts.Warn(msg)
	}
}

// Base returns the store's root folder (absolute, symlinks resolved).
func (s *FS) Base() string { return s.tree.base }

// String names the store in messages.
func (s *FS) String() string { return s.tree.base }

// Close releases the store's descriptors.
func (s *FS) Close() error {
	s.rmu.Lock()
	if s.shared != nil {
		s.shared.Close()
		s.shared = nil
	}
	s.rmu.Unlock()
	return s.tree.close()
}

func (s *FS) checkVersion() error {
	data, err := readControl(filepath.Join(s.tree.base, versionFile))
	if errors.Is(err, os.ErrNotExist) {
		return laterLayoutError(func(name string) ([]byte, error) {
			data, err := os.ReadFile(filepath.Join(s.tree.base, name))
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil
			}
			return data, err
		})
	}
	if err != nil {
		return err
	}
	if err := versionError(data, filepath.Join(s.tree.base, versionFile)); err != nil {
		return err
	}
	return nil
}

// versionError checks the content of a version file (docs/store-format.md §2): nil for
// version 1, else E_VERSION; name says which file in messages. Stores of
// the later Ocuroot formats name the command that converts them.
func versionError(data []byte, name string) *Error {
	n, ok := FormatVersion(data)
	switch {
	case !ok:
		return errorf(EVersion, "unreadable store version file %s (ocu reads and writes version 1)", name)
	case n == 1:
		return nil
	case n == 2 || n == 3:
		return errorf(EVersion, "written by Ocuroot 0.3.11 or later (format %d): run ocuroot state migrate", n)
	}
	var v any = n
	if n == 0 {
		v, _ = DecodeValue(data)
		v = v.(map[string]any)["version"]
	}
	return errorf(EVersion, "unsupported store format version %v (ocu reads and writes version 1)", v)
}

// FormatVersion reads the content of a store's version file
// (.ocuroot-store): the format number, 0 when "version" is not a positive
// whole number; ok false when the content is not a JSON object with a
// "version" member.
func FormatVersion(data []byte) (n int, ok bool) {
	v, err := DecodeValue(data)
	m, _ := v.(map[string]any)
	raw, ok := m["version"]
	if err != nil || !ok {
		return 0, false
	}
	num, isNum := raw.(json.Number)
	if !isNum {
		return 0, true
	}
	i, err := strconv.Atoi(string(num))
	if err != nil || i < 1 {
		return 0, true
	}
	return i, true
}

// laterLayoutError refuses a store folder without a version file of its
// own that holds the single-store layout of later Ocuroot releases: the
// state in state/ and the intent in intent/, each with a version file of a
// later format. read returns a file's content below the store root, nil
// when it is missing. Without such files the folder is an ordinary format 1
// store (possibly empty).
func laterLayoutError(read func(name string) ([]byte, error)) error {
	for _, sub := range []string{"state", "intent"} {
		data, err := read(sub + "/" + versionFile)
		if err != nil {
			return err
		}
		if data == nil {
			continue
		}
		if n, ok := FormatVersion(data); ok && n != 1 {
			return errorf(EVersion, "state/ and intent/ written by Ocuroot 0.3.11 or later (format %d): run ocuroot state migrate", n)
		}
	}
	return nil
}

// readLock takes the write lock shared around one read, if the lock file
// exists; readers never create it.
func (s *FS) readLock() (func(), error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.shared == nil {
		f, err := openControl(filepath.Join(s.tree.base, writeLock), unix.O_RDONLY)
		if errors.Is(err, os.ErrNotExist) {
			return func() {}, nil
		}
		if err != nil {
			return nil, err
		}
		s.shared = f
	}
	if s.readers == 0 {
		if err := flock(s.shared, unix.LOCK_SH); err != nil {
			return nil, fmt.Errorf("lock %s: %w", s.shared.Name(), err)
		}
	}
	s.readers++
	f := s.shared
	return func() {
		s.rmu.Lock()
		defer s.rmu.Unlock()
		if s.readers--; s.readers == 0 {
			flock(f, unix.LOCK_UN)
		}
	}, nil
}

// openControl opens a control file of a store (a lock, the version file, a
// journal) without following a symbolic link and without blocking on a
// FIFO; anything but a regular file there — a link planted to make a root
// writer truncate or lock another file, a FIFO, a device — is E_UNSAFE_PATH
// naming the file. A missing file is an error matching os.ErrNotExist.
func openControl(path string, flags int) (*os.File, error) {
	return openControlAt(unix.AT_FDCWD, path, path, flags)
}

// openControlAt is openControl for name inside the folder open at dirfd;
// path names the file in messages.
func openControlAt(dirfd int, name, path string, flags int) (*os.File, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == unix.ELOOP:
		return nil, errorf(EUnsafePath, "refusing symbolic link %s inside the store", path)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, errorf(EUnsafePath, "refusing %s inside the store: not a regular file", path)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// readControl reads a control file opened with openControl, up to
// MaxDocumentSize bytes.
func readControl(path string) ([]byte, error) {
	f, err := openControl(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, path)
}

// readLimited reads f to its end, refusing more than MaxDocumentSize bytes.
func readLimited(f *os.File, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDocumentSize {
		return nil, tooLarge(path)
	}
	return data, nil
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// fsTree reads the files of a filesystem store.
type fsTree struct {
	base      string
	noOpenat2 atomic.Bool
	log       atomic.Pointer[ReadLog] // what reads consult, while attached (FS.LogReads)

	mu    sync.Mutex
	dirfd int // base, opened when it exists
}

func (t *fsTree) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dirfd >= 0 {
		unix.Close(t.dirfd)
		t.dirfd = -1
	}
	return nil
}

// root returns a descriptor of base, or -1 when base does not exist (yet).
func (t *fsTree) root() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dirfd >= 0 {
		return t.dirfd, nil
	}
	fd, err := unix.Open(t.base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return -1, nil
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: t.base, Err: err}
	}
	t.dirfd = fd
	return fd, nil
}

// open opens the store-relative path rel, refusing escapes and symlinks.
// A missing file or folder is errNoObject.
func (t *fsTree) open(rel string, flags int) (int, error) {
	if err := contained(rel); err != nil {
		return -1, err
	}
	dirfd, err := t.root()
	if err != nil {
		return -1, err
	}
	if dirfd < 0 {
		return -1, errNoObject
	}
	fd, err := openBeneath(&t.noOpenat2, dirfd, t.base, rel, flags)
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, errSymlink):
		return -1, t.unsafe(rel)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return -1, errNoObject
	}
	return -1, &os.PathError{Op: "open", Path: filepath.Join(t.base, rel), Err: err}
}

// unsafe names the first symbolic link on rel's path.
func (t *fsTree) unsafe(rel string) error {
	p := t.base
	for seg := range strings.SplitSeq(rel, "/") {
		p = filepath.Join(p, seg)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return errorf(EUnsafePath, "refusing symbolic link %s inside the store", p)
		}
	}
	return errorf(EUnsafePath, "refusing symbolic link inside the store %s (path %s)", t.base, rel)
}

// contained refuses a store-relative path that could leave refs/ (or name
// anything but the version file).
func contained(rel string) error {
	if rel == versionFile {
		return nil
	}
	if filepath.Clean(rel) != rel || !(rel == refsDir || strings.HasPrefix(rel, refsDir+"/")) || strings.Contains(rel, "\\") {
		return errorf(EUnsafePath, "path escapes the store")
	}
	return nil
}

// openChecked opens base/rel after checking with lstat that no component
// below base is a symbolic link.
func openChecked(base, rel string, flags int) (int, error) {
	p := base
	segs := strings.Split(rel, "/")
	for i, seg := range segs {
		p += "/" + seg
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return -1, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, errSymlink
		}
		if i < len(segs)-1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return -1, unix.ENOTDIR
		}
	}
	return unix.Open(p, flags|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
}

// readObject implements view.
func (t *fsTree) readObject(p string) ([]byte, error) {
	return t.readFile(objectPath(p))
}

// readFile reads a store object. The file is opened without blocking (a
// FIFO planted there must not hang the reader, or a writer holding the
// lock) and must be a regular file of at most MaxDocumentSize bytes;
// anything else is E_CORRUPT. A folder is no object.
func (t *fsTree) readFile(rel string) ([]byte, error) {
	log := t.log.Load()
	fd, err := t.open(rel, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		if log != nil {
			if errors.Is(err, errNoObject) {
				log.absent(filepath.Join(t.base, rel))
			} else {
				log.spoil(err.Error())
			}
		}
		return nil, err
	}
	defer unix.Close(fd)
	path := filepath.Join(t.base, rel)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if log != nil {
		log.found(path, &st)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return nil, errNoObject
	default:
		return nil, corrupt(path, errors.New("not a regular file"))
	}
	if st.Size > MaxDocumentSize {
		return nil, tooLarge(path)
	}
	buf := make([]byte, 0, max(st.Size+1, 512))
	for {
		if len(buf) == cap(buf) {
			if len(buf) > MaxDocumentSize {
				return nil, tooLarge(path) // it grew while being read
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			if len(buf) > MaxDocumentSize {
				return nil, tooLarge(path)
			}
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) == st.Size && len(buf) < cap(buf) {
			// All fstat counted, and the read stopped short of the room
			// left: the end, without asking again (a file growing meanwhile
			// reads as it was a moment before).
			return buf, nil
		}
	}
}

// subdirs implements tree.
func (t *fsTree) subdirs(p string) ([]string, error) {
	rel := refsDir
	if p != "" {
		rel += "/" + p
	}
	log := t.log.Load()
	fd, err := t.open(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, errNoObject) {
		if log != nil {
			log.absent(filepath.Join(t.base, rel))
		}
		return nil, nil
	}
	if err != nil {
		if log != nil {
			log.spoil(err.Error())
		}
		return nil, err
	}
	defer unix.Close(fd)
	dir := filepath.Join(t.base, rel)
	if log != nil {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			log.spoil(err.Error())
		} else {
			log.found(dir, &st)
		}
	}
	var names []string
	err = readDir(fd, make([]byte, 8192), func(name []byte, kind byte) {
		if kind == '?' {
			kind = lstatKind(dir + "/" + string(name))
		}
		if kind == 'd' {
			names = append(names, string(name))
		}
	})
	return names, err
}

// lstatKind classifies a path whose folder entry gave no type.
func lstatKind(p string) byte {
	var st unix.Stat_t
	if unix.Lstat(p, &st) != nil {
		return 'o'
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return 'd'
	case unix.S_IFREG:
		return 'f'
	}
	return 'o'
}
