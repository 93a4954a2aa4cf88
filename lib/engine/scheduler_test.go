package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// TestRunOrder: runnable functions run one at a time in ref order, not in
// declaration order, pass after pass until dependencies are met.
func TestRunOrder(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done(outputs={"id": ctx.work_id})
phase("one", work=[call(f, name="b"), call(f, name="a10"), call(f, name="a9")])
phase("two", work=[call(f, name="after")])
`})
	tr.release("pkg.ocu.star", false)
	var started []string
	for _, l := range lines(tr.out.String()) {
		if name, ok := strings.CutSuffix(l, ": pending -> running"); ok {
			started = append(started, strings.TrimPrefix(name, "pkg.ocu.star@1 "))
		}
	}
	if diff := cmp.Diff([]string{"a10", "a9", "b", "after"}, started); diff != "" {
		t.Errorf("run order (-want +got):\n%s", diff)
	}
	if last := lines(tr.out.String()); last[len(last)-1] != "release example/-/pkg.ocu.star/@1: complete" {
		t.Errorf("last line %q", last[len(last)-1])
	}
}

// TestPendingOrder: chain and function numbers compare as numbers, so an
// older chain runs before a newer one.
func TestPendingOrder(t *testing.T) {
	tr := newDeployRepo(t)
	tr.release("gate.ocu.star", false)
	item := mustWork(t, gate1+"/call/gate")
	b := store.NewTx("chains")
	for _, k := range []int{10, 9, 2} {
		tr.e.newChain(b, item, k, "", "", state.FuncID{Name: "gate"}, nil, nil)
	}
	if err := tr.e.commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	pending, err := tr.e.pending(context.Background(), releaseID(t, gate1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range pending {
		got = append(got, strings.TrimPrefix(f.FnRef().String(), gate1+"/call/gate/"))
	}
	want := []string{"1/functions/1", "2/functions/1", "9/functions/1", "10/functions/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
}

// waitFiles returns a package whose call waits for two inputs, and a later
// phase for the call.
func waitFiles() map[string]string {
	return map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done(outputs={"sum": ctx.inputs.x + ctx.inputs.y})
def g(ctx):
    return done()
call(f, name="add", inputs={"x": ref("./custom/x"), "y": ref("./custom/y")})
phase("after", work=[call(g, name="after")])
`}
}

// TestWaiting: a release waiting for inputs or dependencies pauses, prints
// one line per reason, stores inputs found so far, and continues once they
// are all there.
func TestWaiting(t *testing.T) {
	const rel = "example/-/pkg.ocu.star/@1"
	tr := newTestRepo(t, waitFiles())
	tr.release("pkg.ocu.star", false)
	want := []string{
		"pkg.ocu.star@1 add: pending",
		"pkg.ocu.star@1 after: pending",
		"pkg.ocu.star@1 add: waiting for input x (" + rel + "/custom/x)",
		"pkg.ocu.star@1 add: waiting for input y (" + rel + "/custom/y)",
		"pkg.ocu.star@1 after: waiting for " + rel + "/call/add/*/status/complete",
		"release " + rel + ": pending",
	}
	if diff := cmp.Diff(want, lines(tr.out.String())); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}

	// One input found: stored at once, the other still awaited.
	tr.set(rel+"/custom/x", `40`)
	tr.out.Reset()
	if failed, err := tr.e.ReleaseContinue(context.Background(), releaseID(t, rel)); err != nil || failed {
		t.Fatalf("continue: %v, %v", failed, err)
	}
	if got := tr.function(rel + "/call/add/1/functions/1").Current.Inputs["x"]; got.Value == nil || jsonOf(t, got.Value) != "40" {
		t.Errorf("input x not stored: %+v", got)
	}
	if !strings.Contains(tr.out.String(), "add: waiting for input y") || strings.Contains(tr.out.String(), "waiting for input x") {
		t.Errorf("progress:\n%s", tr.out.String())
	}
	// Nothing about waiting is stored.
	if got := tr.function(rel + "/call/add/1/functions/1").Current.Status; got != state.StatusPending {
		t.Errorf("status %s", got)
	}

	tr.set(rel+"/custom/y", `2`)
	tr.out.Reset()
	if failed, err := tr.e.ReleaseContinue(context.Background(), releaseID(t, rel)); err != nil || failed {
		t.Fatalf("continue: %v, %v", failed, err)
	}
	if got := jsonOf(t, tr.value(rel+"/call/add#output/sum")); got != "42" {
		t.Errorf("sum %s\n%s", got, tr.out.String())
	}
	if s, err := tr.e.releaseStatus(context.Background(), releaseID(t, rel)); err != nil || s != state.StatusComplete {
		t.Errorf("release status %s, %v", s, err)
	}
	if tr.status(rel+"/call/after/1") != state.StatusComplete {
		t.Error("the dependent call did not run")
	}
}

