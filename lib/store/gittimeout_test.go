//go:build unix

package store_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/store/storetest"
)

// hangBound is how long a fetch or push with a 300 ms timeout may take
// before the test calls it a hang: far above the timeout, far below the
// stuck programs' hour.
const hangBound = 30 * time.Second

// stuckScript is a git-upload-pack or git-receive-pack (or a hook) that
// never answers: it starts a child that sleeps for an hour, records the
// child's pid in pidFile and waits for it.
func stuckScript(pidFile string) string {
	return fmt.Sprintf("sleep 3600 &\necho $! > %s\nwait", pidFile)
}

// fakeOnPath puts an executable script name on PATH, first, until the
// test ends or the returned function is called.
func fakeOnPath(t *testing.T, name, script string) (restore func()) {
	t.Helper()
	path := os.Getenv("PATH")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+path)
	return func() { os.Setenv("PATH", path) }
}

// checkKilled waits a little for the process whose pid pidFile holds to
// be gone (or a zombie nobody reaped yet).
func checkKilled(t *testing.T, pidFile string) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the stuck program never ran: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		gone := syscall.Kill(pid, 0) != nil ||
			(err == nil && strings.Contains(string(stat), ") Z "))
		if gone {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the stuck program's child (pid %d) still runs", pid)
		}
	}
}

// TestGitTimeoutFetch: a remote that never answers a fetch fails the open
// within the timeout, naming the URL (without credentials), and the stuck
// program is killed with its children.
func TestGitTimeoutFetch(t *testing.T) {
	t.Run("local upload-pack", func(t *testing.T) {
		remote := newRemote(t)
		pids := filepath.Join(t.TempDir(), "pid")
		fakeOnPath(t, "git-upload-pack", stuckScript(pids))
		o := gitOptions(t, remote, "state")
		o.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := store.OpenGit(ctx, o)
		if took := time.Since(start); took > hangBound {
			t.Fatalf("open took %s", took)
		}
		want := "git store " + remote + " (branch state): cannot fetch: no answer from the remote within 300ms (--git-timeout)"
		if store.CodeOf(err) != store.EGitRemote || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
		checkKilled(t, pids)
	})
	t.Run("https", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		o := gitOptions(t, srv.URL+"/x.git", "state")
		o.Remote = strings.Replace(srv.URL, "http://", "http://user:s3cr3t@", 1) + "/x.git"
		o.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := store.OpenGit(ctx, o)
		if took := time.Since(start); took > hangBound {
			t.Fatalf("open took %s", took)
		}
		want := "git store " + srv.URL + "/x.git (branch state): cannot fetch: no answer from the remote within 300ms (--git-timeout)"
		if store.CodeOf(err) != store.EGitRemote || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
	})
}

// TestGitTimeoutPush: a push the remote never answers fails the write at
// once (no retry) with the URL in its one line, keeps the commit in
// refs/ocu/unpushed, and the next command with a working remote pushes it.
func TestGitTimeoutPush(t *testing.T) {
	tests := []struct {
		name  string
		stick func(t *testing.T, remote, pids string) (unstick func())
	}{
		{"receive-pack that never answers", func(t *testing.T, remote, pids string) func() {
			return fakeOnPath(t, "git-receive-pack", stuckScript(pids))
		}},
		{"pre-receive hook that never ends", func(t *testing.T, remote, pids string) func() {
			writeHook(t, remote, stuckScript(pids))
			return func() { writeHook(t, remote, "") }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := newRemote(t)
			o := gitOptions(t, remote, "state")
			o.Timeout = 300 * time.Millisecond
			o.PushAttempts = 8
			s := openGit(t, o)
			set(t, s, "+/custom/a", 1)
			pids := filepath.Join(t.TempDir(), "pid")
			unstick := tt.stick(t, remote, pids)
			start := time.Now()
			err := s.Commit(ctx, store.NewTx("stuck").Put(storetest.R(t, "+/custom/b"), 2))
			if took := time.Since(start); took > hangBound {
				t.Fatalf("commit took %s", took)
			}
			if store.CodeOf(err) != store.EGitPush {
				t.Fatalf("got %v, want E_GIT_PUSH", err)
			}
			for _, want := range []string{
				"git store " + remote + " (branch state): push failed after 1 attempt: no answer from the remote within 300ms (--git-timeout)",
				"; the change is kept in " + filepath.Join(s.CacheDir(), "repo") + " as refs/ocu/unpushed/",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("more than one line: %q", err)
			}
			checkKilled(t, pids)
			s.Close()
			unstick()
			if got := remoteLog(t, remote, "state"); len(got) != 2 {
				t.Fatalf("the stuck push landed: %q", got)
			}
			s2 := openGit(t, o) // the next command pushes what is kept
			if v := value(t, s2, "+/custom/b"); fmt.Sprint(v) != "2" {
				t.Errorf("b = %v", v)
			}
			if got := remoteLog(t, remote, "state"); len(got) != 3 || got[0] != "ocu: stuck" {
				t.Errorf("remote log %q", got)
			}
			if refs := gitCLI(t, filepath.Join(s2.CacheDir(), "repo"), "for-each-ref", "refs/ocu/"); refs != "" {
				t.Errorf("still kept: %s", refs)
			}
			fsck(t, remote)
		})
	}
}

// TestGitLocalFetchBrokenPack: a local git-upload-pack whose pack breaks
// off mid-stream while it stays alive fails the fetch with the decoding
// error, not with the timeout (the process group is killed when the
// session closes), and the stuck program is gone.
func TestGitLocalFetchBrokenPack(t *testing.T) {
	remote := newRemote(t)
	// A body that compresses badly, so that the pack outgrows what the
	// fake lets through.
	var body strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&body, "%08x", uint32(i)*2654435761)
	}
	pushFiles(t, remote, "state", strs(map[string]string{
		"refs/+/custom/x/@object.json": `{"kind":"ref","body":"` + body.String() + `"}`,
	}), "seed")
	pids := filepath.Join(t.TempDir(), "pid")
	// It cuts the pack short, sends more bytes than a pkt-line holds, none
	// of them valid, and stays alive.
	fakeOnPath(t, "git-upload-pack", fmt.Sprintf(
		`git upload-pack "$@" | { sleep 3600 & echo $! > %s; dd bs=1 count=3000 status=none; head -c 70000 /dev/zero | tr '\0' z; wait; }`, pids))
	o := gitOptions(t, remote, "state")
	o.Timeout = 10 * time.Second
	_, err := store.OpenGit(ctx, o)
	if want := "git store " + remote + " (branch state): cannot fetch: receiving objects: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want the broken pack's error (%q…)", err, want)
	}
	checkKilled(t, pids)
}
