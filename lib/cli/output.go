package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/ocu-team/ocu/lib/store"
)

// Output writes data to stdout, buffered. After a write error (a closed
// pipe: `| head`) every write fails with that error, so tools stop quietly.
type Output struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
	err error
}

// NewOutput returns an Output writing to w.
func NewOutput(w io.Writer) *Output {
	o := &Output{w: bufio.NewWriterSize(w, 64<<10)}
	o.enc = json.NewEncoder(&o.buf)
	o.enc.SetEscapeHTML(false)
	return o
}

// JSON writes v as pretty JSON (2-space indent, keys sorted, numbers as
// stored) or, when compact, on one line; both end with a newline. A value
// nested deeper than state.MaxNesting (stored before stores refused such
// values) is always written on one line: indented, its size would grow
// with the square of its depth.
func (o *Output) JSON(v any, compact bool) error {
	if o.err != nil {
		return o.err
	}
	o.buf.Reset()
	if compact || store.CheckNesting(v) != nil {
		o.enc.SetIndent("", "")
	} else {
		o.enc.SetIndent("", "  ")
	}
	if err := o.enc.Encode(v); err != nil {
		return err // an unencodable value: not an output failure
	}
	return o.write(o.buf.Bytes())
}

// Raw writes a string as is and any other value as JSON (pretty or
// compact, as JSON does), then a newline.
func (o *Output) Raw(v any, compact bool) error {
	if s, ok := v.(string); ok {
		return o.Line(s)
	}
	return o.JSON(v, compact)
}

// Line writes s and a newline.
func (o *Output) Line(s string) error {
	if o.err != nil {
		return o.err
	}
	if _, err := o.w.WriteString(s); err != nil {
		o.err = err
		return err
	}
	return o.write([]byte{'\n'})
}

func (o *Output) write(b []byte) error {
	if _, err := o.w.Write(b); err != nil {
		o.err = err
	}
	return o.err
}

// Flush writes buffered data.
func (o *Output) Flush() error {
	if o.err != nil {
		return o.err
	}
	if err := o.w.Flush(); err != nil {
		o.err = err
	}
	return o.err
}

// Err is the first write error, if any.
func (o *Output) Err() error { return o.err }

// IsClosedPipe reports whether err comes from writing to a closed pipe,
// which ends a tool quietly.
func IsClosedPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}
