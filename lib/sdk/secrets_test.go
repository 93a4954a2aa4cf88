package sdk

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestSecretsMask(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{name: "none", in: "token abc", want: "token abc"},
		{name: "one", secrets: []string{"abc"}, in: "token abc and abc", want: "token <secret> and <secret>"},
		{name: "empty ignored", secrets: []string{""}, in: "abc", want: "abc"},
		{name: "longest first", secrets: []string{"abc", "abcdef"}, in: "x abcdef y abc", want: "x <secret> y <secret>"},
		{name: "longest first, other order", secrets: []string{"abcdef", "abc"}, in: "abcdefabc", want: "<secret><secret>"},
		{name: "inner value not masked twice", secrets: []string{"s3cr3t", "s3cr3t-token-42"}, in: "with s3cr3t-token-42!", want: "with <secret>!"},
		{name: "replacement never masked", secrets: []string{"secret", "e"}, in: "my secret", want: "my <secret>"},
		{name: "overlapping values", secrets: []string{"abcd", "cdef"}, in: "xabcdefx", want: "x<secret>x"},
		{name: "overlapping occurrences", secrets: []string{"aa"}, in: "aaa b", want: "<secret> b"},
		{name: "adjacent", secrets: []string{"ab", "cd"}, in: "abcd", want: "<secret><secret>"},
		{name: "multi-line", secrets: []string{"line1\nline2"}, in: "a line1\nline2 b", want: "a <secret> b"},
		{name: "duplicates", secrets: []string{"k", "k"}, in: "k", want: "<secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Secrets
			for _, v := range tt.secrets {
				s.Add(v)
			}
			if got := s.Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSecretsNil(t *testing.T) {
	var s *Secrets
	s.Add("x")
	if got := s.Mask("x"); got != "x" {
		t.Errorf("nil Mask = %q", got)
	}
	if s.Len() != 0 {
		t.Errorf("nil Len = %d", s.Len())
	}
}

func TestSecretsConcurrent(t *testing.T) {
	var s Secrets
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.Add(fmt.Sprintf("secret-%02d", i))
		}()
		go func() {
			defer wg.Done()
			_ = s.Mask("secret-01 secret-02")
		}()
	}
	wg.Wait()
	if s.Len() != 20 {
		t.Fatalf("Len = %d, want 20", s.Len())
	}
	if got := s.Mask("a secret-07 b"); got != "a <secret> b" {
		t.Errorf("Mask = %q", got)
	}
}

// TestMaskWriter checks that masking a stream written in pieces gives what
// Mask gives on the whole stream, wherever the pieces are cut.
func TestMaskWriter(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
	}{
		{name: "no secrets", in: "plain text\nover lines\n"},
		{name: "one", secrets: []string{"s3cr3t"}, in: "a s3cr3t b s3cr3t\n"},
		{name: "multi-line secret", secrets: []string{"line1\nline2"}, in: "before\nline1\nline2\nafter\n"},
		{name: "longest first", secrets: []string{"abc", "abcdefgh"}, in: "x abcdefgh y abc z"},
		{name: "overlapping occurrences", secrets: []string{"aa"}, in: "aaaaaaa b aa"},
		{name: "overlapping values", secrets: []string{"abcd", "cdef"}, in: "xabcdefx abcd cdef"},
		{name: "adjacent", secrets: []string{"ab", "cd"}, in: "abcdab"},
		{name: "prefix at the end", secrets: []string{"secret-value"}, in: "ends with secret-val"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Secrets
			for _, v := range tt.secrets {
				s.Add(v)
			}
			want := s.Mask(tt.in)
			// Every single cut, every pair of cuts, and one byte at a time.
			var splits [][]int
			for i := 0; i <= len(tt.in); i++ {
				for j := i; j <= len(tt.in); j++ {
					splits = append(splits, []int{i, j})
				}
			}
			var each []int
			for i := 0; i <= len(tt.in); i++ {
				each = append(each, i)
			}
			splits = append(splits, each)
			for _, cuts := range splits {
				var out strings.Builder
				m := &MaskWriter{Secrets: &s, W: &out}
				last := 0
				for _, c := range cuts {
					if _, err := m.Write([]byte(tt.in[last:c])); err != nil {
						t.Fatal(err)
					}
					last = c
				}
				if _, err := m.Write([]byte(tt.in[last:])); err != nil {
					t.Fatal(err)
				}
				if err := m.Flush(); err != nil {
					t.Fatal(err)
				}
				if got := out.String(); got != want {
					t.Fatalf("cut at %v: got %q, want %q", cuts, got, want)
				}
				for _, v := range tt.secrets {
					if strings.Contains(out.String(), v) {
						t.Fatalf("cut at %v: %q shows %q", cuts, out.String(), v)
					}
				}
			}
		})
	}
}
