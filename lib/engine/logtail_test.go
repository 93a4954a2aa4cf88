package engine

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/state"
)

func TestLogTail(t *testing.T) {
	line := func(msg string) state.LogLine {
		return state.LogLine{Message: msg, Attributes: state.LogAttributes{Thread: "f"}}
	}
	marker := func(b, n int) state.LogLine {
		return state.LogLine{Message: fmt.Sprintf(droppedFormat, b, n), Attributes: state.LogAttributes{Thread: droppedThread}}
	}
	messages := func(lines []state.LogLine) []string {
		var out []string
		for _, l := range lines {
			out = append(out, l.Message)
		}
		return out
	}
	// room is a limit leaving space for the first entry and n lines of 10 bytes.
	room := func(n int) int {
		var t logTail
		t.max = 1 << 20
		return 1<<20 - t.budget() + n*logEntrySize(line("0123456789"))
	}
	tests := []struct {
		name   string
		max    int
		stored []state.LogLine
		add    []string
		want   []string
	}{
		{name: "no limit", add: []string{"a", "b"}, want: []string{"a", "b"}},
		{name: "within the limit", max: room(3), add: []string{"line-00001", "line-00002"}, want: []string{"line-00001", "line-00002"}},
		{
			name: "oldest lines dropped",
			max:  room(2),
			add:  []string{"line-00001", "line-00002", "line-00003", "line-00004"},
			want: []string{"… 20 bytes of log dropped (2 lines)", "line-00003", "line-00004"},
		},
		{
			name:   "an earlier cut is counted once",
			max:    room(2),
			stored: []state.LogLine{marker(100, 7), line("line-00001")},
			add:    []string{"line-00002", "line-00003"},
			want:   []string{"… 110 bytes of log dropped (8 lines)", "line-00002", "line-00003"},
		},
		{
			name: "a line too long keeps its end",
			max:  room(0) + logEntrySize(line("")) + 5,
			add:  []string{"line-00001", "abcdefghij"},
			want: []string{"… 15 bytes of log dropped (1 lines)", "fghij"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tail := &logTail{max: tt.max}
			tail.addStored(tt.stored)
			for _, m := range tt.add {
				tail.add(line(m))
			}
			if diff := cmp.Diff(tt.want, messages(tail.result())); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogTailCutsRunes(t *testing.T) {
	tail := &logTail{max: 1000}
	tail.add(state.LogLine{Message: strings.Repeat("é", 1000)})
	got := tail.result()
	if len(got) != 2 || !utf8.ValidString(got[1].Message) || got[1].Message == "" {
		t.Fatalf("log %+v", got)
	}
}
