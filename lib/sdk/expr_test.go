package sdk

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEvalExpr(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    any
		wantErr string
	}{
		{name: "dict", src: `{"a": 1, "b": [True, None, 2.5]}`, want: map[string]any{"a": json.Number("1"), "b": []any{true, nil, json.Number("2.5")}}},
		{name: "string", src: `"x" + "y"`, want: "xy"},
		{name: "big int", src: `123456789012345678901234567890`, want: json.Number("123456789012345678901234567890")},
		{name: "arithmetic", src: `1 + 2 * 3`, want: json.Number("7")},
		{name: "float", src: `1.0`, want: json.Number("1.0")},
		{name: "struct", src: `struct(a = 1, b = struct(c = "x"))`, want: map[string]any{"a": json.Number("1"), "b": map[string]any{"c": "x"}}},
		{name: "json.decode", src: `json.decode('{"k": [1]}')`, want: map[string]any{"k": []any{json.Number("1")}}},
		{name: "comprehension", src: `[x * 2 for x in [1, 2]]`, want: []any{json.Number("2"), json.Number("4")}},
		{name: "multi-line", src: "{\n  \"a\": 1,\n}", want: map[string]any{"a": json.Number("1")}},
		{name: "constants", src: `[True, False, None]`, want: []any{true, false, nil}},
		{name: "undefined", src: `1 + foo`, wantErr: "expression:1:5: undefined: foo"},
		{name: "universal builtin refused", src: `len([1])`, wantErr: "expression:1:1: undefined: len"},
		{name: "range refused", src: `[x for x in range(3)]`, wantErr: "expression:1:13: undefined: range"},
		{name: "host refused", src: `host.env()`, wantErr: "expression:1:1: undefined: host"},
		{name: "print refused", src: `print(1)`, wantErr: "expression:1:1: undefined: print"},
		{name: "syntax error", src: `{"a": }`, wantErr: "expression:1:7: got '}', want primary expression"},
		{name: "statement", src: `x = 1`, wantErr: "expression:1:4: got '=' after expression, want EOF"},
		{name: "runtime error", src: "[1,\n 2 // 0]", wantErr: "expression:2:4: floored division by zero"},
		{name: "not encodable", src: `lambda: 1`, wantErr: "cannot encode function as JSON"},
		{name: "non-string key", src: `{1: 2}`, wantErr: "cannot encode int as JSON (dict keys must be strings)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvalExpr(tt.src)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
