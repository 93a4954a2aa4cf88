package sdk

import (
	"fmt"
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
