package view

import (
	"cmp"
	"html/template"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ocu-team/ocu/internal/fanout"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// Limits of the folder walk that finds packages.
const (
	maxPackageDepth = 12   // folders below a repo's "/-/"
	maxPackages     = 5000 // packages listed per repo
)

// repoConfigFile is the package path of a repo's configuration, recorded
// like a package (docs/engine.md §6) but not one.
const repoConfigFile = "repo.ocu.star"

// roots lists the repos of the store and the top folders that are neither a
// repo nor a marker. known names repos that may hold '/', which the store
// cannot list by folder; they are checked and kept when stored.
func (rd *reader) roots(known []string) (repos, others []string, err error) {
	top, err := rd.children("")
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, name := range known {
		first, _, _ := strings.Cut(name, "/")
		if !slices.Contains(top, first) || seen[name] {
			continue
		}
		if files, err := rd.children(name + "/-"); err == nil && len(files) > 0 {
			repos = append(repos, name)
			seen[name], seen[first] = true, true
		}
	}
	for _, name := range top {
		if name == "@" || name == "+" || seen[name] {
			continue
		}
		if files, err := rd.children(name + "/-"); err == nil && len(files) > 0 {
			repos = append(repos, name)
		} else {
			others = append(others, name)
		}
	}
	slices.SortFunc(repos, naturalCompare)
	return repos, others, nil
}

// pkg is a package with state: the folder R/-/F holding releases ("@N"),
// named releases or links ("@rc", "@"), and intent ("+…").
type pkg struct {
	Ref      string   // R/-/F
	Repo     string   // R
	File     string   // F
	Releases []string // release numbers, ascending in natural order
	Markers  []string // every marker folder: "@1", "@", "@rc", "+", …
}

// Latest is the highest release number, or "".
func (p pkg) Latest() string {
	if len(p.Releases) == 0 {
		return ""
	}
	return p.Releases[len(p.Releases)-1]
}

// packages finds the packages of repo: the folders below R/-/ that hold
// marker folders, the repo configuration left out.
func (rd *reader) packages(repo string) ([]pkg, error) {
	var (
		mu    sync.Mutex
		out   []pkg
		first error
	)
	var walk func(file string, depth int)
	walk = func(file string, depth int) {
		mu.Lock()
		stop := depth > maxPackageDepth || len(out) >= maxPackages || first != nil
		mu.Unlock()
		if stop || rd.ctx.Err() != nil {
			return
		}
		base := repo + "/-"
		if file != "" {
			base += "/" + file
		}
		names, err := rd.children(base)
		if err != nil {
			mu.Lock()
			first = cmp.Or(first, err)
			mu.Unlock()
			return
		}
		p := pkg{Ref: base, Repo: repo, File: file}
		var subs []string
		for _, n := range names {
			switch {
			case n[0] == '@' || n[0] == '+':
				p.Markers = append(p.Markers, n)
				if n[0] == '@' && state.IsNumber(n[1:]) {
					p.Releases = append(p.Releases, n[1:])
				}
			case file != "":
				subs = append(subs, file+"/"+n)
			default:
				subs = append(subs, n)
			}
		}
		// Folders are listed a few at a time: a repo holds hundreds.
		fanout.Each(len(subs), readWorkers, func(i int) { walk(subs[i], depth+1) })
		if file != "" && file != repoConfigFile && len(p.Markers) > 0 {
			mu.Lock()
			out = append(out, p)
			mu.Unlock()
		}
	}
	walk("", 0)
	if err := cmp.Or(first, rd.ctx.Err()); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b pkg) int { return naturalCompare(a.File, b.File) })
	return out, nil
}

// pkgOf returns the package of a local ref.
func pkgOf(r ref.Ref) string {
	return r.Repo + "/-/" + r.File
}

// deployment is what a package has in an environment: the chain deployed
// (the link R/-/F/@/deploy/E), and the release the deploy intent asks for
// when that is another one (a deploy pending, running or failed).
type deployment struct {
	Package string // R/-/F
	File    string // F
	Env     string

	Release string // R/-/F/@N deployed, "" when nothing is
	Number  string // N
	Chain   string // R/-/F/@N/deploy/E/K
	Status  string // of the chain
	Time    time.Time
	Output  any

	Wanted       string // R/-/F/@M the intent names, when not the release deployed
	WantedNumber string
	WantedStatus string // of the latest chain of R/-/F/@M/deploy/E
	WantedChain  string

	HTML template.HTML // its item in its environment's card, rendered by index
}

// Shown is the status to show for the deployment: the intent's when it
// differs from what is deployed.
func (d deployment) Shown() string {
	if d.Wanted != "" && d.WantedStatus != "" {
		return d.WantedStatus
	}
	return d.Status
}

