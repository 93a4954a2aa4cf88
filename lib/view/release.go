package view

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ocu-team/ocu/internal/fanout"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// releaseView is a release: its phases, their work items, the runs (chains)
// of each with their functions, inputs, outputs, errors and logs.
type releaseView struct {
	Ref     string // R/-/F/@N
	Package string // R/-/F
	File    string
	Number  string
	Commit  string
	Created time.Time
	Status  string
	Phases  []phaseView
	Custom  []customRow
}

// phaseView is one phase of a release.
type phaseView struct {
	Name  string
	Items []*workItemView
}

// workItemView is a call or a deploy of a release and its runs.
type workItemView struct {
	Type   string // "call" or "deploy"
	Name   string // call name or environment
	Ref    string // R/-/F/@N/<type>/<name>
	Status string
	Runs   []*chainView
}

func (w *workItemView) live() bool {
	for _, c := range w.Runs {
		if liveStatus(c.Status) {
			return true
		}
	}
	return false
}

// chainView is one run of a work item.
type chainView struct {
	Ref       string
	K         string
	Down      bool
	Reason    string
	Status    string
	Release   string
	Output    []token // nil when the chain has no output
	Functions []*functionView
	LogsRef   string
	Logs      []logLine
	LogsTotal int // lines in the log; Logs may show only the last ones
}

// functionView is one function of a chain.
type functionView struct {
	Ref     string
	ID      string
	Name    string
	Pos     string
	Status  string
	Error   string
	Inputs  []inputView
	Outputs []token // nil until done()
	Deps    []depView
	Waiting []string // what a pending function waits for
	Runner  string
	History []historyEntry
}

// inputView is one input of a function.
type inputView struct {
	Name   string
	Ref    string
	Doc    string
	Source string // "value", "default" or "missing"
	Value  []token
}

// depView is one dependency glob of a function.
type depView struct {
	Glob string
	Met  string // "yes", "no", or "" when not checked
}

// historyEntry is one status change of a function.
type historyEntry struct {
	Status string
	Time   time.Time
}

// logLine is one line of a chain's log.
type logLine struct {
	Time    time.Time
	Stream  int // 0 print, 1 shell stdout, 2 shell stderr or error
	Thread  string
	Where   string
	Message string
	Whole   string // when the line is cut, or stands for cut lines: the whole log as JSON
}

// releaseView reads the release r, whose document is doc.
func (rd *reader) releaseView(r ref.Ref, doc state.Release) *releaseView {
	rel := r.String()
	rv := &releaseView{Ref: rel, Package: pkgOf(r), File: r.File, Number: r.Release, Commit: doc.Commit}
	if rv.Commit != "" {
		rv.Created = rd.markerTime(rel + "/commit/" + rv.Commit)
	}
	m, err := rd.releaseMarkers(rel)
	if err != nil {
		m = markers{}
	}
	rv.Status = rd.releaseStatus(m, rel)

	listed := map[string]bool{}
	for _, ph := range doc.Package.Phases {
		pv := phaseView{Name: ph.Name}
		for _, w := range ph.Work {
			typ, name := workItemOf(w)
			if name == "" {
				continue
			}
			listed[typ+"/"+name] = true
			pv.Items = append(pv.Items, rd.workItemView(m, rel, typ, name))
		}
		rv.Phases = append(rv.Phases, pv)
	}
	// Work stored but not in the release document.
	extra := phaseView{Name: "(not in the release document)"}
	for _, typ := range []string{ref.TypeCall, ref.TypeDeploy} {
		names, _ := rd.children(rel + "/" + typ)
		for _, name := range names {
			if !listed[typ+"/"+name] {
				extra.Items = append(extra.Items, rd.workItemView(m, rel, typ, name))
			}
		}
	}
	if len(extra.Items) > 0 {
		rv.Phases = append(rv.Phases, extra)
	}
	intent := r.WithRelease(ref.Intent, r.Release).String()
	custom, _ := rd.match(rel+"/custom/**", intent+"/custom/**")
	for _, c := range custom {
		rv.Custom = append(rv.Custom, customRow{Ref: c, Preview: preview(rd.value(c))})
	}
	return rv
}

// workItemOf reads a work item of the release document:
// {call: {name}} or {deploy: {environment}}; neither gives "", "".
func workItemOf(w state.Work) (typ, name string) {
	switch {
	case w.Call != nil:
		return ref.TypeCall, w.Call.Name
	case w.Deploy != nil:
		return ref.TypeDeploy, w.Deploy.Environment
	}
	return "", ""
}

// workItemView reads a work item and all its runs.
func (rd *reader) workItemView(m markers, rel, typ, name string) *workItemView {
	item := rel + "/" + typ + "/" + name
	w := &workItemView{Type: typ, Name: name, Ref: item, Status: rd.status(m, item)}
	names, _ := rd.children(item)
	for _, k := range names {
		if !state.IsNumber(k) {
			continue
		}
		c := item + "/" + k
		var doc state.Chain
		rd.decode(c, &doc)
		w.Runs = append(w.Runs, rd.chainView(m, c, doc, true))
	}
	// Until a chain finishes, the work item has no marker: its latest run's
	// status stands for it.
	if n := len(w.Runs); n > 0 && (w.Status == "" || liveStatus(w.Runs[n-1].Status)) {
		w.Status = w.Runs[n-1].Status
	}
	return w
}

