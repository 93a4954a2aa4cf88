//go:build unix

package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/utils/ioutil"
	"golang.org/x/sys/unix"
)

// localTransport is the transport of local remotes (a path or a file://
// URL). Like go-git's file transport it runs git-upload-pack or
// git-receive-pack on the repository (from PATH, else as `git upload-pack`)
// and speaks the pack protocol over their standard input and output; unlike
// it, each runs in a process group of its own that is killed whole when the
// context of the fetch or push ends: the hooks and helpers it started
// (pack-objects, index-pack, pre-receive) too. go-git's transport kills only
// the process it started, then waits for its standard error, which a stuck
// hook still holds open.
type localTransport struct{}

func (localTransport) NewUploadPackSession(ep *transport.Endpoint, _ transport.AuthMethod) (transport.UploadPackSession, error) {
	return startLocal(ep, transport.UploadPackServiceName)
}

func (localTransport) NewReceivePackSession(ep *transport.Endpoint, _ transport.AuthMethod) (transport.ReceivePackSession, error) {
	return startLocal(ep, transport.ReceivePackServiceName)
}

// localSession is one git-upload-pack or git-receive-pack process.
type localSession struct {
	service string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  io.Reader
	stderr  *stderrHead

	mu      sync.Mutex
	stops   []func() bool // context.AfterFunc registrations
	adv     *packp.AdvRefs
	packRun bool // a request was sent: no flush on close
	closed  bool
	waitErr error
	reaped  bool
}

// waitDelay bounds the wait for the pipes of a process that has exited
// (or was killed) while something outside its group still holds them.
const waitDelay = time.Second

