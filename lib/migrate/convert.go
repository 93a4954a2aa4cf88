package migrate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// Plan is what a migration writes: the documents and links of each
// destination store, what they are and what was dropped.
type Plan struct {
	State, Intent []Write
	// Counts says how many of each kind of object each store gets.
	Counts []Count
	// Dropped lists, one line each, what format 1 cannot hold.
	Dropped []string
}

// Write is one object of the destination: a document, or a link when
// Target is set.
type Write struct {
	Ref    string
	Value  any
	Target string
}

// Count is the number of objects of one kind written to one store.
type Count struct {
	Store string // "state" or "intent"
	Kind  string
	N     int
}

// Summary returns the lines printed for a plan: the counts per store and
// kind ("state: 8 releases"), then one "dropped: …" line per dropped item.
func (p *Plan) Summary() []string {
	counts := slices.Clone(p.Counts)
	rank := func(c Count) int {
		i := slices.Index(kindOrder, c.Kind)
		if c.Store == "intent" {
			i += len(kindOrder)
		}
		return i
	}
	slices.SortStableFunc(counts, func(a, b Count) int { return rank(a) - rank(b) })
	var out []string
	for _, c := range counts {
		out = append(out, fmt.Sprintf("%s: %d %s", c.Store, c.N, c.Kind))
	}
	for _, d := range p.Dropped {
		out = append(out, "dropped: "+d)
	}
	return out
}

// Kinds of objects, as counted in the summary.
const (
	kindReleases    = "releases"
	kindCommits     = "commit markers"
	kindChains      = "runs"
	kindFunctions   = "functions"
	kindMarkers     = "status markers"
	kindLogs        = "logs"
	kindWork        = "work items"
	kindCustom      = "custom documents"
	kindEnvs        = "environments"
	kindRepoConfigs = "repo configs"
	kindDeployInt   = "deploy intents"
	kindLinks       = "links"
	kindTags        = "tags"
	kindChecks      = "environment checks"
	kindOther       = "other documents"
)

// kindOrder is the order of the kinds in the summary.
var kindOrder = []string{kindRepoConfigs, kindEnvs, kindCustom, kindReleases, kindCommits, kindWork, kindChains, kindFunctions, kindMarkers, kindLogs, kindChecks, kindDeployInt, kindTags, kindLinks, kindOther}

// Status names of runs, functions and chains.
const (
	statusPending  = "pending"
	statusRunning  = "running"
	statusPaused   = "paused"
	statusComplete = "complete"
	statusFailed   = "failed"
	statusRetried  = "failed_retried"
)

// laterRef is a ref of a later-format store split at its marker.
type laterRef struct {
	pkg    string   // "R/-/F" of a local ref; "" for a global ref
	marker string   // the text after '@'
	sub    []string // the segments after the marker
	frag   string
	hash   bool // the ref had a '#'
}

// splitRef splits s at its marker, the first segment starting with '@';
// ok false when there is none.
func splitRef(s string) (laterRef, bool) {
	body, frag, hash := strings.Cut(s, "#")
	segs := strings.Split(body, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, "@") {
			l := laterRef{pkg: strings.Join(segs[:i], "/"), marker: seg[1:], frag: frag, hash: hash}
			if i+1 < len(segs) {
				l.sub = segs[i+1:]
			}
			return l, true
		}
	}
	return laterRef{}, false
}

