package sdk

import (
	"errors"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string
	}{
		{name: "ok", src: "ocuroot(\"0.3.0\")\nx = 1\n"},
		{name: "ok not first", src: "x = 1\nocuroot('0.3.0')\n"},
		{name: "ok triple quoted", src: "ocuroot(\"\"\"0.3.0\"\"\")\n"},
		{name: "missing", src: "x = 1\n", wantErr: `F: missing ocuroot("0.3.0")`},
		{name: "empty file", src: "", wantErr: `F: missing ocuroot("0.3.0")`},
		{name: "nested only", src: "def f():\n    ocuroot(\"0.3.0\")\n", wantErr: `F: missing ocuroot("0.3.0")`},
		{name: "in if only", src: "if True:\n    ocuroot(\"0.3.0\")\n", wantErr: `F: missing ocuroot("0.3.0")`},
		{name: "assigned", src: "x = ocuroot(\"0.3.0\")\n", wantErr: `F: missing ocuroot("0.3.0")`},
		{name: "multiple", src: "ocuroot(\"0.3.0\")\nocuroot(\"0.3.0\")\n", wantErr: `F: multiple ocuroot() calls`},
		{name: "multiple different", src: "ocuroot(\"0.3.0\")\nocuroot(\"0.2.0\")\n", wantErr: `F: multiple ocuroot() calls`},
		{name: "unsupported", src: "ocuroot(\"0.4.0\")\n", wantErr: `F: SDK version "0.4.0" is not supported (supported: 0.3.0)`},
		{name: "later patch", src: "ocuroot(\"0.3.17\")\n"},
		{name: "wildcard", src: "ocuroot(\"0.3.x\")\n"},
		{name: "other minor wildcard", src: "ocuroot(\"0.4.x\")\n", wantErr: `F: SDK version "0.4.x" is not supported (supported: 0.3.0)`},
		{name: "empty version", src: "ocuroot(\"\")\n", wantErr: `F: SDK version "" is not supported (supported: 0.3.0)`},
		{name: "variable", src: "v = \"0.3.0\"\nocuroot(v)\n", wantErr: `F:2:8: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")`},
		{name: "concatenation", src: "ocuroot(\"0.3\" + \".0\")\n", wantErr: `F:1:8: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")`},
		{name: "number", src: "ocuroot(3)\n", wantErr: `F:1:8: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")`},
		{name: "bytes", src: "ocuroot(b\"0.3.0\")\n", wantErr: `F:1:8: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")`},
		{name: "no argument", src: "ocuroot()\n", wantErr: `F:1:8: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")`},
		{name: "two arguments", src: "ocuroot(\"0.3.0\", \"x\")\n", wantErr: `F:1:8: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")`},
		{name: "keyword", src: "ocuroot(version=\"0.3.0\")\n", wantErr: `F:1:8: ocuroot() takes one string literal, e.g. ocuroot("0.3.0")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := FileOptions().Parse("F", tt.src, 0)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			err = CheckVersion("F", f)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error is %T, want *Error", err)
			}
		})
	}
}

func TestSupported(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"0.3.0", true},
		{"0.3.1", true},
		{"0.3.7", true},
		{"0.3.9", true},
		{"0.3.10", true},
		{"0.3.17", true},
		{"0.3.x", true},
		{"0.3.X", true},
		{"0.3.*", true},
		{"0.3", true},
		{"~0.3", true},
		{"~0.3.7", true},
		{"^0.3", true},
		{"^0.3.5", true},
		{"=0.3.17", true},
		{"= 0.3.2", true},
		{" 0.3.x ", true},
		{"", false},
		{"0", false},
		{"0.x", false},
		{"*", false},
		{"x", false},
		{"0.2.0", false},
		{"0.2.x", false},
		{"0.4.0", false},
		{"0.4.x", false},
		{"1.0.0", false},
		{"1.3.0", false},
		{"10.3.0", false},
		{"0.30.0", false},
		{"0.3.", false},
		{"0.3.01", false},
		{"0.3.1-rc1", false},
		{"0.3.1.2", false},
		{"0.3.x.1", false},
		{">=0.3.0", false},
		{"^0", false},
		{"~0", false},
		{"0.3.0 || 0.4.0", false},
		{"v0.3.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			if got := Supported(tt.v); got != tt.want {
				t.Errorf("Supported(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}
