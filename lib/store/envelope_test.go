package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeObjectValue checks that the readers' one-pass decoding gives
// what decodeObject followed by DecodeValue gives, errors included.
func TestDecodeObjectValue(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"document", `{"kind":"ref","body":{"a":[1,2.50,"x"],"b":null,"c":{"d":true}}}`},
		{"back-references", `{"kind":"ref","links":["r/-/f/@1/x"],"body":"v"}`},
		{"indented, fields in any order", "{\n  \"body\": 12345678901234567890,\n  \"kind\": \"ref\"\n}\n"},
		{"no body", `{"kind":"ref"}`},
		{"null body", `{"kind":"ref","body":null}`},
		{"link", `{"kind":"link","body":"r/-/f/@1/deploy/e"}`},
		{"link with back-references", `{"kind":"link","links":["x/-/y/@1"],"body":"r/-/f/@2"}`},
		{"link to a non-canonical ref", `{"kind":"link","body":"r/-/f/@1/./x"}`},
		{"link body not a string", `{"kind":"link","body":1}`},
		{"link to an invalid ref", `{"kind":"link","body":"r/-/f/@1#frag"}`},
		{"link to a relative ref", `{"kind":"link","body":"./x"}`},
		{"missing kind", `{"body":1}`},
		{"null kind", `{"kind":null,"body":1}`},
		{"unknown kind", `{"kind":"other","body":1}`},
		{"trailing data", `{"kind":"ref","body":1} x`},
		{"second value", `{"kind":"ref","body":1}{}`},
		{"truncated", `{"kind":"ref","body":{"a":`},
		{"not an object", `[1]`},
		{"links not strings", `{"kind":"ref","links":[1],"body":1}`},
		{"empty", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const path = "refs/r/-/f/@1/@object.json"
			got, gotErr := decodeObjectValue(path, []byte(tt.data))
			want, wantErr := decodeObject(path, []byte(tt.data))
			if gotErr != nil || wantErr != nil {
				if gotErr == nil || wantErr == nil || gotErr.Error() != wantErr.Error() {
					t.Fatalf("error %v, want %v", gotErr, wantErr)
				}
				return
			}
			var wantValue any
			if !want.isLink() {
				v, err := DecodeValue(want.body)
				if err != nil {
					t.Fatal(err)
				}
				wantValue = v
				if !got.valued {
					t.Error("document not decoded in one pass")
				}
			}
			type view struct {
				Kind, Target string
				Links        []string
				Value        any
			}
			if diff := cmp.Diff(view{want.kind, want.target, want.links, wantValue}, view{got.kind, got.target, got.links, got.value}); diff != "" {
				t.Errorf("(-decodeObject +decodeObjectValue):\n%s", diff)
			}
		})
	}
}
