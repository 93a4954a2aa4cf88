//go:build !linux

package cli

import (
	"io"
	"io/fs"
	"os"
)

// IsTerminal reports whether r is a terminal (stdin not redirected): here,
// a character device other than os.DevNull, the closest portable test.
func IsTerminal(r io.Reader) bool {
	st, ok := r.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := st.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
