package sdk

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.starlark.net/starlark"
)

// received is a request as the test server saw it.
type received struct {
	Method, Path, Body string
	Header             http.Header
}

// testServer is a local HTTP server recording the requests it receives:
//
//	/echo         201 Created, headers X-Reply: [a, b], body "METHOD BODY"
//	/status/N     status N, body "status N"
//	/big/N        N bytes of "x"
//	/slow         answers when the client gives up
type testServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	s := &testServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, received{Method: r.Method, Path: r.URL.Path, Body: string(body), Header: r.Header.Clone()})
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/echo":
		w.Header().Add("X-Reply", "a")
		w.Header().Add("X-Reply", "b")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, r.Method+" "+string(body))
	case strings.HasPrefix(r.URL.Path, "/status/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.WriteHeader(code)
		io.WriteString(w, "status "+strconv.Itoa(code))
	case strings.HasPrefix(r.URL.Path, "/big/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/big/"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		io.Copy(w, io.LimitReader(zeroX{}, int64(n)))
	case r.URL.Path == "/slow":
		<-r.Context().Done()
	default:
		http.NotFound(w, r)
	}
}

func (s *testServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.requests...)
}

// zeroX reads as an endless run of 'x'.
type zeroX struct{}

func (zeroX) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// execHTTP evaluates src after a line setting the global U to url.
func execHTTP(t *testing.T, h *Host, url, src string) (starlark.StringDict, error) {
	t.Helper()
	return execSrc(t, h, "U = "+strconv.Quote(url)+"\n"+src)
}

