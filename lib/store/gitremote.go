//go:build unix

package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// GitAuth holds the credentials a git store may use; the caller reads them
// from the environment. Credentials in the remote URL's user-info win over
// Token. They are never written to disk.
type GitAuth struct {
	// Token is sent as the password of HTTP basic authentication to https://
	// and http:// remotes (a personal access token, a CI job token).
	Token string
	// Username goes with Token; default "x-access-token".
	Username string
	// SSHKeyFile is a private key file for ssh remotes; without it the
	// ssh-agent at SSHAgentSocket is used.
	SSHKeyFile string
	// SSHKeyPassphrase decrypts SSHKeyFile.
	SSHKeyPassphrase string
	// SSHAgentSocket is the ssh-agent's socket (SSH_AUTH_SOCK).
	SSHAgentSocket string
	// KnownHosts are the known_hosts files that verify ssh host keys.
	KnownHosts []string
}

// gitRemote talks to the remote repository of a git store: local remotes
// through localTransport, which runs git-upload-pack and git-receive-pack
// (go-git's in-process file server is never used: it updates refs without
// comparing their old values), others through go-git's http and ssh
// transports. Each fetch and each push must end within timeout.
type gitRemote struct {
	url     string // redacted, for messages
	ep      *transport.Endpoint
	client  transport.Transport
	auth    transport.AuthMethod
	closer  io.Closer // the ssh-agent connection, if any
	timeout time.Duration
}

func newGitRemote(url, remote string, a GitAuth, timeout time.Duration) (*gitRemote, error) {
	ep, err := transport.NewEndpoint(remote)
	if err != nil {
		return nil, errorf(EGitRemote, "git store %s: invalid URL: %v", url, redactErr(err, remote, url))
	}
	r := &gitRemote{url: url, ep: ep, timeout: timeout}
	switch ep.Protocol {
	case "file":
		r.client = localTransport{}
	case "http", "https":
		r.client = githttp.DefaultClient
		switch {
		case ep.User != "" || ep.Password != "":
			r.auth = &githttp.BasicAuth{Username: ep.User, Password: ep.Password}
		case a.Token != "":
			user := a.Username
			if user == "" {
				user = "x-access-token"
			}
			r.auth = &githttp.BasicAuth{Username: user, Password: a.Token}
		}
	case "ssh":
		r.client = gitssh.DefaultClient
		if err := r.sshAuth(a); err != nil {
			return nil, errorf(EGitAuth, "git store %s: authentication failed: %v", url, err)
		}
	default:
		return nil, errorf(EGitRemote, "git store %s: unsupported protocol %q", url, ep.Protocol)
	}
	return r, nil
}

// sshAuth sets up ssh authentication: a key file, else the agent; host keys
// checked against the known_hosts files.
func (r *gitRemote) sshAuth(a GitAuth) error {
	user := r.ep.User
	if user == "" {
		user = "git"
	}
	var known []string
	for _, f := range a.KnownHosts {
		if _, err := os.Stat(f); err == nil {
			known = append(known, f)
		}
	}
	if len(known) == 0 {
		return fmt.Errorf("no known_hosts file (looked for %s)", strings.Join(a.KnownHosts, ", "))
	}
	hosts, err := gitssh.NewKnownHostsCallback(known...)
	if err != nil {
		return err
	}
	switch {
	case a.SSHKeyFile != "":
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHKeyPassphrase)
		if err != nil {
			return fmt.Errorf("ssh key %s: %v", a.SSHKeyFile, err)
		}
		keys.HostKeyCallback = hosts
		r.auth = keys
	case a.SSHAgentSocket != "":
		conn, err := net.Dial("unix", a.SSHAgentSocket)
		if err != nil {
			return fmt.Errorf("ssh-agent: %v", err)
		}
		r.closer = conn
		cb := &gitssh.PublicKeysCallback{User: user, Callback: agent.NewClient(conn).Signers}
		cb.HostKeyCallback = hosts
		r.auth = cb
	default:
		return errors.New("ssh needs an ssh-agent (SSH_AUTH_SOCK) or a key file (OCU_GIT_SSH_KEY)")
	}
	return nil
}

func (r *gitRemote) close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// advertised is what a remote advertised: its refs and, for upload-pack, the
// branch its HEAD names.
type advertised struct {
	refs map[string]plumbing.Hash
	head string // "refs/heads/main", or "" when unknown
}

func advertisedRefs(ar *packp.AdvRefs) advertised {
	out := advertised{refs: map[string]plumbing.Hash{}}
	for name, h := range ar.References {
		out.refs[name] = h
	}
	for name, h := range ar.Peeled {
		out.refs[name+"^{}"] = h
	}
	for _, v := range ar.Capabilities.Get(capability.SymRef) {
		if from, to, ok := strings.Cut(v, ":"); ok && from == "HEAD" {
			out.head = to
		}
	}
	if out.head == "" && ar.Head != nil {
		for name, h := range ar.References {
			if h == *ar.Head && strings.HasPrefix(name, "refs/heads/") {
				out.head = name
				break
			}
		}
	}
	return out
}