// chainView reads a chain whose document is doc.
func (rd *reader) chainView(m markers, chain string, doc state.Chain, withLogs bool) *chainView {
	c := &chainView{Ref: chain, K: chain[strings.LastIndexByte(chain, '/')+1:], Status: rd.status(m, chain)}
	if c.Status == "" {
		c.Status = rd.statusOf(chain).Status
	}
	c.Down = doc.Type == "down"
	c.Reason = doc.Reason
	c.Release = doc.Release
	names, _ := rd.children(chain + "/functions")
	var lastOutputs any
	for _, id := range names {
		if state.IsNumber(id) {
			f := chain + "/functions/" + id
			var fd state.Function
			rd.decode(f, &fd)
			c.Functions = append(c.Functions, rd.functionView(m, f, fd, true))
			lastOutputs = fd.Current.Outputs
			if fd.Current.Outputs == nil { // done() without outputs leaves the field out
				lastOutputs = map[string]any{}
			}
		}
	}
	// The chain's output is its last function's outputs: shown once.
	if doc.Output != nil && !reflect.DeepEqual(doc.Output, lastOutputs) {
		c.Output = prettyAt(doc.Output, chain+"#output")
	}
	if withLogs {
		c.LogsRef = chain + "/logs"
		var log []state.LogLine
		rd.decode(c.LogsRef, &log)
		c.Logs, c.LogsTotal = logLines(log, c.LogsRef, logBounds{runLogLines, runLogBytes})
	}
	return c
}

// functionView reads a function whose document is doc. With check, a
// pending function's dependencies are matched and its missing inputs
// listed: what it waits for.
func (rd *reader) functionView(m markers, fn string, doc state.Function, check bool) *functionView {
	cur := doc.Current
	f := &functionView{Ref: fn, Status: rd.status(m, fn), ID: cur.ID, Error: cur.Error, Name: cur.Fn.Name, Pos: cur.Fn.Pos}
	if f.Status == "" {
		f.Status = cur.Status
	}
	if cur.Outputs != nil {
		f.Outputs = prettyAt(cur.Outputs, fn+"#current/outputs")
	}
	if rn := cur.Runner; rn != nil {
		f.Runner = fmt.Sprintf("%s, pid %d, started %s", rn.Host, rn.Pid, formatTime(parseTime(rn.Started)))
	}
	pending := check && f.Status == state.StatusPending
	for _, name := range slices.Sorted(maps.Keys(cur.Inputs)) {
		d := cur.Inputs[name]
		in := inputView{Name: name, Ref: d.Ref, Doc: d.Doc}
		switch {
		case d.Value != nil:
			in.Source, in.Value = "value", prettyAt(d.Value, fn+"#current/inputs/"+name+"/value")
		case d.Default != nil:
			in.Source, in.Value = "default", prettyAt(d.Default, fn+"#current/inputs/"+name+"/default")
		default:
			in.Source = "missing"
			if pending {
				w := "input " + name
				if in.Ref != "" {
					w += " (" + in.Ref + ")"
				}
				f.Waiting = append(f.Waiting, w)
			}
		}
		f.Inputs = append(f.Inputs, in)
	}
	for _, glob := range cur.Dependencies {
		dv := depView{Glob: glob}
		if pending {
			dv.Met = "no"
			if refs, err := rd.match(glob); err == nil && len(refs) > 0 {
				dv.Met = "yes"
			} else {
				f.Waiting = append(f.Waiting, "dependency "+glob)
			}
		}
		f.Deps = append(f.Deps, dv)
	}
	for _, h := range doc.History {
		f.History = append(f.History, historyEntry{Status: h.Status, Time: parseTime(h.Time)})
	}
	return f
}

// logBounds bound the log lines a page shows: the last lines, up to lines
// of them and bytes of messages, each message cut to maxLogMessage bytes.
// The whole log is a link away, as JSON.
type logBounds struct{ lines, bytes int }

// Log bounds: on the log's own page, and inside a run among others.
const (
	pageLogLines  = 2000
	pageLogBytes  = 1 << 20
	runLogLines   = 200
	runLogBytes   = 64 << 10
	maxLogMessage = 16 << 10
)

