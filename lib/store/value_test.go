package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// nested is n arrays, one inside the other, around inner.
func nested(n int, inner string) string {
	return strings.Repeat("[", n) + inner + strings.Repeat("]", n)
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the value decoded, encoded again, when err is ""
		err  string // the error's text
	}{
		{name: "object", in: ` {"a":[1,"x"]} `, want: `{"a":[1,"x"]}`},
		{name: "unicode", in: `"é€😀\u00e9\ud83d\ude00"`, want: `"é€😀é😀"`},
		{name: "as deep as allowed", in: nested(state.MaxNesting, "1"), want: nested(state.MaxNesting, "1")},
		{name: "brackets in strings do not nest", in: `["` + strings.Repeat("[{", state.MaxNesting) + `\"["]`, want: `["` + strings.Repeat("[{", state.MaxNesting) + `\"["]`},
		{name: "too deep", in: nested(state.MaxNesting+1, "1"), err: "value nested deeper than 512 levels at offset 512"},
		{name: "too deep in objects", in: `{"a":` + strings.Repeat(`{"a":`, state.MaxNesting) + "1" + strings.Repeat("}", state.MaxNesting+1), err: "value nested deeper than 512 levels at offset 2560"},
		{name: "invalid UTF-8 in a string", in: "\"ab\xffc\"", err: "invalid UTF-8 at offset 3"},
		{name: "truncated UTF-8", in: "[\"\xe2\x82\"]", err: "invalid UTF-8 at offset 2"},
		{name: "invalid UTF-8 in a key", in: "{\"\xc3\":1}", err: "invalid UTF-8 at offset 2"},
		{name: "encoded surrogate", in: "\"\xed\xa0\x80\"", err: "invalid UTF-8 at offset 1"},
		{name: "lone high surrogate", in: `["x\ud800"]`, err: `lone UTF-16 surrogate \u escape at offset 3`},
		{name: "high surrogate before a letter", in: `"\ud800\u0041"`, err: `lone UTF-16 surrogate \u escape at offset 1`},
		{name: "lone low surrogate", in: `"\udc00"`, err: `lone UTF-16 surrogate \u escape at offset 1`},
		{name: "escaped backslash", in: `"\\ud800"`, want: `"\\ud800"`},
		{name: "syntax errors still come from the decoder", in: `{oops`, err: "invalid JSON at offset 1: invalid character 'o' looking for beginning of object key string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ParseValue([]byte(tt.in))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var buf strings.Builder
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, strings.TrimSuffix(buf.String(), "\n")); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		in  string
		err string
	}{
		{"plain", ""},
		{"é\uFFFD", ""}, // U+FFFD itself is a valid character
		{"ok\x80", "invalid UTF-8 at offset 2"},
		{"\xf0\x9f\x98", "invalid UTF-8 at offset 0"},
	}
	for _, tt := range tests {
		err := state.CheckText(tt.in)
		if got := errString(err); got != tt.err {
			t.Errorf("CheckText(%q) = %q, want %q", tt.in, got, tt.err)
		}
		var ve *state.ValueError
		if err != nil && !errors.As(err, &ve) {
			t.Errorf("CheckText(%q): %T, want *state.ValueError", tt.in, err)
		}
	}
}

func TestCheckNesting(t *testing.T) {
	deep := func(n int, wrap func(any) any) any {
		var v any = "x"
		for range n {
			v = wrap(v)
		}
		return v
	}
	list := func(v any) any { return []any{1, v} }
	object := func(v any) any { return map[string]any{"a": v, "b": 2} }
	tests := []struct {
		name string
		v    any
		err  string
	}{
		{"scalar", json.Number("1"), ""},
		{"lists as deep as allowed", deep(state.MaxNesting, list), ""},
		{"objects as deep as allowed", deep(state.MaxNesting, object), ""},
		{"lists too deep", deep(state.MaxNesting+1, list), "value nested deeper than 512 levels"},
		{"objects too deep", deep(state.MaxNesting+1, object), "value nested deeper than 512 levels"},
		{"far too deep", deep(100_000, list), "value nested deeper than 512 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errString(store.CheckNesting(tt.v)); got != tt.err {
				t.Errorf("CheckNesting = %q, want %q", got, tt.err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestCommitRefusesDeepValues checks that a store refuses a value nested
// deeper than MaxNesting whatever form the writer gives it in, and writes
// nothing of the transaction.
func TestCommitRefusesDeepValues(t *testing.T) {
	var deep any = "x"
	for range state.MaxNesting + 1 {
		deep = []any{deep}
	}
	type node struct {
		Next any `json:"next"`
	}
	var deepStruct any = 1
	for range state.MaxNesting + 1 {
		deepStruct = node{deepStruct}
	}
	tests := []struct {
		name  string
		value any
		err   string
	}{
		{"generic", deep, "+/custom/b: cannot encode value: value nested deeper than 512 levels"},
		{"struct", deepStruct, "+/custom/b: cannot encode value: value nested deeper than 512 levels"},
		{"raw", json.RawMessage(nested(state.MaxNesting+1, "")), "+/custom/b: cannot encode value: value nested deeper than 512 levels at offset 512"},
		{"raw invalid UTF-8", json.RawMessage("\"\xff\""), "+/custom/b: cannot encode value: invalid UTF-8 at offset 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.OpenFS(filepath.Join(t.TempDir(), "store"), store.FSOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			tx := store.NewTx("deep").Put(storetest.R(t, "+/custom/a"), 1).Put(storetest.R(t, "+/custom/b"), tt.value)
			if err := s.Commit(ctx, tx); err == nil || err.Error() != tt.err {
				t.Fatalf("commit: %v, want %q", err, tt.err)
			}
			if _, err := s.Get(ctx, storetest.R(t, "+/custom/a")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("+/custom/a after the failed commit: %v, want not found", err)
			}
			ok := json.RawMessage(nested(state.MaxNesting, ""))
			if err := s.Commit(ctx, store.NewTx("ok").Put(storetest.R(t, "+/custom/b"), ok)); err != nil {
				t.Errorf("a value %d levels deep: %v", state.MaxNesting, err)
			}
		})
	}
}
