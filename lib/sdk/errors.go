package sdk

import (
	"errors"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// builtinFilename is the file name go.starlark.net gives to frames of
// built-in functions.
const builtinFilename = "<builtin>"

// Error is an error located in a user's file. Its text is
// "file:line:col: msg", "file: msg" when the line is unknown, or just msg
// when there is no position at all.
type Error struct {
	Pos syntax.Position
	Msg string
}

func (e *Error) Error() string {
	if !e.Pos.IsValid() {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Locate returns err as an *Error positioned in user code:
//
//   - syntax errors and resolve errors keep their own position;
//   - evaluation errors are positioned at the innermost frame of user code
//     (frames of built-ins are skipped), with the backtrace dropped;
//   - when the chain of err holds an *Error (a failure inside a loaded
//     module, or an already located error), the innermost one is returned,
//     so the message names the file where the failure happened.
//
// Other errors (and nil) are returned unchanged.
func Locate(err error) error {
	if err == nil {
		return nil
	}
	var located *Error
	if errors.As(err, &located) {
		return located
	}
	var serr syntax.Error
	if errors.As(err, &serr) {
		return &Error{Pos: serr.Pos, Msg: serr.Msg}
	}
	var rlist resolve.ErrorList
	if errors.As(err, &rlist) && len(rlist) > 0 {
		return &Error{Pos: rlist[0].Pos, Msg: rlist[0].Msg}
	}
	var rerr resolve.Error
	if errors.As(err, &rerr) {
		return &Error{Pos: rerr.Pos, Msg: rerr.Msg}
	}
	var eerr *starlark.EvalError
	if errors.As(err, &eerr) {
		out := &Error{Msg: eerr.Msg}
		if pos, ok := userPos(eerr.CallStack); ok {
			out.Pos = pos
		}
		return out
	}
	return err
}

// userPos returns the position of the innermost frame of user code.
func userPos(stack starlark.CallStack) (syntax.Position, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		pos := stack[i].Pos
		if pos.IsValid() && pos.Filename() != builtinFilename {
			return pos, true
		}
	}
	return syntax.Position{}, false
}

// CallerPos returns the position of the innermost frame of user code on
// thread's stack: inside a built-in, the place that called it. ok is false
// when no user code is running.
func CallerPos(thread *starlark.Thread) (pos syntax.Position, ok bool) {
	if thread == nil {
		return syntax.Position{}, false
	}
	return userPos(thread.CallStack())
}
