//go:build unix && !linux

package store

import (
	"errors"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// openBeneath opens rel below base refusing symbolic links in any component;
// without openat2 each component is checked with lstat.
func openBeneath(_ *atomic.Bool, dirfd int, base, rel string, flags int) (int, error) {
	return openChecked(base, rel, flags)
}

// syncFS fails: callers fall back to fsyncing every touched file.
func syncFS(fd int) error { return errors.New("syncfs is not available") }

// readDir lists the folder open at fd.
func readDir(fd int, buf []byte, fn func(name []byte, kind byte)) error {
	dup, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(dup), "")
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, e := range ents {
		kind := byte('o')
		switch t := e.Type(); {
		case t.IsDir():
			kind = 'd'
		case t.IsRegular():
			kind = 'f'
		}
		fn([]byte(e.Name()), kind)
	}
	return nil
}
