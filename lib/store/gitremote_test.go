//go:build unix

package store

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// TestGitRemoteAuth checks which credentials each kind of remote gets;
// nothing is dialled but a local ssh-agent.
func TestGitRemoteAuth(t *testing.T) {
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	known := filepath.Join(dir, "known_hosts")
	sshPub, _ := ssh.NewPublicKey(pub)
	os.WriteFile(known, []byte("git.example.com "+string(ssh.MarshalAuthorizedKey(sshPub))), 0o644)

	// An ssh-agent holding the key, on a socket.
	keyring := agent.NewKeyring()
	keyring.Add(agent.AddedKey{PrivateKey: priv})
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, c)
		}
	}()

	tests := []struct {
		name   string
		remote string
		auth   GitAuth
		check  func(t *testing.T, r *gitRemote)
		err    string
	}{
		{"https token", "https://git.example.com/x.git", GitAuth{Token: "tok"}, func(t *testing.T, r *gitRemote) {
			if a, ok := r.auth.(*githttp.BasicAuth); !ok || a.Username != "x-access-token" || a.Password != "tok" {
				t.Errorf("auth %#v", r.auth)
			}
		}, ""},
		{"https token and user", "https://git.example.com/x.git", GitAuth{Token: "tok", Username: "oauth2"}, func(t *testing.T, r *gitRemote) {
			if a, ok := r.auth.(*githttp.BasicAuth); !ok || a.Username != "oauth2" {
				t.Errorf("auth %#v", r.auth)
			}
		}, ""},
		{"https credentials in the URL win", "https://u:p@git.example.com/x.git", GitAuth{Token: "tok"}, func(t *testing.T, r *gitRemote) {
			if a, ok := r.auth.(*githttp.BasicAuth); !ok || a.Username != "u" || a.Password != "p" {
				t.Errorf("auth %#v", r.auth)
			}
		}, ""},
		{"https without credentials", "https://git.example.com/x.git", GitAuth{}, func(t *testing.T, r *gitRemote) {
			if r.auth != nil {
				t.Errorf("auth %#v", r.auth)
			}
		}, ""},
		{"ssh key file", "git@git.example.com:org/x.git", GitAuth{SSHKeyFile: keyFile, KnownHosts: []string{known}}, func(t *testing.T, r *gitRemote) {
			if a, ok := r.auth.(*gitssh.PublicKeys); !ok || a.User != "git" || a.HostKeyCallback == nil {
				t.Errorf("auth %#v", r.auth)
			}
		}, ""},
		{"ssh agent", "ssh://deploy@git.example.com/x.git", GitAuth{SSHAgentSocket: sock, KnownHosts: []string{"/nonexistent", known}}, func(t *testing.T, r *gitRemote) {
			a, ok := r.auth.(*gitssh.PublicKeysCallback)
			if !ok || a.User != "deploy" {
				t.Fatalf("auth %#v", r.auth)
			}
			signers, err := a.Callback()
			if err != nil || len(signers) != 1 {
				t.Errorf("agent signers: %v, %v", signers, err)
			}
		}, ""},
		{"ssh without known_hosts", "git@git.example.com:x.git", GitAuth{SSHKeyFile: keyFile, KnownHosts: []string{"/nonexistent"}}, nil, "no known_hosts file"},
		{"ssh without a key", "git@git.example.com:x.git", GitAuth{KnownHosts: []string{known}}, nil, "ssh needs an ssh-agent (SSH_AUTH_SOCK) or a key file (OCU_GIT_SSH_KEY)"},
		{"ssh with a missing key file", "git@git.example.com:x.git", GitAuth{SSHKeyFile: "/nonexistent/key", KnownHosts: []string{known}}, nil, "ssh key /nonexistent/key"},
		{"local path", "/srv/git/x.git", GitAuth{Token: "tok"}, func(t *testing.T, r *gitRemote) {
			if r.auth != nil || r.ep.Protocol != "file" {
				t.Errorf("auth %#v, protocol %s", r.auth, r.ep.Protocol)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := newGitRemote("redacted", tt.remote, tt.auth, time.Minute)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || CodeOf(err) != EGitAuth {
					t.Fatalf("got %v, want E_GIT_AUTH %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			tt.check(t, r)
		})
	}
}
