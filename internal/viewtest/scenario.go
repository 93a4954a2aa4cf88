package viewtest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// Refs of the scenario.
const (
	Repo     = "example"
	Commit   = "4f3c2a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"
	Backend  = "example/-/backend/release.ocu.star"
	Frontend = "example/-/frontend/release.ocu.star"
	Broken   = "example/-/broken/release.ocu.star"
	TwoStep  = "example/-/twostep/release.ocu.star"
	Slow     = "example/-/slow/release.ocu.star"
)

// Start is the time of the first document of the scenario; the others
// follow within minutes.
func Start() time.Time { return time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC) }

// Write writes the scenario into s in one transaction: environments staging
// and production; backend and frontend released (@1) and deployed to both;
// broken deployed to staging and failed in production ("production is
// closed today"); twostep paused on an input, tagged rc; slow running; global
// custom state, with +/custom/freeze not applied yet; the repo
// configuration.
func Write(ctx context.Context, s store.Store) error {
	w := &writer{tx: store.NewTx("view scenario")}
	w.environments()
	w.repoConfig()
	w.backend()
	w.frontend()
	w.broken()
	w.twoStep()
	w.slow()
	w.put("@/custom/team", map[string]any{"lead": "alice", "oncall": []any{"bob", "carol"}})
	w.put("+/custom/team", map[string]any{"lead": "alice", "oncall": []any{"bob", "carol"}})
	w.put("+/custom/freeze", true)
	if w.err != nil {
		return w.err
	}
	return s.Commit(ctx, w.tx)
}

// writer records the scenario's writes; the first bad ref stops it.
type writer struct {
	tx  *store.Tx
	err error
}

func (w *writer) parse(s string) (ref.Ref, bool) {
	r, err := ref.Parse(s)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("viewtest: %w", err)
	}
	return r, err == nil
}

func (w *writer) put(r string, v any) {
	if pr, ok := w.parse(r); ok {
		w.tx.Put(pr, v)
	}
}

func (w *writer) link(l, target string) {
	lr, ok1 := w.parse(l)
	tr, ok2 := w.parse(target)
	if ok1 && ok2 {
		w.tx.Link(lr, tr)
	}
}

// at is a time of the scenario, s seconds after the start, as the engine
// writes times: RFC 3339 with nanoseconds, UTC.
func at(s float64) string {
	return Start().Add(time.Duration(s * float64(time.Second))).Format(time.RFC3339Nano)
}

func marker(s float64) state.Marker { return state.Marker{Time: at(s)} }

func (w *writer) environments() {
	for _, e := range []struct{ name, typ string }{{"staging", "staging"}, {"production", "prod"}} {
		doc := state.Environment{Attributes: map[string]string{"type": e.typ}, Name: e.name}
		w.put("@/environment/"+e.name, doc)
		w.put("+/environment/"+e.name, doc)
	}
}

func (w *writer) repoConfig() {
	src := state.RepoConfig{Source: []byte("ocuroot(\"0.3.0\")\nrepo_alias(\"example\")\n" +
		"store.set(store.fs(\".store/state\"), intent=store.fs(\".store/intent\"))\n")}
	cfg := "example/-/repo.ocu.star"
	w.put(cfg+"/@"+Commit, src)
	w.link(cfg+"/@", cfg+"/@"+Commit)
	w.put(cfg+"/+"+Commit, src)
	w.link(cfg+"/+", cfg+"/+"+Commit)
}

// fn is a function identity {name, pos}.
func fn(file, name string, line int) state.FuncID {
	return state.FuncID{Name: name, Pos: fmt.Sprintf("%s:%d:1", file, line)}
}

// item is a work item of a release document.
type item struct {
	typ, name string
	inputs    state.Inputs // declared
}

