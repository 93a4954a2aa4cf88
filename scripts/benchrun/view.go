package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// viewTarget is the target of a page of ocu-view (issue 13: the overview
// of the 1,000,000-document store in 100 ms).
const viewTarget = 100 * time.Millisecond

// viewCase times GET path from an ocu-view serving the state store base and
// the intent store intentDir, started for the case on a free loopback port.
// The page is read in this process, over a new connection each time; the
// server keeps its stores open between requests (it reopens them every few
// seconds), as for a user refreshing the page. The reference lists every
// package folder of the store (`find <base>/refs/example/- -mindepth 3
// -maxdepth 3`): the readdir of each package an overview needs at least.
func viewCase(id, name, path string, tool func(string) string, base, intentDir, pkgsDir string,
	writeIntent func() error, want string) *benchCase {
	var (
		srv *exec.Cmd
		url string
	)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	get := func() ([]byte, error) {
		resp, err := client.Get(url + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s: %.300s", path, resp.Status, body)
		}
		return body, err
	}
	return &benchCase{
		id:    id,
		name:  name,
		tools: []string{"ocu-view"},
		setup: func() error {
			if err := writeIntent(); err != nil {
				return err
			}
			var err error
			srv, url, err = startView(tool("ocu-view"), base, intentDir)
			return err
		},
		teardown: func() {
			if srv != nil {
				srv.Process.Signal(syscall.SIGTERM)
				srv.Wait()
			}
		},
		ocu: command{inproc: func() (time.Duration, error) {
			start := time.Now()
			body, err := get()
			d := time.Since(start)
			if err == nil && !strings.Contains(string(body), want) {
				err = fmt.Errorf("GET %s lacks %q", path, want)
			}
			return d, err
		}},
		ref: command{argv: []string{"find", pkgsDir, "-mindepth", "3", "-maxdepth", "3"}},
		refNote: "`find <base>/refs/example/- -mindepth 3 -maxdepth 3` (context only): one listing of every package " +
			"folder, what an overview reads at least; ocu: the page fetched from a running ocu-view over a new " +
			"loopback connection, body read",
		maxTime: viewTarget,
		sized:   true,
	}
}

// startView starts ocu-view on a free loopback port and returns it with
// its URL once it serves.
func startView(bin, base, intentDir string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, "--state-store", base, "--intent-store", intentDir, "--addr", "127.0.0.1:0")
	cmd.Dir = filepath.Dir(intentDir)
	cmd.Env = append(os.Environ(), "OCUROOT_HOME="+filepath.Join(filepath.Dir(intentDir), "view-home"))
	var stderr bytes.Buffer // shown when it does not start
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, out)
	}()
	select {
	case line, ok := <-lines:
		if _, url, found := strings.Cut(line, "Open your browser to: "); ok && found {
			return cmd, url, nil
		}
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", fmt.Errorf("ocu-view did not say where it serves: %q %s", line, strings.TrimSpace(stderr.String()))
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", fmt.Errorf("ocu-view did not start within 30 s")
	}
}
