package view_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocu-team/ocu/lib/view"
)

// TestBrowser opens the view of the scenario store in a real headless
// Chromium, driven through chromedriver's WebDriver protocol, and checks
// what a person sees while following links from the index to a release and
// to a log; it saves screenshots in the test's temporary folder, and also
// in $OCU_VIEW_SCREENSHOTS when that is set. It is skipped only when
// Chromium or chromedriver is not installed (Debian: apt-get install
// chromium chromium-driver; .ci/run installs them).
func TestBrowser(t *testing.T) {
	chromium, err1 := exec.LookPath("chromium")
	driver, err2 := exec.LookPath("chromedriver")
	if err1 != nil || err2 != nil {
		t.Skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
	}
	srv := httptest.NewServer(handler(t, scenarioStore(t), view.Options{LoopbackOnly: true}))
	defer srv.Close()
	wd := startDriver(t, driver)
	shots := []string{t.TempDir()}
	if dir := os.Getenv("OCU_VIEW_SCREENSHOTS"); dir != "" {
		shots = append(shots, dir)
	}

	b := wd.newSession(t, chromium)
	// The index: environments, packages and their status, in colour.
	b.open(srv.URL + "/")
	if got := b.title(); got != "State · ocu view" {
		t.Errorf("title %q", got)
	}
	body := b.text(b.find("body"))
	for _, want := range []string{
		"2\nenvironments", "production", "staging", "frontend/release.ocu.star", "broken/release.ocu.star",
		"not deployed", "failed", "running", "pending", "Custom state", "Intent that differs from state",
		"Auto-refresh: off",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the index does not show %q:\n%s", want, body)
		}
	}
	failed := b.find(".packages .s-failed")
	if got := b.css(failed, "background-color"); got != "rgba(253, 226, 225, 1)" {
		t.Errorf("a failed badge is %s, not red: the stylesheet did not apply", got)
	}
	if got := b.css(b.find("body"), "font-family"); !strings.Contains(got, "system-ui") {
		t.Errorf("body font %q: the stylesheet did not apply", got)
	}
	b.screenshot(shots, "index.png")

	// Follow the frontend's latest release from the packages table.
	const rel = "/ref/example/-/frontend/release.ocu.star/@1"
	b.click(b.find(`.packages a[href="` + rel + `"]`))
	b.waitPath(rel)
	page := b.text(b.find("main"))
	for _, want := range []string{
		"complete Release @1 of frontend/release.ocu.star", "Phase staging", "Phase production",
		"call build", "deploy staging", "deploy production", "registry.example.com/frontend:1",
		"https://backend.production.example.com/v1", "previous_count", "default",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the release page does not show %q:\n%s", want, page)
		}
	}
	if got := b.text(b.find("nav.crumbs")); got != "state/example/frontend/release.ocu.star/@1" {
		t.Errorf("breadcrumb %q", got)
	}
	b.screenshot(shots, "release.png")

	// Open the log of the staging deploy.
	const logs = rel + "/deploy/staging/1/logs"
	b.click(b.find(`a[href="` + logs + `"]`))
	b.waitPath(logs)
	if got := b.text(b.find("table.log")); !strings.Contains(got, "deploying registry.example.com/frontend:1 to staging") {
		t.Errorf("the log shows %q", got)
	}
	b.screenshot(shots, "log.png")

	// A failed deploy shows its error and its log at once.
	b.open(srv.URL + "/ref/example/-/broken/release.ocu.star/@1")
	if got := b.text(b.find("pre.error")); got != "fail: production is closed today" {
		t.Errorf("error %q", got)
	}
	if got := b.text(b.find("details.logs[open] tr.stream2")); !strings.Contains(got, "production is closed today") {
		t.Errorf("failed log line %q", got)
	}
	b.screenshot(shots, "failed.png")

	// The search box finds refs.
	b.typeText(b.find(`header input[name="glob"]`), "**/deploy/production")
	b.click(b.find("header form.search button"))
	b.waitPath("/match/**/deploy/production")
	if got := b.text(b.find("ul.refs")); !strings.Contains(got, "example/-/backend/release.ocu.star/@1/deploy/production") {
		t.Errorf("matches: %q", got)
	}

	// Auto-refresh, offered while work runs.
	b.open(srv.URL + "/")
	b.click(b.find("a.refresh"))
	b.waitURL(func(u string) bool { return strings.HasSuffix(u, "/?refresh=1") })
	if got := b.text(b.find("a.refresh")); got != "Auto-refresh: on" {
		t.Errorf("after the toggle: %q", got)
	}
	b.close()

	// Dark mode follows the browser's preference.
	d := wd.newSession(t, chromium, "--force-dark-mode")
	d.open(srv.URL + "/")
	if got := d.css(d.find("html"), "background-color"); got != "rgba(20, 23, 28, 1)" {
		t.Errorf("dark mode background %s", got)
	}
	d.screenshot(shots, "index-dark.png")
	d.close()
}

