package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/ocu-team/ocu/lib/sdk"
)

// Limits bound every run of package code: each work function, and the
// evaluation of each package. A zero field sets no limit;
// LimitsFromEnviron gives the defaults.
type Limits struct {
	// Timeout is how long one function (or evaluation) may run, shell
	// commands included (OCU_FUNCTION_TIMEOUT, default 1h). When it
	// expires the Starlark thread is cancelled and its shell commands are
	// killed.
	Timeout time.Duration
	// MaxSteps bounds the Starlark execution steps of one function
	// (OCU_FUNCTION_MAX_STEPS, default 10,000,000,000: about a minute of a
	// tight loop).
	MaxSteps uint64
	// MaxMemory bounds the Go heap of the process while package code runs
	// (live objects and garbage not yet collected), in bytes
	// (OCU_FUNCTION_MAX_MEMORY, default 2 GiB).
	MaxMemory uint64
	// MaxLog bounds the stored log of a run, in bytes of stored JSON
	// (OCU_LOG_MAX_SIZE, default 10 MiB): the oldest lines are dropped and
	// a first line says how much.
	MaxLog int
}

// The environment variables of LimitsFromEnviron.
const (
	envTimeout   = "OCU_FUNCTION_TIMEOUT"
	envMaxSteps  = "OCU_FUNCTION_MAX_STEPS"
	envMaxMemory = "OCU_FUNCTION_MAX_MEMORY"
	envMaxLog    = "OCU_LOG_MAX_SIZE"
)

// DefaultLimits are the limits when no variable sets them.
func DefaultLimits() Limits {
	return Limits{
		Timeout:   time.Hour,
		MaxSteps:  10_000_000_000,
		MaxMemory: 2 << 30,
		MaxLog:    10 << 20,
	}
}

// LimitsFromEnviron returns the default limits with those set in environ
// ("KEY=value" entries) applied: OCU_FUNCTION_TIMEOUT (a duration, "90s",
// "2h"), OCU_FUNCTION_MAX_STEPS (a count), OCU_FUNCTION_MAX_MEMORY and
// OCU_LOG_MAX_SIZE (bytes, with an optional K, M or G suffix: powers of
// 1024). "0" removes a limit. An invalid value is an error naming the
// variable.
func LimitsFromEnviron(environ []string) (Limits, error) {
	l := DefaultLimits()
	env := sdk.EnvironMap(environ)
	if v, ok := env[envTimeout]; ok && v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return l, fmt.Errorf("%s: invalid duration %q (want e.g. 90s, 30m, 2h; 0 for no limit)", envTimeout, v)
		}
		l.Timeout = d
	}
	if v, ok := env[envMaxSteps]; ok && v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return l, fmt.Errorf("%s: invalid number of steps %q", envMaxSteps, v)
		}
		l.MaxSteps = n
	}
	if v, ok := env[envMaxMemory]; ok && v != "" {
		n, err := parseSize(v)
		if err != nil {
			return l, fmt.Errorf("%s: %w", envMaxMemory, err)
		}
		l.MaxMemory = n
	}
	if v, ok := env[envMaxLog]; ok && v != "" {
		n, err := parseSize(v)
		if err == nil && n > 1<<40 {
			err = fmt.Errorf("size %q too large", v)
		}
		if err != nil {
			return l, fmt.Errorf("%s: %w", envMaxLog, err)
		}
		l.MaxLog = int(n)
	}
	return l, nil
}

// parseSize reads a number of bytes with an optional suffix K, M or G
// (KiB, MiB, GiB; "k", "KB" and "KiB" are the same).
func parseSize(s string) (uint64, error) {
	num := strings.TrimRight(s, "bBiIkKmMgG")
	unit := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s[len(num):], "B"), "b"))
	unit = strings.TrimSuffix(unit, "I")
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30}
	sh, okUnit := shift[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || !okUnit || n > (1<<63)>>sh {
		return 0, fmt.Errorf("invalid size %q (want bytes, or a number with K, M or G)", s)
	}
	return n << sh, nil
}

// formatSize prints a number of bytes for a message.
func formatSize(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitError is how package code stopped by a limit fails: one line
// naming the limit and how to change it.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// memoryCheckInterval is how often the memory guard samples the heap.
const memoryCheckInterval = 10 * time.Millisecond

// runBounded runs fn on a new Starlark thread named name, bounded by the
// engine's limits and the command's deadline (--timeout): when one is
// passed, the thread is cancelled and the shell commands it started are
// killed (their process groups: SIGTERM, then SIGKILL), and runBounded
// returns a *limitError saying which instead of fn's error. An
// interruption of ctx itself is fn's error, for the caller to report.
func (e *Engine) runBounded(ctx context.Context, name string, fn func(*starlark.Thread) error) error {
	ctx, cancelDeadline := e.deadlineContext(ctx)
	defer cancelDeadline()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if limit := e.Limits.MaxMemory; limit > 0 {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			guardMemory(limit, stop, func() {
				cancel(&limitError{fmt.Sprintf("used more than %s of memory (%s)", formatSize(limit), envMaxMemory)})
			})
		}()
		defer func() { close(stop); <-done }()
	}

	thread, stop := sdk.NewThread(ctx, name)
	defer stop()
	if limit := e.Limits.MaxSteps; limit > 0 {
		thread.SetMaxExecutionSteps(limit)
		thread.OnMaxSteps = func(th *starlark.Thread) {
			err := &limitError{fmt.Sprintf("exceeded %d Starlark execution steps (%s)", limit, envMaxSteps)}
			cancel(err)
			th.Cancel(err.Error())
		}
	}
	err := fn(thread)
	var le *limitError
	if err != nil && errors.As(context.Cause(ctx), &le) {
		return le
	}
	return err
}

// deadlineContext returns ctx bounded by the function timeout, counted
// from now, and by the command's deadline (--timeout), whichever comes
// first; past it, its cause is a *limitError.
func (e *Engine) deadlineContext(ctx context.Context) (context.Context, context.CancelFunc) {
	start := time.Now()
	deadline, why := time.Time{}, ""
	if e.Limits.Timeout > 0 {
		deadline, why = start.Add(e.Limits.Timeout), fmt.Sprintf("the limit is %s, %s", e.Limits.Timeout, envTimeout)
	}
	if !e.Deadline.IsZero() && (deadline.IsZero() || e.Deadline.Before(deadline)) {
		deadline, why = e.Deadline, "the command's --timeout passed"
	}
	if deadline.IsZero() {
		return context.WithCancel(ctx)
	}
	after := max(deadline.Sub(start), 0).Round(time.Millisecond)
	return context.WithDeadlineCause(ctx, deadline, &limitError{fmt.Sprintf("timed out after %s (%s)", after, why)})
}

// guardMemory samples the heap until stop is closed and calls exceeded,
// once, when it grows more than limit bytes past what it was when the
// guard started: the package code is charged for what it adds, not for
// what the command already holds (its read cache, other releases). The
// heap counts live objects and garbage not yet collected, as the memory
// the process occupies does: it is up to twice the live data between two
// collections. One Starlark step (s + s) can allocate much at once, so the
// heap can pass the limit by about that much before the sample sees it.
func guardMemory(limit uint64, stop <-chan struct{}, exceeded func()) {
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(heap)
	if heap[0].Value.Kind() == metrics.KindUint64 {
		limit += heap[0].Value.Uint64()
	}
	tick := time.NewTicker(memoryCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		metrics.Read(heap)
		if heap[0].Value.Kind() == metrics.KindUint64 && heap[0].Value.Uint64() > limit {
			exceeded()
			return
		}
	}
}
