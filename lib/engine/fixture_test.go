package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// deployFiles returns a repo with two environments and a package that builds
// once and deploys to every environment in state. FAIL=up-E or FAIL=down-E
// in the engine's environment makes the up or down function for E fail.
// gate.ocu.star waits for its release's custom/approval.
func deployFiles() map[string]string {
	return map[string]string{
		"gate.ocu.star": `ocuroot("0.3.0")
def gate(ctx):
    return done(outputs={"by": ctx.inputs.approval})
call(gate, name="gate", inputs={"approval": ref("./custom/approval")})
`,
		"envs.ocu.star": `ocuroot("0.3.0")
register_environment(environment("staging", {"type": "staging"}))
register_environment(environment("prod", {"type": "prod"}))
`,
		"app.ocu.star": `ocuroot("0.3.0")
def build(ctx):
    return done(outputs={"image": "img:1"})

def up(ctx):
    env = ctx.inputs.environment["name"]
    if host.env().get("FAIL") == "up-" + env:
        fail("up failed in " + env)
    print("up " + env + " " + ctx.inputs.version)
    return done(outputs={"env": env, "version": ctx.inputs.version, "image": ctx.inputs.image})

def down(ctx):
    env = ctx.inputs.environment["name"]
    if host.env().get("FAIL") == "down-" + env:
        fail("down failed in " + env)
    print("down " + env)
    return done()

call(build, name="build")
phase("deploy", work=[deploy(environment=e, up=up, down=down, inputs={
    "image": ref("./call/build#output/image"),
    "version": input(ref="@/custom/version", default="v1"),
    "previous": input(ref="./@/deploy/" + e.name + "#output/env", default="none"),
}) for e in environments()])
`,
	}
}

// Refs of the deploy fixture.
const (
	appPkg  = "example/-/app.ocu.star"
	app1    = appPkg + "/@1"
	app2    = appPkg + "/@2"
	staging = "staging"
	prod    = "prod"
)

// newDeployRepo registers the fixture's environments and releases
// app.ocu.star once (release 1, deployed to both environments), at commit
// c1.
func newDeployRepo(t *testing.T) *testRepo {
	t.Helper()
	tr := newTestRepo(t, deployFiles())
	tr.release("envs.ocu.star", false)
	tr.release("app.ocu.star", false)
	tr.out.Reset()
	tr.errOut.Reset()
	return tr
}

