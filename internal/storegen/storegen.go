package storegen

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/ocu-team/ocu/lib/state"
)

// Stats describes what Generate wrote.
type Stats struct {
	Documents int   // objects of kind "ref"
	Links     int   // objects of kind "link"
	Bytes     int64 // total size of every @object.json written
}

// DocumentsPerRelease is the number of documents Generate writes per release.
const DocumentsPerRelease = 2 + 4*7

// LinksPerPackage is the number of links Generate writes per package:
// @/<type>/<name> and @/<type>/<name>/1 for each of the four work items.
const LinksPerPackage = 4 * 2

// Environments is the number of environments Generate writes (dev,
// staging, production), each deployed to by every release.
const Environments = 3

// Repo is the repo alias of every generated ref.
const Repo = "example"

// PackageFile returns the package file of package p: "svc007/release.ocu.star".
func PackageFile(p int) string { return fmt.Sprintf("svc%03d/release.ocu.star", p) }

// Generate writes a store of packages × releases releases (DocumentsPerRelease
// documents each), LinksPerPackage links per package and the environments
// deployed to into base, which must not hold a store yet (no <base>/refs). It writes in parallel; the bytes
// written depend only on packages and releases.
func Generate(base string, packages, releases int) (Stats, error) {
	if packages < 1 || packages > 1000 {
		return Stats{}, fmt.Errorf("storegen: packages must be 1..1000, got %d", packages)
	}
	if releases < 1 {
		return Stats{}, fmt.Errorf("storegen: releases must be at least 1, got %d", releases)
	}
	refsDir := filepath.Join(base, "refs")
	if _, err := os.Lstat(refsDir); err == nil {
		return Stats{}, fmt.Errorf("storegen: %s already exists; generate into an empty folder", refsDir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Stats{}, fmt.Errorf("storegen: %w", err)
	}
	if err := os.MkdirAll(refsDir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("storegen: %w", err)
	}
	if err := os.WriteFile(filepath.Join(base, ".ocuroot-store"), []byte(`{"version":1}`), 0o644); err != nil {
		return Stats{}, fmt.Errorf("storegen: %w", err)
	}

	// One job per release; writing is I/O bound, so use a few more workers than CPUs.
	type job struct{ p, n int }
	jobs := make(chan job)
	var (
		mu    sync.Mutex
		total Stats
		errs  []error
		wg    sync.WaitGroup
	)
	for range min(packages*releases, 4*runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for j := range jobs {
				w := &writer{refsDir: refsDir}
				newRelease(j.p, j.n, releases).write(w)
				mu.Lock()
				total.Documents += w.stats.Documents
				total.Links += w.stats.Links
				total.Bytes += w.stats.Bytes
				if w.err != nil {
					errs = append(errs, w.err)
				}
				mu.Unlock()
			}
		})
	}
	for p := range packages {
		for n := 1; n <= releases; n++ {
			jobs <- job{p, n}
		}
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		return total, fmt.Errorf("storegen: %w", errs[0])
	}
	w := &writer{refsDir: refsDir}
	writeEnvironments(w, "@")
	total.Documents += w.stats.Documents
	total.Bytes += w.stats.Bytes
	if w.err != nil {
		return total, fmt.Errorf("storegen: %w", w.err)
	}
	return total, nil
}

// writeEnvironments writes the environments the releases deploy to, as
// state ("@") or intent ("+").
func writeEnvironments(w *writer, marker string) {
	for _, it := range newRelease(0, 1, 1).items {
		if it.typ == "deploy" {
			w.doc(marker+"/environment/"+it.name, nil, state.Environment{
				Attributes: map[string]string{"type": it.envType},
				Name:       it.name,
			})
		}
	}
}

// writer writes envelopes below refs/ and counts them. After the first error
// it does nothing.
type writer struct {
	refsDir string
	stats   Stats
	err     error
}

type envelope struct {
	Kind  string   `json:"kind"`
	Links []string `json:"links,omitempty"`
	Body  any      `json:"body"`
}

func (w *writer) doc(ref string, links []string, body any) {
	if w.write(ref, envelope{Kind: "ref", Links: links, Body: body}) {
		w.stats.Documents++
	}
}