// TestReleaseStatusRunning: a running function makes the release running,
// whatever its chains say.
func TestReleaseStatusRunning(t *testing.T) {
	tr := newDeployRepo(t)
	tr.release("gate.ocu.star", false)
	if s, _ := tr.e.releaseStatus(context.Background(), releaseID(t, gate1)); s != state.StatusPending {
		t.Fatalf("status %s", s)
	}
	tr.markRunning(gate1+"/call/gate/1/functions/1", state.Runner{Host: "elsewhere", Pid: 1})
	if s, err := tr.e.releaseStatus(context.Background(), releaseID(t, gate1)); err != nil || s != state.StatusRunning {
		t.Errorf("status %s, %v", s, err)
	}
}

// markRunning turns pending function f into a running one of run.
func (tr *testRepo) markRunning(f string, run state.Runner) {
	tr.t.Helper()
	fdoc := tr.function(f)
	fdoc.Current.Status = state.StatusRunning
	fdoc.Current.Runner = &run
	fdoc.History = append(fdoc.History, state.HistoryEntry{Status: state.StatusRunning, Time: "t"})
	b := store.NewTx("test running " + f)
	b.Put(tr.ref(f), fdoc)
	b.Delete(tr.ref(f+"/status/pending"), true)
	b.Put(tr.ref(f+"/status/running"), state.Marker{Time: "t"})
	if err := tr.e.commit(context.Background(), b); err != nil {
		tr.t.Fatal(err)
	}
}

