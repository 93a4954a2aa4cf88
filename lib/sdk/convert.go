package sdk

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/ocu-team/ocu/lib/state"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// JSONValuer is implemented by Starlark values that have their own JSON
// form (for example engine values such as environments). FromStarlark uses
// it before anything else; the result must itself be a JSON value.
type JSONValuer interface {
	JSONValue() (any, error)
}

// ToStarlark converts a JSON value, as decoded by encoding/json with
// UseNumber, to a Starlark value (docs/engine.md §2): objects become dicts
// (keys in sorted order), arrays lists, numbers without ".", "e" or "E"
// ints of arbitrary size, other numbers floats, strings, booleans and null
// strings, bools and None. For convenience it also accepts float64, the Go
// integer types, *big.Int, []string and map[string]string.
func ToStarlark(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case json.Number:
		return numberToStarlark(string(x))
	case float64:
		return starlark.Float(x), nil
	case float32:
		return starlark.Float(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case int32:
		return starlark.MakeInt64(int64(x)), nil
	case uint64:
		return starlark.MakeUint64(x), nil
	case uint:
		return starlark.MakeUint(x), nil
	case *big.Int:
		return starlark.MakeBigInt(x), nil
	case []any:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := ToStarlark(e)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case []string:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			elems[i] = starlark.String(e)
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			sv, err := ToStarlark(x[k])
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			if err := d.SetKey(starlark.String(k), starlark.String(x[k])); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot convert Go value of type %T to Starlark", v)
}

// numberToStarlark converts the text of a JSON number.
func numberToStarlark(s string) (starlark.Value, error) {
	if s == "" {
		return nil, fmt.Errorf("invalid JSON number %q", s)
	}
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return starlark.MakeInt64(i), nil
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("invalid JSON number %q", s)
		}
		return starlark.MakeBigInt(b), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON number %q", s)
	}
	return starlark.Float(f), nil
}

// FromStarlark converts a Starlark value to a JSON value (docs/engine.md §2):
// dicts with string keys become map[string]any, lists and tuples []any,
// ints and floats json.Number (ints keep every digit; floats use
// Starlark's canonical form, which always holds a "." or an exponent),
// strings, bools and None string, bool and nil, structs objects of their
// fields. Anything else — functions, sets, dicts with non-string keys,
// non-finite floats, cyclic values, strings that are not valid UTF-8,
// lists, tuples, dicts and structs nested deeper than state.MaxNesting —
// fails with "cannot encode <type> as JSON…".
func FromStarlark(v starlark.Value) (any, error) {
	return fromStarlark(v, nil, 0)
}

// fromStarlark converts v, found inside depth containers; path holds the
// mutable ones among them.
func fromStarlark(v starlark.Value, path []starlark.Value, depth int) (any, error) {
	if jv, ok := v.(JSONValuer); ok {
		return jv.JSONValue()
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.String:
		return jsonString(x)
	case starlark.Int:
		return json.Number(x.String()), nil
	case starlark.Float:
		if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
			return nil, fmt.Errorf("cannot encode non-finite float %s as JSON", x.String())
		}
		return json.Number(x.String()), nil
	}

	if depth++; depth > state.MaxNesting {
		return nil, fmt.Errorf("cannot encode %s as JSON: nested deeper than %d levels", v.Type(), state.MaxNesting)
	}
	// Mutable containers: refuse cycles (a tuple or struct can only take
	// part in one through a list or dict).
	switch v.(type) {
	case *starlark.List, *starlark.Dict:
		for _, p := range path {
			if p == v {
				return nil, fmt.Errorf("cannot encode %s as JSON: it contains itself", v.Type())
			}
		}
		path = append(path, v)
	}

	switch x := v.(type) {
	case *starlark.List:
		out := make([]any, x.Len())
		for i := range x.Len() {
			e, err := fromStarlark(x.Index(i), path, depth)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case starlark.Tuple:
		out := make([]any, len(x))
		for i, elem := range x {
			e, err := fromStarlark(elem, path, depth)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case *starlark.Dict:
		out := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("cannot encode %s as JSON (dict keys must be strings)", item[0].Type())
			}
			if _, err := jsonString(k); err != nil {
				return nil, fmt.Errorf("%w (a dict key)", err)
			}
			e, err := fromStarlark(item[1], path, depth)
			if err != nil {
				return nil, err
			}
			out[string(k)] = e
		}
		return out, nil
	case *starlarkstruct.Struct:
		out := make(map[string]any, x.Len())
		for name, fv := range x.Entries() {
			e, err := fromStarlark(fv, path, depth)
			if err != nil {
				return nil, err
			}
			out[name] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode %s as JSON", v.Type())
}

// jsonString converts a Starlark string, which may hold any bytes, to a
// JSON string, which holds UTF-8 only: bad bytes are refused rather than
// replaced.
func jsonString(s starlark.String) (string, error) {
	if err := state.CheckText(string(s)); err != nil {
		return "", fmt.Errorf("cannot encode string as JSON: %w", err)
	}
	return string(s), nil
}