// webDriver is a chromedriver process spoken to over HTTP (W3C WebDriver).
type webDriver struct {
	t    *testing.T
	base string
}

// startDriver starts chromedriver on a free loopback port.
func startDriver(t *testing.T, driver string) *webDriver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("chromedriver:\n%s", logs.String())
		}
	})
	wd := &webDriver{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := wd.call(http.MethodGet, "/status", nil, &status); err == nil && status.Ready {
			return wd
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver is not ready: %s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call sends a WebDriver command and decodes its "value" into out.
func (wd *webDriver) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, wd.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var reply struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &reply); err != nil {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, reply.Value)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(reply.Value, out)
}

// session is one browser.
type session struct {
	t  *testing.T
	wd *webDriver
	id string
}

// newSession starts a headless Chromium with a fresh profile.
func (wd *webDriver) newSession(t *testing.T, chromium string, extra ...string) *session {
	t.Helper()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--window-size=1280,1000", "--user-data-dir=" + t.TempDir(),
	}, extra...)
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":        "chrome",
		"goog:chromeOptions": map[string]any{"binary": chromium, "args": args},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := wd.call(http.MethodPost, "/session", caps, &created); err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, wd: wd, id: created.SessionID}
	t.Cleanup(s.close)
	return s
}

func (s *session) do(method, path string, in, out any) {
	s.t.Helper()
	if err := s.wd.call(method, "/session/"+s.id+path, in, out); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) close() {
	if s.id != "" {
		s.wd.call(http.MethodDelete, "/session/"+s.id, nil, nil)
		s.id = ""
	}
}

func (s *session) open(u string) {
	s.t.Helper()
	s.do(http.MethodPost, "/url", map[string]string{"url": u}, nil)
}

func (s *session) url() string {
	s.t.Helper()
	var u string
	s.do(http.MethodGet, "/url", nil, &u)
	return u
}

// waitPath waits until the page shown is at path want: a click starts a
// navigation the browser may finish after the click returns (a form's
// submission, a redirect).
func (s *session) waitPath(want string) {
	s.t.Helper()
	s.waitURL(func(u string) bool {
		p, err := url.Parse(u)
		return err == nil && p.Path == want
	})
}

// waitURL waits until the URL of the page shown satisfies ok, and for the
// page to be loaded.
func (s *session) waitURL(ok func(string) bool) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		u := s.url()
		if ok(u) {
			var state string
			s.do(http.MethodPost, "/execute/sync", map[string]any{"script": "return document.readyState", "args": []any{}}, &state)
			if state == "complete" {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("still at %s", u)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *session) title() string {
	s.t.Helper()
	var title string
	s.do(http.MethodGet, "/title", nil, &title)
	return title
}

// find returns the first element matching a CSS selector.
func (s *session) find(css string) string {
	s.t.Helper()
	var el map[string]string
	s.do(http.MethodPost, "/element", map[string]string{"using": "css selector", "value": css}, &el)
	for _, id := range el {
		return id
	}
	s.t.Fatalf("no element %s", css)
	return ""
}

// text is the text of an element as rendered (what a person sees).
func (s *session) text(el string) string {
	s.t.Helper()
	var text string
	s.do(http.MethodGet, "/element/"+el+"/text", nil, &text)
	return text
}

func (s *session) css(el, prop string) string {
	s.t.Helper()
	var v string
	s.do(http.MethodGet, "/element/"+el+"/css/"+prop, nil, &v)
	return v
}

func (s *session) click(el string) {
	s.t.Helper()
	s.do(http.MethodPost, "/element/"+el+"/click", map[string]any{}, nil)
}

func (s *session) typeText(el, text string) {
	s.t.Helper()
	s.do(http.MethodPost, "/element/"+el+"/value", map[string]string{"text": text}, nil)
}

// screenshot saves the page shown as PNG named name in each folder.
func (s *session) screenshot(dirs []string, name string) {
	s.t.Helper()
	var b64 string
	s.do(http.MethodGet, "/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		s.t.Fatalf("screenshot: %v", err)
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			s.t.Fatal(err)
		}
		s.t.Logf("screenshot %s", p)
	}
}
