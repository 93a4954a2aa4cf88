package cli

import (
	"io"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether r is a terminal (stdin not redirected): a
// file with terminal attributes, as isatty(3) asks. Other character
// devices, /dev/null among them, are input like any file.
func IsTerminal(r io.Reader) bool {
	f, ok := r.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
