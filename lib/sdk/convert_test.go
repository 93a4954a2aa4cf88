package sdk

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // JSON after the round trip; empty = same as in
		repr string // Starlark repr of the converted value; empty = not checked
	}{
		{name: "null", in: `null`, repr: `None`},
		{name: "true", in: `true`, repr: `True`},
		{name: "false", in: `false`, repr: `False`},
		{name: "string", in: `"héllo \"x\""`},
		{name: "int", in: `42`, repr: `42`},
		{name: "negative int", in: `-7`, repr: `-7`},
		{name: "zero", in: `0`, repr: `0`},
		{name: "big int", in: `123456789012345678901234567890`, repr: `123456789012345678901234567890`},
		{name: "big negative int", in: `-98765432109876543210987654321`, repr: `-98765432109876543210987654321`},
		{name: "int64 max", in: `9223372036854775807`},
		{name: "int64 max plus one", in: `9223372036854775808`},
		{name: "float", in: `1.5`, repr: `1.5`},
		{name: "float integral", in: `2.0`, repr: `2.0`},
		{name: "float exponent", in: `1e3`, want: `1000.0`, repr: `1000.0`},
		{name: "float big exponent", in: `1.5E+300`, want: `1.5e+300`},
		{name: "float small", in: `0.000001`, want: `1e-06`},
		{name: "negative float", in: `-0.25`},
		{name: "empty object", in: `{}`, repr: `{}`},
		{name: "empty array", in: `[]`, repr: `[]`},
		{name: "object keys sorted", in: `{"b":1,"a":2}`, want: `{"a":2,"b":1}`, repr: `{"a": 2, "b": 1}`},
		{
			name: "nested",
			in:   `{"a":[1,2.5,"x",null,true,{"b":{"c":[]}}],"big":[18446744073709551616],"s":""}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeJSON(t, tt.in)
			sv, err := ToStarlark(in)
			if err != nil {
				t.Fatalf("ToStarlark: %v", err)
			}
			if tt.repr != "" && sv.String() != tt.repr {
				t.Errorf("Starlark value = %s, want %s", sv.String(), tt.repr)
			}
			back, err := FromStarlark(sv)
			if err != nil {
				t.Fatalf("FromStarlark: %v", err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if diff := cmp.Diff(decodeJSON(t, want), back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(back); err != nil {
				t.Fatalf("encode: %v", err)
			}
			if got := strings.TrimSpace(buf.String()); got != compact(t, want) {
				t.Errorf("encoded = %s, want %s", got, compact(t, want))
			}
		})
	}
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestToStarlarkTypes(t *testing.T) {
	big1, _ := new(big.Int).SetString("100000000000000000000", 10)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"float64", 1.0, "1.0"},
		{"int", 3, "3"},
		{"int64", int64(-3), "-3"},
		{"big.Int", big1, "100000000000000000000"},
		{"strings", []string{"a", "b"}, `["a", "b"]`},
		{"string map", map[string]string{"z": "1", "a": "2"}, `{"a": "2", "z": "1"}`},
		{"int is an int", json.Number("10"), "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ToStarlark(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != tt.want {
				t.Errorf("got %s, want %s", v.String(), tt.want)
			}
		})
	}
	if v, _ := ToStarlark(json.Number("10")); v.Type() != "int" {
		t.Errorf("json.Number(10) type = %s, want int", v.Type())
	}
	if v, _ := ToStarlark(json.Number("10.0")); v.Type() != "float" {
		t.Errorf("json.Number(10.0) type = %s, want float", v.Type())
	}
	for _, bad := range []any{json.Number("x1"), json.Number(""), json.Number("1.2.3"), struct{}{}, map[int]any{}} {
		if _, err := ToStarlark(bad); err == nil {
			t.Errorf("ToStarlark(%#v): no error", bad)
		}
	}
}

// evalValue evaluates a Starlark expression with the SDK's builtins.
func evalValue(t *testing.T, expr string) starlark.Value {
	t.Helper()
	h := &Host{Dir: t.TempDir()}
	thread := &starlark.Thread{}
	v, err := starlark.EvalOptions(FileOptions(), thread, "test", expr, h.Builtins())
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

func TestFromStarlark(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		want    string // JSON
		wantErr string
	}{
		{name: "tuple", expr: `(1, "a", None)`, want: `[1,"a",null]`},
		{name: "struct", expr: `struct(b=1, a=struct(c=[True]))`, want: `{"a":{"c":[true]},"b":1}`},
		{name: "dict in list", expr: `[{"k": (1.5,)}]`, want: `[{"k":[1.5]}]`},
		{name: "big int arithmetic", expr: `2 * 1000000000000000 * 1000000000000000 + 1`, want: `2000000000000000000000000000001`},
		{name: "float division", expr: `7 / 2`, want: `3.5`},
		{name: "float integral", expr: `float(3)`, want: `3.0`},
		{name: "json.decode", expr: `json.decode('{"n": 12345678901234567890123, "f": 0.5}')`, want: `{"f":0.5,"n":12345678901234567890123}`},
		{name: "function", expr: `lambda x: x`, wantErr: `cannot encode function as JSON`},
		{name: "builtin", expr: `len`, wantErr: `cannot encode builtin_function_or_method as JSON`},
		{name: "set", expr: `set([1])`, wantErr: `cannot encode set as JSON`},
		{name: "nested set", expr: `{"a": [set()]}`, wantErr: `cannot encode set as JSON`},
		{name: "int key", expr: `{1: "a"}`, wantErr: `cannot encode int as JSON (dict keys must be strings)`},
		{name: "bytes", expr: `b"x"`, wantErr: `cannot encode bytes as JSON`},
		{name: "range", expr: `range(3)`, wantErr: `cannot encode range as JSON`},
		{name: "infinity", expr: `float("inf")`, wantErr: `cannot encode non-finite float +inf as JSON`},
		{name: "nan", expr: `float("nan")`, wantErr: `cannot encode non-finite float nan as JSON`},
		{name: "struct with function", expr: `struct(f=len)`, wantErr: `cannot encode builtin_function_or_method as JSON`},
		{name: "invalid UTF-8", expr: `"aé"[:2]`, wantErr: `cannot encode string as JSON: invalid UTF-8 at offset 1`},
		{name: "invalid UTF-8 deep inside", expr: `{"k": [struct(s="é"[1:])]}`, wantErr: `cannot encode string as JSON: invalid UTF-8 at offset 0`},
		{name: "invalid UTF-8 in a key", expr: `{"é"[:1]: 1}`, wantErr: `cannot encode string as JSON: invalid UTF-8 at offset 0 (a dict key)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromStarlark(evalValue(t, tt.expr))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decodeJSON(t, tt.want), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestFromStarlarkNesting builds values deeper than Starlark's parser
// allows, as a loop in a package can.
func TestFromStarlarkNesting(t *testing.T) {
	wrap := map[string]func(starlark.Value) starlark.Value{
		"list":  func(v starlark.Value) starlark.Value { return starlark.NewList([]starlark.Value{v}) },
		"tuple": func(v starlark.Value) starlark.Value { return starlark.Tuple{v} },
		"dict": func(v starlark.Value) starlark.Value {
			d := starlark.NewDict(1)
			_ = d.SetKey(starlark.String("a"), v)
			return d
		},
		"struct": func(v starlark.Value) starlark.Value {
			return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{"a": v})
		},
	}
	for name, w := range wrap {
		t.Run(name, func(t *testing.T) {
			var v starlark.Value = starlark.String("x")
			for range 512 {
				v = w(v)
			}
			if _, err := FromStarlark(v); err != nil {
				t.Fatalf("512 levels: %v", err)
			}
			want := "cannot encode " + name + " as JSON: nested deeper than 512 levels"
			if _, err := FromStarlark(w(v)); err == nil || err.Error() != want {
				t.Fatalf("513 levels: %v, want %q", err, want)
			}
		})
	}
}

func TestFromStarlarkCycle(t *testing.T) {
	l := starlark.NewList(nil)
	_ = l.Append(starlark.Tuple{l})
	if _, err := FromStarlark(l); err == nil || !strings.HasPrefix(err.Error(), "cannot encode list as JSON") {
		t.Fatalf("error = %v, want a cycle error", err)
	}
	d := starlark.NewDict(1)
	_ = d.SetKey(starlark.String("self"), d)
	if _, err := FromStarlark(d); err == nil || !strings.HasPrefix(err.Error(), "cannot encode dict as JSON") {
		t.Fatalf("error = %v, want a cycle error", err)
	}
	// The same list twice is not a cycle.
	shared := starlark.NewList([]starlark.Value{starlark.MakeInt(1)})
	got, err := FromStarlark(starlark.Tuple{shared, shared})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{[]any{json.Number("1")}, []any{json.Number("1")}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

type jsonValued struct{ starlark.Tuple }

func (jsonValued) JSONValue() (any, error) { return map[string]any{"custom": true}, nil }

func TestFromStarlarkJSONValuer(t *testing.T) {
	got, err := FromStarlark(starlark.NewList([]starlark.Value{jsonValued{}}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{map[string]any{"custom": true}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