// clone copies the checkout and store of tr (no transaction may be running)
// into a new folder and returns an engine over the copy, so that subtests
// start from one fixture built once.
func (tr *testRepo) clone(t *testing.T) *testRepo {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(tr.e.Root)); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenFS(filepath.Join(root, ".store"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	n := &testRepo{t: t}
	c := tr.e.Config
	c.Store, c.Root = s, root
	n.e = New(c, Options{Stdout: &n.out, Stderr: &n.errOut, Prog: "test"})
	return n
}

// release runs ReleaseNew and fails the test when it errs or its failure
// differs from wantFailed.
func (tr *testRepo) release(file string, wantFailed bool) {
	tr.t.Helper()
	failed, err := tr.e.ReleaseNew(context.Background(), file, true)
	if err != nil || failed != wantFailed {
		tr.t.Fatalf("release new %s: failed %v, %v; want failed %v\n%s%s", file, failed, err, wantFailed, tr.out.String(), tr.errOut.String())
	}
}

// at returns a second engine over the same store and checkout, at commit
// and with environ as its process environment.
func (tr *testRepo) at(commit string, environ ...string) *testRepo {
	n := &testRepo{t: tr.t}
	c := tr.e.Config
	c.Commit, c.Environ = commit, environ
	n.e = New(c, Options{Stdout: &n.out, Stderr: &n.errOut, Prog: "test"})
	return n
}

// set stores the JSON document doc at r (intent or state) in one
// transaction.
func (tr *testRepo) set(r, doc string) {
	tr.t.Helper()
	v, err := store.DecodeValue([]byte(doc))
	if err != nil {
		tr.t.Fatalf("%s: %v", r, err)
	}
	b := store.NewTx("test set "+r).Put(tr.ref(r), v)
	if err := tr.e.commit(context.Background(), b); err != nil {
		tr.t.Fatalf("set %s: %v", r, err)
	}
}

// remove deletes the document at r.
func (tr *testRepo) remove(r string) {
	tr.t.Helper()
	b := store.NewTx("test delete "+r).Delete(tr.ref(r), true)
	if err := tr.e.commit(context.Background(), b); err != nil {
		tr.t.Fatalf("delete %s: %v", r, err)
	}
}

// refs lists the refs matching globs, sorted as the store returns them.
func (tr *testRepo) refs(globs ...string) []string {
	tr.t.Helper()
	refs, err := tr.e.match(context.Background(), globs...)
	if err != nil {
		tr.t.Fatal(err)
	}
	return refs
}

// target is what link r points at, "" when nothing is stored there.
func (tr *testRepo) target(r string) string {
	tr.t.Helper()
	res, err := tr.e.resolve(context.Background(), tr.ref(r))
	if err != nil {
		tr.t.Fatal(err)
	}
	return res.String()
}

// apply applies one intent ref and returns its message.
func (tr *testRepo) apply(r string) (string, error) {
	tr.t.Helper()
	p, err := ref.Parse(r)
	if err != nil {
		return "", err
	}
	return tr.e.ApplyIntent(context.Background(), p)
}

// ref parses r.
func (tr *testRepo) ref(r string) ref.Ref {
	tr.t.Helper()
	return mustRef(tr.t, r)
}

// mustRef parses r.
func mustRef(t testing.TB, r string) ref.Ref {
	t.Helper()
	p, err := ref.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// releaseID parses R/-/F/@N.
func releaseID(t testing.TB, r string) state.ReleaseID {
	t.Helper()
	id, err := state.ParseRelease(mustRef(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// releaseIDs parses releases R/-/F/@N.
func releaseIDs(t testing.TB, rels ...string) []state.ReleaseID {
	t.Helper()
	out := make([]state.ReleaseID, 0, len(rels))
	for _, r := range rels {
		out = append(out, releaseID(t, r))
	}
	return out
}

// workID parses the ref of a work item, chain or function.
func workID(t testing.TB, r string) state.WorkID {
	t.Helper()
	w, err := state.ParseWork(mustRef(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// mustApply applies one intent ref and fails the test on error.
func (tr *testRepo) mustApply(r string) string {
	tr.t.Helper()
	msg, err := tr.apply(r)
	if err != nil {
		tr.t.Fatalf("apply %s: %v", r, err)
	}
	return msg
}

// runApply runs Apply (the diff, all rounds) and fails the test on error.
func (tr *testRepo) runApply() ApplyResult {
	tr.t.Helper()
	res, err := tr.e.Apply(context.Background(), ApplyOptions{})
	if err != nil {
		tr.t.Fatalf("apply: %v\n%s", err, tr.errOut.String())
	}
	return res
}

// status is the status marker name in folder r+"/status/", "" when none
// and "several" when more than one.
func (tr *testRepo) status(r string) string {
	tr.t.Helper()
	markers := tr.refs(r + "/status/*")
	switch len(markers) {
	case 0:
		return ""
	case 1:
		return markers[0][strings.LastIndexByte(markers[0], '/')+1:]
	}
	return "several"
}

// str reads the string at r.
func (tr *testRepo) str(r string) string {
	tr.t.Helper()
	s, ok := tr.value(r).(string)
	if !ok {
		tr.t.Fatalf("%s is not a string: %v", r, tr.value(r))
	}
	return s
}

// deployIntent is the JSON of a deploy intent for release rel with inputs.
func deployIntent(rel, input string) string {
	if input == "" {
		input = "{}"
	}
	return `{"type":"","release":"` + rel + `","input":` + input + `}`
}

// lines splits output into lines, without the empty last one.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestDeployFixture(t *testing.T) {
	tr := newDeployRepo(t)
	for _, env := range []string{staging, prod} {
		if got, want := tr.target(appPkg+"/@/deploy/"+env), app1+"/deploy/"+env+"/1"; got != want {
			t.Errorf("current %s: %s, want %s", env, got, want)
		}
		if got := tr.str(appPkg + "/@/deploy/" + env + "#output/version"); got != "v1" {
			t.Errorf("%s version %q", env, got)
		}
		if got := tr.str(appPkg + "/+/deploy/" + env + "#release"); got != app1 {
			t.Errorf("%s intent release %q", env, got)
		}
	}
}

// link stores link l → target.
func (tr *testRepo) link(l, target string) {
	tr.t.Helper()
	b := store.NewTx("test link "+l).Link(tr.ref(l), tr.ref(target))
	if err := tr.e.commit(context.Background(), b); err != nil {
		tr.t.Fatalf("link %s: %v", l, err)
	}
}

// unlink removes link l.
func (tr *testRepo) unlink(l string) {
	tr.t.Helper()
	b := store.NewTx("test unlink " + l).Unlink(tr.ref(l))
	if err := tr.e.commit(context.Background(), b); err != nil {
		tr.t.Fatalf("unlink %s: %v", l, err)
	}
}

// doc is the JSON of the document stored at exactly r (links stored there
// followed), "" when there is none.
func (tr *testRepo) doc(r string) string {
	tr.t.Helper()
	v, found, err := tr.e.literal(context.Background(), tr.ref(r))
	if err != nil {
		tr.t.Fatal(err)
	}
	if !found {
		return ""
	}
	return jsonOf(tr.t, v)
}

// function reads the function document at r.
func (tr *testRepo) function(r string) state.Function {
	tr.t.Helper()
	var f state.Function
	found, err := tr.e.get(context.Background(), tr.ref(r), &f)
	if err != nil || !found {
		tr.t.Fatalf("function %s: found %v, %v", r, found, err)
	}
	return f
}

// chain reads the chain document at r.
func (tr *testRepo) chain(r string) state.Chain {
	tr.t.Helper()
	var c state.Chain
	found, err := tr.e.get(context.Background(), tr.ref(r), &c)
	if err != nil || !found {
		tr.t.Fatalf("chain %s: found %v, %v", r, found, err)
	}
	return c
}

// workContinue runs WorkContinue and fails the test on error.
func (tr *testRepo) workContinue() WorkResult {
	tr.t.Helper()
	res, err := tr.e.WorkContinue(context.Background(), 10)
	if err != nil {
		tr.t.Fatalf("work continue: %v\n%s", err, tr.errOut.String())
	}
	return res
}
