//go:build unix

package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The change log of a folder store (docs/store-format.md, The folder and
// Commit): <base>/.ocuroot-index/changes, one line per application of a
// transaction's journal naming the release folders it touches, appended
// under the write lock before any file of the journal is applied.
//
// Each log file starts with a header of fixed length,
//
//	ocu changes 1 <seq: 16 hex digits> <id: 32 hex digits>\n
//
// then lines of release folders separated by spaces, each ended by "\n". A
// line without its "\n" is torn (its writer crashed; recovery logs its
// journal again) and is ignored. Past changesRotate bytes the writer renames
// changes to changes.1, dropping the file before it, and starts a new
// changes whose seq is one more. seq 1 is the first file of a log. A
// position is "changes:<id>:<offset>", naming the file by its random id so
// that a file that is gone (or one of another store) is never mistaken for
// it; "changes:start" is the position of a store with no log yet.
const (
	indexDir      = ".ocuroot-index"
	changesFile   = "changes"
	changesPrev   = "changes.1"
	openWorkFile  = "open-work"
	changesRotate = 1 << 20
	changesStart  = "changes:start"
	logHeaderLen  = len("ocu changes 1 ") + 16 + 1 + 32 + 1
)

var _ Indexed = (*FS)(nil)

// errNotLogged marks a journal that was not applied because its change-log
// line could not be written.
var errNotLogged = errors.New("change log")

// logHeader is the header of a change-log file.
type logHeader struct {
	seq uint64
	id  string
}

func (h logHeader) encode() string {
	return fmt.Sprintf("ocu changes 1 %016x %s\n", h.seq, h.id)
}

// parseLogHeader decodes the header at the start of b.
func parseLogHeader(b []byte) (logHeader, bool) {
	if len(b) < logHeaderLen {
		return logHeader{}, false
	}
	b = b[:logHeaderLen]
	rest, ok := bytes.CutPrefix(b, []byte("ocu changes 1 "))
	if !ok || rest[16] != ' ' || rest[len(rest)-1] != '\n' {
		return logHeader{}, false
	}
	seq, err := strconv.ParseUint(string(rest[:16]), 16, 64)
	id := string(rest[17 : len(rest)-1])
	if err != nil || !isLowerHex(rest[:16]) || !isLowerHex([]byte(id)) {
		return logHeader{}, false
	}
	return logHeader{seq: seq, id: id}, true
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// touchedReleases lists the release folders (below refs/) of the files of
// a journal, sorted and without duplicates. Paths no ref can name (with
// white space or control characters) are left out.
func touchedReleases(files []journalFile) []string {
	var out []string
	for _, f := range files {
		dir, ok := strings.CutPrefix(filepath.Dir(f.Path), refsDir+"/")
		if !ok {
			continue
		}
		if r := ReleaseFolder(dir); r != "" && !strings.ContainsFunc(r, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// openIndexDir opens <base>/.ocuroot-index without following a symbolic
// link, creating it when create is set (created says so). Missing and not
// created: -1.
func (s *FS) openIndexDir(create bool) (fd int, created bool, err error) {
	path := filepath.Join(s.tree.base, indexDir)
	root, err := s.tree.root()
	if err != nil || root < 0 {
		return -1, false, err
	}
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err = unix.Openat(root, indexDir, flags, 0)
	if err == unix.ENOENT && create {
		merr := unix.Mkdirat(root, indexDir, 0o755)
		if merr != nil && merr != unix.EEXIST {
			return -1, false, &os.PathError{Op: "mkdir", Path: path, Err: merr}
		}
		created = merr == nil
		fd, err = unix.Openat(root, indexDir, flags, 0)
	}
	switch {
	case err == unix.ENOENT && !create:
		return -1, false, nil
	case err == unix.ELOOP:
		return -1, false, errorf(EUnsafePath, "refusing symbolic link %s inside the store", path)
	case err == unix.ENOTDIR:
		return -1, false, errorf(EUnsafePath, "refusing %s inside the store: not a folder", path)
	case err != nil:
		return -1, false, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, created, nil
}

// logFile is one file of the change log, opened.
type logFile struct {
	fd    int // -1: missing
	size  int64
	hdr   logHeader
	valid bool // the header is whole
	path  string
}

func (f *logFile) close() {
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
}

// openLogFile opens the change-log file name in the index folder dirfd and
// reads its header; a missing file has fd -1. Anything but a regular file
// is E_UNSAFE_PATH.
func openLogFile(dirfd int, dir, name string, flags int) (*logFile, error) {
	f := &logFile{fd: -1, path: filepath.Join(dir, name)}
	fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENOENT:
		return f, nil
	case err == unix.ELOOP:
		return nil, errorf(EUnsafePath, "refusing symbolic link %s inside the store", f.path)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: f.path, Err: err}
	}
	f.fd = fd
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.close()
		return nil, &os.PathError{Op: "stat", Path: f.path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.close()
		return nil, errorf(EUnsafePath, "refusing %s inside the store: not a regular file", f.path)
	}
	f.size = st.Size
	var buf [logHeaderLen]byte
	n, err := pread(fd, buf[:], 0)
	if err != nil {
		f.close()
		return nil, &os.PathError{Op: "read", Path: f.path, Err: err}
	}
	f.hdr, f.valid = parseLogHeader(buf[:n])
	return f, nil
}

// pread reads into b at off until b is full or the file ends.
func pread(fd int, b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Pread(fd, b[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// logChanges appends to the change log the line naming the release
// folders the files of a journal touch, before any of them is applied; the
// caller holds the write lock. It returns the paths to fsync with the
// journal's files (the log file, and the folders of entries it created)
// when syncfs is unavailable. A journal touching no release writes nothing.
func (s *FS) logChanges(files []journalFile) ([]string, error) {
	rels := touchedReleases(files)
	if len(rels) == 0 {
		return nil, nil
	}
	line := strings.Join(rels, " ") + "\n"
	dirfd, created, err := s.openIndexDir(true)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	dir := filepath.Join(s.tree.base, indexDir)
	synced := []string{filepath.Join(dir, changesFile)}
	if created {
		synced = append(synced, s.tree.base)
	}
	cur, err := openLogFile(dirfd, dir, changesFile, unix.O_RDWR|unix.O_APPEND)
	if err != nil {
		return nil, err
	}
	defer cur.close()
	var next logHeader // the header of a new file, when one is started
	switch {
	case cur.fd >= 0 && cur.valid && cur.size <= changesRotate:
		if cur.size > int64(logHeaderLen) {
			var last [1]byte
			if _, err := pread(cur.fd, last[:], cur.size-1); err != nil {
				return nil, &os.PathError{Op: "read", Path: cur.path, Err: err}
			}
			if last[0] != '\n' {
				line = "\n" + line // end a torn line first
			}
		}
		return synced, writeLine(cur.fd, cur.path, line)
	case cur.fd >= 0 && cur.valid:
		// Full: it becomes the previous file.
		if err := unix.Renameat(dirfd, changesFile, dirfd, changesPrev); err != nil {
			return nil, &os.PathError{Op: "rename", Path: cur.path, Err: err}
		}
		next.seq = cur.hdr.seq + 1
	default:
		// Missing, or its header torn (or dropped): it holds no line to
		// keep. The next file follows the previous one; without it, it is
		// the log's first only when there was no file at all.
		prev, err := openLogFile(dirfd, dir, changesPrev, unix.O_RDONLY)
		if err != nil {
			return nil, err
		}
		prev.close()
		switch {
		case prev.valid:
			next.seq = prev.hdr.seq + 1
		case cur.fd < 0 && prev.fd < 0:
			next.seq = 1
		default:
			next.seq = 2
		}
		if cur.fd >= 0 {
			if err := unix.Unlinkat(dirfd, changesFile, 0); err != nil {
				return nil, &os.PathError{Op: "remove", Path: cur.path, Err: err}
			}
		}
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	next.id = hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dirfd, changesFile, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: cur.path, Err: err}
	}
	defer unix.Close(fd)
	synced = append(synced, dir) // the new entry
	return synced, writeLine(fd, cur.path, next.encode()+line)
}

// writeLine writes data with one write(2); a short write is an error (the
// tail it leaves is a torn line).
func writeLine(fd int, path, data string) error {
	for {
		n, err := unix.Write(fd, []byte(data))
		if err == unix.EINTR {
			continue
		}
		if err == nil && n < len(data) {
			err = unix.ENOSPC
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: path, Err: err}
		}
		return nil
	}
}

// dropLog makes every position in the change log unusable, for a
// transaction applied without its line (a disk too full to hold it): the
// previous file is removed and the current one emptied (a file without a
// header, which nothing follows and after which no log restarts at seq 1).
// Without a current file to empty, the index file goes too, so that no
// index is followed from the start of a log that missed a change. Best
// effort, and it needs no space.
func (s *FS) dropLog() {
	dirfd, _, err := s.openIndexDir(false)
	if err != nil || dirfd < 0 {
		return
	}
	defer unix.Close(dirfd)
	unix.Unlinkat(dirfd, changesPrev, 0)
	fd, err := unix.Openat(dirfd, changesFile, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		unix.Unlinkat(dirfd, openWorkFile, 0)
		return
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || unix.Ftruncate(fd, 0) != nil {
		unix.Unlinkat(dirfd, openWorkFile, 0)
	}
}

// ChangePosition implements Indexed: the end of the change log (of its last
// whole line), under the shared write lock. A store without a log is at
// its start; a log that cannot be followed (a torn or dropped file, a
// symbolic link) gives "", from which ChangedSince is never ok.
func (s *FS) ChangePosition(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	unlock, err := s.readLock()
	if err != nil {
		return "", err
	}
	defer unlock()
	cur, prev, err := s.openLog()
	if err != nil {
		return "", ignoreUnsafe(err)
	}
	if cur == nil {
		return changesStart, nil
	}
	defer cur.close()
	defer prev.close()
	last := cur
	switch {
	case cur.fd < 0 && prev.fd < 0:
		return changesStart, nil
	case cur.fd < 0:
		last = prev // a rotation was cut short
	}
	if !last.valid {
		return "", nil
	}
	end, err := lastLineEnd(last)
	if err != nil {
		return "", err
	}
	return logPosition(last.hdr.id, end), nil
}

func logPosition(id string, off int64) string {
	return "changes:" + id + ":" + strconv.FormatInt(off, 10)
}

// ignoreUnsafe drops an E_UNSAFE_PATH error: a log that is not safe to read
// is not followed, and that is all.
func ignoreUnsafe(err error) error {
	if CodeOf(err) == EUnsafePath {
		return nil
	}
	return err
}

// openLog opens the current and previous change-log files for reading;
// cur is nil when the store or its index folder does not exist.
func (s *FS) openLog() (cur, prev *logFile, err error) {
	dirfd, _, err := s.openIndexDir(false)
	if err != nil || dirfd < 0 {
		return nil, nil, err
	}
	defer unix.Close(dirfd)
	dir := filepath.Join(s.tree.base, indexDir)
	if cur, err = openLogFile(dirfd, dir, changesFile, unix.O_RDONLY); err != nil {
		return nil, nil, err
	}
	if prev, err = openLogFile(dirfd, dir, changesPrev, unix.O_RDONLY); err != nil {
		cur.close()
		return nil, nil, err
	}
	return cur, prev, nil
}

// lastLineEnd returns the offset just past the last whole line of f (the
// header's end when it has none).
func lastLineEnd(f *logFile) (int64, error) {
	end := f.size
	buf := make([]byte, 4096)
	for end > int64(logHeaderLen) {
		start := max(end-int64(len(buf)), int64(logHeaderLen))
		n, err := pread(f.fd, buf[:end-start], start)
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return int64(logHeaderLen), nil
}

// ChangedSince implements Indexed: the release folders named by the lines
// of the change log after pos, under the shared write lock. ok is false
// when pos is not a position of this log or lies in a file that is gone.
func (s *FS) ChangedSince(ctx context.Context, pos string) ([]string, string, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", false, err
	}
	id, off, ok := parseLogPosition(pos)
	if !ok {
		return nil, "", false, nil
	}
	unlock, err := s.readLock()
	if err != nil {
		return nil, "", false, err
	}
	defer unlock()
	cur, prev, err := s.openLog()
	if err != nil {
		return nil, "", false, ignoreUnsafe(err)
	}
	if cur == nil || (cur.fd < 0 && prev.fd < 0) {
		// No log: nothing was logged since a store without one.
		return nil, changesStart, id == "", nil
	}
	defer cur.close()
	defer prev.close()
	// The files to read, oldest first, with the offset to start at.
	type part struct {
		f   *logFile
		off int64
	}
	var parts []part
	switch {
	case id == "" && prev.valid && prev.hdr.seq == 1:
		parts = []part{{prev, int64(logHeaderLen)}, {cur, int64(logHeaderLen)}}
	case id == "" && prev.fd < 0 && cur.valid && cur.hdr.seq == 1:
		parts = []part{{cur, int64(logHeaderLen)}}
	case id == "":
		return nil, "", false, nil // the log's first file is gone
	case cur.valid && cur.hdr.id == id:
		parts = []part{{cur, off}}
	case prev.valid && prev.hdr.id == id:
		parts = []part{{prev, off}, {cur, int64(logHeaderLen)}}
	default:
		return nil, "", false, nil
	}
	if len(parts) == 2 {
		switch {
		case parts[1].f.fd < 0:
			parts = parts[:1] // a rotation was cut short: nothing after
		case !parts[1].f.valid || parts[1].f.hdr.seq != parts[0].f.hdr.seq+1:
			return nil, "", false, nil
		}
	}
	found := map[string]bool{}
	var now string
	for _, p := range parts {
		if p.off < int64(logHeaderLen) || p.off > p.f.size {
			return nil, "", false, nil
		}
		data := make([]byte, p.f.size-p.off)
		n, err := pread(p.f.fd, data, p.off)
		if err != nil {
			return nil, "", false, &os.PathError{Op: "read", Path: p.f.path, Err: err}
		}
		data = data[:n]
		whole := bytes.LastIndexByte(data, '\n') + 1 // a torn last line is left out
		for line := range bytes.SplitSeq(data[:whole], []byte("\n")) {
			for r := range strings.FieldsSeq(string(line)) {
				if ReleaseFolder(r) == r {
					found[r] = true
				}
			}
		}
		now = logPosition(p.f.hdr.id, p.off+int64(whole))
	}
	return slices.Sorted(maps.Keys(found)), now, true, nil
}

// parseLogPosition decodes a position of ChangePosition: the file id and
// offset, or id "" for the start of the log.
func parseLogPosition(pos string) (id string, off int64, ok bool) {
	if pos == changesStart {
		return "", 0, true
	}
	rest, ok := strings.CutPrefix(pos, "changes:")
	if !ok {
		return "", 0, false
	}
	id, num, ok := strings.Cut(rest, ":")
	if !ok || len(id) != 32 || !isLowerHex([]byte(id)) {
		return "", 0, false
	}
	off, err := strconv.ParseInt(num, 10, 64)
	if err != nil || off < 0 {
		return "", 0, false
	}
	return id, off, true
}

// IndexInfo implements Indexed: the index lies beside the change log, in
// <base>/.ocuroot-index (no path while the store's folder does not exist),
// and names the folder by path, device and inode. ChangedSince sees only
// ocu's transactions: the original client writes no log.
func (s *FS) IndexInfo() IndexInfo {
	base := s.tree.base
	var st unix.Stat_t
	if err := unix.Stat(base, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return IndexInfo{Identity: "fs:" + base}
	}
	return IndexInfo{
		Path:     filepath.Join(base, indexDir, openWorkFile),
		Identity: fmt.Sprintf("fs:%s:%d:%d", base, st.Dev, st.Ino),
	}
}
