package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// newChain adds chain k of work item w to b: the chain document, its pending
// marker, and function 1 with its pending marker (docs/engine.md §6).
func (e *Engine) newChain(b *store.Tx, w state.WorkID, k int, chainType, reason string, fn state.FuncID, inputs state.Inputs, deps []string) state.WorkID {
	c := w.WithChain(k)
	b.Create(c.ChainRef(), state.Chain{Type: chainType, Release: w.Release.String(), Entrypoint: c.WithFn(1).FnRef().String(), Reason: reason})
	e.putStatus(b, c, state.StatusPending)
	e.newFunction(b, c.WithFn(1), fn, inputs, deps)
	return c
}

// newFunction adds a pending function to b.
func (e *Engine) newFunction(b *store.Tx, f state.WorkID, fn state.FuncID, inputs state.Inputs, deps []string) {
	if inputs == nil {
		inputs = state.Inputs{}
	}
	now := e.now()
	b.Create(f.FnRef(), state.Function{
		Current: state.FunctionState{Dependencies: deps, Fn: fn, ID: strconv.Itoa(f.Fn), Inputs: inputs, Status: state.StatusPending},
		History: []state.HistoryEntry{{Status: state.StatusPending, Time: now}},
	})
	b.Put(f.StatusRef(state.StatusPending), state.Marker{Time: now})
}

// nextChain returns the number of the next chain of work item w.
func (e *Engine) nextChain(ctx context.Context, w state.WorkID) (int, error) {
	refs, err := e.match(ctx, w.ItemRef().String()+"/*")
	if err != nil {
		return 0, err
	}
	return nextNumber(refs), nil
}

// outcome is what running a function gave.
type outcome struct {
	done    *doneValue
	next    *nextValue
	nextID  state.FuncID
	failure string   // set when the function failed
	logs    *logTail // its log lines, the last Limits.MaxLog of them
}

// runFunction runs one pending function whose inputs and dependencies are
// satisfied (docs/engine.md §9). It reports whether the function failed.
func (e *Engine) runFunction(ctx context.Context, f state.WorkID, fdoc *state.Function) (bool, error) {
	var chain state.Chain
	if _, err := e.get(ctx, f.ChainRef(), &chain); err != nil {
		return false, err
	}
	rel, err := e.release(ctx, f.Release)
	if err != nil {
		return false, err
	}
	down := chain.Type == "down"
	lbl := label(f, down)

	// Start, committed before any code runs. It claims the function: the
	// commit fails if the function changed since it was read (another
	// runner sharing a git store claimed or finished it first).
	stored, _, err := e.getValue(ctx, f.FnRef())
	if err != nil {
		return false, err
	}
	started := e.Now()
	fdoc.Current.Status = state.StatusRunning
	fdoc.Current.Runner = &state.Runner{Host: e.host, Pid: e.pid, Started: timestamp(started)}
	fdoc.History = append(fdoc.History, state.HistoryEntry{Status: state.StatusRunning, Time: timestamp(started)})
	b := store.NewTx("function started " + f.FnRef().String())
	b.Expect(f.FnRef(), stored)
	b.Put(f.FnRef(), fdoc)
	e.swapStatus(b, f, state.StatusRunning, state.StatusPending)
	if f.Fn == 1 && f.Type == ref.TypeDeploy && !down {
		b.Put(f.IntentRef(), state.DeployIntent{Type: "", Release: f.Release.String(), Input: fdoc.Current.Inputs})
	}
	if err := e.commit(ctx, b); store.CodeOf(err) == store.EConflict {
		e.progress.line("%s: claimed by another runner", lbl)
		return false, nil
	} else if err != nil {
		return false, err
	}
	e.progress.line("%s: pending -> running", lbl)

	out := e.call(ctx, f, lbl, rel.Commit, fdoc)
	// The outcome is recorded even when the command is being interrupted.
	ctx = context.WithoutCancel(ctx)
	if out.done != nil && out.failure == "" {
		if err := e.checkTags(ctx, f, out.done.tags); err != nil {
			out.failure = err.Error()
		}
	}
	elapsed := time.Since(started)
	if err := e.finish(ctx, f, chain, fdoc, &out); err != nil {
		return false, err
	}
	if out.failure != "" {
		e.progress.line("%s: running -> failed: %s", lbl, out.failure)
		return true, nil
	}
	e.progress.line("%s: running -> done (%.3fs)", lbl, elapsed.Seconds())
	return false, nil
}

