package state

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jsonDecode is what Decode must give: the value's JSON decoded by
// encoding/json with UseNumber.
func jsonDecode(t *testing.T, data string, dst any) error {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.UseNumber()
	return dec.Decode(dst)
}

// generic reads data as a store gives it.
func generic(t *testing.T, data string) any {
	t.Helper()
	var v any
	if err := jsonDecode(t, data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDecodeLikeJSON: Decode gives what encoding/json gives, also for
// documents with fields of the wrong type (both report an error and decode
// the rest the same).
func TestDecodeLikeJSON(t *testing.T) {
	tests := []struct {
		name string
		data string
		new  func() any
		bad  bool
	}{
		{"release", `{"commit":"abc","package":{"functions":{"build/m:1:1":{"function":{"name":"build","pos":"m:1:1"}}},
			"phases":[{"name":"","work":[{"call":{"fn":{"name":"build","pos":"m:1:1"},"inputs":{"a":{"default":1.50,"ref":"@/custom/a"}},"name":"build"}},
			{"deploy":{"down":{"name":"d","pos":"m:2:1"},"environment":"prod","inputs":{},"up":{"name":"u","pos":"m:3:1"}}}]}],"deployments":null}}`,
			func() any { return new(Release) }, false},
		{"function", `{"current":{"dependencies":["x/*/status/complete"],"error":"boom","fn":{"name":"up","pos":"m:1:1"},"id":"1",
			"inputs":{"v":{"value":{"n":[1,2.5e3,"s",true,null]},"doc":"d"}},"outputs":{"o":1},"runner":{"host":"h","pid":42,"started":"t"},"status":"failed"},
			"history":[{"status":"pending","time":"t1"},{"status":"failed","time":"t2"}]}`,
			func() any { return new(Function) }, false},
		{"chain", `{"type":"down","release":"r/-/f/@1","entrypoint":"e","output":{"a":[1]},"reason":"intent"}`, func() any { return new(Chain) }, false},
		{"chain, null output", `{"type":"","release":"r","entrypoint":"e","output":null}`, func() any { return new(Chain) }, false},
		{"logs", `[{"attributes":{"col":"1","filename":"f","line":"2","thread":"t"},"message":"m","stream":2,"timestamp":"t"}]`,
			func() any { return new([]LogLine) }, false},
		{"repo config", `{"source":"b2N1cm9vdCgiMC4zLjAiKQo="}`, func() any { return new(RepoConfig) }, false},
		{"environment", `{"attributes":{"type":"prod"},"name":"prod"}`, func() any { return new(Environment) }, false},
		{"deploy intent", `{"type":"","release":"r/-/f/@1","input":{"a":{"value":1}}}`, func() any { return new(DeployIntent) }, false},
		{"keys in another case", `{"Commit":"abc","PACKAGE":{"Phases":[]}}`, func() any { return new(Release) }, false},
		{"unknown keys", `{"time":"t","extra":{"x":1}}`, func() any { return new(Marker) }, false},
		{"wrong types", `{"current":{"error":5,"fn":"x","id":"1","inputs":{"a":"no","b":{"value":1}},"runner":{"host":"h","pid":"x"},"status":"ok"},
			"history":[{"status":1,"time":"t"},"no"]}`, func() any { return new(Function) }, true},
		{"number too large", `[{"stream":99999999999999999999}]`, func() any { return new([]LogLine) }, true},
		{"fraction for an int", `[{"stream":1.5,"message":"m"}]`, func() any { return new([]LogLine) }, true},
		{"bad base64", `{"source":"%%%"}`, func() any { return new(RepoConfig) }, true},
		{"not an object", `"x"`, func() any { return new(Chain) }, true},
	}
	var shared Decoder // kept across the cases, as an engine run keeps it
	decoders := []struct {
		name   string
		decode func(v, dst any) error
	}{
		{"Decode", Decode},
		{"a Decoder's first use", func(v, dst any) error { return new(Decoder).Decode(v, dst) }},
		{"a Decoder kept across documents", shared.Decode},
		{"the same, again", shared.Decode},
	}
	for _, dc := range decoders {
		for _, tt := range tests {
			t.Run(dc.name+"/"+tt.name, func(t *testing.T) {
				want, got := tt.new(), tt.new()
				wantErr := jsonDecode(t, tt.data, want)
				err := dc.decode(generic(t, tt.data), got)
				if (wantErr != nil) != tt.bad || (err != nil) != tt.bad {
					t.Fatalf("errors: json %v, Decode %v; want an error: %v", wantErr, err, tt.bad)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Decode differs from encoding/json (-json +Decode):\n%s", diff)
				}
			})
		}
	}
}

// TestDecodeNull: null leaves scalars and structs as they are and clears
// pointers, maps and slices, as encoding/json does.
func TestDecodeNull(t *testing.T) {
	want := FunctionState{ID: "1", Fn: FuncID{Name: "f"}, Runner: &Runner{Host: "h"}, Inputs: Inputs{"a": {}}, Dependencies: []string{"d"}}
	got := want
	if err := Decode(generic(t, `{"id":null,"fn":null,"runner":null,"inputs":null,"dependencies":null}`), &got); err != nil {
		t.Fatal(err)
	}
	want.Runner, want.Inputs, want.Dependencies = nil, nil, nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := Decode(map[string]any{}, FunctionState{}); err == nil {
		t.Error("decoding into a non-pointer: no error")
	}
}
