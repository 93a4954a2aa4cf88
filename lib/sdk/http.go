package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"
)

// Limits of the http module.
const (
	// HTTPTimeout bounds one request, the response body included, unless
	// the call gives timeout=.
	HTTPTimeout = 60 * time.Second
	// HTTPBodyLimit is the largest response body accepted, in bytes.
	HTTPBodyLimit = 16 << 20
)

// httpMethods maps the members of the http module to their methods.
var httpMethods = [...]struct{ member, method string }{
	{"get", http.MethodGet},
	{"head", http.MethodHead},
	{"post", http.MethodPost},
	{"put", http.MethodPut},
	{"patch", http.MethodPatch},
	{"delete", http.MethodDelete},
}

// secretHeaderWords mark header names whose values are credentials: a
// header whose lower-case name ends in one of them, as its last word
// (X-Api-Key, Private-Token, X-Auth), has its values registered with
// h.Secrets; so do Authorization, Proxy-Authorization and Cookie. Names
// that merely mention a word (X-Token-Type, X-Auth-Mode) do not, so their
// short values ("Bearer", "1") are not masked everywhere.
var secretHeaderWords = []string{"auth", "apikey", "cookie", "token", "secret", "password", "passwd", "key"}

// httpModule is the http module bound to h:
//
//	http.get(url, headers={}, timeout=60)
//	http.head(url, headers={}, body="", timeout=60)
//	http.post(url, headers={}, body="", timeout=60)
//	http.put, http.patch, http.delete: as http.post
//
// Header values are a string or a list of strings. The result is a dict
// {"status_code": 201, "status_text": "201 Created", "headers": {name:
// [values]}, "body": "…"}. A status outside 200-299 fails with
// "http.post: non-2xx response code from URL: 503"; so do connection
// errors (naming the URL), a request lasting longer than timeout seconds
// and a body larger than HTTPBodyLimit. The request is cancelled with the
// thread's context (see NewThread).
//
// Credentials never show: the user-info of the URL is replaced by
// "<secret>" wherever the module names the URL, and the URL's password (or
// its user name when there is no password) and the values of credential
// headers (Authorization, Cookie, names ending in Token, Key, Secret,
// Password or Auth: see secretHeaderWords) are registered with h.Secrets,
// so they are masked in every later log line and error as values given to
// secret() are. Redirects to another scheme or host drop those headers.
//
// Requests go through Go's default transport: proxies are those of the
// process environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). The members
// are made when used, so that a file not using the module costs nothing.
type httpModule struct{ h *Host }

var _ starlark.HasAttrs = httpModule{}

func (httpModule) String() string        { return `<module "http">` }
func (httpModule) Type() string          { return "module" }
func (httpModule) Freeze()               {}
func (httpModule) Truth() starlark.Bool  { return starlark.True }
func (httpModule) Hash() (uint32, error) { return 0, errors.New("unhashable: module") }

// Attr returns the member name, or nil when there is none.
func (m httpModule) Attr(name string) (starlark.Value, error) {
	for _, hm := range httpMethods {
		if hm.member == name {
			return starlark.NewBuiltin("http."+name, m.h.httpRequest), nil
		}
	}
	return nil, nil
}

// AttrNames returns the members, sorted.
func (httpModule) AttrNames() []string {
	names := make([]string, len(httpMethods))
	for i, hm := range httpMethods {
		names[i] = hm.member
	}
	slices.Sort(names)
	return names
}

// httpError is an error of the http module: its text is already masked.
type httpError struct {
	text string
	err  error // the cause, or nil
}

func (e *httpError) Error() string { return e.text }
func (e *httpError) Unwrap() error { return e.err }