// call runs the function's code and validates its result.
func (e *Engine) call(ctx context.Context, f state.WorkID, lbl, commit string, fdoc *state.Function) outcome {
	out := outcome{logs: &logTail{max: e.Limits.MaxLog}}
	ev, err := e.evaluation(ctx, f.Release.File, commit, f.Release.Number)
	if err != nil {
		return e.notCalled(ctx, out, err)
	}
	fn, err := ev.function(fdoc.Current.Fn)
	if err != nil {
		return e.notCalled(ctx, out, err)
	}
	args, kwargs, err := callArgs(fn, fdoc)
	if err != nil {
		return e.notCalled(ctx, out, err)
	}
	ev.sink = func(l sdk.LogLine) {
		out.logs.add(e.logLine(l, ev.posName))
		e.progress.line("%s> %s", lbl, l.Text)
	}
	ev.state.inWork = true
	var v starlark.Value
	err = e.runBounded(ctx, fn.Name(), func(thread *starlark.Thread) error {
		thread.Print = ev.host.Print
		v, err = starlark.Call(thread, fn, args, kwargs)
		return err
	})
	ev.sink, ev.state.inWork = nil, false

	var limit *limitError
	switch {
	case ctx.Err() != nil:
		out.failure = interruption(ctx)
	case errors.As(err, &limit):
		out.failure = limit.Error()
	case err != nil:
		out.failure = sdk.Locate(err).Error()
	case v == starlark.None:
		out.failure = fmt.Sprintf("function %q returned None; return done(...) or next(...)", fn.Name())
	default:
		switch r := v.(type) {
		case *doneValue:
			if r.err != nil {
				out.failure = r.err.Error()
			} else {
				out.done = r
			}
		case *nextValue:
			if r.err != nil {
				out.failure = r.err.Error()
				break
			}
			id, ok := ev.funcID(r.fn)
			if !ok {
				out.failure = "next(): fn must be a top-level function"
				break
			}
			out.next, out.nextID = r, id
		default:
			out.failure = fmt.Sprintf("function %q returned %s; return done(...) or next(...)", fn.Name(), v.Type())
		}
	}
	out.failure = e.Secrets.Mask(out.failure)
	return out
}

// notCalled is the outcome of a function that could not be called because
// of err: its package did not evaluate, the function is not found, or its
// inputs cannot be passed. An interrupted command is reported as such, and
// secrets are masked as in every stored error.
func (e *Engine) notCalled(ctx context.Context, out outcome, err error) outcome {
	out.failure = err.Error()
	if ctx.Err() != nil {
		out.failure = interruption(ctx)
	}
	out.failure = e.Secrets.Mask(out.failure)
	return out
}

// interruption is the failure of a function whose command was interrupted.
func interruption(ctx context.Context) string {
	cause := context.Cause(ctx)
	switch {
	case cause != nil && strings.Contains(cause.Error(), "interrupt"):
		return "interrupted by SIGINT"
	case cause != nil && strings.Contains(cause.Error(), "terminated"):
		return "interrupted by SIGTERM"
	}
	return "interrupted"
}

// callArgs builds the arguments of a work function (docs/engine.md §9.2): one
// positional ctx for `def f(ctx)`, else the input values by keyword.
func callArgs(fn *starlark.Function, fdoc *state.Function) (starlark.Tuple, []starlark.Tuple, error) {
	values := map[string]starlark.Value{}
	for name, d := range fdoc.Current.Inputs {
		v, _ := d.Effective()
		sv, err := sdk.ToStarlark(v)
		if err != nil {
			return nil, nil, fmt.Errorf("input %q: %w", name, err)
		}
		values[name] = sv
	}
	if fn.NumParams() == 1 && fn.NumKwonlyParams() == 0 && !fn.HasVarargs() && !fn.HasKwargs() {
		if name, _ := fn.Param(0); name == "ctx" {
			return starlark.Tuple{contextValue(fdoc.Current.ID, values)}, nil, nil
		}
	}
	var kwargs []starlark.Tuple
	for _, name := range slices.Sorted(maps.Keys(values)) {
		kwargs = append(kwargs, starlark.Tuple{starlark.String(name), values[name]})
	}
	return nil, kwargs, nil
}

// logLine converts a line of Starlark output into a log entry; name gives
// the file name recorded for a module path (see evaluated.posName).
func (e *Engine) logLine(l sdk.LogLine, name func(string) string) state.LogLine {
	attrs := state.LogAttributes{Thread: l.Thread}
	if l.Pos.IsValid() {
		attrs.Filename = name(l.Pos.Filename())
		attrs.Line = strconv.Itoa(int(l.Pos.Line))
		attrs.Col = strconv.Itoa(int(l.Pos.Col))
	}
	return state.LogLine{Attributes: attrs, Message: l.Text, Stream: l.Stream, Timestamp: e.now()}
}

// checkTags refuses tags naming an existing document (docs/engine.md §9.4).
func (e *Engine) checkTags(ctx context.Context, f state.WorkID, tags []string) error {
	for _, t := range tags {
		tagRef := tagOf(f.Release, t)
		res, err := e.resolve(ctx, tagRef)
		if err != nil {
			return err
		}
		if res == tagRef {
			return fmt.Errorf("invalid tag %q: a document is stored at %s", t, tagRef)
		}
	}
	return nil
}