// release returns N for a release marker rN.
func (l laterRef) release() (string, bool) {
	n, ok := strings.CutPrefix(l.marker, "r")
	if !ok || n == "" || (len(n) > 1 && n[0] == '0') {
		return "", false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return n, true
}

// work reports a work item's type ("task" or "deploy") and name when the
// ref is …/@rN/task|deploy/NAME followed by rest segments.
func (l laterRef) work(rest int) (typ, name string, ok bool) {
	if l.pkg == "" || len(l.sub) != 2+rest {
		return "", "", false
	}
	if _, isRel := l.release(); !isRel {
		return "", "", false
	}
	if l.sub[0] != "task" && l.sub[0] != "deploy" {
		return "", "", false
	}
	return l.sub[0], l.sub[1], true
}

// rewrite returns the format 1 form of a later-format ref (or glob): @rN
// becomes @N, the subpath type task becomes call and op becomes task, and
// an intent ref gets the marker '+'.
func rewrite(s string, intent bool) string {
	l, ok := splitRef(s)
	if !ok {
		return s
	}
	m := l.marker
	if n, ok := l.release(); ok {
		m = n
	}
	sub := slices.Clone(l.sub)
	if l.pkg != "" && len(sub) > 0 {
		switch sub[0] {
		case "task":
			sub[0] = ref.TypeCall
		case "op":
			sub[0] = ref.TypeTask
		}
	}
	mark := "@"
	if intent {
		mark = "+"
	}
	out := mark + m
	if l.pkg != "" {
		out = l.pkg + "/" + out
	}
	if len(sub) > 0 {
		out += "/" + strings.Join(sub, "/")
	}
	if l.hash {
		out += "#" + l.frag
	}
	return out
}

// converter builds a Plan.
type converter struct {
	plan   *Plan
	counts map[[2]string]int
	index  map[[2]string]int // position of a count in plan.Counts
	extra  map[string]int    // log attributes dropped, by name
}

// run is one run of a later-format store.
type run struct {
	src      string // its ref in the source
	chain    string // its format 1 chain ref
	pkg      string
	release  int
	typ      string // "task", "deploy"
	name     string
	k        int
	doc      map[string]any
	status   string // the run's status in the source
	time     string // the time of its status marker
	complete bool
}

// Convert plans the format 1 stores holding what state and intent (nil
// when there is none) hold.
func Convert(state, intent *Source) (*Plan, error) {
	c := &converter{plan: &Plan{}, counts: map[[2]string]int{}, index: map[[2]string]int{}, extra: map[string]int{}}
	if err := c.state(state); err != nil {
		return nil, err
	}
	if intent != nil {
		if err := c.intent(intent); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(c.extra))
	for k := range c.extra {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c.drop("log attribute %q on %d log lines (format 1 keeps col, filename, line and thread)", k, c.extra[k])
	}
	return c.plan, nil
}

func (c *converter) drop(format string, args ...any) {
	c.plan.Dropped = append(c.plan.Dropped, fmt.Sprintf(format, args...))
}

// add plans one write to store ("state" or "intent"), counted as kind. A
// ref format 1 cannot name is dropped.
func (c *converter) add(storeName, kind string, w Write) {
	r, err := ref.Parse(w.Ref)
	if err != nil || r.String() != w.Ref {
		c.drop("%s %s: not a format 1 ref", storeName, w.Ref)
		return
	}
	if storeName == "state" {
		c.plan.State = append(c.plan.State, w)
	} else {
		c.plan.Intent = append(c.plan.Intent, w)
	}
	key := [2]string{storeName, kind}
	i, ok := c.index[key]
	if !ok {
		i = len(c.plan.Counts)
		c.index[key] = i
		c.plan.Counts = append(c.plan.Counts, Count{Store: storeName, Kind: kind})
	}
	c.plan.Counts[i].N++
}

func decode(o Object) (any, error) { return store.DecodeValue(o.Body) }

func sortedRefs(objs map[string]Object) []string {
	refs := make([]string, 0, len(objs))
	for r := range objs {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	return refs
}

// state plans the state store.
func (c *converter) state(src *Source) error {
	refs := sortedRefs(src.Objects)
	runs := map[string]*run{}
	commitTime := map[string]string{} // release ref → commit marker time
	for _, r := range refs {
		l, ok := splitRef(r)
		if !ok {
			continue
		}
		if l.pkg != "" && len(l.sub) == 2 && l.sub[0] == "commit" {
			if v, err := decode(src.Objects[r]); err == nil {
				commitTime[l.pkg+"/@"+l.marker] = str(field(v, "time"))
			}
		}
		typ, name, ok := l.work(1)
		if !ok || src.Objects[r].Link {
			continue
		}
		k, err := strconv.Atoi(l.sub[2])
		if err != nil || k < 1 {
			continue
		}
		v, err := decode(src.Objects[r])
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		doc, _ := v.(map[string]any)
		n, _ := l.release()
		rel, _ := strconv.Atoi(n)
		runs[r] = &run{src: r, chain: rewrite(r, false), pkg: l.pkg, release: rel, typ: typ, name: name, k: k, doc: doc}
	}
	// Status markers of runs: the one with the latest time wins.
	for _, r := range refs {
		l, _ := splitRef(r)
		if _, _, ok := l.work(3); !ok || l.sub[3] != "status" {
			continue
		}
		ru := runs[strings.Join(strings.Split(r, "/")[:len(strings.Split(r, "/"))-2], "/")]
		if ru == nil {
			continue
		}
		v, err := decode(src.Objects[r])
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		t := str(field(v, "time"))
		if ru.status == "" || t > ru.time {
			ru.status, ru.time = l.sub[4], t
		}
	}
	for _, ru := range runs {
		if ru.status == "" {
			ru.status = statusPending
			ru.time = commitTime[ru.pkg+"/@r"+strconv.Itoa(ru.release)]
		}
		ru.complete = ru.status == statusComplete
	}

	var links []string
	for _, r := range refs {
		o := src.Objects[r]
		if o.Link {
			links = append(links, r)
			continue
		}
		if err := c.stateDoc(src, r, runs); err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
	}
	c.itemMarkers(runs)
	for _, r := range links {
		c.stateLink(src, r)
	}
	c.chainLinks(runs)
	return nil
}

// stateDoc plans the format 1 form of the state document at r.
func (c *converter) stateDoc(src *Source, r string, runs map[string]*run) error {
	v, err := decode(src.Objects[r])
	if err != nil {
		return err
	}
	l, ok := splitRef(r)
	if !ok {
		c.add("state", kindOther, Write{Ref: r, Value: v})
		return nil
	}
	if len(l.sub) > 0 && l.sub[0] == "push" {
		c.drop("push document %s", r)
		return nil
	}
	_, isRelease := l.release()
	switch {
	case l.pkg == "" && len(l.sub) >= 2 && l.sub[0] == ref.TypeEnvironment:
		c.add("state", kindEnvs, Write{Ref: r, Value: environment(v)})
	case len(l.sub) >= 2 && l.sub[0] == ref.TypeCustom:
		c.add("state", kindCustom, Write{Ref: rewrite(r, false), Value: v})
	case l.marker != "" && !isRelease && len(l.sub) == 0 && (l.pkg == "" || strings.HasSuffix(l.pkg, "/repo.ocu.star")):
		c.add("state", kindRepoConfigs, Write{Ref: r, Value: c.repoConfig(r, v)})
	case isRelease && len(l.sub) == 0:
		rel, err := release(v)
		if err != nil {
			return err
		}
		c.add("state", kindReleases, Write{Ref: rewrite(r, false), Value: rel})
	case isRelease && len(l.sub) == 2 && l.sub[0] == ref.TypeCommit:
		c.add("state", kindCommits, Write{Ref: rewrite(r, false), Value: marker(str(field(v, "time")))})
	case isRelease && len(l.sub) == 2 && l.sub[0] == "op":
		c.add("state", kindChecks, Write{Ref: rewrite(r, false), Value: marker(str(field(v, "time")))})
	case runs[r] != nil:
		c.chain(runs[r])
	default:
		if _, _, ok := l.work(3); ok && l.sub[3] == "status" {
			return nil // written with its run
		}
		if _, _, ok := l.work(2); ok && l.sub[3] == "logs" {
			c.add("state", kindLogs, Write{Ref: rewrite(r, false), Value: c.logs(v)})
			return nil
		}
		if _, _, ok := l.work(0); ok {
			c.workCopy(r, v, runs)
			return nil
		}
		c.add("state", kindOther, Write{Ref: rewrite(r, false), Value: v})
	}
	return nil
}

// chain plans a run's chain document, its status marker and its function
// documents.
func (c *converter) chain(ru *run) {
	chainStatus := ru.status
	if chainStatus == statusRunning || chainStatus == statusPaused {
		chainStatus = statusPending
	}
	doc := map[string]any{
		"type":       chainType(ru.doc["type"]),
		"release":    rewrite(str(ru.doc["release"]), false),
		"entrypoint": ru.chain + "/functions/1",
		"output":     nil,
	}
	if ru.complete {
		doc["output"] = ru.doc["output"]
	}
	if doc["type"] == "down" {
		doc["reason"] = "intent"
	}
	c.add("state", kindChains, Write{Ref: ru.chain, Value: doc})
	c.add("state", kindMarkers, Write{Ref: ru.chain + "/status/" + chainStatus, Value: marker(ru.time)})
	if w, ok := ru.doc["watch_files"].([]any); ok && len(w) > 0 {
		c.drop("watch files of %s (%d)", ru.src, len(w))
	}

	fns, _ := ru.doc["functions"].([]any)
	for i, f := range fns {
		fm, _ := f.(map[string]any)
		status := statusComplete
		if i == len(fns)-1 {
			status = ru.status
			if status == statusPaused {
				status = statusPending
			}
		}
		cur := map[string]any{
			"fn":     fm["fn"],
			"id":     strconv.Itoa(i + 1),
			"inputs": inputs(fm["inputs"]),
			"status": status,
		}
		if deps, ok := fm["dependencies"].([]any); ok && len(deps) > 0 {
			out := make([]any, len(deps))
			for j, d := range deps {
				out[j] = rewrite(str(d), false)
			}
			cur["dependencies"] = out
		}
		if i == len(fns)-1 && ru.complete {
			// As the engine writes it: a done() without outputs leaves
			// the field out.
			if out, _ := ru.doc["output"].(map[string]any); len(out) > 0 {
				cur["outputs"] = out
			}
		}
		fref := ru.chain + "/functions/" + strconv.Itoa(i+1)
		c.add("state", kindFunctions, Write{Ref: fref, Value: map[string]any{
			"current": cur,
			"history": []any{map[string]any{"status": status, "time": ru.time}},
		}})
		c.add("state", kindMarkers, Write{Ref: fref + "/status/" + status, Value: marker(ru.time)})
	}
}

func chainType(t any) string {
	if str(t) == "down" {
		return "down"
	}
	return ""
}

// workCopy plans the format 1 work copy of a work item summary
// {run_ref, type, release, input, output}: the chain document of its run.
func (c *converter) workCopy(r string, v any, runs map[string]*run) {
	runRef := str(field(v, "run_ref"))
	chain := rewrite(runRef, false)
	doc := map[string]any{
		"type":       chainType(field(v, "type")),
		"release":    rewrite(str(field(v, "release")), false),
		"entrypoint": chain + "/functions/1",
		"output":     field(v, "output"),
	}
	if doc["type"] == "down" {
		doc["reason"] = "intent"
	}
	c.add("state", kindWork, Write{Ref: rewrite(r, false), Value: doc})
}

// itemMarkers plans the status marker of every work item: the status of
// its latest finished run (complete or failed).
func (c *converter) itemMarkers(runs map[string]*run) {
	latest := map[string]*run{}
	for _, ru := range runs {
		var st string
		switch ru.status {
		case statusComplete:
			st = statusComplete
		case statusFailed, statusRetried:
			st = statusFailed
		default:
			continue
		}
		item := ru.chain[:strings.LastIndex(ru.chain, "/")]
		if old := latest[item]; old == nil || ru.k > old.k {
			ru := *ru
			ru.status = st
			latest[item] = &ru
		}
	}
	items := make([]string, 0, len(latest))
	for item := range latest {
		items = append(items, item)
	}
	sort.Strings(items)
	for _, item := range items {
		ru := latest[item]
		c.add("state", kindMarkers, Write{Ref: item + "/status/" + ru.status, Value: marker(ru.time)})
	}
}

// stateLink plans the format 1 form of the state link at r.
func (c *converter) stateLink(src *Source, r string) {
	target := src.Objects[r].Target()
	l, ok := splitRef(r)
	switch {
	case !ok:
		c.add("state", kindLinks, Write{Ref: r, Target: target})
		return
	case len(l.sub) > 0 && l.sub[0] == "push":
		c.drop("push link %s", r)
		return
	case l.pkg == "" && l.marker == "" && len(l.sub) == 0:
		c.drop("link %s -> %s at the store root (old clients' link, never read)", r, target)
		return
	}
	tl, _ := splitRef(target)
	if _, _, isWork := tl.work(0); isWork && src.Objects[target].Body != nil && !src.Objects[target].Link {
		v, err := decode(src.Objects[target])
		if err == nil {
			if chainType(field(v, "type")) == "down" {
				c.drop("link %s -> %s: a torn-down deployment (format 1 removes the link)", r, target)
				return
			}
			if rr := str(field(v, "run_ref")); rr != "" {
				c.add("state", kindLinks, Write{Ref: rewrite(r, false), Target: rewrite(rr, false)})
				return
			}
		}
	}
	if _, isRel := l.release(); l.pkg != "" && len(l.sub) == 0 && l.marker != "" && !isRel && !strings.HasSuffix(l.pkg, "/repo.ocu.star") {
		if _, err := strconv.Atoi(l.marker); err == nil {
			c.drop("tag %s -> %s: a number names a release in format 1", r, target)
			return
		}
		c.add("state", kindTags, Write{Ref: r, Target: rewrite(target, false)})
		return
	}
	c.add("state", kindLinks, Write{Ref: rewrite(r, false), Target: rewrite(target, false)})
}

// chainLinks plans the links R/-/F/@/call/C/K and R/-/F/@/deploy/E/K that
// format 1 keeps for every completed chain; of runs sharing a link the one
// of the latest release wins, as it would have been written last.
func (c *converter) chainLinks(runs map[string]*run) {
	var done []*run
	for _, ru := range runs {
		if ru.complete {
			done = append(done, ru)
		}
	}
	sort.Slice(done, func(i, j int) bool {
		a, b := done[i], done[j]
		if a.release != b.release {
			return a.release < b.release
		}
		return a.chain < b.chain
	})
	target := map[string]string{}
	var order []string
	for _, ru := range done {
		typ := ref.TypeDeploy
		if ru.typ == "task" {
			typ = ref.TypeCall
		}
		link := ru.pkg + "/@/" + typ + "/" + ru.name + "/" + strconv.Itoa(ru.k)
		if _, ok := target[link]; !ok {
			order = append(order, link)
		}
		target[link] = ru.chain
	}
	sort.Strings(order)
	for _, link := range order {
		c.add("state", kindLinks, Write{Ref: link, Target: target[link]})
	}
}

// intent plans the intent store: every ref gets the marker '+'.
func (c *converter) intent(src *Source) error {
	refs := sortedRefs(src.Objects)
	var links []string
	for _, r := range refs {
		o := src.Objects[r]
		if o.Link {
			links = append(links, r)
			continue
		}
		v, err := decode(o)
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		l, ok := splitRef(r)
		_, isRelease := l.release()
		switch {
		case !ok:
			c.add("intent", kindOther, Write{Ref: r, Value: v})
		case len(l.sub) > 0 && l.sub[0] == "push":
			c.drop("push document %s (intent)", r)
		case l.pkg == "" && len(l.sub) >= 2 && l.sub[0] == ref.TypeEnvironment:
			c.add("intent", kindEnvs, Write{Ref: rewrite(r, true), Value: environment(v)})
		case len(l.sub) >= 2 && l.sub[0] == ref.TypeCustom:
			c.add("intent", kindCustom, Write{Ref: rewrite(r, true), Value: v})
		case l.pkg != "" && l.marker == "" && len(l.sub) == 2 && l.sub[0] == ref.TypeDeploy:
			c.add("intent", kindDeployInt, Write{Ref: rewrite(r, true), Value: map[string]any{
				"type":    "",
				"release": rewrite(str(field(v, "release")), false),
				"input":   inputs(field(v, "input")),
			}})
		case l.marker != "" && !isRelease && len(l.sub) == 0 && (l.pkg == "" || strings.HasSuffix(l.pkg, "/repo.ocu.star")):
			c.add("intent", kindRepoConfigs, Write{Ref: rewrite(r, true), Value: c.repoConfig(r, v)})
		default:
			c.add("intent", kindOther, Write{Ref: rewrite(r, true), Value: v})
		}
	}
	for _, r := range links {
		target := src.Objects[r].Target()
		l, ok := splitRef(r)
		switch {
		case ok && len(l.sub) > 0 && l.sub[0] == "push":
			c.drop("push link %s (intent)", r)
		case ok && l.pkg == "" && l.marker == "" && len(l.sub) == 0:
			c.drop("link %s -> %s at the root of the intent store (old clients' link, never read)", r, target)
		default:
			c.add("intent", kindLinks, Write{Ref: rewrite(r, true), Target: rewrite(target, true)})
		}
	}
	return nil
}

// release converts a release document: phases[].tasks[{task|deploy}]
// become phases[].work[{call|deploy}].
func release(v any) (map[string]any, error) {
	pkg, _ := field(v, "package").(map[string]any)
	phases := []any{}
	list, _ := pkg["phases"].([]any)
	for _, p := range list {
		work := []any{}
		items, _ := field(p, "tasks").([]any)
		for _, it := range items {
			if t, ok := field(it, "task").(map[string]any); ok {
				work = append(work, map[string]any{"call": map[string]any{
					"fn":     t["fn"],
					"inputs": inputs(t["inputs"]),
					"name":   t["name"],
				}})
				continue
			}
			if d, ok := field(it, "deploy").(map[string]any); ok {
				work = append(work, map[string]any{"deploy": map[string]any{
					"down":        d["down"],
					"environment": d["environment"],
					"inputs":      inputs(d["inputs"]),
					"up":          d["up"],
				}})
				continue
			}
			return nil, fmt.Errorf("a work item that is neither task nor deploy: %v", it)
		}
		phases = append(phases, map[string]any{"name": field(p, "name"), "work": work})
	}
	functions := pkg["functions"]
	if functions == nil {
		functions = map[string]any{}
	}
	return map[string]any{
		"commit": field(v, "commit"),
		"package": map[string]any{
			"functions":   functions,
			"phases":      phases,
			"deployments": nil,
		},
	}, nil
}

// inputs rewrites the refs of input descriptors; null members are left out,
// as ocu writes descriptors.
func inputs(v any) map[string]any {
	out := map[string]any{}
	m, _ := v.(map[string]any)
	for name, d := range m {
		dm, ok := d.(map[string]any)
		if !ok {
			out[name] = d
			continue
		}
		nd := map[string]any{}
		for k, x := range dm {
			if x == nil {
				continue
			}
			if s, ok := x.(string); ok && k == "ref" {
				x = rewrite(s, false)
			}
			nd[k] = x
		}
		out[name] = nd
	}
	return out
}

// logs converts a log list; attributes other than the four format 1 keeps
// are dropped and counted.
func (c *converter) logs(v any) []any {
	list, _ := v.([]any)
	out := make([]any, 0, len(list))
	for _, line := range list {
		attrs, _ := field(line, "attributes").(map[string]any)
		keep := map[string]any{}
		for _, k := range []string{"col", "filename", "line", "thread"} {
			keep[k] = text(attrs[k])
		}
		for k := range attrs {
			if _, ok := keep[k]; !ok {
				c.extra[k]++
			}
		}
		stream := field(line, "stream")
		if stream == nil {
			stream = 0
		}
		out = append(out, map[string]any{
			"attributes": keep,
			"message":    text(field(line, "message")),
			"stream":     stream,
			"timestamp":  text(field(line, "timestamp")),
		})
	}
	return out
}

// repoConfig keeps the source of a repo config document; Remotes, which
// format 1 cannot hold, are dropped.
func (c *converter) repoConfig(r string, v any) map[string]any {
	if rem := field(v, "Remotes"); rem != nil {
		if l, ok := rem.([]any); !ok || len(l) > 0 {
			c.drop("remotes of %s", r)
		}
	}
	return map[string]any{"source": field(v, "source")}
}

// environment keeps an environment's name and attributes.
func environment(v any) map[string]any {
	attrs := field(v, "attributes")
	if attrs == nil {
		attrs = map[string]any{}
	}
	return map[string]any{"attributes": attrs, "name": field(v, "name")}
}

func marker(t string) map[string]any { return map[string]any{"time": t} }

// field returns member k of an object, nil otherwise.
func field(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// text formats a log attribute or field as a string.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}
