package sdk

import (
	"go.starlark.net/lib/json"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// exprFilename is the file name of positions inside an expression given to
// EvalExpr: errors read "expression:1:5: undefined: x".
const exprFilename = "expression"

// maxExprSteps bounds the work of one expression.
const maxExprSteps = 10_000_000

// exprUniversal are the only universal names EvalExpr allows.
var exprUniversal = map[string]bool{"True": true, "False": true, "None": true}

// EvalExpr evaluates one Starlark expression with only json, struct, True,
// False and None available, and converts the result to a JSON value
// (FromStarlark). Used by ocu-set -f starlark. Errors are located in the
// expression ("expression:1:5: …").
func EvalExpr(src string) (any, error) {
	env := starlark.StringDict{
		"json":   json.Module,
		"struct": starlark.NewBuiltin("struct", starlarkstruct.Make),
	}
	opts := FileOptions()
	// First pass: refuse every universal name but True, False and None.
	expr, err := opts.ParseExpr(exprFilename, src, 0)
	if err != nil {
		return nil, Locate(err)
	}
	if _, err := resolve.ExprOptions(opts, expr, env.Has, func(name string) bool { return exprUniversal[name] }); err != nil {
		return nil, Locate(err)
	}
	// Second pass: evaluate (a syntax tree is resolved only once).
	thread := &starlark.Thread{Name: exprFilename, Print: func(*starlark.Thread, string) {}}
	thread.SetMaxExecutionSteps(maxExprSteps)
	v, err := starlark.EvalOptions(opts, thread, exprFilename, src, env)
	if err != nil {
		return nil, Locate(err)
	}
	out, err := FromStarlark(v)
	if err != nil {
		return nil, err
	}
	return out, nil
}