func (w *writer) link(ref, target string) {
	if w.write(ref, envelope{Kind: "link", Body: target}) {
		w.stats.Links++
	}
}

func (w *writer) write(ref string, env envelope) bool {
	if w.err != nil {
		return false
	}
	data, err := encode(env)
	if err != nil {
		w.err = fmt.Errorf("%s: %w", ref, err)
		return false
	}
	dir := filepath.Join(w.refsDir, filepath.FromSlash(ref))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.err = err
		return false
	}
	if err := os.WriteFile(filepath.Join(dir, "@object.json"), data, 0o644); err != nil {
		w.err = err
		return false
	}
	w.stats.Bytes += int64(len(data))
	return true
}

// encode produces the store's bytes (docs/store-format.md §3): fields in struct order,
// map keys sorted, 2-space indentation, no HTML escaping, no trailing newline.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// A generated release.

// epoch is the time of release 1 of package 0; later releases follow every 6 hours.
var epoch = time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC)

// Line numbers of the package's functions in its (imaginary) release.ocu.star.
const (
	buildLine = 9
	upLine    = 16
	downLine  = 24
)

type workItem struct {
	typ, name string // "call", "build" / "deploy", "staging"
	envType   string // environment attribute "type" (deploys only)
	fn        string // function 1: "build" or "up"
	line      int    // line of fn
	deps      []string
	// timeline, offsets from the release's creation
	running, done time.Duration
}

type release struct {
	p, n    int
	latest  bool
	name    string // svc007
	file    string // svc007/release.ocu.star
	pkgRef  string // example/-/svc007/release.ocu.star
	ref     string // example/-/svc007/release.ocu.star/@3
	commit  string
	version string // 1.3.0
	image   string
	created time.Time
	items   []workItem
}

func newRelease(p, n, releases int) *release {
	r := &release{p: p, n: n, latest: n == releases}
	r.name = fmt.Sprintf("svc%03d", p)
	r.file = PackageFile(p)
	r.pkgRef = Repo + "/-/" + r.file
	r.ref = fmt.Sprintf("%s/@%d", r.pkgRef, n)
	// Every package is released at each commit of the monorepo, as a CI
	// pipeline running `ocuroot release new` per package would.
	sum := sha1.Sum(fmt.Appendf(nil, "example commit %d", n))
	r.commit = hex.EncodeToString(sum[:])
	r.version = fmt.Sprintf("1.%d.0", n)
	r.image = fmt.Sprintf("registry.example.com/%s:%s", r.name, r.version)
	r.created = epoch.Add(time.Duration(n-1)*6*time.Hour + time.Duration(p)*37*time.Second)

	build := 45*time.Second + time.Duration((p*7+n*13)%40)*time.Second
	buildDone := 3*time.Second + build
	r.items = []workItem{
		{typ: "call", name: "build", fn: "build", line: buildLine,
			running: 3 * time.Second, done: buildDone},
		{typ: "deploy", name: "dev", envType: "dev", fn: "up", line: upLine,
			deps:    []string{r.ref + "/call/build/*/status/complete"},
			running: buildDone + 2*time.Second, done: buildDone + 19*time.Second},
		{typ: "deploy", name: "staging", envType: "staging", fn: "up", line: upLine,
			deps:    []string{r.ref + "/call/build/*/status/complete"},
			running: buildDone + 3*time.Second, done: buildDone + 24*time.Second},
		{typ: "deploy", name: "production", envType: "prod", fn: "up", line: upLine,
			deps: []string{
				r.ref + "/deploy/dev/*/status/complete",
				r.ref + "/deploy/staging/*/status/complete",
			},
			running: buildDone + 26*time.Second, done: buildDone + 58*time.Second},
	}
	return r
}

// at formats the time offset d after the release's creation, with
// deterministic sub-second noise so that times look recorded, not computed.
func (r *release) at(d time.Duration, k int) string {
	noise := time.Duration((r.p*7919 + r.n*104729 + k*1299709) % 1_000_000_000)
	return r.created.Add(d + noise).Format(time.RFC3339Nano)
}

