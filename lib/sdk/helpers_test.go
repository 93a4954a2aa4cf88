package sdk

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.starlark.net/starlark"
)

// logRecorder collects log lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []LogLine
}

func (r *logRecorder) log(l LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, l)
}

func (r *logRecorder) texts(stream int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if l.Stream == stream {
			out = append(out, l.Text)
		}
	}
	return out
}

// writeFiles writes files (slash-separated paths) below root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// testHost returns a host working in a new temporary folder, with PATH
// from the process environment only.
func testHost(t *testing.T) (*Host, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	h := &Host{
		Dir:     t.TempDir(),
		Environ: []string{"PATH=" + os.Getenv("PATH")},
		Log:     rec.log,
	}
	return h, rec
}

// execMain evaluates main (a file among files, written below h.Dir) with
// h's builtins.
func execMain(t *testing.T, h *Host, files map[string]string, main string) (starlark.StringDict, *Evaluator, error) {
	t.Helper()
	writeFiles(t, h.Dir, files)
	ev := &Evaluator{
		Root:        h.Dir,
		Predeclared: func(string) starlark.StringDict { return h.Builtins() },
		Print:       h.Print,
	}
	src, err := os.ReadFile(filepath.Join(h.Dir, filepath.FromSlash(main)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := ev.Exec(context.Background(), main, src)
	return g, ev, err
}

// execSrc evaluates one file holding src (after the ocuroot line).
func execSrc(t *testing.T, h *Host, src string) (starlark.StringDict, error) {
	t.Helper()
	g, _, err := execMain(t, h, map[string]string{"main.ocu.star": "ocuroot(\"0.3.0\")\n" + src}, "main.ocu.star")
	return g, err
}

// global returns the JSON value of a global.
func global(t *testing.T, g starlark.StringDict, name string) any {
	t.Helper()
	v, ok := g[name]
	if !ok {
		t.Fatalf("no global %q", name)
	}
	j, err := FromStarlark(v)
	if err != nil {
		t.Fatalf("global %s: %v", name, err)
	}
	return j
}
