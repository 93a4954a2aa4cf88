package viewcmd_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ocu-team/ocu/internal/viewtest"
	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/ocuroot"
	"github.com/ocu-team/ocu/lib/cli/viewcmd"
	"github.com/ocu-team/ocu/lib/store"
)

// repo makes a repo whose stores hold the view's scenario and returns its
// folder.
func repo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := "ocuroot(\"0.3.0\")\nrepo_alias(\"example\")\nstore.set(store.fs(\".store/state\"), intent=store.fs(\".store/intent\"))\n"
	if err := os.WriteFile(filepath.Join(dir, "repo.ocu.star"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	state, err := store.OpenFS(filepath.Join(dir, ".store/state"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	intent, err := store.OpenFS(filepath.Join(dir, ".store/intent"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := store.NewCombined(state, intent)
	defer s.Close()
	if err := viewtest.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return dir
}

// env is the context of a tool run in dir.
func env(t *testing.T, ctx context.Context, dir string) context.Context {
	return cli.WithEnv(ctx, cli.Env{Dir: dir, Environ: []string{"OCUROOT_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}})
}

// lockedBuffer is a buffer written by the tool and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is ocu-view running in the background.
type server struct {
	url    string
	stderr *lockedBuffer
	stop   func() int // cancels the context and returns the exit code
}

// serve runs ocu-view with args in dir until stop is called.
func serve(t *testing.T, dir string, args ...string) server {
	t.Helper()
	ctx, cancel := context.WithCancel(env(t, context.Background(), dir))
	out, in := io.Pipe()
	stderr := &lockedBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- cli.Run(ctx, viewcmd.Command, args, cli.IO{Stdin: strings.NewReader(""), Stdout: in, Stderr: stderr})
		in.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	m := regexp.MustCompile(`^Your state view is ready and waiting! Open your browser to: (http://\S+)\n$`).FindStringSubmatch(line)
	if m == nil {
		cancel()
		t.Fatalf("stdout %q (%v), stderr %q", line, err, stderr.String())
	}
	var once sync.Once
	exit := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			select {
			case exit = <-code:
			case <-time.After(10 * time.Second):
				t.Error("ocu-view did not stop")
			}
		})
		return exit
	}
	t.Cleanup(func() { stop() })
	return server{url: m[1], stderr: stderr, stop: stop}
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("1"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServe runs ocu-view on a free loopback port, asks it for pages and
// stops it.
func TestServe(t *testing.T) {
	srv := serve(t, repo(t), "--addr", "127.0.0.1:0")
	if !strings.HasPrefix(srv.url, "http://127.0.0.1:") {
		t.Fatalf("URL %s", srv.url)
	}
	tests := []struct {
		method, path string
		code         int
		contains     string
	}{
		{"GET", "/", 200, "frontend/release.ocu.star"},
		{"GET", "/ref/example/-/frontend/release.ocu.star/@1/call/build", 200, "registry.example.com/frontend:1"},
		{"GET", "/ref/example/-/frontend/release.ocu.star/@/deploy/production", 200, "backend.production.example.com"},
		{"GET", "/ref/example/-/frontend/release.ocu.star/@1/deploy/staging/1/logs", 200, "deploying registry.example.com/frontend:1 to staging"},
		{"GET", "/ref/@/environment/production", 200, "frontend/release.ocu.star"},
		{"GET", "/match/**/deploy/production", 200, "example/-/backend/release.ocu.star/@1/deploy/production"},
		{"GET", "/ref/@/environment/nowhere", 404, "not found"},
		{"POST", "/ref/+/custom/x", 405, "read-only"},
		{"GET", "/api/get/+/custom/x", 404, `"error"`},
		{"HEAD", "/", 200, ""},
	}
	for _, tt := range tests {
		code, body := get(t, tt.method, srv.url+tt.path)
		if code != tt.code || !strings.Contains(body, tt.contains) {
			t.Errorf("%s %s: %d, want %d with %q", tt.method, tt.path, code, tt.code, tt.contains)
		}
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if s := srv.stderr.String(); s != "" {
		t.Errorf("stderr: %s", s)
	}
}

// TestSignals stops ocu-view with real SIGINT and SIGTERM: the normal way
// to end it, so the exit code is 0 and nothing is printed on stderr.
func TestSignals(t *testing.T) {
	dir := repo(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, stop := signal.NotifyContext(env(t, context.Background(), dir), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out, in := io.Pipe()
			stderr := &lockedBuffer{}
			code := make(chan int, 1)
			go func() {
				code <- cli.Run(ctx, viewcmd.Command, []string{"--addr", "127.0.0.1:0"}, cli.IO{Stdout: in, Stderr: stderr})
				in.Close()
			}()
			if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
				t.Fatalf("no URL line: %v; stderr %q", err, stderr.String())
			}
			go io.Copy(io.Discard, out)
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case c := <-code:
				if c != 0 || stderr.String() != "" {
					t.Errorf("exit %d, stderr %q; want 0 and nothing", c, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ocu-view did not stop")
			}
		})
	}
}

// TestDefaultAddress checks that ocu-view without --addr listens on
// 127.0.0.1 only, on a port from 3000 to 3100.
func TestDefaultAddress(t *testing.T) {
	srv := serve(t, repo(t))
	host, port, err := net.SplitHostPort(strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(port); host != "127.0.0.1" || n < 3000 || n > 3100 {
		t.Errorf("listening on %s", srv.url)
	}
	if code, _ := get(t, "GET", srv.url+"/"); code != 200 {
		t.Errorf("GET /: %d", code)
	}
	// The view refuses pages asked for under another name (DNS rebinding).
	req, _ := http.NewRequest("GET", srv.url+"/", nil)
	req.Host = "attacker.example:" + port
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Host attacker.example: %d, want 403", resp.StatusCode)
	}
}

func TestBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	var stdout, stderr bytes.Buffer
	code := cli.Run(env(t, context.Background(), repo(t)), ocuroot.Command, []string{"state", "view", "--addr", addr}, cli.IO{Stdout: &stdout, Stderr: &stderr})
	want := "ocuroot state view: " + addr + ": bind: address already in use\n"
	if code != 1 || stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout.String(), stderr.String(), want)
	}
}

func TestUsage(t *testing.T) {
	dir := repo(t)
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: []string{"extra"}, code: 2, stderr: `ocu-view: unexpected argument "extra" (see ocu-view -h)` + "\n"},
		{args: []string{"--addr", "3000"}, code: 2, stderr: `ocu-view: invalid --addr "3000": address 3000: missing port in address (see ocu-view -h)` + "\n"},
		{args: []string{"--nope"}, code: 2, stderr: "ocu-view: flag provided but not defined: -nope (see ocu-view -h)\n"},
		{args: []string{"-h"}, code: 0, stdout: "Usage: ocu-view [options]"},
		{args: []string{"--version"}, code: 0, stdout: "ocu-view "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli.Run(env(t, context.Background(), dir), viewcmd.Command, tt.args, cli.IO{Stdout: &stdout, Stderr: &stderr})
			if code != tt.code || !strings.HasPrefix(stdout.String(), tt.stdout) || stderr.String() != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}

func TestNoStore(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := cli.Run(env(t, context.Background(), t.TempDir()), viewcmd.Command, nil, cli.IO{Stdout: &stdout, Stderr: &stderr})
	if code != 1 || !strings.HasPrefix(stderr.String(), "ocu-view: ") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and one error line", code, stderr.String())
	}
}
