//go:build unix

package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCommitMessage(t *testing.T) {
	long := "release " + strings.Repeat("example/-/frontend/release.ocu.star/", 4)
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"set +/custom/x", []string{"set +/custom/x"}, "ocu: set +/custom/x\n\nset +/custom/x\n"},
		{"white\nspace\t in  names", nil, "ocu: white space in names\n"},
		{long, []string{"a"}, "ocu: " + long[:94] + "…\n\na\n"},
	}
	for _, tt := range tests {
		got := commitMessage(tt.name, tt.lines)
		if got != tt.want {
			t.Errorf("commitMessage(%q):\n got %q\nwant %q", tt.name, got, tt.want)
		}
		if subject, _, _ := strings.Cut(got, "\n"); utf8.RuneCountInString(subject) > maxSubject {
			t.Errorf("subject of %d characters", utf8.RuneCountInString(subject))
		}
	}
}
