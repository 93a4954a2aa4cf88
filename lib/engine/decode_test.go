package engine

import (
	"encoding/json"
	"testing"
)

func TestEqualJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b any
		want bool
	}{
		{"numbers by value", json.Number("1"), json.Number("1.0"), true},
		{"different numbers", json.Number("1"), json.Number("2"), false},
		{"int against a decoded number", 1, json.Number("1"), true},
		{"generic maps", map[string]any{"a": []any{json.Number("1"), "x", nil, true}}, map[string]any{"a": []any{json.Number("1e0"), "x", nil, true}}, true},
		{"generic maps differing", map[string]any{"a": "x"}, map[string]any{"a": "y"}, false},
		{"typed map against a generic one", map[string]string{"a": "x"}, map[string]any{"a": "x"}, true},
		{"typed slice against a generic one", []int{1, 2}, []any{json.Number("1"), json.Number("2")}, true},
		{"typed slice differing", []int{1, 2}, []any{json.Number("1")}, false},
		{"null and absent", nil, nil, true},
		{"string against number", "1", json.Number("1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := equalJSON(tc.a, tc.b); got != tc.want {
				t.Errorf("equalJSON(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := equalJSON(tc.b, tc.a); got != tc.want {
				t.Errorf("equalJSON(%#v, %#v) = %v, want %v", tc.b, tc.a, got, tc.want)
			}
		})
	}
}
