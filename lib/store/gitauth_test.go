//go:build unix

package store_test

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/lib/store"
)

// httpRemote serves a bare repository over smart HTTP on the loopback
// interface (git http-backend), accepting only user:token.
func httpRemote(t *testing.T, user, token string) (url, remote string) {
	t.Helper()
	remote = newRemote(t)
	gitCLI(t, remote, "config", "http.receivepack", "true")
	execPath := strings.TrimSpace(gitCLI(t, "", "--exec-path"))
	backend := &cgi.Handler{
		Path: filepath.Join(execPath, "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Dir(remote), "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + user},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(remote), remote
}

func TestGitHTTPToken(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	url, remote := httpRemote(t, "x-access-token", "t0k3n")
	tests := []struct {
		name string
		url  string // the remote, as the transport gets it
		auth store.GitAuth
		code store.Code
	}{
		{"token from the environment", url, store.GitAuth{Token: "t0k3n"}, ""},
		{"credentials in the URL", strings.Replace(url, "://", "://x-access-token:t0k3n@", 1), store.GitAuth{}, ""},
		{"no token", url, store.GitAuth{}, store.EGitAuth},
		{"wrong token", url, store.GitAuth{Token: "wrong-t0k3n-value"}, store.EGitAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := gitOptions(t, url, "state")
			o.Remote, o.Auth = tt.url, tt.auth
			s, err := store.OpenGit(ctx, o)
			if tt.code != "" {
				if store.CodeOf(err) != tt.code || !strings.Contains(err.Error(), "git store "+url+": authentication failed") {
					t.Fatalf("got %v, want %s", err, tt.code)
				}
				if strings.Contains(err.Error(), "t0k3n") {
					t.Errorf("the token is in %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			set(t, s, "+/custom/"+strings.ReplaceAll(tt.name, " ", "-"), tt.name)
		})
	}
	if n := len(remoteLog(t, remote, "state")); n != 3 {
		t.Errorf("%d commits over http, want 3", n)
	}
	fsck(t, remote)
}