func startLocal(ep *transport.Endpoint, service string) (*localSession, error) {
	name, args := service, []string{ep.Path}
	if _, err := exec.LookPath(service); err != nil {
		name, args = "git", []string{strings.TrimPrefix(service, "git-"), ep.Path}
	}
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	s := &localSession{service: service, cmd: cmd, stderr: &stderrHead{}}
	cmd.Stderr = s.stderr
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.stdout = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// watch kills the process group when ctx ends, until the session is
// closed.
func (s *localSession) watch(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	stop := context.AfterFunc(ctx, s.kill)
	s.mu.Lock()
	s.stops = append(s.stops, stop)
	s.mu.Unlock()
}

// kill kills the session's process group.
func (s *localSession) kill() {
	s.mu.Lock()
	reaped := s.reaped
	s.mu.Unlock()
	if !reaped {
		unix.Kill(-s.cmd.Process.Pid, unix.SIGKILL)
	}
}

// AdvertisedReferences implements transport.Session.
func (s *localSession) AdvertisedReferences() (*packp.AdvRefs, error) {
	return s.AdvertisedReferencesContext(context.Background())
}

// AdvertisedReferencesContext implements transport.Session: it reads the
// refs the process advertises first.
func (s *localSession) AdvertisedReferencesContext(ctx context.Context) (*packp.AdvRefs, error) {
	if s.adv != nil {
		return s.adv, nil
	}
	s.watch(ctx)
	ar := packp.NewAdvRefs()
	if err := ar.Decode(s.stdout); err != nil {
		var line *pktline.ErrorLine
		switch {
		case errors.As(err, &line):
			return nil, remoteSaid(line.Text)
		case errors.Is(err, packp.ErrEmptyInput):
			// It ended without a word: its standard error says why.
			s.Close()
			return nil, remoteSaid(s.stderr.firstLine())
		case errors.Is(err, packp.ErrEmptyAdvRefs) && s.service == transport.ReceivePackServiceName:
			// An empty repository: nothing to advertise.
		case errors.Is(err, packp.ErrEmptyAdvRefs):
			return nil, transport.ErrEmptyRemoteRepository
		default:
			return nil, err
		}
	}
	if s.service == transport.UploadPackServiceName && ar.IsEmpty() {
		return nil, transport.ErrEmptyRemoteRepository
	}
	transport.FilterUnsupportedCapabilities(ar.Capabilities)
	s.adv = ar
	return ar, nil
}

// remoteSaid turns what git-upload-pack or git-receive-pack reported into
// an error.
func remoteSaid(text string) error {
	switch {
	case text == "":
		return io.ErrUnexpectedEOF
	case strings.Contains(text, "does not appear to be a git repository"):
		return transport.ErrRepositoryNotFound
	}
	return errors.New(strings.TrimPrefix(text, "fatal: "))
}

// UploadPack implements transport.UploadPackSession: it sends the wants
// and haves and returns the response, whose Close ends the session.
func (s *localSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	if req.IsEmpty() {
		return nil, transport.ErrEmptyUploadPackRequest
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.AdvertisedReferencesContext(ctx); err != nil {
		return nil, err
	}
	s.packRun = true
	s.watch(ctx)
	if err := req.UploadRequest.Encode(s.stdin); err != nil {
		return nil, fmt.Errorf("sending wants: %w", err)
	}
	if err := req.UploadHaves.Encode(s.stdin, true); err != nil {
		return nil, fmt.Errorf("sending haves: %w", err)
	}
	if err := pktline.NewEncoder(s.stdin).Encodef("done\n"); err != nil {
		return nil, fmt.Errorf("sending done: %w", err)
	}
	if err := s.stdin.Close(); err != nil {
		return nil, err
	}
	r, err := ioutil.NonEmptyReader(s.stdout)
	if errors.Is(err, ioutil.ErrEmptyReader) {
		return nil, transport.ErrEmptyUploadPackRequest
	}
	if err != nil {
		return nil, err
	}
	res := packp.NewUploadPackResponse(req)
	if err := res.Decode(ioutil.NewReadCloser(r, s)); err != nil {
		return nil, fmt.Errorf("decoding the upload-pack response: %w", err)
	}
	return res, nil
}

// ReceivePack implements transport.ReceivePackSession: it sends the ref
// updates and the pack and reads the report.
func (s *localSession) ReceivePack(ctx context.Context, req *packp.ReferenceUpdateRequest) (*packp.ReportStatus, error) {
	if _, err := s.AdvertisedReferencesContext(ctx); err != nil {
		return nil, err
	}
	s.packRun = true
	s.watch(ctx)
	if err := req.Encode(s.stdin); err != nil {
		return nil, err
	}
	if err := s.stdin.Close(); err != nil {
		return nil, err
	}
	if !req.Capabilities.Supports(capability.ReportStatus) {
		return nil, s.Close()
	}
	var r io.Reader = s.stdout
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		r = sideband.NewDemuxer(sideband.Sideband64k, r)
	case req.Capabilities.Supports(capability.Sideband):
		r = sideband.NewDemuxer(sideband.Sideband, r)
	}
	report := packp.NewReportStatus()
	if err := report.Decode(r); err != nil {
		return nil, err
	}
	if err := report.Error(); err != nil {
		return report, err
	}
	return report, s.Close()
}

// Close ends the session: it says goodbye when no request was sent, closes
// the process's input and waits for it. A git-upload-pack that was asked
// for a pack has nothing left to do for a client that closes the session —
// whether it read the whole pack or gave up on a broken one — so its
// process group is killed first: one still writing the rest of the pack
// would otherwise block until the timeout. The contexts given to the
// session can still kill it while it waits.
func (s *localSession) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.waitErr
	}
	s.closed = true
	s.mu.Unlock()
	if !s.packRun {
		s.stdin.Write(pktline.FlushPkt)
	}
	s.stdin.Close()
	if s.packRun && s.service == transport.UploadPackServiceName {
		s.kill()
	}
	err := s.cmd.Wait()
	s.mu.Lock()
	s.reaped = true
	stops := s.stops
	s.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	// A refused request or a missing repository ends with a status the
	// protocol has reported already.
	var exit *exec.ExitError
	if errors.As(err, &exit) || errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	s.waitErr = err
	return err
}

// maxStderr is how much of a process's standard error is kept.
const maxStderr = 4096

// stderrHead keeps the start of a process's standard error.
type stderrHead struct {
	mu  sync.Mutex
	buf []byte
}

func (h *stderrHead) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := maxStderr - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// firstLine is the first non-empty line written.
func (h *stderrHead) firstLine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for line := range bytes.SplitSeq(h.buf, []byte("\n")) {
		if s := strings.TrimSpace(string(line)); s != "" {
			return s
		}
	}
	return ""
}
