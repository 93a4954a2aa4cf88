package ref

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t *testing.T, s string) Ref {
	t.Helper()
	r, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return r
}

func TestTwin(t *testing.T) {
	tests := []struct{ in, want string }{
		{relEx + "/+/deploy/staging", relEx + "/@/deploy/staging"},
		{relEx + "/@/deploy/staging", relEx + "/+/deploy/staging"},
		{"+/environment/qa", "@/environment/qa"},
		{"@/environment/qa", "+/environment/qa"},
		{relEx + "/+v1/custom/approval", relEx + "/@v1/custom/approval"},
		{relEx + "/@1#output/x", relEx + "/+1#output/x"},
		{relEx, relEx},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := mustParse(t, tt.in)
			if got := r.Twin().String(); got != tt.want {
				t.Errorf("Twin() = %q, want %q", got, tt.want)
			}
			if r.Twin().Twin() != r {
				t.Errorf("Twin().Twin() != r")
			}
		})
	}
}

func TestReleaseHelpers(t *testing.T) {
	tests := []struct {
		in    string
		level string
		with  string // WithRelease(Intent, "7")
	}{
		{relEx + "/@12/call/build#output", relEx + "/@12", relEx + "/+7/call/build#output"},
		{relEx + "/@v1/custom/x", relEx + "/@v1", relEx + "/+7/custom/x"},
		{relEx + "/@", relEx + "/@", relEx + "/+7"},
		{relEx + "/@0", relEx + "/@0", relEx + "/+7"},
		{relEx + "/@01", relEx + "/@01", relEx + "/+7"},
		{relEx + "/@1a", relEx + "/@1a", relEx + "/+7"},
		{"@/environment/qa#x", "@", "+7/environment/qa#x"},
		{"+3/custom/x", "+3", "+7/custom/x"},
		{"example/-/@5", "example/-/@5", "example/-/+7"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := mustParse(t, tt.in)
			if got := r.ReleaseLevel().String(); got != tt.level {
				t.Errorf("ReleaseLevel() = %q, want %q", got, tt.level)
			}
			if got := r.WithRelease(Intent, "7").String(); got != tt.with {
				t.Errorf("WithRelease() = %q, want %q", got, tt.with)
			}
		})
	}
}

func TestDocAndSegments(t *testing.T) {
	tests := []struct {
		in   string
		doc  string
		segs []string
	}{
		{relEx + "/@1/call/build#output/image", relEx + "/@1/call/build",
			[]string{"example", "-", "frontend", "release.ocu.star", "@1", "call", "build"}},
		{"example/-/#x", "example/-/", []string{"example", "-"}},
		{"@#x", "@", []string{"@"}},
		{"./call/b", "./call/b", []string{".", "call", "b"}},
		{"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := mustParse(t, tt.in)
			if got := r.Doc().String(); got != tt.doc {
				t.Errorf("Doc() = %q, want %q", got, tt.doc)
			}
			if diff := cmp.Diff(tt.segs, r.Segments()); diff != "" {
				t.Errorf("Segments() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		Target Ref         `json:"target"`
		Empty  Ref         `json:"empty"`
		ByRef  map[Ref]int `json:"by_ref"`
	}
	in := doc{
		Target: mustParse(t, `example/-/f/@1/custom/a"b&c#x`),
		ByRef:  map[Ref]int{mustParse(t, "+/custom/x"): 1},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"target":"example/-/f/@1/custom/a\"b\u0026c#x","empty":"","by_ref":{"+/custom/x":1}}`
	if string(b) != want {
		t.Errorf("json.Marshal = %s\nwant           %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	for _, bad := range []string{`"a//b"`, `3`, `{}`} {
		var r Ref
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("json.Unmarshal(%s) succeeded: %+v", bad, r)
		}
	}
	r := mustParse(t, "@")
	if err := json.Unmarshal([]byte("null"), &r); err != nil || r.String() != "@" {
		t.Errorf("json.Unmarshal(null) = %v, ref %q; want no change", err, r)
	}
}

func TestAppendJSONString(t *testing.T) {
	got := string(appendJSONString(nil, "a\"\\\x01\u2028é\xff<"))
	want := `"a\"\\\u0001\u2028é\ufffd<"`
	if got != want {
		t.Errorf("appendJSONString = %s, want %s", got, want)
	}
	var s string
	if err := json.Unmarshal([]byte(got), &s); err != nil {
		t.Errorf("not valid JSON: %v", err)
	}
}
