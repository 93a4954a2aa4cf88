package sdk

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Version is the only SDK version accepted in ocuroot("…").
const Version = "0.3.0"

// FileOptions returns the Starlark dialect of every .ocu.star file: set,
// while, top-level if/for, global reassignment and recursion enabled.
func FileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             true,
		While:           true,
		TopLevelControl: true,
		GlobalReassign:  true,
		Recursion:       true,
	}
}

// CheckVersion checks, on the syntax tree and before execution, that f
// holds exactly one top-level statement ocuroot("<string literal>") naming
// Version. filename is the name used in messages (engine.md §2):
//
//	F: missing ocuroot("0.3.0")
//	F: multiple ocuroot() calls
//	F:L:C: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")
//	F: SDK version "X" is not supported (supported: 0.3.0)
//
// The error is an *Error.
func CheckVersion(filename string, f *syntax.File) error {
	var calls []*syntax.CallExpr
	for _, stmt := range f.Stmts {
		es, ok := stmt.(*syntax.ExprStmt)
		if !ok {
			continue
		}
		call, ok := es.X.(*syntax.CallExpr)
		if !ok {
			continue
		}
		if id, ok := call.Fn.(*syntax.Ident); ok && id.Name == "ocuroot" {
			calls = append(calls, call)
		}
	}
	fileOnly := syntax.MakePosition(&filename, 0, 0)
	switch len(calls) {
	case 0:
		return &Error{Pos: fileOnly, Msg: fmt.Sprintf("missing ocuroot(%q)", Version)}
	case 1:
	default:
		return &Error{Pos: fileOnly, Msg: "multiple ocuroot() calls"}
	}
	call := calls[0]
	var lit *syntax.Literal
	if len(call.Args) == 1 {
		if l, ok := call.Args[0].(*syntax.Literal); ok && l.Token == syntax.STRING {
			lit = l
		}
	}
	if lit == nil {
		// Like Starlark's own call errors, point at the "(".
		pos := syntax.MakePosition(&filename, call.Lparen.Line, call.Lparen.Col)
		return &Error{Pos: pos, Msg: fmt.Sprintf("ocuroot() takes one string literal, e.g. ocuroot(%q)", Version)}
	}
	if v, _ := lit.Value.(string); v != Version {
		return &Error{Pos: fileOnly, Msg: fmt.Sprintf("SDK version %q is not supported (supported: %s)", v, Version)}
	}
	return nil
}

// ocurootBuiltin is ocuroot(version): checked before execution by
// CheckVersion, a no-op when run.
var ocurootBuiltin = starlark.NewBuiltin("ocuroot", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var version string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &version); err != nil {
		return nil, err
	}
	return starlark.None, nil
})

// Unavailable returns a builtin named name that fails with
// "<name>() is not available in <where>" when called, e.g.
// "environment() is not available in repo.ocu.star".
func Unavailable(name, where string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return nil, fmt.Errorf("%s() is not available in %s", name, where)
	})
}
