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