func (r *release) pos(line int) string { return fmt.Sprintf("%s:%d:1", r.file, line) }

func (r *release) fnRef(name string, line int) state.FuncID {
	return state.FuncID{Name: name, Pos: r.pos(line)}
}

// declaredInputs are the inputs as the package declares them (refs absolute).
func (r *release) declaredInputs(it workItem) map[string]state.Descriptor {
	if it.typ == "call" {
		return map[string]state.Descriptor{
			"go_version": {Value: "1.26"},
			"platform":   {Value: "linux/amd64"},
		}
	}
	return map[string]state.Descriptor{
		"environment":    {Ref: "@/environment/" + it.name},
		"image":          {Ref: r.ref + "/call/build#output/image"},
		"previous_count": {Default: 0, Ref: r.pkgRef + "/@/deploy/" + it.name + "#output/count"},
	}
}

// populatedInputs are the inputs as the function saw them when it ran.
func (r *release) populatedInputs(it workItem) map[string]state.Descriptor {
	in := r.declaredInputs(it)
	if it.typ == "call" {
		return in
	}
	env := in["environment"]
	env.Value = map[string]any{"attributes": map[string]string{"type": it.envType}, "name": it.name}
	in["environment"] = env
	img := in["image"]
	img.Value = r.image
	in["image"] = img
	if r.n > 1 {
		prev := in["previous_count"]
		prev.Value = r.n - 1
		in["previous_count"] = prev
	}
	return in
}

func (r *release) outputs(it workItem) map[string]any {
	if it.typ == "call" {
		digest := sha256.Sum256([]byte(r.image))
		return map[string]any{
			"digest": "sha256:" + hex.EncodeToString(digest[:]),
			"image":  r.image,
		}
	}
	url := fmt.Sprintf("https://%s.%s.example.com", r.name, it.name)
	if it.name == "production" {
		url = fmt.Sprintf("https://%s.example.com", r.name)
	}
	return map[string]any{"count": r.n, "image": r.image, "url": url}
}

func (r *release) logs(it workItem, k int) []state.LogLine {
	type entry struct {
		line   int
		stream int
		msg    string
	}
	var entries []entry
	if it.typ == "call" {
		digest := r.outputs(it)["digest"].(string)
		entries = []entry{
			{10, 0, fmt.Sprintf("building %s at %s", r.name, r.commit[:12])},
			{11, 1, "#1 [internal] load build definition from Dockerfile"},
			{11, 1, fmt.Sprintf("#7 [build 3/4] RUN go build -trimpath -o /out/%s ./cmd/%s", r.name, r.name)},
			{11, 1, "#9 exporting to image"},
			{11, 1, fmt.Sprintf("#9 pushing %s with digest %s", r.image, digest)},
		}
	} else {
		entries = []entry{
			{17, 0, fmt.Sprintf("deploying %s to %s", r.image, it.name)},
			{19, 1, fmt.Sprintf(`Release "%s" has been upgraded. Happy Helming!`, r.name)},
			{19, 1, fmt.Sprintf("deployment.apps/%s successfully rolled out", r.name)},
		}
	}
	lines := make([]state.LogLine, len(entries))
	step := (it.done - it.running) / time.Duration(len(entries)+1)
	for i, e := range entries {
		lines[i] = state.LogLine{
			Attributes: state.LogAttributes{
				Col:      "5",
				Filename: r.file,
				Line:     fmt.Sprint(e.line),
				Thread:   it.fn,
			},
			Message:   e.msg,
			Stream:    e.stream,
			Timestamp: r.at(it.running+time.Duration(i+1)*step, k+i),
		}
	}
	return lines
}

