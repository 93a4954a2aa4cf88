package engine

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/state"
)

// progress prints what the engine does (docs/cli.md §3.3): one line per state
// change, the work's log lines, and why work waits. Every line is masked.
type progress struct {
	out, err io.Writer
	prog     string // the command's name, prefix of error lines
	secrets  *sdk.Secrets
	mu       sync.Mutex
	lines    int // printed, on stdout and stderr
}

// printed is the number of lines printed so far.
func (p *progress) printed() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines
}

func (p *progress) line(format string, args ...any) {
	if p == nil || p.out == nil {
		return
	}
	msg := p.secrets.Mask(fmt.Sprintf(format, args...))
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range strings.SplitSeq(msg, "\n") {
		fmt.Fprintln(p.out, l)
		p.lines++
	}
}

func (p *progress) stderrLine(s string) {
	if p == nil || p.err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.err, p.secrets.Mask(s))
	p.lines++
}

// label names work in progress lines: "<F>@<N> build", "<F>@<N> deploy to
// staging", "<F>@<N> teardown of staging".
func label(w state.WorkID, down bool) string {
	prefix := w.Release.File + "@" + w.Release.Number
	switch {
	case w.Type == "call":
		return prefix + " " + w.Name
	case down:
		return prefix + " teardown of " + w.Name
	}
	return prefix + " deploy to " + w.Name
}

// warn prints "<prog>: warning: <msg>" on stderr.
func (p *progress) warn(msg string) { p.stderrLine(p.prog + ": warning: " + msg) }

// errorLine prints "<prog>: <msg>" on stderr.
func (p *progress) errorLine(msg string) { p.stderrLine(p.prog + ": " + msg) }

// maskedError is an error whose text had registered secrets in it: Error
// gives the masked text, Unwrap the original error (for errors.Is/As).
type maskedError struct {
	text string
	err  error
}

func (m *maskedError) Error() string { return m.text }
func (m *maskedError) Unwrap() error { return m.err }

// masked returns err with the registered secrets masked in its text; err
// itself when nothing needed masking.
func (e *Engine) masked(err error) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	if masked := e.Secrets.Mask(text); masked != text {
		return &maskedError{text: masked, err: err}
	}
	return err
}
