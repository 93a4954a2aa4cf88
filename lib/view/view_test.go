package view_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/internal/viewtest"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/view"
)

// scenarioStore writes the scenario into a state store and an intent store
// in a temporary folder and returns them combined.
func scenarioStore(t testing.TB) store.Store {
	t.Helper()
	dir := t.TempDir()
	state, err := store.OpenFS(filepath.Join(dir, "state"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	intent, err := store.OpenFS(filepath.Join(dir, "intent"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := store.NewCombined(state, intent)
	t.Cleanup(func() { s.Close() })
	if err := viewtest.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// handler serves s.
func handler(t testing.TB, s store.Store, opts view.Options) http.Handler {
	t.Helper()
	opts.Open = func(context.Context) (store.Store, func(), error) { return s, func() {}, nil }
	h, err := view.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// response is what a request got.
type response struct {
	code int
	hdr  http.Header
	body string
}

func do(h http.Handler, method, target string, body io.Reader) response {
	req := httptest.NewRequest(method, target, body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

func put(t *testing.T, s store.Store, r string, v any) {
	t.Helper()
	if err := s.Commit(context.Background(), store.NewTx("test").Put(mustRef(t, r), v)); err != nil {
		t.Fatal(err)
	}
}

func mustRef(t testing.TB, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	fe = viewtest.Frontend
	be = viewtest.Backend
	br = viewtest.Broken
	ts = viewtest.TwoStep
)

// TestPages requests every kind of page of the scenario and checks what it
// shows.
func TestPages(t *testing.T) {
	h := handler(t, scenarioStore(t), view.Options{})
	tests := []struct {
		name     string
		path     string
		code     int
		contains []string
		excludes []string
	}{
		{name: "index", path: "/", code: 200, contains: []string{
			// the overview
			"staging", "production", "frontend/release.ocu.star",
			// counts
			"<b>2</b> environments", "<b>5</b> packages", "<b>5</b> deployments",
			// packages with their latest release and status
			`href="/ref/example/-/backend/release.ocu.star/@1"`, `class="badge s-failed">failed`,
			`class="badge s-running">running`, `class="badge s-pending">pending`,
			// what is deployed in each environment; the failed deploy
			`href="/ref/example/-/broken/release.ocu.star"`, "not deployed",
			// custom state, and intent not applied
			"/ref/@/custom/team", "not applied yet", `href="/ref/&#43;/custom/freeze"`,
			// work runs: the auto-refresh toggle
			"Auto-refresh: off", `href="/?refresh=1"`,
		}},
		{name: "auto-refresh on", path: "/?refresh=1", code: 200, contains: []string{
			`<meta http-equiv="refresh" content="5">`, "Auto-refresh: on", `href="/"`,
		}},
		{name: "release", path: "/ref/" + fe + "/@1", code: 200, contains: []string{
			"Release <b>@1</b>", "Phase staging", "Phase production", "call build", "deploy production",
			"registry.example.com/frontend:1", "backend.production.example.com", viewtest.Commit,
			`class="badge s-complete">complete`, "run 1", "function 1",
			// inputs with the ref they come from, dependencies, logs
			"previous_count", `href="/ref/` + be + `/@/deploy/staging%23output/url"`,
			`href="/match/` + fe + `/@1/deploy/staging/*/status/complete"`,
			"deploying registry.example.com/frontend:1 to staging",
			`href="/ref/` + fe + `/@1/deploy/staging/1/logs"`,
		}},
		{name: "failed release", path: "/ref/" + br + "/@1", code: 200, contains: []string{
			`class="badge s-failed">failed</span> Release`, "fail: production is closed today",
			`<details class="logs" open>`, `class="stream2"`,
		}, excludes: []string{"Chain output"}}, // done() without outputs: none to show
		{name: "paused release", path: "/ref/" + ts + "/@1", code: 200, contains: []string{
			`class="badge s-pending">pending</span> Release`,
			"waiting for input ok (" + ts + "/@1/custom/confirm)", "Auto-refresh",
		}, excludes: []string{"Chain output"}},
		{name: "call work copy", path: "/ref/" + fe + "/@1/call/build", code: 200, contains: []string{
			"registry.example.com/frontend:1",
		}},
		{name: "link followed", path: "/ref/" + fe + "/@/deploy/production", code: 200, contains: []string{
			"backend.production.example.com",
			`<span class="label">link</span> → <a href="/ref/` + fe + `/@1/deploy/production/1">`,
		}},
		{name: "latest release", path: "/ref/" + fe + "/@", code: 200, contains: []string{
			`<span class="label">latest release</span>`, "Phase production",
		}},
		{name: "tag", path: "/ref/" + ts + "/@rc", code: 200, contains: []string{
			`<span class="label">link</span> → <a href="/ref/` + ts + `/@1">`,
		}},
		{name: "back-links of a release", path: "/ref/" + ts + "/@1", code: 200, contains: []string{
			"Links here", `href="/ref/` + ts + `/@rc"`,
		}},
		{name: "back-links of a chain", path: "/ref/" + fe + "/@1/deploy/production/1", code: 200, contains: []string{
			`href="/ref/` + fe + `/@/deploy/production"`, `href="/ref/` + fe + `/@/deploy/production/1"`,
		}},
		{name: "log", path: "/ref/" + fe + "/@1/deploy/staging/1/logs", code: 200, contains: []string{
			"deploying registry.example.com/frontend:1 to staging",
			`<td class="th" title="frontend/release.ocu.star:10">up</td>`,
		}},
		{name: "function", path: "/ref/" + br + "/@1/deploy/production/1/functions/1", code: 200, contains: []string{
			`<pre class="error">fail: production is closed today</pre>`, "ci-runner-03",
		}},
		{name: "environment", path: "/ref/@/environment/production", code: 200, contains: []string{
			"frontend/release.ocu.star",
			"Environment <b>production</b>", "https://backend.production.example.com/v1",
			"2025-06-02 09:01:53 UTC", `intent: <a href="/ref/` + br + `/@1">`,
		}},
		{name: "folder of packages", path: "/ref/example/-/frontend", code: 200, contains: []string{
			`href="/ref/` + fe + `"`,
		}, excludes: []string{"Releases"}},
		{name: "package", path: "/ref/" + fe, code: 200, contains: []string{
			"Releases", `href="/ref/` + fe + `/@1"`, "2025-06-02 09:01:40 UTC", "Deployments",
			`href="/ref/@/environment/staging"`, `href="/ref/` + fe + `/&#43;"`,
		}, excludes: []string{"No document here"}},
		{name: "fragment", path: "/ref/" + fe + "/@1%23package/phases/1/name", code: 200, contains: []string{
			`<span class="s">&#34;staging&#34;</span>`, `<span class="here">#package/phases/1/name</span>`,
		}},
		{name: "root", path: "/ref/", code: 200, contains: []string{
			`href="/ref/example"`, `href="/ref/@"`, `href="/ref/&#43;"`,
		}},
		{name: "repo folder", path: "/ref/example/-/", code: 200, contains: []string{
			`href="/ref/example/-/frontend"`, `href="/ref/example/-/repo.ocu.star"`,
		}},
		{name: "type folder", path: "/ref/" + fe + "/@1/deploy", code: 200, contains: []string{
			`href="/ref/` + fe + `/@1/deploy/production"`, `href="/ref/` + fe + `/@1/deploy/staging"`,
		}},
		{name: "breadcrumb", path: "/ref/" + fe + "/@1/deploy/staging/1/logs", code: 200, contains: []string{
			`<a href="/ref/example/-/">example</a>`, `<a href="/ref/example/-/frontend/release.ocu.star">release.ocu.star</a>`,
			`<a href="/ref/` + fe + `/@1">@1</a>`, `<a href="/ref/` + fe + `/@1/deploy">deploy</a>`,
		}},
		{name: "intent, + is no space", path: "/ref/+/custom/team", code: 200, contains: []string{
			"alice", "oncall",
		}},
		{name: "percent-decoded", path: "/ref/%40/environment/staging", code: 200, contains: []string{
			"Environment <b>staging</b>",
		}},
		{name: "match", path: "/match/**/deploy/production", code: 200, contains: []string{
			"example/-/backend/release.ocu.star/@1/deploy/production",
			`<input type="search" name="glob" value="**/deploy/production"`,
		}},
		{name: "match page", path: "/match/", code: 200, contains: []string{`name="glob"`}},
		{name: "bad glob", path: "/match/%5B", code: 400, contains: []string{"invalid glob"}},
		{name: "work", path: "/work", code: 200, contains: []string{
			"slow/release.ocu.star @1", `class="badge s-running">running`, "input ok (" + ts + "/@1/custom/confirm)",
		}},
		// misses
		{name: "unknown environment", path: "/ref/@/environment/nowhere", code: 404, contains: []string{"404 Not Found"}},
		{name: "unknown package", path: "/ref/example/-/nowhere.ocu.star", code: 404},
		{name: "unknown fragment", path: "/ref/" + fe + "/@1%23nokey", code: 404, contains: []string{`no key`}},
		{name: "invalid ref", path: "/ref/example/-/a/../b", code: 400},
		{name: "relative ref", path: "/ref/frontend/release.ocu.star", code: 404, contains: []string{"absolute refs"}},
		{name: "not a ref", path: "/ref/a%20b", code: 400, contains: []string{"invalid ref"}},
		{name: "unknown page", path: "/nowhere", code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(h, http.MethodGet, tt.path, nil)
			if got.code != tt.code {
				t.Errorf("GET %s: %d, want %d\n%s", tt.path, got.code, tt.code, got.body)
			}
			if ct := got.hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, s := range tt.contains {
				if !strings.Contains(got.body, s) {
					t.Errorf("GET %s lacks %q", tt.path, s)
				}
			}
			for _, s := range tt.excludes {
				if strings.Contains(got.body, s) {
					t.Errorf("GET %s shows %q", tt.path, s)
				}
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	h := handler(t, scenarioStore(t), view.Options{})
	tests := []struct {
		path, location string
		code           int
	}{
		{"/ref/example", "/ref/example/-/", http.StatusFound},
		{"/match?glob=" + "%2A%2A%2Fdeploy%2F%7Bstaging%2Cproduction%7D", "/match/**/deploy/{staging,production}", http.StatusSeeOther},
		{"/match?glob=a+b%23", "/match/a%20b%23", http.StatusSeeOther},
		{"/match?glob=", "/match/", http.StatusSeeOther},
		{"/favicon.ico", "/static/favicon.svg", http.StatusMovedPermanently},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := do(h, http.MethodGet, tt.path, nil)
			if got.code != tt.code || got.hdr.Get("Location") != tt.location {
				t.Errorf("GET %s: %d Location %q, want %d %q", tt.path, got.code, got.hdr.Get("Location"), tt.code, tt.location)
			}
		})
	}
}

func TestAPI(t *testing.T) {
	h := handler(t, scenarioStore(t), view.Options{})
	tests := []struct {
		path string
		code int
		want any
	}{
		{"/api/get/@/environment/production", 200, map[string]any{"attributes": map[string]any{"type": "prod"}, "name": "production"}},
		{"/api/get/" + fe + "/@/deploy/production%23output/count", 200, float64(1)},
		{"/api/get/+/custom/freeze", 200, true},
		{"/api/get/@/environment/nowhere", 404, map[string]any{"error": "@/environment/nowhere: not found"}},
		{"/api/get/frontend", 400, map[string]any{"error": "frontend: the view reads absolute refs"}},
		{"/api/match/@/environment/*", 200, []any{"@/environment/production", "@/environment/staging"}},
		{"/api/match/**/@*/deploy/production", 200, []any{
			be + "/@/deploy/production", be + "/@1/deploy/production",
			fe + "/@/deploy/production", fe + "/@1/deploy/production",
		}},
		{"/api/match/**/+/deploy/*", 200, []any{
			be + "/+/deploy/production", be + "/+/deploy/staging",
			br + "/+/deploy/production", br + "/+/deploy/staging",
			fe + "/+/deploy/production", fe + "/+/deploy/staging",
			ts + "/+/deploy/production", ts + "/+/deploy/staging",
		}},
		{"/api/match/@/nothing/*", 200, []any{}},
		{"/api/match/%5B", 400, map[string]any{"error": `invalid glob "[": glob: syntax error at 1: unexpected end of input`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := do(h, http.MethodGet, tt.path, nil)
			if got.code != tt.code {
				t.Errorf("GET %s: %d, want %d: %s", tt.path, got.code, tt.code, got.body)
			}
			if ct := got.hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var v any
			if err := json.Unmarshal([]byte(got.body), &v); err != nil {
				t.Fatalf("%s: %v", got.body, err)
			}
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

// TestReadOnly checks that only GET and HEAD are served and that nothing
// is written.
func TestReadOnly(t *testing.T) {
	s := scenarioStore(t)
	h := handler(t, s, view.Options{})
	paths := []string{"/", "/ref/+/custom/x", "/api/get/+/custom/x", "/match/**", "/static/style.css", "/nowhere"}
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"} {
		for _, p := range paths {
			t.Run(method+" "+p, func(t *testing.T) {
				got := do(h, method, p, strings.NewReader("1"))
				if got.code != http.StatusMethodNotAllowed || got.hdr.Get("Allow") != "GET, HEAD" {
					t.Errorf("%s %s: %d, Allow %q; want 405, \"GET, HEAD\"", method, p, got.code, got.hdr.Get("Allow"))
				}
			})
		}
	}
	if _, err := s.Get(context.Background(), mustRef(t, "+/custom/x")); store.CodeOf(err) != store.ENotFound {
		t.Errorf("+/custom/x after the requests: %v, want not found", err)
	}
	for _, p := range []string{"/", "/ref/" + fe + "/@1", "/static/style.css"} {
		got := do(h, http.MethodHead, p, nil)
		if got.code != http.StatusOK {
			t.Errorf("HEAD %s: %d", p, got.code)
		}
	}
}

// TestEscaping stores hostile text everywhere a page shows document text
// and checks that none of it reaches a page as markup.
func TestEscaping(t *testing.T) {
	s := scenarioStore(t)
	const xss = `<script>alert(1)</script>`
	put(t, s, "+/custom/xss", xss)
	put(t, s, "@/custom/xss", map[string]any{`"><img src=x onerror=alert(2)>`: xss, "js": "javascript:alert(3)"})
	put(t, s, "@/environment/evil", map[string]any{"attributes": map[string]any{"type": xss, `"><i id=pwn>`: "x"}, "name": "evil"})
	put(t, s, fe+"/@1/deploy/staging/1/logs", []any{map[string]any{
		"attributes": map[string]any{"col": "1", "filename": `"><i id=pwn>`, "line": "1", "thread": xss},
		"message":    xss, "stream": 2, "timestamp": "2025-06-02T09:00:00Z",
	}})
	h := handler(t, s, view.Options{})
	pages := []string{
		"/", "/ref/+/custom/xss", "/ref/@/custom/xss", "/ref/@/environment/evil", "/ref/" + fe + "/@1",
		"/ref/" + fe + "/@1/deploy/staging/1/logs", "/match/+/custom/*", "/work",
		"/match/" + "%3Cscript%3E", "/ref/%3Cscript%3E", "/nowhere%3Cscript%3E",
	}
	for _, p := range pages {
		t.Run(p, func(t *testing.T) {
			got := do(h, http.MethodGet, p, nil)
			for _, bad := range []string{"<script", "<img", "<i id=pwn", `href="javascript`, "=javascript"} {
				if strings.Contains(got.body, bad) {
					t.Errorf("GET %s: page holds %q unescaped", p, bad)
				}
			}
			if !strings.Contains(got.hdr.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("GET %s: Content-Security-Policy %q", p, got.hdr.Get("Content-Security-Policy"))
			}
			if got.hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no nosniff", p)
			}
		})
	}
	if got := do(h, http.MethodGet, "/ref/+/custom/xss", nil); !strings.Contains(got.body, "&lt;script&gt;") {
		t.Errorf("/ref/+/custom/xss does not show the escaped text:\n%s", got.body)
	}
}

func TestLoopbackOnly(t *testing.T) {
	h := handler(t, scenarioStore(t), view.Options{LoopbackOnly: true})
	tests := []struct {
		host string
		code int
	}{
		{"127.0.0.1:3000", 200},
		{"localhost:3000", 200},
		{"localhost", 200},
		{"[::1]:3000", 200},
		{"127.1.2.3", 200},
		{"view.localhost:3000", 200},
		{"evil.example:3000", 403},
		{"10.0.0.1:3000", 403},
		{"", 403},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Host = tt.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("Host %q: %d, want %d", tt.host, rec.Code, tt.code)
			}
		})
	}
}

func TestStatic(t *testing.T) {
	h := handler(t, scenarioStore(t), view.Options{})
	tests := []struct {
		path, contentType string
		code              int
	}{
		{"/static/style.css", "text/css; charset=utf-8", 200},
		{"/static/favicon.svg", "image/svg+xml", 200},
		{"/static/nothing.css", "", 404},
		{"/static/", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := do(h, http.MethodGet, tt.path, nil)
			if got.code != tt.code || (tt.contentType != "" && got.hdr.Get("Content-Type") != tt.contentType) {
				t.Errorf("GET %s: %d %q", tt.path, got.code, got.hdr.Get("Content-Type"))
			}
		})
	}
	css := do(h, http.MethodGet, "/static/style.css", nil).body
	for _, s := range []string{"prefers-color-scheme: dark", ".s-failed", ".s-complete", ".s-running", ".s-pending"} {
		if !strings.Contains(css, s) {
			t.Errorf("style.css lacks %q", s)
		}
	}
	if strings.Contains(css, "http") || strings.Contains(css, "@import") {
		t.Error("style.css loads something from elsewhere")
	}
}

// TestOpenFailure checks the page shown when the store cannot be opened.
func TestOpenFailure(t *testing.T) {
	h, err := view.New(view.Options{Open: func(context.Context) (store.Store, func(), error) {
		return nil, nil, &store.Error{Code: store.EVersion, Msg: "unsupported store version 2"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := do(h, http.MethodGet, "/", nil)
	if got.code != 500 || !strings.Contains(got.body, "unsupported store version 2") {
		t.Errorf("%d %s", got.code, got.body)
	}
}

// opaque hides the type of a store, as a git store would look to the view.
type opaque struct{ store.Store }

// TestRepos checks how repos are found: through the store's folders, by a
// walk when the store is not a filesystem store, and by name for repos
// holding '/', which no folder listing reaches.
func TestRepos(t *testing.T) {
	s := scenarioStore(t)
	const slashed = "github.com/org/repo/-/svc/release.ocu.star"
	put(t, s, slashed+"/@1", map[string]any{"commit": viewtest.Commit, "package": map[string]any{}})
	tests := []struct {
		name     string
		s        store.Store
		repos    []string
		contains []string
		excludes []string
	}{
		{name: "filesystem", s: s, contains: []string{
			`href="/ref/` + fe + `"`, "Other folders", `href="/ref/github.com"`,
		}, excludes: []string{"svc/release.ocu.star"}},
		{name: "not a filesystem store", s: opaque{s}, contains: []string{
			`href="/ref/` + fe + `"`, `href="/ref/` + ts + `/@1"`,
		}},
		{name: "named repo", s: s, repos: []string{"github.com/org/repo", "gitlab.com/absent"}, contains: []string{
			`href="/ref/` + fe + `"`, `href="/ref/` + slashed + `"`,
			`<span class="muted">github.com/org/repo/-/</span>svc/release.ocu.star`,
		}, excludes: []string{"Other folders", "absent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(handler(t, tt.s, view.Options{Repos: tt.repos}), http.MethodGet, "/", nil)
			if got.code != http.StatusOK {
				t.Fatalf("%d\n%s", got.code, got.body)
			}
			for _, want := range tt.contains {
				if !strings.Contains(got.body, want) {
					t.Errorf("index lacks %q", want)
				}
			}
			for _, bad := range tt.excludes {
				if strings.Contains(got.body, bad) {
					t.Errorf("index shows %q", bad)
				}
			}
		})
	}
	// The parts of a repo name are folders to browse.
	h := handler(t, s, view.Options{})
	for path, want := range map[string]string{
		"/ref/github.com":     `href="/ref/github.com/org"`,
		"/ref/github.com/org": `href="/ref/github.com/org/repo"`,
		"/ref/github.com/org/repo/-/svc/release.ocu.star": `href="/ref/github.com/org/repo/-/svc/release.ocu.star/@1"`,
	} {
		if got := do(h, http.MethodGet, path, nil); got.code != 200 || !strings.Contains(got.body, want) {
			t.Errorf("GET %s: %d, lacks %q", path, got.code, want)
		}
	}
}

// TestLargeValues serves a document nested 9,999 levels deep (written
// before stores refused such values: a 20 KB value that would print as
// 100 MB) and a log of 10,000 lines: the pages stay small, show the part
// they can and link to the whole value as JSON.
func TestLargeValues(t *testing.T) {
	dir := t.TempDir()
	body := strings.Repeat("[", 9_999) + strings.Repeat("]", 9_999)
	obj := filepath.Join(dir, "refs", "@", "custom", "deep", "@object.json")
	if err := os.MkdirAll(filepath.Dir(obj), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, []byte(`{"kind":"ref","body":`+body+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenFS(dir, store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const logs = "example/-/f.ocu.star/@1/call/build/1/logs"
	lines := make([]any, 10_000)
	for i := range lines {
		lines[i] = map[string]any{"message": fmt.Sprintf("line %d", i), "stream": 1, "timestamp": "2025-06-02T09:00:00Z"}
	}
	put(t, s, logs, lines)
	put(t, s, strings.TrimSuffix(logs, "/logs"), map[string]any{"type": "up"})
	h := handler(t, s, view.Options{})

	tests := []struct {
		path   string
		want   []string
		absent string // a line that must be left out
	}{
		{"/ref/@/custom/deep", []string{`cut: the value is too large or too deeply nested`, `href="/api/get/@/custom/deep"`}, ""},
		{"/ref/" + logs, []string{"… 8000 earlier lines not shown", `href="/api/get/` + logs + `"`, "line 9999", "line 8000<"}, "line 7999<"},
		// Inside a run, among others, a log shows fewer lines.
		{"/ref/" + strings.TrimSuffix(logs, "/logs"), []string{"Logs · 10000 lines", "… 9800 earlier lines not shown", `href="/api/get/` + logs + `"`, "line 9999", "line 9800<"}, "line 9799<"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := do(h, http.MethodGet, tt.path, nil)
			if got.code != http.StatusOK {
				t.Fatalf("GET %s: %d", tt.path, got.code)
			}
			if len(got.body) > 4<<20 {
				t.Errorf("GET %s: %d bytes", tt.path, len(got.body))
			}
			for _, w := range tt.want {
				if !strings.Contains(got.body, w) {
					t.Errorf("GET %s: no %q", tt.path, w)
				}
			}
			if tt.absent != "" && strings.Contains(got.body, tt.absent) {
				t.Errorf("GET %s: shows %q, which it should leave out", tt.path, tt.absent)
			}
		})
	}
	// The deep value is shown down to the depth a store accepts.
	if got := strings.Count(do(h, http.MethodGet, "/ref/@/custom/deep", nil).body, "["); got < state.MaxNesting || got > state.MaxNesting+20 {
		t.Errorf("/ref/@/custom/deep shows %d levels, want %d", got, state.MaxNesting)
	}
	// The raw API still serves all of it, on one line.
	if got := do(h, http.MethodGet, "/api/get/@/custom/deep", nil); got.code != http.StatusOK || strings.Count(got.body, "[") != 9_999 || len(got.body) > 20_000 {
		t.Errorf("/api/get/@/custom/deep: %d, %d brackets, %d bytes", got.code, strings.Count(got.body, "["), len(got.body))
	}
}