// fetch lists the remote's refs; when want returns hashes missing from repo,
// it fetches them (and what they reach, minus what haves reach) into repo
// through the same git-upload-pack session. An empty remote lists nothing.
func (r *gitRemote) fetch(ctx context.Context, repo *gitRepo, want func(advertised) []plumbing.Hash, haves []plumbing.Hash) (_ advertised, err error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	defer func() { err = timedOut(ctx, err) }()
	sess, err := openSession(ctx, func() (transport.UploadPackSession, error) {
		return r.client.NewUploadPackSession(r.ep, r.auth)
	})
	if err != nil {
		return advertised{}, err
	}
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		sess.Close()
		return advertised{refs: map[string]plumbing.Hash{}}, nil
	}
	if err != nil {
		sess.Close()
		return advertised{}, err
	}
	adv := advertisedRefs(ar)
	var wants []plumbing.Hash
	for _, h := range want(adv) {
		if !repo.has(h) {
			wants = append(wants, h)
		}
	}
	if len(wants) == 0 {
		return adv, sess.Close()
	}
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Capabilities.Delete(capability.ThinPack) // every stored pack must stand alone
	if ar.Capabilities.Supports(capability.NoProgress) {
		req.Capabilities.Set(capability.NoProgress)
	}
	req.Wants = wants
	for _, h := range haves {
		if !h.IsZero() {
			req.Haves = append(req.Haves, h)
		}
	}
	resp, err := sess.UploadPack(ctx, req)
	if errors.Is(err, transport.ErrEmptyUploadPackRequest) {
		return adv, sess.Close()
	}
	if err != nil {
		sess.Close()
		return advertised{}, err
	}
	var rd io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		rd = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		rd = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	err = repo.updateFromPack(rd)
	if cerr := resp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return advertised{}, fmt.Errorf("receiving objects: %w", err)
	}
	return adv, nil
}

// errTimeout is a fetch or push that did not end within the transport
// timeout (--git-timeout).
type errTimeout struct{ after time.Duration }

func (e *errTimeout) Error() string {
	return fmt.Sprintf("no answer from the remote within %s (--git-timeout)", e.after)
}

// bound limits ctx to the remote's timeout; when it expires, the cause of
// the context is *errTimeout.
func (r *gitRemote) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, r.timeout, &errTimeout{after: r.timeout})
}

// timedOut replaces err, the failure of an operation under ctx, by why ctx
// ended (the timeout, a signal), if it did: the transport's own report of
// it (a killed process, a closed pipe, a cancelled request) says less.
func timedOut(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// openSession opens a transport session, giving up when ctx ends first:
// ssh connects while opening, without a context. A session opened too late
// is closed.
func openSession[S transport.Session](ctx context.Context, open func() (S, error)) (S, error) {
	type opened struct {
		sess S
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := open()
		ch <- opened{s, err}
	}()
	select {
	case o := <-ch:
		return o.sess, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.err == nil {
				o.sess.Close()
			}
		}()
		var zero S
		return zero, context.Cause(ctx)
	}
}

// errStale reports that the remote branch is not where the push expected
// it: another writer pushed first.
type errStale struct {
	branch string
	reason string
}

func (e *errStale) Error() string {
	return fmt.Sprintf("rejected: %s (refs/heads/%s moved on the remote)", e.reason, e.branch)
}

// errRefused is a push the remote refused for good (a hook, a protected
// branch): retrying cannot help.
type errRefused struct{ reason string }

func (e *errRefused) Error() string { return "refused by the remote: " + e.reason }

// push updates refs/heads/<branch> on the remote from old (zero: create)
// to new, sending the packfile pack() returns, through one git-receive-pack
// session. The remote compares old itself, so a concurrent writer is never
// overwritten; when the advertised ref already differs from old, nothing is
// sent and the error is *errStale.
func (r *gitRemote) push(ctx context.Context, branch string, old, new plumbing.Hash, pack func() ([]byte, error)) (err error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	defer func() { err = timedOut(ctx, err) }()
	sess, err := openSession(ctx, func() (transport.ReceivePackSession, error) {
		return r.client.NewReceivePackSession(r.ep, r.auth)
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	name := plumbing.NewBranchReferenceName(branch)
	cur := ar.References[name.String()]
	if cur != old {
		return &errStale{branch: branch, reason: "fetch first"}
	}
	data, err := pack()
	if err != nil {
		return err
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: name, Old: old, New: new}}
	req.Packfile = io.NopCloser(bytes.NewReader(data))
	rs, err := sess.ReceivePack(ctx, req)
	if rs != nil {
		if rs.UnpackStatus != "ok" && rs.UnpackStatus != "" {
			return fmt.Errorf("the remote could not unpack the objects: %s", rs.UnpackStatus)
		}
		for _, cs := range rs.CommandStatuses {
			if cs.Status == "ok" {
				continue
			}
			if isStaleStatus(cs.Status) {
				return &errStale{branch: branch, reason: cs.Status}
			}
			return &errRefused{reason: cs.Status}
		}
	}
	return err
}

// isStaleStatus tells the refusals a fetch and a new attempt can fix.
func isStaleStatus(s string) bool {
	for _, w := range []string{"non-fast-forward", "fetch first", "stale info", "failed to update ref", "failed to lock", "cannot lock ref", "already exists"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// isAuthError tells authentication and authorization failures.
func isAuthError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) ||
		errors.Is(err, transport.ErrInvalidAuthMethod)
}

// redactErr returns err's message with the credential-bearing URL replaced
// by the redacted one.
func redactErr(err error, remote, url string) string {
	msg := err.Error()
	if remote != url && remote != "" {
		msg = strings.ReplaceAll(msg, remote, url)
	}
	return msg
}
