package viewcmd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/store"
)

func TestListenRange(t *testing.T) {
	ctx := context.Background()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port

	ln, err := listenRange(ctx, "127.0.0.1", port, port+20)
	if err != nil {
		t.Fatal(err)
	}
	got := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if got <= port || got > port+20 {
		t.Errorf("listened on %d, want the next free port after %d", got, port)
	}

	_, err = listenRange(ctx, "127.0.0.1", port, port)
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "no free port from "+strconv.Itoa(port)) {
		t.Errorf("all ports busy: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1:3000": true,
		"127.9.9.9:1":    true,
		"[::1]:3000":     true,
		"0.0.0.0:3000":   false,
		"[::]:3000":      false,
		"10.1.2.3:3000":  false,
	}
	for s, want := range tests {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(a); got != want {
			t.Errorf("isLoopback(%s) = %v, want %v", s, got, want)
		}
	}
}

// countingStore counts Close calls.
type countingStore struct {
	store.Store
	closed int
}

func (s *countingStore) Close() error { s.closed++; return nil }

// TestStoresReopen checks that sessions are reopened when old and closed
// once their last request is done.
func TestStoresReopen(t *testing.T) {
	var opened []*countingStore
	st := &stores{maxAge: 0, open: func(context.Context) (*cli.Session, error) {
		s := &countingStore{}
		opened = append(opened, s)
		return &cli.Session{Store: store.NewCombined(s, nil)}, nil
	}}
	ctx := context.Background()
	_, done1, err := st.get(ctx) // opens #0
	if err != nil {
		t.Fatal(err)
	}
	_, done2, _ := st.get(ctx) // too old already: opens #1, #0 still in use
	if len(opened) != 2 || opened[0].closed != 0 {
		t.Fatalf("opened %d, first closed %d", len(opened), opened[0].closed)
	}
	done1()
	if opened[0].closed != 1 {
		t.Errorf("first session closed %d times after its last request, want 1", opened[0].closed)
	}
	st.close()
	if opened[1].closed != 0 {
		t.Error("a session in use was closed")
	}
	done2()
	if opened[1].closed != 1 {
		t.Errorf("second session closed %d times, want 1", opened[1].closed)
	}

	st = &stores{maxAge: 1 << 62, open: func(context.Context) (*cli.Session, error) {
		return nil, errors.New("should not reopen")
	}}
	kept := &countingStore{}
	st.keep(&cli.Session{Store: store.NewCombined(kept, nil)})
	for range 3 {
		s, done, err := st.get(ctx)
		if err != nil || s == nil {
			t.Fatal(err)
		}
		done()
	}
	if kept.closed != 0 {
		t.Error("a young session was closed")
	}
}

// TestInterruptLetsRequestsFinish checks that a request in flight when the
// interrupt arrives is not cancelled by it: it finishes, and its response
// reaches the client.
func TestInterruptLetsRequestsFinish(t *testing.T) {
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	started, release := make(chan struct{}), make(chan struct{})
	reqErr := make(chan error, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		reqErr <- r.Context().Err()
		io.WriteString(w, "finished")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serveUntil(ctx, srv, ln) }()

	type response struct {
		body string
		err  error
	}
	got := make(chan response, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- response{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- response{string(b), err}
	}()
	<-started
	interrupt()
	close(release)
	if err := <-reqErr; err != nil {
		t.Errorf("request context after the interrupt: %v, want not done", err)
	}
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Errorf("response %q, %v; want %q", r.body, r.err, "finished")
	}
	if err := <-served; err != nil {
		t.Errorf("serveUntil: %v", err)
	}
}
