package view

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// refData is the content of a /ref page: the document at a ref, the way
// there, and what a person wants to see for its kind.
type refData struct {
	Ref      string // as asked, canonical
	Resolved string // the ref read, when a link or the latest release led elsewhere
	Via      string // "link" or "latest release"
	Found    bool   // a document is stored
	Missing  string // why no document is shown, for a folder
	Doc      []token
	Children []child
	// ResolvedChildren lists the children of the ref read, when a link led
	// elsewhere.
	ResolvedChildren []child
	BackLinks        []string

	Release     *releaseView
	Package     *packageView
	Environment *environment
	Chain       *chainView
	Function    *functionView
	WorkItem    *workItemView
	Logs        []logLine
	LogsRef     string
}

// child is a folder one level down.
type child struct {
	Name string
	Ref  string
}

// refPage answers /ref/<ref>.
func (rq *request) refPage() {
	in, ok := pathArg(rq.r.URL, prefixRef)
	if !ok {
		rq.errorPage(http.StatusBadRequest, "the URL", "malformed percent-encoding")
		return
	}
	if in == "" {
		rq.folderPage("", nil)
		return
	}
	r, err := ref.Parse(in)
	if err == nil && !r.IsRelative() && !r.IsZero() {
		rq.docPage(r)
		return
	}
	if err == nil {
		// A relative ref names nothing here, but its text may be a folder
		// above a repo's "/-/": the repo itself or a part of its name.
		err = errors.New("not found (the view shows absolute refs: REPO/-/FILE…, @/…, +/…)")
		if !strings.Contains(in, "/") {
			if names, _ := rq.rd.children(in + "/-"); len(names) > 0 {
				http.Redirect(rq.w, rq.r, refPath(in+"/-/"), http.StatusFound)
				return
			}
		}
	}
	// A folder that is no ref by itself: a type level (…/@1/deploy,
	// @/environment) or a part of a repo name (github.com/org).
	if _, isFolder := folderRef(in); isFolder || validPath(in) {
		rq.folderPage(in, err)
		return
	}
	rq.errorPage(http.StatusBadRequest, in, err.Error())
}

// folderPage answers a path that is no document: its children, or 404.
func (rq *request) folderPage(p string, why error) {
	names, err := rq.rd.children(p)
	if err != nil {
		rq.storeFailure(p, err)
		return
	}
	if len(names) == 0 {
		msg := "nothing is stored here"
		if why != nil {
			msg = why.Error()
		}
		rq.errorPage(http.StatusNotFound, p, msg)
		return
	}
	data := refData{Ref: p, Children: childrenOf(p, names)}
	title := p
	if p == "" {
		title = "All state"
	}
	rq.render(http.StatusOK, "ref", page{Title: title, Crumbs: crumbs(p, ""), Data: data})
}

// docPage answers the ref r: its document, or its folder.
func (rq *request) docPage(r ref.Ref) {
	rd := rq.rd
	data := refData{Ref: r.String()}
	var doc store.Doc
	var err error = store.ErrNotFound
	if !isRepoLevel(r) { // nothing is ever stored at "R/-/"
		doc, err = rd.s.Get(rd.ctx, r)
	}
	res := r
	switch {
	case err == nil:
		data.Found = true
		res = doc.Ref
		data.Doc = prettyAt(doc.Value, r.String())
		if res.String() != r.String() {
			data.Resolved = res.String()
			data.Via = "link"
			if r.Marker == ref.State && r.Release == "" && res.Release != "" && !r.Global && r.Doc() == res.WithRelease(ref.State, "").Doc() {
				data.Via = "latest release"
			}
		}
	case isNotFound(err) && r.Fragment != "":
		rq.errorPage(http.StatusNotFound, r.String(), err.Error())
		return
	case isNotFound(err):
		data.Missing = err.Error()
	default:
		rq.storeFailure(r.String(), err)
		return
	}
	folder := folderPath(r)
	names, err := rd.children(folder)
	if err != nil {
		rq.storeFailure(r.String(), err)
		return
	}
	data.Children = childrenOf(folder, names)
	if data.Resolved != "" && res.Fragment == "" {
		if names, err := rd.children(folderPath(res)); err == nil {
			data.ResolvedChildren = childrenOf(folderPath(res), names)
		}
	}
	if k, _ := state.Classify(res); k == state.KindEnvironment && res.Fragment == "" {
		// Deployments to an environment are shown even when the
		// environment itself is gone from state.
		data.Environment = rd.environmentView(res.Subpath, rq.h.opts.Repos)
	}
	if !data.Found && len(data.Children) == 0 && (data.Environment == nil || len(data.Environment.Deployments) == 0) {
		rq.errorPage(http.StatusNotFound, r.String(), data.Missing)
		return
	}
	data.BackLinks = rd.backLinks(res)

	title := r.String()
	live := false
	if res.Fragment == "" {
		switch kind, w := state.Classify(res); kind {
		case state.KindPackage:
			if slices.ContainsFunc(names, isMarkerFolder) {
				data.Package = rd.packageView(res, names)
				live = data.Package.Live
			}
		case state.KindRelease:
			var rel state.Release
			_ = state.Decode(doc.Value, &rel) // a malformed field stays zero; the page shows the rest
			data.Release = rd.releaseView(res, rel)
			live = data.Release != nil && liveStatus(data.Release.Status)
		case state.KindEnvironment:
			if data.Environment != nil {
				for _, d := range data.Environment.Deployments {
					live = live || liveStatus(d.Shown())
				}
			}
		case state.KindWorkItem:
			m, _ := rd.releaseMarkers(res.ReleaseLevel().String())
			data.WorkItem = rd.workItemView(m, res.ReleaseLevel().String(), w.Type, w.Name)
			live = liveStatus(data.WorkItem.Status) || data.WorkItem.live()
		case state.KindChain:
			m, _ := rd.releaseMarkers(res.ReleaseLevel().String())
			var chain state.Chain
			_ = state.Decode(doc.Value, &chain)
			data.Chain = rd.chainView(m, res.String(), chain, true)
			live = liveStatus(data.Chain.Status)
		case state.KindFunction:
			m, _ := rd.releaseMarkers(res.ReleaseLevel().String())
			var fn state.Function
			_ = state.Decode(doc.Value, &fn)
			data.Function = rd.functionView(m, res.String(), fn, true)
			live = liveStatus(data.Function.Status)
		case state.KindLogs:
			var log []state.LogLine
			_ = state.Decode(doc.Value, &log)
			data.Logs, _ = logLines(log, res.String(), logBounds{pageLogLines, pageLogBytes})
			data.LogsRef = res.String()
		}
	}
	rq.render(http.StatusOK, "ref", page{Title: title, Crumbs: crumbs(folder, r.Fragment), Live: live, Data: data})
}