func (r *release) releaseDoc() state.Release {
	functions := map[string]state.FunctionEntry{}
	for _, f := range []state.FuncID{r.fnRef("build", buildLine), r.fnRef("up", upLine), r.fnRef("down", downLine)} {
		functions[f.Name+"/"+f.Pos] = state.FunctionEntry{Function: f}
	}
	call := func(it workItem) state.Work {
		return state.Work{Call: &state.CallWork{Fn: r.fnRef(it.fn, it.line), Inputs: r.declaredInputs(it), Name: it.name}}
	}
	deploy := func(it workItem) state.Work {
		return state.Work{Deploy: &state.DeployWork{
			Down:        r.fnRef("down", downLine),
			Environment: it.name,
			Inputs:      r.declaredInputs(it),
			Up:          r.fnRef("up", upLine),
		}}
	}
	return state.Release{
		Commit: r.commit,
		Package: state.Package{
			Functions: functions,
			Phases: []state.Phase{
				{Name: "", Work: []state.Work{call(r.items[0])}},
				{Name: "test", Work: []state.Work{deploy(r.items[1]), deploy(r.items[2])}},
				{Name: "production", Work: []state.Work{deploy(r.items[3])}},
			},
		},
	}
}

// write writes the release's 30 documents and, for the latest release, the
// package's links to its chains.
func (r *release) write(w *writer) {
	w.doc(r.ref, nil, r.releaseDoc())
	w.doc(r.ref+"/commit/"+r.commit, nil, state.Marker{Time: r.at(0, 0)})

	for i, it := range r.items {
		k := 10 * (i + 1) // seed for the time noise of this item
		work := r.ref + "/" + it.typ + "/" + it.name
		chain := work + "/1"
		fn := chain + "/functions/1"
		doneAt := r.at(it.done, k+2)
		out := r.outputs(it)
		chainBody := state.Chain{Type: "", Release: r.ref, Entrypoint: fn, Output: out}

		var links []string
		if r.latest {
			links = []string{
				r.pkgRef + "/@/" + it.typ + "/" + it.name,
				r.pkgRef + "/@/" + it.typ + "/" + it.name + "/1",
			}
		}

		w.doc(work, nil, chainBody)
		w.doc(work+"/status/complete", nil, state.Marker{Time: doneAt})
		w.doc(chain, links, chainBody)
		w.doc(chain+"/status/complete", nil, state.Marker{Time: doneAt})
		w.doc(fn, nil, state.Function{
			Current: state.FunctionState{
				Dependencies: it.deps,
				Fn:           r.fnRef(it.fn, it.line),
				ID:           "1",
				Inputs:       r.populatedInputs(it),
				Outputs:      out,
				Runner: &state.Runner{
					Host:    fmt.Sprintf("ci-runner-%02d", (r.p+r.n)%8+1),
					Pid:     20000 + (r.p*613+r.n*97+i*31)%40000,
					Started: r.at(it.running, k+1),
				},
				Status: "complete",
			},
			History: []state.HistoryEntry{
				{Status: "pending", Time: r.at(0, k)},
				{Status: "running", Time: r.at(it.running, k+1)},
				{Status: "complete", Time: doneAt},
			},
		})
		w.doc(fn+"/status/complete", nil, state.Marker{Time: doneAt})
		w.doc(chain+"/logs", nil, r.logs(it, k+3))

		for _, l := range links {
			w.link(l, chain)
		}
	}
}

// GenerateIntent writes into base, as an intent store, the intent that state
// generated by Generate with the same packages and releases satisfies: the
// environments, and each package's latest release deployed to each
// environment with the inputs its deploys ran with. ocu-apply then has
// nothing to do.
func GenerateIntent(base string, packages, releases int) (Stats, error) {
	if err := os.MkdirAll(filepath.Join(base, "refs"), 0o755); err != nil {
		return Stats{}, fmt.Errorf("storegen: %w", err)
	}
	if err := os.WriteFile(filepath.Join(base, ".ocuroot-store"), []byte(`{"version":1}`), 0o644); err != nil {
		return Stats{}, fmt.Errorf("storegen: %w", err)
	}
	w := &writer{refsDir: filepath.Join(base, "refs")}
	writeEnvironments(w, "+")
	for p := range packages {
		r := newRelease(p, releases, releases)
		for _, it := range r.items {
			if it.typ == "deploy" {
				w.doc(r.pkgRef+"/+/deploy/"+it.name, nil, state.DeployIntent{Release: r.ref, Input: r.populatedInputs(it)})
			}
		}
	}
	if w.err != nil {
		return w.stats, fmt.Errorf("storegen: %w", w.err)
	}
	return w.stats, nil
}