// release writes the release document and its commit marker.
func (w *writer) release(pkg, file string, n int, created float64, fns map[string]int, phases []phase) string {
	rel := fmt.Sprintf("%s/@%d", pkg, n)
	functions := map[string]state.FunctionEntry{}
	for name, line := range fns {
		f := fn(file, name, line)
		functions[f.Key()] = state.FunctionEntry{Function: f}
	}
	var ph []state.Phase
	for _, p := range phases {
		var work []state.Work
		for _, it := range p.items {
			if it.typ == "call" {
				work = append(work, state.Work{Call: &state.CallWork{
					Fn: fn(file, it.name, fns[it.name]), Inputs: it.inputs, Name: it.name}})
			} else {
				work = append(work, state.Work{Deploy: &state.DeployWork{
					Down: fn(file, "down", fns["down"]), Environment: it.name,
					Inputs: it.inputs, Up: fn(file, "up", fns["up"])}})
			}
		}
		ph = append(ph, state.Phase{Name: p.name, Work: work})
	}
	w.put(rel, state.Release{Commit: Commit, Package: state.Package{Functions: functions, Phases: ph}})
	w.put(rel+"/commit/"+Commit, marker(created))
	return rel
}

// function is one function of a chain as written.
type function struct {
	name    string
	line    int
	status  string
	inputs  state.Inputs
	outputs map[string]any
	err     string
	deps    []string
	start   float64 // created
	run     float64 // started running (0: never)
	end     float64 // finished (0: not yet)
}

// logEntry is one log line.
type logEntry struct {
	thread string
	line   int
	stream int
	msg    string
	at     float64
}

// chain writes chain K of a work item with its functions, markers and logs,
// and for a completed up or call chain the work copy and the links.
func (w *writer) chain(file, rel, typ, name string, k int, status string, output map[string]any, fns []function, logs []logEntry) {
	item := rel + "/" + typ + "/" + name
	ch := fmt.Sprintf("%s/%d", item, k)
	var out any
	if output != nil {
		out = output
	}
	doc := state.Chain{Type: "", Release: rel, Entrypoint: ch + "/functions/1", Output: out}
	w.put(ch, doc)
	end := 0.0
	for i, f := range fns {
		id := fmt.Sprint(i + 1)
		cur := state.FunctionState{Dependencies: f.deps, Error: f.err, Fn: fn(file, f.name, f.line), ID: id,
			Inputs: f.inputs, Outputs: f.outputs, Status: f.status}
		if f.inputs == nil {
			cur.Inputs = state.Inputs{}
		}
		hist := []state.HistoryEntry{{Status: state.StatusPending, Time: at(f.start)}}
		if f.run > 0 {
			cur.Runner = &state.Runner{Host: "ci-runner-03", Pid: 4100 + i, Started: at(f.run)}
			hist = append(hist, state.HistoryEntry{Status: state.StatusRunning, Time: at(f.run)})
		}
		last := f.start
		if f.end > 0 {
			hist = append(hist, state.HistoryEntry{Status: f.status, Time: at(f.end)})
			last = f.end
		} else if f.run > 0 {
			last = f.run
		}
		end = max(end, last)
		w.put(ch+"/functions/"+id, state.Function{Current: cur, History: hist})
		w.put(ch+"/functions/"+id+"/status/"+f.status, marker(last))
	}
	lines := []state.LogLine{}
	for _, l := range logs {
		lines = append(lines, state.LogLine{
			Attributes: state.LogAttributes{Col: "5", Filename: file, Line: fmt.Sprint(l.line), Thread: l.thread},
			Message:    l.msg, Stream: l.stream, Timestamp: at(l.at),
		})
	}
	w.put(ch+"/logs", lines)
	w.put(ch+"/status/"+status, marker(end))
	pkg := rel[:strings.LastIndex(rel, "/@")]
	switch status {
	case "complete":
		w.put(item, doc)
		w.put(item+"/status/complete", marker(end))
		w.link(pkg+"/@/"+typ+"/"+name, ch)
		w.link(fmt.Sprintf("%s/@/%s/%s/%d", pkg, typ, name, k), ch)
	case "failed":
		w.put(item+"/status/failed", marker(end))
	}
}