// isMarkerFolder reports whether a folder name starts with a marker:
// "@1", "@", "+rc".
func isMarkerFolder(name string) bool {
	return name != "" && (name[0] == '@' || name[0] == '+')
}

// folderPath is the store folder of r: its canonical form without fragment
// and without the trailing '/' of a repo ("example/-").
func folderPath(r ref.Ref) string {
	return strings.TrimSuffix(r.Doc().String(), "/")
}

// childrenOf links the names below folder p.
func childrenOf(p string, names []string) []child {
	out := make([]child, 0, len(names))
	for _, n := range names {
		full := n
		if p != "" {
			full = p + "/" + n
		}
		out = append(out, child{Name: n, Ref: full})
	}
	return out
}

// crumbs is the breadcrumb of folder p: the repo as one step, then each
// segment (file folders, release, type, subpath), then the fragment.
func crumbs(p, fragment string) []crumb {
	out := []crumb{{Text: "state", Href: refPath("")}}
	if p == "" {
		return out
	}
	segs := strings.Split(p, "/")
	start := 0
	if i := slices.Index(segs, "-"); i > 0 && segs[0] != "@" && segs[0] != "+" {
		repo := strings.Join(segs[:i], "/")
		out = append(out, crumb{Text: repo, Href: refPath(repo + "/-/")})
		start = i + 1
	}
	for i := start; i < len(segs); i++ {
		out = append(out, crumb{Text: segs[i], Href: refPath(strings.Join(segs[:i+1], "/"))})
	}
	if fragment != "" {
		out = append(out, crumb{Text: "#" + fragment})
	}
	return out
}

// backLinks lists the links the engine keeps that lead to r (docs/store-format.md
// §5.4): a release's tags, a chain's current and numbered links, the repo
// configuration's "@".
func (rd *reader) backLinks(r ref.Ref) []string {
	if r.Global || r.Marker != ref.State || r.Fragment != "" {
		return nil
	}
	target := r.String()
	var candidates []string
	pkgRef := pkgOf(r)
	switch k, w := state.Classify(r); {
	case k == state.KindRelease:
		names, _ := rd.children(pkgRef)
		for _, n := range names {
			if len(n) > 1 && n[0] == '@' && !state.IsNumber(n[1:]) {
				candidates = append(candidates, pkgRef+"/"+n)
			}
		}
	case k == state.KindChain:
		item := pkgRef + "/@/" + w.Type + "/" + w.Name
		candidates = append(candidates, item, item+"/"+strconv.Itoa(w.Chain))
	case r.Type == "" && r.Release != "":
		candidates = append(candidates, pkgRef+"/@")
	}
	var out []string
	for _, c := range candidates {
		if d, err := rd.get(c); err == nil && d.Ref.String() == target {
			out = append(out, c)
		}
	}
	return out
}
