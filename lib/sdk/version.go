package sdk

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Version is the SDK version ocu implements. ocuroot("…") accepts it and
// every other way of naming SDK 0.3 (see Supported).
const Version = "0.3.0"

// Supported reports whether v, the argument of ocuroot("…"), names SDK 0.3:
// an exact version 0.3.N (the original client's later releases, 0.3.7 to
// 0.3.17, added no incompatible change), a wildcard 0.3, 0.3.x, 0.3.X or
// 0.3.*, or a semver constraint that stays within 0.3: ~0.3, ~0.3.N, ^0.3,
// ^0.3.N, =0.3.N. Any other major or minor, or a range reaching past 0.3, is
// refused.
func Supported(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) > 0 && strings.ContainsRune("~^=", rune(v[0])) {
		v = strings.TrimSpace(v[1:])
	}
	rest, ok := strings.CutPrefix(v, "0.3")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	patch, ok := strings.CutPrefix(rest, ".")
	if !ok {
		return false
	}
	switch patch {
	case "x", "X", "*":
		return true
	case "":
		return false
	}
	for _, c := range patch {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(patch) == 1 || patch[0] != '0'
}

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
// SDK 0.3 (see Supported). filename is the name used in messages (docs/engine.md §2):
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
	if v, _ := lit.Value.(string); !Supported(v) {
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
