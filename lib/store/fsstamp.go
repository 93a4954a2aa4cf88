//go:build linux

package store

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ReleaseStamp fingerprints the folders of a release where another
// client's new work shows (docs/open-work.md §6): the release folder, the
// folders in it (call, deploy, task, custom, …) and the folders in those
// (the work items: a new chain, a new environment's deploy, a new task
// changes one of them).
type ReleaseStamp struct {
	// Sum combines the names, inode numbers, modification and change times
	// of those folders; 0 for a release that is not there.
	Sum uint64
	// Newest is the latest change time among them.
	Newest time.Time
}

// Stamper is implemented by folder stores, whose change log misses other
// clients' writes: an open-work index stamps the finished releases it
// watches and walks those whose stamp moved.
type Stamper interface {
	// StampRelease stamps release folder rel (a path below refs/, as
	// Indexed's MatchSkipping gives it).
	StampRelease(ctx context.Context, rel string) (ReleaseStamp, error)
}

var (
	_ Stamper = (*FS)(nil)
	_ Stamper = (*Combined)(nil)
)

// StampRelease implements Stamper: one open, fstat and listing of the
// release folder and of each folder in it, an fstatat of each folder below
// those; symbolic links are neither followed nor counted.
func (s *FS) StampRelease(ctx context.Context, rel string) (ReleaseStamp, error) {
	if err := ctx.Err(); err != nil {
		return ReleaseStamp{}, err
	}
	fd, err := s.tree.open(refsDir+"/"+rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, errNoObject) {
		return ReleaseStamp{}, nil
	}
	if err != nil {
		return ReleaseStamp{}, err
	}
	defer unix.Close(fd)
	var st ReleaseStamp
	buf := make([]byte, 8<<10)
	if err := stampFolder(fd, "", &st, buf, 2); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			pe.Path = filepath.Join(s.tree.base, refsDir, rel, pe.Path)
			return ReleaseStamp{}, pe
		}
		return ReleaseStamp{}, err
	}
	return st, nil
}

// stampFolder adds the open folder fd (named name) to st, and the folders
// in it down to depth more levels. Its errors are *os.PathError naming the
// folder or entry below the release folder.
func stampFolder(fd int, name string, st *ReleaseStamp, buf []byte, depth int) error {
	var stat unix.Stat_t
	if err := unix.Fstat(fd, &stat); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	st.add(name, &stat)
	if depth == 0 {
		return nil
	}
	var subs []string
	err := readDir(fd, buf, func(n []byte, kind byte) {
		if kind == 'd' || kind == '?' {
			subs = append(subs, string(n))
		}
	})
	if err != nil {
		return &os.PathError{Op: "list", Path: name, Err: err}
	}
	for _, sub := range subs {
		if depth == 1 { // the last level: its times, not its entries
			var cst unix.Stat_t
			err := unix.Fstatat(fd, sub, &cst, unix.AT_SYMLINK_NOFOLLOW)
			switch {
			case err == unix.ENOENT:
			case err != nil:
				return &os.PathError{Op: "stat", Path: name + "/" + sub, Err: err}
			case cst.Mode&unix.S_IFMT == unix.S_IFDIR:
				st.add(name+"/"+sub, &cst)
			}
			continue
		}
		cfd, err := unix.Openat(fd, sub, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
			continue // removed meanwhile, a file, or a symbolic link
		}
		if err != nil {
			return &os.PathError{Op: "open", Path: name + "/" + sub, Err: err}
		}
		err = stampFolder(cfd, name+"/"+sub, st, buf, depth-1)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}

// add mixes one folder into the stamp; the order folders come in does not
// matter.
func (st *ReleaseStamp) add(name string, stat *unix.Stat_t) {
	h := fnv.New64a()
	h.Write([]byte(name))
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(stat.Ino))
	binary.LittleEndian.PutUint64(b[8:], uint64(stat.Mtim.Nano()))
	binary.LittleEndian.PutUint64(b[16:], uint64(stat.Ctim.Nano()))
	binary.LittleEndian.PutUint64(b[24:], uint64(stat.Dev))
	h.Write(b[:])
	st.Sum += h.Sum64() | 1 // never 0 for a release that is there
	if c := time.Unix(0, stat.Ctim.Nano()); c.After(st.Newest) {
		st.Newest = c
	}
}

// StampRelease implements Stamper for a state store that is a folder.
func (c *Combined) StampRelease(ctx context.Context, rel string) (ReleaseStamp, error) {
	s, ok := c.State.(Stamper)
	if !ok {
		return ReleaseStamp{}, errors.New("the state store has no folders to stamp")
	}
	return s.StampRelease(ctx, rel)
}
