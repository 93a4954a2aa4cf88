package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ocu-team/ocu/lib/config"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// Tool is what a command's run knows of itself: its name for messages,
// its streams and its global options.
type Tool struct {
	Prog    string // "ocu-get", or "ocuroot state get" in the ocuroot tree
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Globals Globals
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

// Finish returns the error of a run that ended with err: when SIGINT or
// SIGTERM interrupted it (docs/cli.md, Exit codes), err joined with the
// interruption, whose exit code 130 or 143 wins.
func Finish(ctx context.Context, err error) error {
	code, ok := InterruptCode(ctx)
	if !ok {
		return err
	}
	return errors.Join(err, WithCode(code, context.Cause(ctx)))
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

// UsageErr marks an error as a usage problem (exit code 2). With SeeHelp,
// its line ends with "(see PROG -h)".
type UsageErr struct {
	Err     error
	SeeHelp bool
}

func (e *UsageErr) Error() string { return e.Err.Error() }
func (e *UsageErr) Unwrap() error { return e.Err }

// Usagef returns a usage error.
func Usagef(format string, args ...any) error {
	return &UsageErr{Err: fmt.Errorf(format, args...)}
}

// UsageError marks err as a problem with the command line: exit code 2, its
// line ending with "(see PROG -h)".
func UsageError(err error) error { return &UsageErr{Err: err, SeeHelp: true} }

// ArgErrorf is UsageError of the message.
func ArgErrorf(format string, args ...any) error {
	return UsageError(fmt.Errorf(format, args...))
}

// ExitCode maps an error to the exit code of docs/cli.md §1.3: the one
// place a run's error becomes its exit code. An error with an ExitCode
// method has that code (see WithCode); of joined errors, an interruption
// (130, 143) wins, then a busy lock (75), then the highest.
func ExitCode(err error) int {
	if errs := Flatten(err); len(errs) > 1 || len(errs) == 1 && errs[0] != err {
		code := ExitOK
		for _, e := range errs {
			code = worse(code, ExitCode(e))
		}
		return code
	}
	if e, ok := err.(interface{ ExitCode() int }); ok {
		return e.ExitCode()
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return xe.code
	}
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
	}
	return ExitFailure
}

// worse returns the exit code that wins of a and b.
func worse(a, b int) int {
	rank := func(code int) int {
		switch code {
		case 130, 143:
			return 1000 + code
		case ExitBusy:
			return 1000
		}
		return code
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