// logLines reads the log list (docs/engine.md §6) stored at the ref at: the
// lines to show within b, and how many lines the log holds. When earlier
// lines are left out, a first line says how many, linked to the whole log.
func logLines(list []state.LogLine, at string, b logBounds) ([]logLine, int) {
	whole := prefixAPIGet + escapePath(at)
	first, size := len(list), 0
	for first > 0 && len(list)-first < b.lines {
		if size += min(len(list[first-1].Message), maxLogMessage); size > b.bytes && first < len(list) {
			break
		}
		first--
	}
	out := make([]logLine, 0, len(list)-first+1)
	if first > 0 {
		out = append(out, logLine{Message: fmt.Sprintf("… %d earlier lines not shown", first), Whole: whole})
	}
	for _, e := range list[first:] {
		l := logLine{Time: parseTime(e.Timestamp), Message: e.Message, Stream: e.Stream, Thread: e.Attributes.Thread}
		if len(l.Message) > maxLogMessage {
			cut := maxLogMessage
			for cut > 0 && !utf8.RuneStart(l.Message[cut]) {
				cut--
			}
			l.Message = fmt.Sprintf("%s… (%d bytes not shown)", l.Message[:cut], len(l.Message)-cut)
			l.Whole = whole
		}
		if file, line := e.Attributes.Filename, e.Attributes.Line; file != "" {
			l.Where = file
			if line != "" {
				l.Where += ":" + line
			}
		}
		out = append(out, l)
	}
	return out, len(list)
}

// parseTime reads an RFC 3339 time string; anything else is the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// packageView is a package: its releases, newest first, with their status,
// its deployments, named releases and package-level custom state.
type packageView struct {
	Ref         string
	File        string
	Releases    []releaseRow
	Named       []string // @tag, @ and other marker folders that are no release number
	Deployments []*deployment
	Custom      []customRow
	Live        bool
}

// releaseRow is a release in a package's list.
type releaseRow struct {
	Ref     string
	Number  string
	Status  string
	Commit  string
	Created time.Time
}

// packageView reads the package r, whose folder holds names.
func (rd *reader) packageView(r ref.Ref, names []string) *packageView {
	p := pkg{Ref: pkgOf(r), Repo: r.Repo, File: r.File}
	pv := &packageView{Ref: p.Ref, File: p.File}
	for _, n := range names {
		if n[0] == '@' || n[0] == '+' {
			p.Markers = append(p.Markers, n)
			switch {
			case n[0] == '@' && state.IsNumber(n[1:]):
				p.Releases = append(p.Releases, n[1:])
			case len(n) > 1: // a tag or a named release; "@" and "+" are in Children
				pv.Named = append(pv.Named, p.Ref+"/"+n)
			}
		}
	}
	// One walk of the package finds every status and commit marker.
	refs, _ := rd.match(p.Ref+"/@*/*/*/*/status/*", p.Ref+"/@*/*/*/*/functions/*/status/running", p.Ref+"/@*/commit/*")
	byRelease := map[string]markers{}
	commits := map[string]string{}
	for _, c := range refs {
		rest := strings.TrimPrefix(c, p.Ref+"/@")
		n, tail, _ := strings.Cut(rest, "/")
		if !state.IsNumber(n) {
			continue
		}
		if h, ok := strings.CutPrefix(tail, "commit/"); ok {
			commits[n] = h
			continue
		}
		if byRelease[n] == nil {
			byRelease[n] = markers{}
		}
		byRelease[n].collect([]string{c})
	}
	for _, n := range slices.Backward(p.Releases) {
		rel := p.Ref + "/@" + n
		m := byRelease[n]
		if m == nil {
			m = markers{}
		}
		row := releaseRow{Ref: rel, Number: n, Status: rd.releaseStatus(m, rel), Commit: commits[n]}
		if row.Commit != "" {
			row.Created = rd.markerTime(rel + "/commit/" + row.Commit)
		}
		pv.Live = pv.Live || liveStatus(row.Status)
		pv.Releases = append(pv.Releases, row)
	}
	deps, _ := rd.deployments(p)
	for _, env := range slices.Sorted(maps.Keys(deps)) {
		pv.Deployments = append(pv.Deployments, deps[env])
	}
	slices.SortFunc(pv.Deployments, func(a, b *deployment) int { return naturalCompare(a.Env, b.Env) })
	custom, _ := rd.match(p.Ref+"/@/custom/**", p.Ref+"/+/custom/**")
	for _, c := range custom {
		pv.Custom = append(pv.Custom, customRow{Ref: c, Preview: preview(rd.value(c))})
	}
	return pv
}

// environmentView reads the environment name and the deployments of every
// package to it.
func (rd *reader) environmentView(name string, known []string) *environment {
	repos, _, err := rd.roots(known)
	if err != nil {
		return nil
	}
	var pkgs []pkg
	for _, repo := range repos {
		ps, err := rd.packages(repo)
		if err != nil {
			return nil
		}
		pkgs = append(pkgs, ps...)
	}
	found := make([]*deployment, len(pkgs))
	fanout.Each(len(pkgs), readWorkers, func(i int) {
		if deps, err := rd.deployments(pkgs[i]); err == nil {
			found[i] = deps[name]
		}
	})
	var deps []*deployment
	for _, d := range found {
		if d != nil {
			deps = append(deps, d)
		}
	}
	envs, err := rd.environments(deps)
	if err != nil {
		return nil
	}
	for _, e := range envs {
		if e.Name == name {
			return e
		}
	}
	return nil
}