// deployIntent writes R/-/F/+/deploy/E as function 1 of an up chain does
// when it starts.
func (w *writer) deployIntent(pkg, rel, env string, input state.Inputs) {
	w.put(pkg+"/+/deploy/"+env, state.DeployIntent{Type: "", Release: rel, Input: input})
}

// phase is a phase of a release document.
type phase struct {
	name  string
	items []item
}

func envInput(env, typ string) state.Descriptor {
	return state.Descriptor{Ref: "@/environment/" + env,
		Value: state.Environment{Attributes: map[string]string{"type": typ}, Name: env}}
}

func (w *writer) backend() {
	const file = "backend/release.ocu.star"
	pkg := Backend
	version := state.Descriptor{Default: "v1", Ref: "@/custom/backend_version"}
	approval := state.Descriptor{Ref: pkg + "/@1/custom/approval"}
	rel := w.release(pkg, file, 1, 10, map[string]int{"approve": 3, "up": 7, "down": 11}, []phase{
		{"", []item{{"call", "approve", state.Inputs{"approval": approval}}}},
		{"deploy", []item{
			{"deploy", "staging", state.Inputs{"version": version}},
			{"deploy", "production", state.Inputs{"version": version}},
		}},
	})
	w.put(pkg+"/+1/custom/approval", "alice")
	w.put(rel+"/custom/approval", "alice")
	w.chain(file, rel, "call", "approve", 1, "complete", map[string]any{"approved_by": "alice"}, []function{{
		name: "approve", line: 3, status: "complete", start: 10, run: 30, end: 31,
		inputs:  state.Inputs{"approval": {Ref: approval.Ref, Value: "alice"}},
		outputs: map[string]any{"approved_by": "alice"},
	}}, nil)
	for i, env := range []string{"staging", "production"} {
		url := "https://backend." + env + ".example.com/v1"
		t := 32 + 4*float64(i)
		inputs := state.Inputs{"version": version}
		w.chain(file, rel, "deploy", env, 1, "complete", map[string]any{"url": url}, []function{{
			name: "up", line: 7, status: "complete", start: 10, run: t, end: t + 2,
			deps:    []string{rel + "/call/approve/*/status/complete"},
			inputs:  inputs,
			outputs: map[string]any{"url": url},
		}}, []logEntry{{"up", 8, 0, "backend " + env + " is at " + url, t + 1}})
		w.deployIntent(pkg, rel, env, inputs)
	}
}

func (w *writer) frontend() {
	const file = "frontend/release.ocu.star"
	pkg := Frontend
	declared := func(env string) state.Inputs {
		return state.Inputs{
			"backend_url":    {Ref: Backend + "/@/deploy/" + env + "#output/url"},
			"environment":    {Ref: "@/environment/" + env},
			"image":          {Ref: pkg + "/@1/call/build#output/image"},
			"previous_count": {Default: 0, Ref: pkg + "/@/deploy/" + env + "#output/count"},
		}
	}
	rel := w.release(pkg, file, 1, 100, map[string]int{"build": 3, "up": 8, "down": 14}, []phase{
		{"", []item{{"call", "build", state.Inputs{}}}},
		{"staging", []item{{"deploy", "staging", declared("staging")}}},
		{"production", []item{{"deploy", "production", declared("production")}}},
	})
	image := "registry.example.com/frontend:1"
	w.chain(file, rel, "call", "build", 1, "complete", map[string]any{"image": image}, []function{{
		name: "build", line: 3, status: "complete", start: 100, run: 101, end: 104,
		outputs: map[string]any{"image": image},
	}}, []logEntry{{"build", 5, 0, "building with ***", 102}})
	prev := rel + "/call/build/*/status/complete"
	for i, e := range []struct{ name, typ string }{{"staging", "staging"}, {"production", "prod"}} {
		backend := "https://backend." + e.name + ".example.com/v1"
		t := 105 + 5*float64(i)
		inputs := declared(e.name)
		backendURL, img := inputs["backend_url"], inputs["image"]
		backendURL.Value, img.Value = backend, image
		inputs["backend_url"], inputs["image"] = backendURL, img
		inputs["environment"] = envInput(e.name, e.typ)
		out := map[string]any{"backend": backend, "count": 1, "image": image}
		w.chain(file, rel, "deploy", e.name, 1, "complete", out, []function{{
			name: "up", line: 8, status: "complete", start: 100, run: t, end: t + 3,
			deps: []string{prev}, inputs: inputs, outputs: out,
		}}, []logEntry{{"up", 10, 0, "deploying " + image + " to " + e.name, t + 1}})
		w.deployIntent(pkg, rel, e.name, inputs)
		prev = rel + "/deploy/" + e.name + "/*/status/complete"
	}
}

