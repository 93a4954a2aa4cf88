//go:build linux

package store

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openBeneath opens rel below the folder dirfd refusing symbolic links in any
// component and any escape (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS).
// It returns errSymlink for a refused link. noOpenat2 is set once the kernel
// refused openat2 (ENOSYS, or EPERM from a seccomp filter); later opens check
// each path component with lstat instead.
func openBeneath(noOpenat2 *atomic.Bool, dirfd int, base, rel string, flags int) (int, error) {
	if !noOpenat2.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
		}
		for {
			fd, err := unix.Openat2(dirfd, rel, &how)
			switch {
			case err == nil:
				return fd, nil
			case err == unix.EINTR || err == unix.EAGAIN:
				continue
			case err == unix.ELOOP || err == unix.EXDEV:
				return -1, errSymlink
			case err == unix.ENOSYS || err == unix.EPERM:
				noOpenat2.Store(true)
			default:
				return -1, err
			}
			break
		}
	}
	return openChecked(base, rel, flags)
}

// syncFS makes every write to the file system holding fd durable.
func syncFS(fd int) error { return unix.Syncfs(fd) }

// readDir lists the folder open at fd with getdents64, without stat calls.
// buf is scratch space reused across calls.
func readDir(fd int, buf []byte, fn func(name []byte, kind byte)) error {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for off := 0; off < n; {
			// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
			typ := buf[off+18]
			name := buf[off+19 : off+reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			off += reclen
			if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || (len(name) == 2 && name[1] == '.'))) {
				continue
			}
			kind := byte('o')
			switch typ {
			case unix.DT_DIR:
				kind = 'd'
			case unix.DT_REG:
				kind = 'f'
			case unix.DT_UNKNOWN:
				kind = '?'
			}
			fn(name, kind)
		}
	}
}
