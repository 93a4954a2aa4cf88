package engine

import (
	"fmt"
	"unicode/utf8"

	"github.com/ocu-team/ocu/lib/state"
)

// logTail keeps the last lines of a run's log within a size (see
// Limits.MaxLog), counting the lines and bytes of text it dropped, so a
// run printing without end stores a bounded log and holds a bounded one in
// memory. The zero value keeps everything.
type logTail struct {
	max   int             // bytes of stored JSON, about; 0 keeps everything
	lines []state.LogLine // kept, oldest first, from start on
	start int
	size  int // estimated stored size of lines[start:]

	droppedLines, droppedBytes int
}

// logEntryOverhead is about what a log entry stores besides its message,
// file name, thread and time stamp: the JSON keys and their indentation in
// the stored document, the stream, line and column.
const logEntryOverhead = 220

// droppedThread is the thread of the first log entry when lines were
// dropped: "… N bytes of log dropped (M lines)".
const droppedThread = "log"

const droppedFormat = "… %d bytes of log dropped (%d lines)"

// logEntrySize estimates the stored size of l in bytes.
func logEntrySize(l state.LogLine) int {
	return jsonTextSize(l.Message) + jsonTextSize(l.Attributes.Filename) + jsonTextSize(l.Attributes.Thread) +
		len(l.Timestamp) + logEntryOverhead
}

// jsonTextSize is about the size of s in a JSON string: quotes and
// backslashes are escaped with one more byte, control characters with up
// to five.
func jsonTextSize(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// budget is the size left for lines once the first entry saying what was
// dropped is counted.
func (t *logTail) budget() int {
	return max(t.max-logEntrySize(state.LogLine{Message: droppedFormat + "00000000000000000000", Attributes: state.LogAttributes{Thread: droppedThread}, Timestamp: "2006-01-02T15:04:05.000000000Z"}), 0)
}

// add appends l, dropping the oldest lines while the log is too large; a
// line too large on its own keeps the end of its message.
func (t *logTail) add(l state.LogLine) {
	if t.max <= 0 {
		t.lines = append(t.lines, l)
		return
	}
	budget := t.budget()
	if size := logEntrySize(l); size > budget {
		keep := max(len(l.Message)-(size-budget), 0)
		cut := len(l.Message) - keep
		for cut < len(l.Message) && !utf8.RuneStart(l.Message[cut]) {
			cut++
		}
		t.droppedBytes += cut
		l.Message = l.Message[cut:]
	}
	t.lines = append(t.lines, l)
	t.size += logEntrySize(l)
	for t.size > budget && t.start < len(t.lines)-1 {
		old := t.lines[t.start]
		t.lines[t.start] = state.LogLine{}
		t.start++
		t.size -= logEntrySize(old)
		t.droppedLines++
		t.droppedBytes += len(old.Message)
	}
	if t.start > len(t.lines)/2 {
		t.lines = t.lines[:copy(t.lines, t.lines[t.start:])]
		t.start = 0
	}
}

// addStored appends a log as stored: a first entry saying what an earlier
// cut dropped is counted, not kept.
func (t *logTail) addStored(lines []state.LogLine) {
	if len(lines) > 0 && lines[0].Attributes.Thread == droppedThread {
		var b, n int
		if _, err := fmt.Sscanf(lines[0].Message, droppedFormat, &b, &n); err == nil {
			t.droppedBytes += b
			t.droppedLines += n
			lines = lines[1:]
		}
	}
	for _, l := range lines {
		t.add(l)
	}
}

// addTail appends the lines of u and counts what u dropped.
func (t *logTail) addTail(u *logTail) {
	t.droppedLines += u.droppedLines
	t.droppedBytes += u.droppedBytes
	for _, l := range u.lines[u.start:] {
		t.add(l)
	}
}

// len returns the number of lines kept.
func (t *logTail) len() int { return len(t.lines) - t.start }

// result returns the log to store: the lines kept, after an entry saying
// what was dropped, if anything was.
func (t *logTail) result() []state.LogLine {
	kept := t.lines[t.start:]
	if t.droppedLines == 0 && t.droppedBytes == 0 {
		return kept
	}
	first := state.LogLine{
		Attributes: state.LogAttributes{Thread: droppedThread},
		Message:    fmt.Sprintf(droppedFormat, t.droppedBytes, t.droppedLines),
	}
	if len(kept) > 0 {
		first.Timestamp = kept[0].Timestamp
	}
	return append([]state.LogLine{first}, kept...)
}
