package viewcmd

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/openwork"
	webview "github.com/ocu-team/ocu/lib/view"
)

const synopsis = `
Usage: ocu-view [options]

Ocu-view serves a read-only web UI of the repo's state and intent stores and
prints its URL. It listens on 127.0.0.1:3000, or on the next free port up to
3100 when 3000 is busy; --addr chooses the address, used as given. It serves
until interrupted (SIGINT, SIGTERM), then exits 0.

Pages: / (environments and what is deployed in each, packages with their
latest release and its status, custom state, intent that differs from
state), /ref/REF (any document, a package, a release with its runs and logs,
an environment), /match/GLOB, /work (pending and running functions), and
JSON at /api/get/REF and /api/match/GLOB. Only GET and HEAD are served.
An address other than loopback is served without authentication: a warning
says so.
`

// Default listening addresses (docs/cli.md §2.6).
const (
	defaultHost  = "127.0.0.1"
	firstPort    = 3000
	lastPort     = 3100
	reopenAfter  = 5 * time.Second // stores are reopened (git refetched) at most this often
	shutdownWait = 5 * time.Second // in-flight requests finish within this after an interrupt
)

// Command returns the command ocu-view ("ocuroot state view" in the
// ocuroot tree).
//
// SIGINT and SIGTERM are how ocu-view is meant to stop: it exits 0 then,
// where the engine commands exit 130 and 143.
func Command(sio cli.IO) *cli.Command {
	c := cli.NewCommand("ocu-view", synopsis, sio)
	var addr string
	var index cli.IndexFlags
	c.Flags.StringVar(&addr, "addr", "", "listen on `HOST:PORT` (default 127.0.0.1:3000, or the next free port up to 3100)")
	index.Register(c.Flags)
	c.Exec = func(ctx context.Context, rest []string) error { return run(ctx, c.Tool, addr, index.Options(), rest) }
	return c
}

func run(ctx context.Context, t *cli.Tool, addr string, index openwork.Options, rest []string) error {
	if len(rest) > 0 {
		return cli.ArgErrorf("unexpected argument %q", rest[0])
	}
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return cli.ArgErrorf("invalid --addr %q: %v", addr, err)
		}
	}
	s, err := t.Open(ctx)
	if err != nil {
		return err
	}
	var repos []string
	if name, err := s.Config.RepoName(); err == nil {
		repos = []string{name}
	}
	st := &stores{open: t.Open, maxAge: reopenAfter}
	st.keep(s)
	defer st.close()

	ln, err := listen(ctx, addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err // "bind: address already in use": the subject names the address
		}
		return cli.WithSubject(listenSubject(addr), err)
	}
	bound := ln.Addr().String()
	loopback := isLoopback(ln.Addr())
	if !loopback {
		t.Warn("serving " + bound + " without authentication")
	}
	h, err := webview.New(webview.Options{Open: st.get, Repos: repos, LoopbackOnly: loopback, OpenWork: index})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(t.Stderr, t.Prog+": ", 0),
	}
	fmt.Fprintf(t.Stdout, "Your state view is ready and waiting! Open your browser to: http://%s\n", bound)
	if err := serveUntil(ctx, srv, ln); err != nil {
		return cli.WithSubject("serving "+bound, err)
	}
	return nil
}

// serveUntil serves srv on ln until ctx is done, then shuts srv down:
// requests in flight are not cancelled by ctx but get shutdownWait to
// finish, and are cancelled after it.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		stop, cancel := context.WithTimeout(base, shutdownWait)
		defer cancel()
		if srv.Shutdown(stop) != nil {
			cancelBase()
			srv.Close()
		}
		<-served
		return nil
	case err := <-served:
		return err
	}
}

// listen listens on addr, or by default on the first free port of
// 127.0.0.1:3000…3100.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	if addr != "" {
		return lc.Listen(ctx, "tcp", addr)
	}
	return listenRange(ctx, defaultHost, firstPort, lastPort)
}

// listenRange listens on the first port from first to last that is free on
// host.
func listenRange(ctx context.Context, host string, first, last int) (net.Listener, error) {
	var lc net.ListenConfig
	var err error
	for port := first; port <= last; port++ {
		var ln net.Listener
		ln, err = lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no free port from %d to %d: %w", first, last, err)
}

// listenSubject names the address a listen failure is about.
func listenSubject(addr string) string {
	if addr == "" {
		return net.JoinHostPort(defaultHost, strconv.Itoa(firstPort))
	}
	return addr
}

// isLoopback reports whether a listening address accepts connections from
// this machine only.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
