package store

import (
	"errors"
	"fmt"
)

// Code classifies store errors (docs/store-format.md §12).
type Code string

// Error codes.
const (
	ENotFound    Code = "E_NOT_FOUND"
	ELinkLoop    Code = "E_LINK_LOOP"
	EVersion     Code = "E_VERSION"
	ECorrupt     Code = "E_CORRUPT"
	EFragment    Code = "E_FRAGMENT"
	EIsLink      Code = "E_IS_LINK"
	EUnderLink   Code = "E_UNDER_LINK"
	EIsDoc       Code = "E_IS_DOC"
	EBadLink     Code = "E_BAD_LINK"
	EConflict    Code = "E_CONFLICT"
	EUnsafePath  Code = "E_UNSAFE_PATH"
	ELocked      Code = "E_LOCKED"
	EBadGlob     Code = "E_BAD_GLOB"
	EUnsupported Code = "E_UNSUPPORTED"
)

// Error is a store failure. Its message is the reason only; callers print
// it after the subject they were working on (`ocu-get: +/custom/x: not found`).
type Error struct {
	Code Code
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	if e.Msg == "" {
		return string(e.Code)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code and no message,
// so errors.Is(err, store.ErrNotFound) works for every not-found variant.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Err == nil && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrNotFound = &Error{Code: ENotFound}
	ErrConflict = &Error{Code: EConflict}
	ErrLocked   = &Error{Code: ELocked}
)

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	if format == "" {
		return &Error{Code: ENotFound, Msg: "not found"}
	}
	return errorf(ENotFound, "not found"+format, args...)
}

func corrupt(path string, why error) *Error {
	return &Error{Code: ECorrupt, Msg: fmt.Sprintf("corrupt store object %s: %v", path, why), Err: why}
}
