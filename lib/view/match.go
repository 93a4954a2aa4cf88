package view

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
)

// maxMatchRows bounds the refs listed on a /match page.
const maxMatchRows = 5000

// matchData is the content of a /match page.
type matchData struct {
	Glob  string
	Refs  []string
	More  int // matches not listed
	Error string
}

// matchPage answers /match/<glob>, and /match?glob=… from the search box
// by redirecting to /match/<glob>.
func (rq *request) matchPage() {
	if q := rq.r.URL.Query(); q.Has("glob") {
		glob := strings.TrimSpace(q.Get("glob"))
		if glob == "" {
			http.Redirect(rq.w, rq.r, prefixMatch, http.StatusSeeOther)
		} else {
			http.Redirect(rq.w, rq.r, matchPath(glob), http.StatusSeeOther)
		}
		return
	}
	glob, ok := pathArg(rq.r.URL, prefixMatch)
	if !ok {
		rq.errorPage(http.StatusBadRequest, "the URL", "malformed percent-encoding")
		return
	}
	data := matchData{Glob: glob}
	title := "Match"
	code := http.StatusOK
	if glob != "" {
		title = "Match " + glob
		refs, err := rq.match(glob)
		switch {
		case isUsage(err):
			code = http.StatusBadRequest
			data.Error = err.Error()
		case err != nil:
			rq.storeFailure(glob, err)
			return
		default:
			slices.SortFunc(refs, naturalCompare)
			if len(refs) > maxMatchRows {
				data.More = len(refs) - maxMatchRows
				refs = refs[:maxMatchRows]
			}
			data.Refs = refs
		}
	}
	rq.render(code, "match", page{Title: title, Glob: glob, Data: data})
}

// match checks a glob, then matches it.
func (rq *request) match(glob string) ([]string, error) {
	if glob == "" {
		return nil, badRequest{errors.New("no glob given")}
	}
	if _, err := ref.CompileGlob(glob); err != nil {
		return nil, badRequest{err}
	}
	return rq.rd.match(glob)
}

// apiGet answers /api/get/<ref>: the value as JSON, or {"error": …}.
func (rq *request) apiGet() {
	in, ok := pathArg(rq.r.URL, prefixAPIGet)
	if !ok {
		rq.writeJSON(http.StatusBadRequest, apiError{"malformed percent-encoding"})
		return
	}
	r, err := ref.Parse(in)
	if err == nil && (r.IsZero() || r.IsRelative()) {
		rq.writeJSON(http.StatusBadRequest, apiError{in + ": the view reads absolute refs"})
		return
	}
	if err != nil {
		rq.writeJSON(http.StatusBadRequest, apiError{err.Error()})
		return
	}
	doc, err := rq.rd.s.Get(rq.rd.ctx, r)
	switch {
	case err == nil:
		rq.writeJSON(http.StatusOK, doc.Value)
	case isNotFound(err):
		rq.writeJSON(http.StatusNotFound, apiError{in + ": " + err.Error()})
	case isUsage(err):
		rq.writeJSON(http.StatusBadRequest, apiError{in + ": " + err.Error()})
	default:
		rq.writeJSON(http.StatusInternalServerError, apiError{in + ": " + err.Error()})
	}
}

// apiMatch answers /api/match/<glob>: a JSON array of refs, sorted bytewise.
func (rq *request) apiMatch() {
	glob, ok := pathArg(rq.r.URL, prefixAPIMatch)
	if !ok {
		rq.writeJSON(http.StatusBadRequest, apiError{"malformed percent-encoding"})
		return
	}
	refs, err := rq.match(glob)
	switch {
	case isUsage(err):
		rq.writeJSON(http.StatusBadRequest, apiError{err.Error()})
	case err != nil:
		rq.writeJSON(http.StatusInternalServerError, apiError{err.Error()})
	default:
		if refs == nil {
			refs = []string{}
		}
		rq.writeJSON(http.StatusOK, refs)
	}
}

// apiError is the body of a failed API request.
type apiError struct {
	Error string `json:"error"`
}

// badRequest marks an error in what was asked: an invalid glob.
type badRequest struct{ error }

func (e badRequest) Unwrap() error { return e.error }