// httpRequest implements the members of httpModule; b's name tells the
// method.
func (h *Host) httpRequest(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var method string
	for _, hm := range httpMethods {
		if "http."+hm.member == b.Name() {
			method = hm.method
		}
	}
	var (
		rawURL  string
		headers *starlark.Dict
		body    starlark.Value = starlark.String("")
		timeout starlark.Value = starlark.None
	)
	params := []any{"url", &rawURL, "headers?", &headers}
	if method != http.MethodGet {
		params = append(params, "body?", &body)
	}
	params = append(params, "timeout?", &timeout)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, params...); err != nil {
		return nil, err
	}
	shown := redactURL(rawURL)
	fail := func(cause error, format string, a ...any) error {
		return &httpError{text: b.Name() + ": " + h.Secrets.Mask(fmt.Sprintf(format, a...)), err: cause}
	}

	u, err := url.Parse(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fail(err, "invalid URL %q: %v", shown, err)
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			h.Secrets.Add(pw)
		} else {
			h.Secrets.Add(u.User.Username())
		}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fail(nil, "%s: unsupported scheme %q (use http or https)", shown, u.Scheme)
	}
	if u.Host == "" {
		return nil, fail(nil, "%s: the URL has no host", shown)
	}

	limit := HTTPTimeout
	switch t := timeout.(type) {
	case starlark.NoneType:
	case starlark.Int, starlark.Float:
		secs, _ := starlark.AsFloat(t)
		if !(secs > 0) || secs > math.MaxInt64/float64(time.Second) {
			return nil, fail(nil, "timeout must be a positive number of seconds, got %s", t.String())
		}
		limit = time.Duration(secs * float64(time.Second))
	default:
		return nil, fail(nil, "timeout must be a number of seconds, got %s", timeout.Type())
	}

	var payload string
	switch v := body.(type) {
	case starlark.String:
		payload = string(v)
	case starlark.Bytes:
		payload = string(v)
	default:
		return nil, fail(nil, "body must be a string, got %s", body.Type())
	}

	header, host, err := h.httpHeaders(headers)
	if err != nil {
		return nil, fail(err, "%v", err)
	}

	parent := threadContext(thread)
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	var reader io.Reader
	if payload != "" {
		reader = strings.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, reader)
	if err != nil {
		return nil, fail(err, "%s: %v", shown, err)
	}
	req.Header = header
	if host != "" {
		req.Host = host
	}
	// interrupted explains a failure caused by the context.
	interrupted := func(err error) error {
		if parent.Err() != nil {
			return fail(err, "%s: request interrupted: %v", shown, context.Cause(parent))
		}
		return fail(err, "%s: timed out after %ss", shown, strconv.FormatFloat(limit.Seconds(), 'f', -1, 64))
	}

	resp, err := (&http.Client{CheckRedirect: checkRedirect}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(err)
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fail(err, "%s: %v", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fail(nil, "non-2xx response code from %s: %d", shown, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, HTTPBodyLimit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(err)
		}
		return nil, fail(err, "%s: reading the response body: %v", shown, err)
	}
	if len(data) > HTTPBodyLimit {
		return nil, fail(nil, "the response body from %s is larger than %d MiB", shown, HTTPBodyLimit>>20)
	}

	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	respHeaders := starlark.NewDict(len(names))
	for _, name := range names {
		values := make([]starlark.Value, len(resp.Header[name]))
		for i, v := range resp.Header[name] {
			values[i] = starlark.String(v)
		}
		_ = respHeaders.SetKey(starlark.String(name), starlark.NewList(values))
	}
	result := starlark.NewDict(4)
	_ = result.SetKey(starlark.String("status_code"), starlark.MakeInt(resp.StatusCode))
	_ = result.SetKey(starlark.String("status_text"), starlark.String(resp.Status))
	_ = result.SetKey(starlark.String("headers"), respHeaders)
	_ = result.SetKey(starlark.String("body"), starlark.String(data))
	return result, nil
}

// httpHeaders converts the headers argument, registering the values of
// credential headers with h.Secrets. A "Host" header is returned apart:
// it names the request's host.
func (h *Host) httpHeaders(d *starlark.Dict) (http.Header, string, error) {
	header := http.Header{}
	if d == nil {
		return header, "", nil
	}
	var host string
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return nil, "", fmt.Errorf("header names must be strings, got %s", item[0].Type())
		}
		name := string(k)
		var values []string
		switch v := item[1].(type) {
		case starlark.String:
			values = []string{string(v)}
		case *starlark.List:
			for i := range v.Len() {
				s, ok := v.Index(i).(starlark.String)
				if !ok {
					return nil, "", fmt.Errorf("header %q must be a string or a list of strings, got a list holding %s", name, v.Index(i).Type())
				}
				values = append(values, string(s))
			}
		default:
			return nil, "", fmt.Errorf("header %q must be a string or a list of strings, got %s", name, item[1].Type())
		}
		if isSecretHeader(name) {
			for _, v := range values {
				h.Secrets.Add(v)
				// "Bearer TOKEN": the credential alone is secret too.
				if strings.Contains(strings.ToLower(name), "authorization") {
					if _, cred, ok := strings.Cut(v, " "); ok {
						h.Secrets.Add(strings.TrimSpace(cred))
					}
				}
			}
		}
		if http.CanonicalHeaderKey(name) == "Host" && len(values) > 0 {
			host = values[len(values)-1]
			continue
		}
		for _, v := range values {
			header.Add(name, v)
		}
	}
	return header, host, nil
}

// isSecretHeader reports whether the values of the header name are
// credentials (see secretHeaderWords).
func isSecretHeader(name string) bool {
	lower := strings.ToLower(name)
	switch lower {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	return slices.Contains(secretHeaderWords, lower[strings.LastIndexAny(lower, "-_")+1:])
}

// maxRedirects is how many redirects a request follows, as Go's default
// client does.
const maxRedirects = 10

// checkRedirect follows a redirect as Go's default client does, and drops
// every credential header (isSecretHeader) when the redirect leaves the
// original scheme and host: Go itself drops only Authorization, Cookie and
// WWW-Authenticate, and would send an X-Api-Key on to another host.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		for name := range req.Header {
			if isSecretHeader(name) {
				req.Header.Del(name)
			}
		}
	}
	return nil
}

// redactURL returns raw with its user-info, if any, replaced by
// "<secret>". It works on text, so it also hides the credentials of URLs
// that do not parse.
func redactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	return raw[:i+3] + SecretMask + "@" + rest[at+1:]
}
