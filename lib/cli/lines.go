package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
)

// MaxLine bounds one line of input (a ref, or a batch record).
const MaxLine = 64 << 20

// Lines calls fn for each non-blank line of r (a trailing "\r" removed),
// with its line number counting from 1, as the lines arrive, until fn
// returns false. A line longer than MaxLine ends the reading with a usage
// error naming it. Before each read that may block, flush is called, so
// output keeps pace with input in a pipeline. A read waiting for input
// ends when ctx is done (an interrupt), with ctx's cause.
func Lines(ctx context.Context, r io.Reader, flush func() error, fn func(n int, line string) bool) error {
	sc := bufio.NewScanner(flushingReader{r: Reader(ctx, r), flush: flush})
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !fn(n, line) {
			return nil
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return Usagef("line %d is longer than %d MiB, the limit of one line", n, MaxLine>>20)
	}
	return sc.Err()
}

// Reader returns r, with reads that return when ctx is done even while r
// waits for input (stdin from a terminal or an idle pipe).
func Reader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	type result struct {
		n   int
		err error
	}
	buf := make([]byte, len(p))
	done := make(chan result, 1)
	go func() {
		n, err := c.r.Read(buf)
		done <- result{n, err}
	}()
	select {
	case res := <-done:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		return 0, context.Cause(c.ctx) // the read goroutine ends with the process
	}
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

// ErrNoInput is the usage problem of a tool that reads refs from stdin when
// stdin is a terminal.
var ErrNoInput = errors.New("no REF given")
