package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"

	"go.starlark.net/starlark"

	"github.com/ocu-team/ocu/lib/sdk"
	"github.com/ocu-team/ocu/lib/state"
)

// jsonEqual compares generic JSON values (json.Number for numbers) with
// numbers compared by value.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, okx := new(big.Rat).SetString(string(x))
		fy, oky := new(big.Rat).SetString(string(y))
		if !okx || !oky {
			return x == y
		}
		return fx.Cmp(fy) == 0
	default:
		return a == b
	}
}

// envValue is the Starlark value of environment(): .name, .attributes,
// .json(), .dict().
type envValue struct {
	env state.Environment
}

var (
	_ starlark.HasAttrs = (*envValue)(nil)
	_ sdk.JSONValuer    = (*envValue)(nil)
)

func (e *envValue) String() string        { return fmt.Sprintf("environment(%q)", e.env.Name) }
func (e *envValue) Type() string          { return "environment" }
func (e *envValue) Freeze()               {}
func (e *envValue) Truth() starlark.Bool  { return true }
func (e *envValue) Hash() (uint32, error) { return starlark.String(e.env.Name).Hash() }
func (e *envValue) AttrNames() []string   { return []string{"attributes", "dict", "json", "name"} }

func (e *envValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(e.env.Name), nil
	case "attributes":
		return e.attributes(), nil
	case "json":
		return starlark.NewBuiltin("json", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			b, err := json.Marshal(e.env)
			return starlark.String(b), err
		}), nil
	case "dict":
		return starlark.NewBuiltin("dict", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			d := starlark.NewDict(2)
			d.SetKey(starlark.String("attributes"), e.attributes())
			d.SetKey(starlark.String("name"), starlark.String(e.env.Name))
			return d, nil
		}), nil
	}
	return nil, nil
}

func (e *envValue) attributes() *starlark.Dict {
	keys := slices.Sorted(maps.Keys(e.env.Attributes))
	d := starlark.NewDict(len(keys))
	for _, k := range keys {
		d.SetKey(starlark.String(k), starlark.String(e.env.Attributes[k]))
	}
	return d
}

// JSONValue implements sdk.JSONValuer.
func (e *envValue) JSONValue() (any, error) { return normalize(e.env) }

// workValue is the Starlark value of call() and deploy().
type workValue struct {
	item *workItem
}

func (w *workValue) String() string {
	typ, name := w.item.work.Kind()
	return fmt.Sprintf("%s(%q)", typ, name)
}
func (w *workValue) Type() string          { return "work" }
func (w *workValue) Freeze()               {}
func (w *workValue) Truth() starlark.Bool  { return true }
func (w *workValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: work") }

// doneValue is the result of done(...).
type doneValue struct {
	annotation string
	outputs    map[string]any
	tags       []string
	err        error // found when done() was called; reported as the function's failure
}

func (d *doneValue) String() string        { return "done(...)" }
func (d *doneValue) Type() string          { return "done" }
func (d *doneValue) Freeze()               {}
func (d *doneValue) Truth() starlark.Bool  { return true }
func (d *doneValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: done") }

// nextValue is the result of next(...).
type nextValue struct {
	fn         *starlark.Function
	annotation string
	inputs     state.Inputs
	err        error
}

func (n *nextValue) String() string        { return "next(...)" }
func (n *nextValue) Type() string          { return "next" }
func (n *nextValue) Freeze()               {}
func (n *nextValue) Truth() starlark.Bool  { return true }
func (n *nextValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: next") }
