package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stdDecode is what the fast parser must agree with: encoding/json with
// UseNumber, one value, white space around it.
func stdDecode(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) == 0
}

// parseCases are JSON texts with whether the fast parser decodes them
// itself (the others go to encoding/json).
var parseCases = []struct {
	data string
	fast bool
}{
	{`null`, true}, {`true`, true}, {`false`, true}, {` 0 `, true}, {`-0`, true}, {`-12.50e+3`, true},
	{`1E-7`, true}, {`12345678901234567890123`, true}, {`""`, true}, {`"a b"`, true},
	{`"é ✓ 😀"`, true}, {`"\"\\\/\b\f\n\r\t"`, true}, {`"\u00e9\u2028\uD83D\uDE00 x"`, true},
	{`"a\u0000b"`, true}, {`"\uFFFD"`, true},
	{`{}`, true}, {`[]`, true}, {`{"a":[1,{"b":null}],"c":"d"}`, true}, {"\n{ \"a\" :\t[ 1 , 2 ] }\r\n", true},
	{`{"a":1,"a":2}`, true}, {`[[[[[[[[[["deep"]]]]]]]]]]`, true}, {`{"k\u00e9y":"v"}`, true},
	{strings.Repeat("[", maxParseDepth) + strings.Repeat("]", maxParseDepth), true},
	// Not decoded by the fast parser.
	{strings.Repeat("[", maxParseDepth+1) + strings.Repeat("]", maxParseDepth+1), false},
	{"\"\xff\"", false}, {"\"a\\u00e9\xff\"", false}, {`"\uD83D"`, false}, {`"\uDE00"`, false}, {`"\uD83D\u0041"`, false},
	{``, false}, {` `, false}, {`nul`, false}, {`truex`, false}, {`01`, false}, {`-`, false}, {`1.`, false},
	{`.5`, false}, {`1e`, false}, {`1e+`, false}, {`+1`, false}, {`"a`, false}, {"\"a\tb\"", false},
	{`"\x"`, false}, {`"\u12"`, false}, {`[1,]`, false}, {`[1 2]`, false}, {`{"a"}`, false}, {`{"a":1,}`, false},
	{`{a:1}`, false}, {`{"a":1}x`, false}, {`1 2`, false}, {`[`, false}, {`{`, false}, {`NaN`, false},
}

func TestParseJSON(t *testing.T) {
	for _, tt := range parseCases {
		t.Run(tt.data[:min(len(tt.data), 40)], func(t *testing.T) {
			got, ok := parseJSON([]byte(tt.data))
			if ok != tt.fast {
				t.Fatalf("decoded by the fast parser: %v, want %v", ok, tt.fast)
			}
			if !ok {
				return
			}
			want, wantOK := stdDecode([]byte(tt.data))
			if !wantOK {
				t.Fatal("the fast parser accepts what encoding/json refuses")
			}
			if !reflect.DeepEqual(want, got) { // cmp.Diff is too slow for the deepest case
				t.Errorf("(-encoding/json +fast):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// FuzzParseJSON checks that the fast parser never accepts what encoding/json
// refuses and always gives the value encoding/json gives.
func FuzzParseJSON(f *testing.F) {
	for _, tt := range parseCases {
		f.Add([]byte(tt.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parseJSON(data)
		if !ok {
			return
		}
		want, wantOK := stdDecode(data)
		if !wantOK {
			t.Fatalf("%q: the fast parser accepts what encoding/json refuses", data)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%q (-encoding/json +fast):\n%s", data, cmp.Diff(want, got))
		}
	})
}

// FuzzDecodeObjectValue checks the readers' one-pass envelope decoding
// against decodeObject followed by DecodeValue.
func FuzzDecodeObjectValue(f *testing.F) {
	for _, s := range []string{
		`{"kind":"ref","links":["a/-/b/@1"],"body":{"x":[1,"y"]}}`, `{"kind":"link","body":"r/-/f/@2"}`,
		`{"Kind":"ref","body":1}`, `{"kind":"ref","kind":"link","body":"r/-/f/@2"}`, `{"extra":1,"kind":"ref"}`,
		"{\"\u212aind\":\"ref\",\"body\":1}", `{"kind":"ref","links":null}`, `{"kind":"ref","links":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotErr := decodeObjectValue("p", data)
		want, wantErr := decodeObject("p", data)
		if gotErr != nil || wantErr != nil {
			if gotErr == nil || wantErr == nil || gotErr.Error() != wantErr.Error() {
				t.Fatalf("%q: error %v, want %v", data, gotErr, wantErr)
			}
			return
		}
		if got.kind != want.kind || got.target != want.target || !cmp.Equal(got.links, want.links) {
			t.Fatalf("%q: got %q %q %q, want %q %q %q", data, got.kind, got.target, got.links, want.kind, want.target, want.links)
		}
		if got.valued {
			v, err := DecodeValue(want.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, got.value) {
				t.Errorf("%q (-decodeObject +decodeObjectValue):\n%s", data, cmp.Diff(v, got.value))
			}
		}
	})
}