// tagFiles returns a package tagging its release with TAG (default "latest").
func tagFiles() map[string]string {
	return map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done(tags=[host.env().get("TAG", "latest")])
call(f, name="a")
`}
}

// TestTags: a tag links to its release and moves to a later one with a log
// line; a tag naming a stored document fails the function.
func TestTags(t *testing.T) {
	const pkg = "example/-/pkg.ocu.star"
	tr := newTestRepo(t, tagFiles())
	tr.release("pkg.ocu.star", false)
	if got := tr.target(pkg + "/@latest"); got != pkg+"/@1" {
		t.Errorf("@latest → %q", got)
	}
	tr.release("pkg.ocu.star", false)
	if got := tr.target(pkg + "/@latest"); got != pkg+"/@2" {
		t.Errorf("@latest → %q", got)
	}
	var logs []state.LogLine
	if _, err := tr.e.get(context.Background(), mustRef(t, pkg+"/@2/call/a/1/logs"), &logs); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Message != "tag latest moved from @1 to @2" || logs[0].Attributes.Thread != "tag" {
		t.Errorf("logs %+v", logs)
	}
	// A tag of the same release again is not a move.
	if tr.exists(pkg + "/@1/call/a/1/logs") {
		t.Error("release 1 logged a tag move")
	}

	tr.set(pkg+"/@stable", `{"x":1}`)
	stable := tr.at("c1", "TAG=stable")
	stable.release("pkg.ocu.star", true)
	msg := stable.str(pkg + "/@3/call/a/1/functions/1#current/error")
	if want := `invalid tag "stable": a document is stored at ` + pkg + "/@stable"; msg != want {
		t.Errorf("error %q, want %q", msg, want)
	}
	if tr.doc(pkg+"/@stable") != `{"x":1}` || tr.exists(pkg+"/@3/call/a") {
		t.Error("a failed function tagged or completed its item")
	}
}

// TestResolveRelease: packages, numbers and tags resolve to a numbered
// release.
func TestResolveRelease(t *testing.T) {
	tr := newDeployRepo(t)
	tr.release("app.ocu.star", false)
	tr.link(appPkg+"/@v1", app1)
	tests := []struct{ in, want, err string }{
		{in: appPkg, want: app2},
		{in: app1, want: app1},
		{in: appPkg + "/@v1", want: app1},
		{in: appPkg + "/@9", err: "release " + appPkg + "/@9 not found"},
		{in: "example/-/none.ocu.star", err: "example/-/none.ocu.star has no release"},
		{in: app1 + "/call/build", err: app1 + "/call/build is not a release (it resolves to " + app1 + "/call/build)"},
		{in: "::", err: "::"},
	}
	for _, tt := range tests {
		var got string
		r, err := ref.Parse(tt.in)
		if err == nil {
			var id state.ReleaseID
			id, err = tr.e.ResolveRelease(context.Background(), r)
			got = id.String()
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestReleasesAtCommit: releases of the current commit in number order,
// legacy "@H.<n>" releases included.
func TestReleasesAtCommit(t *testing.T) {
	tr := newDeployRepo(t)
	for range 10 {
		tr.release("gate.ocu.star", false)
	}
	tr.at("c2").release("gate.ocu.star", false)
	tr.set("example/-/gate.ocu.star/@c1.1", `{"commit":"c1","package":{}}`)
	got, err := tr.e.ReleasesAtCommit(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{app1}
	for n := 1; n <= 10; n++ {
		want = append(want, "example/-/gate.ocu.star/@"+strconv.Itoa(n))
	}
	want = append(want, "example/-/gate.ocu.star/@c1.1")
	var gotRefs []string
	for _, id := range got {
		gotRefs = append(gotRefs, id.String())
	}
	if diff := cmp.Diff(want, gotRefs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestTagNames: tags that cannot name a release fail the function.
func TestTagNames(t *testing.T) {
	tests := []struct{ tag, err string }{
		{tag: "v1.0-rc_1"},
		{tag: "object.json", err: `invalid tag "object.json": the name is reserved`},
		{tag: strings.Repeat("a", 64), err: "invalid tag"},
		{tag: ".hidden", err: `invalid tag ".hidden"`},
		{tag: "007", err: `invalid tag "007": a tag cannot be all digits`},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			t.Parallel()
			tr := newTestRepo(t, tagFiles()).at("c1", "TAG="+tt.tag)
			tr.release("pkg.ocu.star", tt.err != "")
			const pkg = "example/-/pkg.ocu.star"
			if tt.err == "" {
				if got := tr.target(pkg + "/@" + tt.tag); got != pkg+"/@1" {
					t.Errorf("tag → %q", got)
				}
				return
			}
			if msg := tr.str(pkg + "/@1/call/a/1/functions/1#current/error"); !strings.Contains(msg, tt.err) {
				t.Errorf("error %q, want %q", msg, tt.err)
			}
		})
	}
}

// TestRegisterEnvironments: an environments file writes environment intent
// and applies it, without a release.
func TestRegisterEnvironments(t *testing.T) {
	tr := newTestRepo(t, deployFiles())
	tr.release("envs.ocu.star", false)
	want := []string{"+/environment/staging: applied", "+/environment/prod: applied"}
	if diff := cmp.Diff(want, lines(tr.out.String())); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	for _, env := range []string{staging, prod} {
		if tr.doc("@/environment/"+env) == "" || tr.doc("+/environment/"+env) != tr.doc("@/environment/"+env) {
			t.Errorf("%s: state %s, intent %s", env, tr.doc("@/environment/"+env), tr.doc("+/environment/"+env))
		}
	}
	if got := tr.refs("example/-/envs.ocu.star/**"); len(got) != 0 {
		t.Errorf("a release was made: %v", got)
	}
	if tr.target("example/-/repo.ocu.star/@") != "example/-/repo.ocu.star/@c1" || tr.target("example/-/repo.ocu.star/+") != "example/-/repo.ocu.star/+c1" {
		t.Error("repo configuration not recorded")
	}
	tr.out.Reset()
	tr.release("envs.ocu.star", false)
	want = []string{"+/environment/staging: " + msgAlreadyApplied, "+/environment/prod: " + msgAlreadyApplied}
	if diff := cmp.Diff(want, lines(tr.out.String())); diff != "" {
		t.Errorf("again (-want +got):\n%s", diff)
	}
}
