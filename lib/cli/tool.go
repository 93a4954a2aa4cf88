package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// Tool is one run of a tool: its name for messages, its streams, its global
// options and the exit code so far.
type Tool struct {
	Prog    string // "ocu-get", or "ocuroot state get" under the multiplexer
	Stdout  io.Writer
	Stderr  io.Writer
	Globals Globals

	synopsis string
	code     int
}

// NewTool returns a tool named prog. synopsis is the head of its usage text.
func NewTool(prog, synopsis string, stdout, stderr io.Writer) *Tool {
	return &Tool{Prog: prog, synopsis: synopsis, Stdout: stdout, Stderr: stderr}
}

// FlagSet returns a new flag set for the tool with the global options.
func (t *Tool) FlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(t.Prog, flag.ContinueOnError)
	t.Globals.Register(fs)
	return fs
}

// Parse parses args (see Parse). When it returns false the tool is done and
// must return t.Code(): usage or version was printed, or the arguments were
// bad.
func (t *Tool) Parse(fs *flag.FlagSet, args []string) ([]string, bool) {
	pos, err := Parse(fs, args)
	switch {
	case err == nil:
		return pos, true
	case errors.Is(err, ErrHelp):
		if p, ok := t.Stdout.(*FlagProbe); ok {
			p.Add(fs)
			break
		}
		t.Usage(fs, t.Stdout)
	case errors.Is(err, ErrVersion):
		fmt.Fprintf(t.Stdout, "%s %s\n", t.Prog, Version())
	default:
		t.UsageError("%v", err)
	}
	return nil, false
}

// Usage writes the usage text: synopsis, then the flags.
func (t *Tool) Usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintln(w, strings.TrimSpace(t.synopsis))
	fmt.Fprintln(w, "\nOptions:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// UsageError prints a usage problem and sets exit code 2.
func (t *Tool) UsageError(format string, args ...any) {
	fmt.Fprintf(t.Stderr, "%s: %s (see %s -h)\n", t.Prog, fmt.Sprintf(format, args...), t.Prog)
	t.Raise(ExitUsage)
}

// Errorf prints one error line "<prog>: <message>" and raises the exit code
// to code.
func (t *Tool) Errorf(code int, format string, args ...any) {
	fmt.Fprintf(t.Stderr, "%s: %s\n", t.Prog, fmt.Sprintf(format, args...))
	t.Raise(code)
}

// Fail prints "<prog>: <subject>: <err>" (or "<prog>: <err>" without a
// subject) and raises the exit code by the kind of err: invalid refs and
// usage problems 2, a busy lock 75, everything else 1.
func (t *Tool) Fail(subject string, err error) {
	t.Errorf(ExitCode(err), "%v", WithSubject(subject, err))
}

// WithSubject prefixes err's message with "subject: ", except for invalid
// refs, whose message already quotes the input. The result wraps err; nil
// stays nil.
func WithSubject(subject string, err error) error {
	var re *ref.Error
	if err == nil || subject == "" || errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("%s: %w", subject, err)
}

// Warn prints "<prog>: warning: <msg>"; warnings never change the exit code.
func (t *Tool) Warn(msg string) {
	fmt.Fprintf(t.Stderr, "%s: warning: %s\n", t.Prog, msg)
}

// Raise raises the exit code to code (2 > 1 > 0; 75 wins).
func (t *Tool) Raise(code int) {
	if code == ExitBusy || (t.code != ExitBusy && code > t.code) {
		t.code = code
	}
}

// Code is the exit code so far.
func (t *Tool) Code() int { return t.code }

// Finish returns the exit code of a run that ended with code: 130 or 143
// when SIGINT or SIGTERM interrupted it (docs/cli.md §1.3), saying so once.
func (t *Tool) Finish(ctx context.Context, code int) int {
	signalled, ok := InterruptCode(ctx)
	if !ok {
		return code
	}
	t.Errorf(signalled, "%v", context.Cause(ctx))
	return signalled
}

// InterruptCode reports whether ctx was cancelled by a signal (the
// contexts of signal.NotifyContext), and the exit code for it: 130 for
// SIGINT, 143 for SIGTERM.
func InterruptCode(ctx context.Context) (int, bool) {
	if ctx.Err() == nil {
		return 0, false
	}
	cause := context.Cause(ctx)
	switch {
	case cause == nil:
		return 0, false
	case strings.Contains(cause.Error(), "terminated"):
		return 143, true
	case strings.Contains(cause.Error(), "interrupt"):
		return 130, true
	}
	return 0, false
}

// UsageErr marks an error as a usage problem (exit code 2).
type UsageErr struct{ Err error }

func (e *UsageErr) Error() string { return e.Err.Error() }
func (e *UsageErr) Unwrap() error { return e.Err }

// Usagef returns a usage error.
func Usagef(format string, args ...any) error {
	return &UsageErr{Err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error to the exit code of docs/cli.md §1.3.
func ExitCode(err error) int {
	var ue *UsageErr
	var re *ref.Error
	var le *config.LocationError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.As(err, &re), errors.As(err, &le), store.CodeOf(err) == store.EFragment:
		return ExitUsage
	case store.CodeOf(err) == store.ELocked:
		return ExitBusy
	case errors.Is(err, context.Canceled):
		return ExitFailure
	}
	return ExitFailure
}