// deployments reads the deployments of package p, by environment name.
func (rd *reader) deployments(p pkg) (map[string]*deployment, error) {
	out := map[string]*deployment{}
	at := func(env string) *deployment {
		if d := out[env]; d != nil {
			return d
		}
		d := &deployment{Package: p.Ref, File: p.File, Env: env}
		out[env] = d
		return d
	}
	// The package folder lists the state store's markers only: intent
	// ("+") is in the intent store, so both are always asked.
	{
		envs, err := rd.children(p.Ref + "/@/deploy")
		if err != nil {
			return nil, err
		}
		for _, env := range envs {
			chainRef, output, err := rd.currentChain(p.Ref + "/@/deploy/" + env)
			if err != nil {
				continue // no current deployment (only the chains' history links)
			}
			d := at(env)
			d.Chain = chainRef.String()
			d.Release = chainRef.ReleaseLevel().String()
			d.Number = chainRef.Release
			mk := rd.statusOf(d.Chain)
			d.Status, d.Time = mk.Status, mk.Time
			d.Output = output
		}
	}
	{
		envs, err := rd.children(p.Ref + "/+/deploy")
		if err != nil {
			return nil, err
		}
		for _, env := range envs {
			var intent state.DeployIntent
			rd.decode(p.Ref+"/+/deploy/"+env, &intent)
			rel := intent.Release
			r, err := ref.Parse(rel)
			if err != nil || rel == "" {
				continue
			}
			d := at(env)
			if rel == d.Release {
				continue
			}
			d.Wanted, d.WantedNumber = rel, r.Release
			d.WantedChain, d.WantedStatus = rd.latestChain(rel + "/deploy/" + env)
		}
	}
	return out, nil
}

// currentChain reads the chain a deployment link leads to, and its output.
// The chain of a finished release is read once (see cached); the link is
// followed on every call.
func (rd *reader) currentChain(link string) (ref.Ref, any, error) {
	in, err := ref.Parse(link)
	if err != nil {
		return ref.Ref{}, nil, err
	}
	target := in
	if res, ok := rd.s.(store.Resolver); ok {
		if target, err = res.Resolve(rd.ctx, in); err != nil {
			return ref.Ref{}, nil, err
		}
	}
	type read struct {
		chain  ref.Ref
		output any
	}
	got, err := cached(rd, store.ReleaseFolder(target.String()), "chain "+target.String(), func() (read, error) {
		doc, err := rd.s.Get(rd.ctx, target)
		if err != nil {
			return read{}, err
		}
		var chain state.Chain
		_ = state.Decode(doc.Value, &chain) // a malformed field stays zero
		return read{doc.Ref, chain.Output}, nil
	})
	return got.chain, got.output, err
}

// latestChain returns the chain with the highest number of the work item
// and its status.
func (rd *reader) latestChain(item string) (chain, status string) {
	names, err := rd.children(item)
	if err != nil {
		return "", ""
	}
	best := ""
	for _, n := range names {
		if state.IsNumber(n) && (best == "" || state.CompareNumbers(n, best) > 0) {
			best = n
		}
	}
	if best == "" {
		return "", ""
	}
	chain = item + "/" + best
	return chain, rd.statusOf(chain).Status
}

// environment is an environment: its document in state, and the
// deployments to it.
type environment struct {
	Name        string
	Ref         string // @/environment/E
	Attributes  []keyValue
	InState     bool
	Deployments []*deployment
}

// keyValue is one attribute or field, in order.
type keyValue struct {
	Key   string
	Value string
}

// environments reads @/environment/* and joins the deployments found for
// each; environments known only from deployments are included.
func (rd *reader) environments(deps []*deployment) ([]*environment, error) {
	refs, err := rd.match("@/environment/*")
	if err != nil {
		return nil, err
	}
	byName := map[string]*environment{}
	var out []*environment
	add := func(name string) *environment {
		if e := byName[name]; e != nil {
			return e
		}
		e := &environment{Name: name, Ref: "@/environment/" + name}
		byName[name] = e
		out = append(out, e)
		return e
	}
	for _, r := range refs {
		e := add(strings.TrimPrefix(r, "@/environment/"))
		doc, err := rd.get(r)
		if err != nil {
			continue
		}
		e.InState = true
		var env state.Environment
		_ = state.Decode(doc.Value, &env) // a malformed field stays zero
		for _, k := range slices.Sorted(maps.Keys(env.Attributes)) {
			e.Attributes = append(e.Attributes, keyValue{k, env.Attributes[k]})
		}
	}
	for _, d := range deps {
		e := add(d.Env)
		e.Deployments = append(e.Deployments, d)
	}
	slices.SortFunc(out, func(a, b *environment) int { return naturalCompare(a.Name, b.Name) })
	return out, nil
}

// intentDiff is an intent document that differs from its state twin.
type intentDiff struct {
	Intent string
	State  string
	Why    string
}

// globalIntentDiffs compares the global intents (environments, custom state)
// with state.
func (rd *reader) globalIntentDiffs() ([]intentDiff, error) {
	refs, err := rd.match("+/environment/*", "@/environment/*", "+/custom/**", "@/custom/**")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []intentDiff
	for _, in := range refs {
		r, err := ref.Parse(in)
		if err != nil {
			continue
		}
		intent, state := r, r.Twin()
		if r.Marker == ref.State {
			intent, state = r.Twin(), r
		}
		if seen[intent.String()] {
			continue
		}
		seen[intent.String()] = true
		iv, ierr := rd.s.Get(rd.ctx, intent)
		sv, serr := rd.s.Get(rd.ctx, state)
		d := intentDiff{Intent: intent.String(), State: state.String()}
		switch {
		case ierr != nil && serr != nil:
			continue
		case ierr != nil:
			d.Why = "intent deleted; state remains"
		case serr != nil:
			d.Why = "not applied yet"
		case !reflect.DeepEqual(iv.Value, sv.Value):
			d.Why = "differs from state"
		default:
			continue
		}
		out = append(out, d)
	}
	return out, nil
}
