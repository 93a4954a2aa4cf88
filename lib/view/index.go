package view

import (
	"bytes"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ocu-team/ocu/internal/fanout"
)

// Bounds of the index.
const (
	readWorkers   = 4   // packages read at once
	maxCustomRows = 200 // custom documents listed
	previewLen    = 120 // characters of a value shown in a list
)

// indexData is the content of the index page.
type indexData struct {
	Counts       counts
	Environments []*environment
	Packages     []*pkgRow
	Custom       []customRow
	CustomMore   int // custom documents not listed
	Intents      []intentDiff
	Others       []string // top folders that are neither repo nor marker
}

// counts summarise the store.
type counts struct {
	Environments, Packages, Releases, Deployments, Custom int
}

// pkgRow is a package on the index: its latest release and where it is
// deployed.
type pkgRow struct {
	pkg
	LatestRef   string
	Status      string
	Deployments []*deployment // by environment
	Err         string

	HTML template.HTML // the row, rendered by index
}

// customRow is one custom document.
type customRow struct {
	Ref     string
	Preview string
}

// index answers "/": environments and what is deployed in each, packages
// with their latest release and its status, custom state and the intents
// that differ from state.
func (rq *request) index() {
	rd := rq.rd
	repos, others, err := rd.roots(rq.h.opts.Repos)
	if err != nil {
		rq.storeFailure("the store", err)
		return
	}
	var rows []*pkgRow
	for _, repo := range repos {
		pkgs, err := rd.packages(repo)
		if err != nil {
			rq.storeFailure(repo, err)
			return
		}
		for _, p := range pkgs {
			rows = append(rows, &pkgRow{pkg: p})
		}
	}
	rq.openWork(false)
	fanout.Each(len(rows), readWorkers, func(i int) { rd.fillRow(rows[i]) })

	data := indexData{Others: others}
	var deps []*deployment
	live := false
	for _, row := range rows {
		data.Counts.Releases += len(row.Releases)
		deps = append(deps, row.Deployments...)
		live = live || liveStatus(row.Status)
		for _, d := range row.Deployments {
			live = live || liveStatus(d.Shown())
			if d.Release != "" {
				data.Counts.Deployments++
			}
		}
	}
	data.Packages = rows
	data.Counts.Packages = len(rows)
	if data.Environments, err = rd.environments(deps); err != nil {
		rq.storeFailure("@/environment", err)
		return
	}
	data.Counts.Environments = len(data.Environments)
	if data.Intents, err = rd.globalIntentDiffs(); err != nil {
		rq.storeFailure("intent", err)
		return
	}
	if err := rq.renderParts(rows, data.Environments); err != nil {
		http.Error(rq.w, "rendering index: "+err.Error(), http.StatusInternalServerError)
		return
	}
	custom, err := rd.match("@/custom/**", "+/custom/**")
	if err != nil {
		rq.storeFailure("custom state", err)
		return
	}
	data.Counts.Custom = len(custom)
	if len(custom) > maxCustomRows {
		data.CustomMore = len(custom) - maxCustomRows
		custom = custom[:maxCustomRows]
	}
	for _, c := range custom {
		data.Custom = append(data.Custom, customRow{Ref: c, Preview: preview(rd.value(c))})
	}
	rq.render(http.StatusOK, "index", page{Title: "State", Live: live, Data: data})
}

// renderParts renders the package rows and the deployments in the
// environments' cards readWorkers at a time: rendered in one piece, the
// overview of a store with hundreds of packages spent a third of its time
// rendering on one core. A part showing what an earlier request's part
// showed is not rendered again (partCache).
func (rq *request) renderParts(rows []*pkgRow, envs []*environment) error {
	var deps []*deployment
	for _, e := range envs {
		deps = append(deps, e.Deployments...)
	}
	t := rq.h.pages["index"]
	parts := &rq.h.parts
	parts.trim(2 * (len(rows) + len(deps)))
	errs := make([]error, len(rows)+len(deps))
	fanout.Each(len(rows)+len(deps), readWorkers, func(i int) {
		name, data, key, out := "package-row", any(nil), "", (*template.HTML)(nil)
		if i < len(rows) {
			data, key, out = rows[i], rows[i].partKey(), &rows[i].HTML
		} else {
			d := deps[i-len(rows)]
			name, data, key, out = "deployed", d, d.partKey(), &d.HTML
		}
		if html, ok := parts.get(key); ok {
			*out = html
			return
		}
		var buf bytes.Buffer
		if errs[i] = t.ExecuteTemplate(&buf, name, data); errs[i] == nil {
			*out = template.HTML(buf.String())
			parts.put(key, *out)
		}
	})
	return errors.Join(errs...)
}

// partCache keeps the overview's rendered parts across requests, by what
// they show: the key of a part holds every field its template reads (the
// templates "package-row" and "deployed" of index.tmpl, whose functions
// depend on their arguments only).
type partCache struct {
	mu sync.Mutex
	m  map[string]template.HTML
}

func (c *partCache) get(key string) (template.HTML, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[key]
	return h, ok
}

func (c *partCache) put(key string, h template.HTML) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]template.HTML{}
	}
	c.m[key] = h
}

// trim empties the cache once it holds more than max parts: what the store
// no longer shows is dropped now and then.
func (c *partCache) trim(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > max {
		c.m = nil
	}
}

// partKey is the key of the row's part: the fields "package-row" reads.
func (row *pkgRow) partKey() string {
	k := []string{"package-row", row.Ref, row.Repo, row.File, row.LatestRef, row.Latest(), row.Status, row.Err, strconv.Itoa(len(row.Releases))}
	for _, d := range row.Deployments {
		k = append(k, d.Release, d.Chain, d.Env, d.Number)
	}
	return strings.Join(k, "\x00")
}

// partKey is the key of the deployment's item in its environment's card:
// the fields "deployed" reads.
func (d *deployment) partKey() string {
	return strings.Join([]string{"deployed", d.Package, d.File, d.Release, d.Number, d.Status, d.Wanted, d.WantedNumber, d.WantedStatus}, "\x00")
}

// fillRow reads the latest release's status and the deployments of a
// package.
func (rd *reader) fillRow(row *pkgRow) {
	if n := row.Latest(); n != "" {
		row.LatestRef = row.Ref + "/@" + n
		status, err := rd.latestReleaseStatus(row.LatestRef)
		if err != nil {
			row.Err = err.Error()
			return
		}
		row.Status = status
	}
	deps, err := rd.deployments(row.pkg)
	if err != nil {
		row.Err = err.Error()
		return
	}
	for _, env := range slices.Sorted(maps.Keys(deps)) {
		row.Deployments = append(row.Deployments, deps[env])
	}
	slices.SortFunc(row.Deployments, func(a, b *deployment) int { return naturalCompare(a.Env, b.Env) })
}

// preview renders a value on one line, cut to previewLen characters.
func preview(v any) string {
	s := scalarText(v)
	if r := []rune(s); len(r) > previewLen {
		return string(r[:previewLen]) + "…"
	}
	return s
}