// finish records the function's outcome and, when its chain ended, the
// chain's (docs/engine.md §9.5).
func (e *Engine) finish(ctx context.Context, f state.WorkID, chain state.Chain, fdoc *state.Function, out *outcome) error {
	now := e.now()
	b := store.NewTx("function finished " + f.FnRef().String())
	fdoc.Current.Runner = nil
	status := state.StatusComplete
	if out.failure != "" {
		status = state.StatusFailed
		fdoc.Current.Error = out.failure
		if out.logs == nil {
			out.logs = &logTail{max: e.Limits.MaxLog}
		}
		out.logs.add(state.LogLine{
			Attributes: state.LogAttributes{Thread: fdoc.Current.Fn.Name},
			Message:    out.failure, Stream: sdk.StreamStderr, Timestamp: now,
		})
	}
	if out.done != nil && len(out.done.outputs) > 0 {
		fdoc.Current.Outputs = out.done.outputs // as the original: no outputs, no field
	}
	fdoc.Current.Status = status
	fdoc.History = append(fdoc.History, state.HistoryEntry{Status: status, Time: now})
	b.Put(f.FnRef(), fdoc)
	e.swapStatus(b, f, status, state.StatusRunning)
	c := f.WithFn(0)
	var tagLines []state.LogLine
	switch {
	case out.failure != "":
		e.swapStatus(b, c, state.StatusFailed, state.StatusPending)
		e.swapStatus(b, c.Item(), state.StatusFailed, state.StatusComplete)
	case out.next != nil:
		e.newFunction(b, f.WithFn(f.Fn+1), out.nextID, out.next.inputs, nil)
	default:
		chain.Output = out.done.outputs
		b.Put(c.ChainRef(), chain)
		b.Put(c.ItemRef(), chain)
		e.swapStatus(b, c, state.StatusComplete, state.StatusPending)
		e.swapStatus(b, c.Item(), state.StatusComplete, state.StatusFailed)
		lines, err := e.tag(ctx, b, f, out.done.tags)
		if err != nil {
			return err
		}
		tagLines = lines
		if chain.Type == "down" {
			cur, ok, err := e.resolveWork(ctx, c.CurrentRef())
			if err != nil {
				return err
			}
			if ok && cur.Chain > 0 && cur.Item() == c.Item() {
				b.Unlink(c.CurrentRef())
			}
		} else {
			b.Link(c.CurrentRef(), c.ChainRef())
		}
		b.Link(c.CurrentChainRef(), c.ChainRef())
	}
	if (out.logs != nil && out.logs.len() > 0) || len(tagLines) > 0 {
		var stored []state.LogLine
		if _, err := e.get(ctx, c.LogsRef(), &stored); err != nil {
			return err
		}
		logs := &logTail{max: e.Limits.MaxLog}
		logs.addStored(stored)
		if out.logs != nil {
			logs.addTail(out.logs)
		}
		for _, l := range tagLines {
			logs.add(l)
		}
		b.Put(c.LogsRef(), logs.result())
	}
	return e.commit(ctx, b)
}

// tag links R/-/F/@<tag> → R/-/F/@N for each tag; a tag moved from another
// release gets a log line.
func (e *Engine) tag(ctx context.Context, b *store.Tx, f state.WorkID, tags []string) ([]state.LogLine, error) {
	var lines []state.LogLine
	for _, t := range tags {
		tagRef := tagOf(f.Release, t)
		cur, err := e.resolve(ctx, tagRef)
		if err != nil {
			return nil, err
		}
		if !cur.IsZero() && cur != f.Release.Ref() {
			old := "@" + cur.Release
			lines = append(lines, state.LogLine{
				Attributes: state.LogAttributes{Thread: "tag"},
				Message:    fmt.Sprintf("tag %s moved from %s to @%s", t, old, f.Release.Number),
				Timestamp:  e.now(),
			})
		}
		b.Link(tagRef, f.Release.Ref())
	}
	return lines, nil
}

// tagOf returns the ref of tag t of rel's package, R/-/F/@<tag>.
func tagOf(rel state.ReleaseID, t string) ref.Ref {
	rel.Number = t
	return rel.Ref()
}

// evaluation returns the package of release f@n evaluated at commit, to
// run its functions; evaluations are kept for the rest of the command.
func (e *Engine) evaluation(ctx context.Context, file, commit, n string) (*evaluated, error) {
	key := file + "@" + n + "@" + commit
	e.mu.Lock()
	ev, ok := e.evals[key]
	e.mu.Unlock()
	if ok {
		return ev, nil
	}
	ev, err := e.evaluate(ctx, file, commit, n)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.evals[key] = ev
	e.mu.Unlock()
	return ev, nil
}