func (w *writer) broken() {
	const file = "broken/release.ocu.star"
	pkg := Broken
	rel := w.release(pkg, file, 1, 200, map[string]int{"up": 3, "down": 9}, []phase{
		{"deploy", []item{{"deploy", "staging", state.Inputs{}}, {"deploy", "production", state.Inputs{}}}},
	})
	w.chain(file, rel, "deploy", "staging", 1, "complete", map[string]any{}, []function{{
		name: "up", line: 3, status: "complete", start: 200, run: 201, end: 202,
		inputs: state.Inputs{"environment": envInput("staging", "staging")}, // done() without outputs
	}}, []logEntry{{"up", 4, 0, "deploying broken to staging", 201.5}})
	w.deployIntent(pkg, rel, "staging", state.Inputs{"environment": envInput("staging", "staging")})
	const why = "fail: production is closed today"
	w.chain(file, rel, "deploy", "production", 1, "failed", nil, []function{{
		name: "up", line: 3, status: "failed", start: 200, run: 203, end: 204, err: why,
		inputs: state.Inputs{"environment": envInput("production", "prod")},
	}}, []logEntry{
		{"up", 4, 0, "deploying broken to production", 203.5},
		{"up", 6, 2, why, 204},
	})
	w.deployIntent(pkg, rel, "production", state.Inputs{"environment": envInput("production", "prod")})
}

func (w *writer) twoStep() {
	const file = "twostep/release.ocu.star"
	pkg := TwoStep
	rel := w.release(pkg, file, 1, 300, map[string]int{"build": 3, "up": 6, "confirm": 9, "down": 12}, []phase{
		{"", []item{{"call", "build", state.Inputs{}}}},
		{"deploy", []item{{"deploy", "staging", state.Inputs{}}, {"deploy", "production", state.Inputs{}}}},
	})
	w.chain(file, rel, "call", "build", 1, "complete", map[string]any{}, []function{{
		name: "build", line: 3, status: "complete", start: 300, run: 301, end: 302, // done() without outputs
	}}, nil)
	w.link(pkg+"/@rc", rel)
	for i, e := range []struct{ name, typ string }{{"staging", "staging"}, {"production", "prod"}} {
		t := 303 + 2*float64(i)
		inputs := state.Inputs{"environment": envInput(e.name, e.typ)}
		w.chain(file, rel, "deploy", e.name, 1, "pending", nil, []function{
			{name: "up", line: 6, status: "complete", start: 300, run: t, end: t + 1,
				deps: []string{rel + "/call/build/*/status/complete"}, inputs: inputs},
			{name: "confirm", line: 9, status: "pending", start: t + 1,
				inputs: state.Inputs{"ok": {Ref: rel + "/custom/confirm"}}},
		}, nil)
		w.deployIntent(pkg, rel, e.name, inputs)
	}
}

func (w *writer) slow() {
	const file = "slow/release.ocu.star"
	pkg := Slow
	rel := w.release(pkg, file, 1, 400, map[string]int{"wait": 3}, []phase{
		{"", []item{{"call", "wait", state.Inputs{}}}},
	})
	w.chain(file, rel, "call", "wait", 1, "pending", nil, []function{{
		name: "wait", line: 3, status: "running", start: 400, run: 401,
	}}, nil)
}
