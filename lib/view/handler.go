package view

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

//go:embed templates/*.tmpl static/*
var assets embed.FS

// Options configure a Handler.
type Options struct {
	// Open returns the store to read for one request and a function
	// called when the request is done with it.
	Open func(ctx context.Context) (s store.Store, done func(), err error)
	// Repos names repos to show on the index even though the store cannot
	// list them by folder (names holding '/', such as the repo of the
	// configuration, "github.com/org/repo").
	Repos []string
	// LoopbackOnly refuses requests whose Host header is not a loopback
	// name ("localhost", 127.0.0.0/8, ::1): a page elsewhere on the web
	// cannot rebind its own name to the view and read state.
	LoopbackOnly bool
	// RefreshSeconds is the period of the auto-refresh (default 5).
	RefreshSeconds int
	// OpenWork configures the open-work index kept across requests.
	OpenWork openwork.Options
}

// Handler serves the web view of a store. It only reads: GET and HEAD,
// every other method gets 405.
type Handler struct {
	opts   Options
	pages  map[string]*template.Template
	static fs.FS

	index   *openwork.Index // of the store Open returns, across requests
	cache   finishedCache   // what requests read of finished releases
	decoder state.Decoder   // typed documents, the layout of their types kept across requests
	parts   partCache       // the overview's rendered rows and items, by what they show
}

// pageNames are the page templates, each a file templates/<name>.tmpl
// using the layout.
func pageNames() []string { return []string{"index", "ref", "match", "work", "error"} }

// New returns a Handler for the store opts.Open gives.
func New(opts Options) (*Handler, error) {
	if opts.Open == nil {
		return nil, errors.New("view: no Open function")
	}
	if opts.RefreshSeconds <= 0 {
		opts.RefreshSeconds = 5
	}
	base, err := template.New("layout.tmpl").Funcs(templateFuncs()).ParseFS(assets, "templates/layout.tmpl", "templates/parts.tmpl")
	if err != nil {
		return nil, fmt.Errorf("view: %w", err)
	}
	h := &Handler{opts: opts, pages: map[string]*template.Template{}, index: openwork.New(opts.OpenWork)}
	for _, name := range pageNames() {
		t, err := template.Must(base.Clone()).ParseFS(assets, "templates/"+name+".tmpl")
		if err != nil {
			return nil, fmt.Errorf("view: %w", err)
		}
		h.pages[name] = t
	}
	h.static, err = fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("view: %w", err)
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the view is read-only", http.StatusMethodNotAllowed)
		return
	}
	if h.opts.LoopbackOnly && !loopbackHost(r.Host) {
		http.Error(w, "forbidden: this view answers only to localhost", http.StatusForbidden)
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, prefixStatic):
		h.serveStatic(w, r)
		return
	case p == "/favicon.ico":
		http.Redirect(w, r, prefixStatic+"favicon.svg", http.StatusMovedPermanently)
		return
	}
	s, done, err := h.opts.Open(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "opening the store", err)
		return
	}
	defer done()
	rq := &request{h: h, w: w, r: r, rd: &reader{ctx: r.Context(), s: s, cache: &h.cache, dec: &h.decoder}}
	rq.refresh = r.URL.Query().Get("refresh") == "1"
	switch {
	case p == "/":
		rq.index()
	case p == "/ref" || strings.HasPrefix(p, prefixRef):
		rq.refPage()
	case p == "/match" || strings.HasPrefix(p, prefixMatch):
		rq.matchPage()
	case p == pathWork:
		rq.workPage()
	case strings.HasPrefix(p, prefixAPIGet):
		rq.apiGet()
	case strings.HasPrefix(p, prefixAPIMatch):
		rq.apiMatch()
	default:
		rq.errorPage(http.StatusNotFound, "no such page", p)
	}
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, prefixStatic)
	data, err := fs.ReadFile(h.static, name)
	if err != nil || name == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(data)
}