func TestHTTPVerbs(t *testing.T) {
	tests := []struct {
		member, method string
		body           bool // the member takes a body
	}{
		{"get", "GET", false},
		{"head", "HEAD", true},
		{"post", "POST", true},
		{"put", "PUT", true},
		{"patch", "PATCH", true},
		{"delete", "DELETE", true},
	}
	for _, tt := range tests {
		t.Run(tt.member, func(t *testing.T) {
			srv := newTestServer(t)
			h, _ := testHost(t)
			args := `U + "/echo", headers={"X-One": "1", "X-Many": ["a", "b"]}`
			sent := ""
			if tt.body {
				args += `, body='{"commit": "abc"}'`
				sent = `{"commit": "abc"}`
			}
			g, err := execHTTP(t, h, srv.URL, "r = http."+tt.member+"("+args+")")
			if err != nil {
				t.Fatal(err)
			}
			got := global(t, g, "r").(map[string]any)
			headers := got["headers"].(map[string]any)
			if diff := cmp.Diff([]any{"a", "b"}, headers["X-Reply"]); diff != "" {
				t.Errorf("X-Reply (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]any{"text/plain"}, headers["Content-Type"]); diff != "" {
				t.Errorf("Content-Type (-want +got):\n%s", diff)
			}
			delete(got, "headers")
			wantBody := tt.method + " " + sent
			if tt.method == "HEAD" {
				wantBody = ""
			}
			want := map[string]any{"status_code": json.Number("201"), "status_text": "201 Created", "body": wantBody}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			reqs := srv.received()
			if len(reqs) != 1 {
				t.Fatalf("server received %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != "/echo" || r.Body != sent {
				t.Errorf("server received %s %s %q, want %s /echo %q", r.Method, r.Path, r.Body, tt.method, sent)
			}
			if diff := cmp.Diff([]string{"1"}, r.Header["X-One"]); diff != "" {
				t.Errorf("X-One (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"a", "b"}, r.Header["X-Many"]); diff != "" {
				t.Errorf("X-Many (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPGetTakesNoBody(t *testing.T) {
	srv := newTestServer(t)
	h, _ := testHost(t)
	_, err := execHTTP(t, h, srv.URL, `http.get(U + "/echo", body="x")`)
	if want := "main.ocu.star:3:9: http.get: unexpected keyword argument \"body\""; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestHTTPErrors(t *testing.T) {
	srv := newTestServer(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name    string
		src     string
		wantErr string // "$U" stands for the server's URL, "$C" for a closed server's
	}{
		{
			name:    "non-2xx",
			src:     `http.post(U + "/status/503", body="{}")`,
			wantErr: "main.ocu.star:3:10: http.post: non-2xx response code from $U/status/503: 503",
		},
		{
			name:    "not found",
			src:     `http.get(U + "/status/404")`,
			wantErr: "main.ocu.star:3:9: http.get: non-2xx response code from $U/status/404: 404",
		},
		{
			name:    "connection refused names the URL",
			src:     `http.delete("$C/jobs/1")`,
			wantErr: "main.ocu.star:3:12: http.delete: $C/jobs/1: dial tcp $H: connect: connection refused",
		},
		{
			name:    "timeout",
			src:     `http.get(U + "/slow", timeout=0.2)`,
			wantErr: "main.ocu.star:3:9: http.get: $U/slow: timed out after 0.2s",
		},
		{
			name:    "body cap",
			src:     `http.get(U + "/big/` + strconv.Itoa(HTTPBodyLimit+1) + `")`,
			wantErr: "main.ocu.star:3:9: http.get: the response body from $U/big/" + strconv.Itoa(HTTPBodyLimit+1) + " is larger than 16 MiB",
		},
		{
			name:    "header value neither string nor list",
			src:     `http.get(U, headers={"X-N": 1})`,
			wantErr: `main.ocu.star:3:9: http.get: header "X-N" must be a string or a list of strings, got int`,
		},
		{
			name:    "header list holding a number",
			src:     `http.get(U, headers={"X-N": ["a", 2]})`,
			wantErr: `main.ocu.star:3:9: http.get: header "X-N" must be a string or a list of strings, got a list holding int`,
		},
		{
			name:    "body not a string",
			src:     `http.put(U, body={"a": 1})`,
			wantErr: `main.ocu.star:3:9: http.put: body must be a string, got dict`,
		},
		{
			name:    "timeout not a number",
			src:     `http.get(U, timeout="5")`,
			wantErr: `main.ocu.star:3:9: http.get: timeout must be a number of seconds, got string`,
		},
		{
			name:    "timeout not positive",
			src:     `http.get(U, timeout=0)`,
			wantErr: `main.ocu.star:3:9: http.get: timeout must be a positive number of seconds, got 0`,
		},
		{
			name:    "unsupported scheme",
			src:     `http.get("ftp://example.com/x")`,
			wantErr: `main.ocu.star:3:9: http.get: ftp://example.com/x: unsupported scheme "ftp" (use http or https)`,
		},
		{
			name:    "missing url",
			src:     `http.get()`,
			wantErr: `main.ocu.star:3:9: http.get: missing argument for url`,
		},
		{
			name:    "credentials of the URL masked",
			src:     `http.get("http://alice:pw-123@` + host + `/status/500")`,
			wantErr: "main.ocu.star:3:9: http.get: non-2xx response code from http://<secret>@" + host + "/status/500: 500",
		},
		{
			name:    "credentials of a URL that does not parse masked",
			src:     `http.get("http://alice:pw-123@127.0.0.1:x/")`,
			wantErr: `main.ocu.star:3:9: http.get: invalid URL "http://<secret>@127.0.0.1:x/": invalid port ":x" after host`,
		},
		{
			name:    "token as user name masked on connection errors",
			src:     `http.post("http://tok-456@` + strings.TrimPrefix(closed.URL, "http://") + `/x")`,
			wantErr: "main.ocu.star:3:10: http.post: http://<secret>@$H/x: dial tcp $H: connect: connection refused",
		},
		{
			name:    "credential header value masked",
			src:     `http.get(U + "/status/401?seen=pw-123", headers={"Authorization": "Bearer pw-123"})`,
			wantErr: "main.ocu.star:3:9: http.get: non-2xx response code from $U/status/401?seen=<secret>: 401",
		},
		{
			name:    "value of secret() masked",
			src:     `http.get(U + "/status/500?t=" + secret("pw-123"))`,
			wantErr: "main.ocu.star:3:9: http.get: non-2xx response code from $U/status/500?t=<secret>: 500",
		},
	}
	replacer := strings.NewReplacer("$U", srv.URL, "$C", closed.URL, "$H", strings.TrimPrefix(closed.URL, "http://"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := testHost(t)
			_, err := execHTTP(t, h, srv.URL, replacer.Replace(tt.src))
			want := replacer.Replace(tt.wantErr)
			if err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
			for _, cred := range []string{"pw-123", "tok-456"} {
				if strings.Contains(err.Error(), cred) {
					t.Errorf("error shows %q", cred)
				}
			}
		})
	}
}

func TestHTTPBodyAtTheCap(t *testing.T) {
	srv := newTestServer(t)
	h, _ := testHost(t)
	g, err := execHTTP(t, h, srv.URL, `n = len(http.get(U + "/big/`+strconv.Itoa(HTTPBodyLimit)+`")["body"])`)
	if err != nil {
		t.Fatal(err)
	}
	if got := global(t, g, "n"); got != json.Number(strconv.Itoa(HTTPBodyLimit)) {
		t.Errorf("body length %v, want %d", got, HTTPBodyLimit)
	}
}

// TestHTTPCredentialsMaskedInLogs checks that credentials sent with a
// request are registered as secrets: print() masks them afterwards, and
// the server still receives them.
func TestHTTPCredentialsMaskedInLogs(t *testing.T) {
	srv := newTestServer(t)
	h, rec := testHost(t)
	url := strings.Replace(srv.URL, "http://", "http://alice:pw-123@", 1)
	_, err := execHTTP(t, h, url, `
http.get(U + "/echo", headers={"Authorization": "Bearer tok-456", "Private-Token": "tok-789", "X-Plain": "visible"})
print(U, "tok-456", "tok-789", "visible")
`)
	if err != nil {
		t.Fatal(err)
	}
	wantLog := strings.Replace(srv.URL, "http://", "http://alice:<secret>@", 1) + " <secret> <secret> visible"
	if diff := cmp.Diff([]string{wantLog}, rec.texts(StreamPrint)); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	reqs := srv.received()
	if len(reqs) != 1 {
		t.Fatalf("server received %d requests, want 1", len(reqs))
	}
	// An explicit Authorization header wins over the URL's user-info.
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer tok-456" {
		t.Errorf("Authorization = %q", got)
	}
	if got := reqs[0].Header.Get("Private-Token"); got != "tok-789" {
		t.Errorf("Private-Token = %q", got)
	}
}

func TestHTTPURLCredentialsSent(t *testing.T) {
	srv := newTestServer(t)
	h, _ := testHost(t)
	url := strings.Replace(srv.URL, "http://", "http://alice:pw-123@", 1)
	if _, err := execHTTP(t, h, url, `http.get(U + "/echo")`); err != nil {
		t.Fatal(err)
	}
	reqs := srv.received()
	if len(reqs) != 1 {
		t.Fatalf("server received %d requests, want 1", len(reqs))
	}
	user, pw, ok := (&http.Request{Header: reqs[0].Header}).BasicAuth()
	if !ok || user != "alice" || pw != "pw-123" {
		t.Errorf("basic auth = %v %q %q, want alice pw-123", ok, user, pw)
	}
}

func TestHTTPInLoadedModule(t *testing.T) {
	srv := newTestServer(t)
	h, _ := testHost(t)
	g, _, err := execMain(t, h, map[string]string{
		"lib/ci.ocu.star": "ocuroot(\"0.3.0\")\ndef ping(u):\n    return http.get(u + \"/echo\")[\"status_code\"]\n",
		"main.ocu.star":   "ocuroot(\"0.3.0\")\nload(\"./lib/ci.ocu.star\", \"ping\")\ncode = ping(" + strconv.Quote(srv.URL) + ")\n",
	}, "main.ocu.star")
	if err != nil {
		t.Fatal(err)
	}
	if got := global(t, g, "code"); got != json.Number("201") {
		t.Errorf("code = %v, want 201", got)
	}
}

func TestHTTPCancel(t *testing.T) {
	srv := newTestServer(t)
	h, _ := testHost(t)
	src := "ocuroot(\"0.3.0\")\nhttp.get(" + strconv.Quote(srv.URL+"/slow") + ")\n"
	writeFiles(t, h.Dir, map[string]string{"main.ocu.star": src})
	ev := &Evaluator{Root: h.Dir, Predeclared: func(string) starlark.StringDict { return h.Builtins() }}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	data, _ := os.ReadFile(filepath.Join(h.Dir, "main.ocu.star"))
	_, err := ev.Exec(ctx, "main.ocu.star", data)
	want := "main.ocu.star:2:9: http.get: " + srv.URL + "/slow: request interrupted: context canceled"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %s", d)
	}
}

func TestHTTPModule(t *testing.T) {
	h, _ := testHost(t)
	g, err := execSrc(t, h, "names = dir(http)\nkind = type(http)\nshown = str(http)\n")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{
		"names": []any{"delete", "get", "head", "patch", "post", "put"},
		"kind":  "module",
		"shown": `<module "http">`,
	} {
		if diff := cmp.Diff(want, global(t, g, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	_, err = execSrc(t, h, `http.fetch("http://127.0.0.1/")`)
	if want := "main.ocu.star:2:5: module has no .fetch field or method (did you mean .patch?)"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestIsSecretHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "proxy-authorization": true, "Cookie": true,
		"X-Api-Key": true, "Private-Token": true, "X-Auth": true, "X-Client-Secret": true, "X_Password": true,
		"X-Token-Type": false, "X-Auth-Mode": false, "X-Key-Id-Format": false, "Content-Type": false, "X-Plain": false,
	} {
		if got := isSecretHeader(name); got != want {
			t.Errorf("isSecretHeader(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestHTTPShortHeaderValues: a header that only mentions a credential word
// (X-Token-Type: Bearer) is not a credential, so its value is not masked in
// later lines.
func TestHTTPShortHeaderValues(t *testing.T) {
	srv := newTestServer(t)
	h, rec := testHost(t)
	if _, err := execHTTP(t, h, srv.URL, `
http.get(U + "/echo", headers={"X-Token-Type": "Bearer", "X-Auth-Mode": "1"})
print("Bearer", "1")
`); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Bearer 1"}, rec.texts(StreamPrint)); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

// TestHTTPRedirectDropsCredentials: a redirect to another host receives no
// credential header; one to the same host keeps them.
func TestHTTPRedirectDropsCredentials(t *testing.T) {
	var mu sync.Mutex
	got := map[string]http.Header{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name+r.URL.Path] = r.Header.Clone()
			mu.Unlock()
		}
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
	})
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/landed", http.StatusFound)
	})
	mux.HandleFunc("/landed", record("origin"))
	origin := httptest.NewServer(mux)
	defer origin.Close()
	h, _ := testHost(t)
	if _, err := execHTTP(t, h, origin.URL, `
headers = {"X-Api-Key": "key-123456", "Private-Token": "tok-123456", "X-Plain": "visible"}
http.get(U + "/away", headers=headers)
http.get(U + "/here", headers=headers)
`); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	away, here := got["other/landed"], got["origin/landed"]
	if away == nil || here == nil {
		t.Fatalf("requests received: %v", got)
	}
	if away.Get("X-Api-Key") != "" || away.Get("Private-Token") != "" || away.Get("X-Plain") != "visible" {
		t.Errorf("another host received %v; want no credential header, X-Plain kept", away)
	}
	if here.Get("X-Api-Key") != "key-123456" || here.Get("Private-Token") != "tok-123456" {
		t.Errorf("the same host received %v; want the credential headers kept", here)
	}
}
