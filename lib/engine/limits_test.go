package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/state"
)

// TestFunctionLimits: package code past a limit is stopped and its function
// fails with one line naming the limit; the release is not left running.
func TestFunctionLimits(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		limits   Limits
		deadline time.Duration // the command's --timeout, from the start
		err      string
	}{
		{
			name:   "starlark loop past the function timeout",
			body:   "while True:\n        pass",
			limits: Limits{Timeout: 300 * time.Millisecond},
			err:    "timed out after 300ms (the limit is 300ms, OCU_FUNCTION_TIMEOUT)",
		},
		{
			name:   "shell command past the function timeout",
			body:   "shell('sleep 600')",
			limits: Limits{Timeout: 300 * time.Millisecond},
			err:    "timed out after 300ms (the limit is 300ms, OCU_FUNCTION_TIMEOUT)",
		},
		{
			name:     "starlark loop past the command's deadline",
			body:     "while True:\n        pass",
			limits:   Limits{Timeout: time.Hour},
			deadline: time.Second,
			err:      "(the command's --timeout passed)",
		},
		{
			name:   "steps",
			body:   "while True:\n        pass",
			limits: Limits{MaxSteps: 100000},
			err:    "exceeded 100000 Starlark execution steps (OCU_FUNCTION_MAX_STEPS)",
		},
		{
			name:   "memory bomb",
			body:   "l = [0] * 1000\n    for i in range(100):\n        l = l + l",
			limits: Limits{MaxMemory: 64 << 20},
			err:    "used more than 64 MiB of memory (OCU_FUNCTION_MAX_MEMORY)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\ndef f(ctx):\n    " + tt.body + "\n    return done()\ncall(f, name=\"a\")\n"})
			tr.e.Limits = tt.limits
			if tt.deadline > 0 {
				tr.e.Deadline = time.Now().Add(tt.deadline)
			}
			failed, err := tr.e.ReleaseNew(context.Background(), "pkg.ocu.star", false)
			if err != nil || !failed {
				t.Fatalf("release: failed %v, %v", failed, err)
			}
			msg := tr.value("example/-/pkg.ocu.star/@1/call/a/1/functions/1#current/error").(string)
			if !strings.Contains(msg, tt.err) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line with %q", msg, tt.err)
			}
			if !strings.HasPrefix(msg, "timed out after") && strings.Contains(tt.err, "timed out") {
				t.Errorf("error %q does not start with \"timed out after\"", msg)
			}
			for _, marker := range []string{"call/a/1/functions/1/status/failed", "call/a/status/failed"} {
				if !tr.exists("example/-/pkg.ocu.star/@1/" + marker) {
					t.Errorf("missing marker %s", marker)
				}
			}
			if tr.exists("example/-/pkg.ocu.star/@1/call/a/1/functions/1/status/running") {
				t.Error("the function is left running")
			}
		})
	}
}