// fail answers a failure that happened before a page could be chosen.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, what string, err error) {
	rq := &request{h: h, w: w, r: r}
	rq.errorPage(code, what, err.Error())
}

// loopbackHost reports whether the Host header names this machine.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// request is one request being answered.
type request struct {
	h       *Handler
	w       http.ResponseWriter
	r       *http.Request
	rd      *reader
	refresh bool

	indexDone bool // openWork was called
}

// page is what every page template gets: the layout's fields and the
// page's own data in Data.
type page struct {
	Title      string
	Crumbs     []crumb
	Glob       string // the search box
	Live       bool   // work is pending or running: offer the auto-refresh
	Refresh    bool   // auto-refresh is on
	RefreshSec int
	ToggleURL  string // this page with auto-refresh toggled
	Data       any
}

// crumb is one step of the breadcrumb.
type crumb struct {
	Text string
	Href string
}

// render writes the page template name with status code.
func (rq *request) render(code int, name string, p page) {
	p.Refresh = rq.refresh
	p.RefreshSec = rq.h.opts.RefreshSeconds
	q := url.Values{}
	if !rq.refresh {
		q.Set("refresh", "1")
	}
	p.ToggleURL = rq.r.URL.EscapedPath()
	if len(q) > 0 {
		p.ToggleURL += "?" + q.Encode()
	}
	var buf bytes.Buffer
	if err := rq.h.pages[name].ExecuteTemplate(&buf, "layout.tmpl", p); err != nil {
		http.Error(rq.w, "rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	hdr := rq.w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(code)
	rq.w.Write(buf.Bytes())
}

// errorData is the content of an error page.
type errorData struct {
	Code    int
	Status  string
	What    string
	Message string
}

// errorPage answers with an HTML error page.
func (rq *request) errorPage(code int, what, msg string) {
	title := http.StatusText(code)
	rq.render(code, "error", page{Title: title, Data: errorData{Code: code, Status: title, What: what, Message: msg}})
}

// storeFailure answers a store error: 404 for what is not there, 400 for
// what cannot be asked, 500 for the rest.
func (rq *request) storeFailure(subject string, err error) {
	switch {
	case isNotFound(err):
		rq.errorPage(http.StatusNotFound, subject, err.Error())
	case isUsage(err):
		rq.errorPage(http.StatusBadRequest, subject, err.Error())
	case errors.Is(err, context.Canceled):
		rq.errorPage(http.StatusServiceUnavailable, subject, err.Error())
	default:
		rq.errorPage(http.StatusInternalServerError, subject, err.Error())
	}
}

// writeJSON answers with a JSON value, indented unless it nests deeper
// than state.MaxNesting (its size would grow with the square of its depth).
func (rq *request) writeJSON(code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if store.CheckNesting(v) == nil {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		json.NewEncoder(&buf).Encode(map[string]string{"error": err.Error()})
	}
	hdr := rq.w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(code)
	rq.w.Write(buf.Bytes())
}

// templateFuncs are the functions the templates call.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"refURL":   refPath,
		"matchURL": matchPath,
		"apiURL":   func(r string) string { return prefixAPIGet + escapePath(r) },
		"href":     hrefFor,
		"clock":    clock,
		"deps":     func(byPackage bool, rows []*deployment) depTable { return depTable{Env: byPackage, Rows: rows} },
		"pretty":   pretty,
		"when":     formatTime,
		"last":     lastSegments,
		"text":     scalarText,
		"plural":   plural,
	}
}

// formatTime shows a time in UTC, to the second; the zero time is "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// clock shows the time of day of t, to the millisecond.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("15:04:05.000")
}

// depTable is a table of deployments: one environment's, by package (Env),
// or one package's, by environment.
type depTable struct {
	Env  bool
	Rows []*deployment
}

// lastSegments returns the last n '/'-separated segments of s.
func lastSegments(n int, s string) string {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		i = strings.LastIndexByte(s[:i], '/')
		if i < 0 {
			return s
		}
	}
	return s[i+1:]
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
