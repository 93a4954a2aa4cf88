package cli

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
)

// MaxLine bounds one line of input (a ref, or a batch record).
const MaxLine = 64 << 20

// Lines calls fn for each non-blank line of r (a trailing "\r" removed) as
// the lines arrive, until fn returns false. Before each read that may block,
// flush is called, so output keeps pace with input in a pipeline.
func Lines(r io.Reader, flush func() error, fn func(line string) bool) error {
	sc := bufio.NewScanner(flushingReader{r: r, flush: flush})
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !fn(line) {
			return nil
		}
	}
	return sc.Err()
}

type flushingReader struct {
	r     io.Reader
	flush func() error
}

func (f flushingReader) Read(p []byte) (int, error) {
	if f.flush != nil {
		f.flush()
	}
	return f.r.Read(p)
}

// IsTerminal reports whether r is a terminal (stdin not redirected).
func IsTerminal(r io.Reader) bool {
	st, ok := r.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := st.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ErrNoInput is the usage problem of a tool that reads refs from stdin when
// stdin is a terminal.
var ErrNoInput = errors.New("no REF given")