// TestEvaluationLimits: a package whose top-level code loops cannot be
// loaded; the error names the file and the limit.
func TestEvaluationLimits(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\nwhile True:\n    pass\n"})
	tr.e.Limits = Limits{Timeout: 200 * time.Millisecond}
	_, err := tr.e.ReleaseNew(context.Background(), "pkg.ocu.star", false)
	if want := "pkg.ocu.star: timed out after 200ms (the limit is 200ms, OCU_FUNCTION_TIMEOUT)"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestLimitsFromEnviron(t *testing.T) {
	def := DefaultLimits()
	tests := []struct {
		environ []string
		want    Limits
		err     string
	}{
		{environ: nil, want: def},
		{environ: []string{"OCU_FUNCTION_TIMEOUT=90s", "OCU_FUNCTION_MAX_STEPS=1000", "OCU_FUNCTION_MAX_MEMORY=512M", "OCU_LOG_MAX_SIZE=64KiB"},
			want: Limits{Timeout: 90 * time.Second, MaxSteps: 1000, MaxMemory: 512 << 20, MaxLog: 64 << 10}},
		{environ: []string{"OCU_FUNCTION_TIMEOUT=0", "OCU_FUNCTION_MAX_STEPS=0", "OCU_FUNCTION_MAX_MEMORY=0", "OCU_LOG_MAX_SIZE=0"}},
		{environ: []string{"OCU_FUNCTION_MAX_MEMORY=2g", "OCU_LOG_MAX_SIZE=1000"},
			want: Limits{Timeout: def.Timeout, MaxSteps: def.MaxSteps, MaxMemory: 2 << 30, MaxLog: 1000}},
		{environ: []string{"OCU_FUNCTION_TIMEOUT=soon"}, err: `OCU_FUNCTION_TIMEOUT: invalid duration "soon" (want e.g. 90s, 30m, 2h; 0 for no limit)`},
		{environ: []string{"OCU_FUNCTION_TIMEOUT=-1s"}, err: `OCU_FUNCTION_TIMEOUT: invalid duration "-1s" (want e.g. 90s, 30m, 2h; 0 for no limit)`},
		{environ: []string{"OCU_FUNCTION_MAX_STEPS=many"}, err: `OCU_FUNCTION_MAX_STEPS: invalid number of steps "many"`},
		{environ: []string{"OCU_FUNCTION_MAX_MEMORY=2T"}, err: `OCU_FUNCTION_MAX_MEMORY: invalid size "2T" (want bytes, or a number with K, M or G)`},
		{environ: []string{"OCU_LOG_MAX_SIZE=-5"}, err: `OCU_LOG_MAX_SIZE: invalid size "-5" (want bytes, or a number with K, M or G)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.environ, " "), func(t *testing.T) {
			got, err := LimitsFromEnviron(tt.environ)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLogLimit: a run printing more than Limits.MaxLog stores the end of
// its log, within the limit, after a first entry saying what was dropped.
func TestLogLimit(t *testing.T) {
	const max = 64 << 10
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    shell("head -c 300000 /dev/zero | tr '\\0' x")
    for i in range(5000):
        print("line %d" % i)
    shell("seq 1 20000")
    print("last")
    return done()
call(f, name="a")
`})
	tr.e.Limits = Limits{MaxLog: max}
	if failed, err := tr.e.ReleaseNew(context.Background(), "pkg.ocu.star", false); err != nil || failed {
		t.Fatalf("release: failed %v, %v", failed, err)
	}
	logsRef := "example/-/pkg.ocu.star/@1/call/a/1/logs"
	var logs []state.LogLine
	if _, err := tr.e.get(context.Background(), tr.ref(logsRef), &logs); err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(filepath.Join(tr.e.Root, ".store", "refs", "example", "-", "pkg.ocu.star", "@1", "call", "a", "1", "logs", "@object.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) > max {
		t.Errorf("stored log of %d bytes, over the limit of %d", len(stored), max)
	}
	if len(stored) < max/2 {
		t.Errorf("stored log of %d bytes keeps less than half the limit of %d", len(stored), max)
	}
	// 5000 print lines, 20000 numbers and 300000 bytes of x (in pieces) were logged.
	var b, n int
	if _, err := fmt.Sscanf(logs[0].Message, droppedFormat, &b, &n); err != nil || logs[0].Attributes.Thread != "log" {
		t.Fatalf("first entry %+v: %v", logs[0], err)
	}
	keptBytes := 0
	for _, l := range logs[1:] {
		keptBytes += len(l.Message)
	}
	total := len("line 0")*10 + len("line 10")*90 + len("line 100")*900 + len("line 1000")*4000 +
		9 + 2*90 + 3*900 + 4*9000 + 5*10001 + 300000 + len("last")
	if b+keptBytes != total || n+len(logs)-1 != 5000+20000+5+1 {
		t.Errorf("dropped %d bytes and %d lines, kept %d bytes and %d lines: want %d bytes and %d lines in all",
			b, n, keptBytes, len(logs)-1, total, 5000+20000+5+1)
	}
	if last := logs[len(logs)-1]; last.Message != "last" {
		t.Errorf("last entry %q, want the end of the log", last.Message)
	}
}

// TestGuardMemoryBaseline: what the process holds when the guard starts is
// not charged to the package code.
func TestGuardMemoryBaseline(t *testing.T) {
	held := make([]byte, 64<<20)
	for i := range held {
		held[i] = 1
	}
	stop := make(chan struct{})
	done := make(chan bool)
	go func() {
		fired := false
		guardMemory(32<<20, stop, func() { fired = true })
		done <- fired
	}()
	time.Sleep(5 * memoryCheckInterval)
	close(stop)
	if <-done {
		t.Error("the guard charged the 64 MiB held before it started to the package code")
	}
	runtime.KeepAlive(held)
}
