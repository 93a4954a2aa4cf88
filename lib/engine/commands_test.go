package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// TestDeployDown: deploy down deletes the deploy intent, schedules the down
// chain of the current deployment and runs it.
func TestDeployDown(t *testing.T) {
	base := newDeployRepo(t)
	const down = appPkg + "/+/deploy/staging: down scheduled: " + app1 + "/deploy/staging/2"
	tests := []struct {
		name    string
		environ []string
		prepare func(tr *testRepo)
		ref     string
		failed  bool
		err     string
		stdout  []string // lines expected among the progress
		current string   // staging's current deployment afterwards
	}{
		{
			name: "current deployment", ref: appPkg + "/@/deploy/staging",
			stdout: []string{down, "app.ocu.star@1 teardown of staging> down staging", "release " + app1 + ": complete"},
		},
		{
			name: "numbered current deployment", ref: app1 + "/deploy/staging",
			stdout: []string{down, "release " + app1 + ": complete"},
		},
		{
			name: "teardown fails", ref: appPkg + "/@/deploy/staging", environ: []string{"FAIL=down-staging"},
			failed: true, current: app1 + "/deploy/staging/1",
			stdout: []string{down, "release " + app1 + ": failed"},
		},
		{
			name: "teardown failed before", ref: appPkg + "/@/deploy/staging",
			prepare: func(tr *testRepo) {
				tr.at("c1", "FAIL=down-staging").e.DeployDown(context.Background(), tr.ref(appPkg+"/@/deploy/staging"))
			},
			failed: true, current: app1 + "/deploy/staging/1",
			stdout: []string{
				appPkg + "/+/deploy/staging: teardown of " + app1 + " from staging failed; run: ocuroot release retry " + app1,
				"release " + app1 + ": failed",
			},
		},
		{
			name: "not the current release", ref: app2 + "/deploy/staging",
			prepare: func(tr *testRepo) {
				tr.release("app.ocu.star", false)
				tr.set(appPkg+"/+/deploy/staging", deployIntent(app1, ""))
				tr.mustApply(appPkg + "/+/deploy/staging")
				tr.workContinue()
			},
			err:     app2 + "/deploy/staging is not the current deployment (that is " + app1 + "/deploy/staging/2)",
			current: app1 + "/deploy/staging/2",
		},
		{
			name: "nothing deployed", ref: appPkg + "/@/deploy/qa",
			stdout: []string{appPkg + "/@/deploy/qa: nothing deployed"}, current: app1 + "/deploy/staging/1",
		},
		{name: "a call", ref: app1 + "/call/build", err: "is not a deployment", current: app1 + "/deploy/staging/1"},
		{name: "intent", ref: appPkg + "/+/deploy/staging", err: "is not a deployment", current: app1 + "/deploy/staging/1"},
		{name: "not a ref", ref: "a//b", err: "a//b", current: app1 + "/deploy/staging/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			setup := base.clone(t)
			if tt.prepare != nil {
				tt.prepare(setup)
			}
			setup.out.Reset()
			tr := setup.at("c1", tt.environ...)
			r, err := ref.Parse(tt.ref)
			var failed bool
			if err == nil {
				failed, err = tr.e.DeployDown(context.Background(), r)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
			} else if err != nil || failed != tt.failed {
				t.Fatalf("deploy down: %v, %v; want failed %v\n%s", failed, err, tt.failed, tr.out.String())
			}
			got := lines(tr.out.String())
			for _, l := range tt.stdout {
				if !slices.Contains(got, l) {
					t.Errorf("no line %q in\n%s", l, tr.out.String())
				}
			}
			if got := tr.target(appPkg + "/@/deploy/staging"); got != tt.current {
				t.Errorf("current deployment %q, want %q", got, tt.current)
			}
			if tt.err == "" && tt.current == "" && tr.exists(appPkg+"/+/deploy/staging") {
				t.Error("the deploy intent is left")
			}
		})
	}
}

// TestWorkContinue: tasks, reconcile and runs of the releases at the
// current commit, until nothing happens; what is left pending is reported.
func TestWorkContinue(t *testing.T) {
	base := newDeployRepo(t)
	base.release("gate.ocu.star", false)
	tests := []struct {
		name    string
		commit  string
		prepare func(tr *testRepo)
		want    WorkResult
	}{
		{name: "nothing to do", want: WorkResult{Pending: true}},
		{name: "another commit", commit: "c2", want: WorkResult{}},
		{
			name: "input arrives",
			prepare: func(tr *testRepo) {
				tr.set(gate1+"/custom/approval", `"alice"`)
			},
			want: WorkResult{Did: true},
		},
		{
			name: "a broken release is counted once",
			prepare: func(tr *testRepo) {
				tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
				tr.mustApply("+/environment/qa")
				tr.set(gate1+"/custom/approval", `"alice"`)
				breakFile(tr.t, tr, "app.ocu.star")
			},
			want: WorkResult{Did: true, Failures: 1},
		},
		{
			name: "task, reconcile and a failure",
			prepare: func(tr *testRepo) {
				tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
				tr.mustApply("+/environment/qa")
				tr.set("@/custom/version", `"v2"`)
			},
			commit: "c1 FAIL=up-qa",
			want:   WorkResult{Did: true, Failures: 1, Pending: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			if tt.prepare != nil {
				tt.prepare(tr)
			}
			commit, environ := "c1", []string(nil)
			if tt.commit != "" {
				fields := strings.Fields(tt.commit)
				commit, environ = fields[0], fields[1:]
			}
			w := tr.at(commit, environ...)
			got, err := w.e.WorkContinue(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%+v, want %+v\n%s%s", got, tt.want, w.out.String(), w.errOut.String())
			}
		})
	}
}

// TestApplyRefs: with refs, only those are applied, every round.
func TestApplyRefs(t *testing.T) {
	tr := newDeployRepo(t)
	tr.set("+/custom/a", `1`)
	tr.set("+/custom/b", `2`)
	res, err := tr.e.Apply(context.Background(), ApplyOptions{Refs: []ref.Ref{tr.ref("+/custom/b")}})
	if err != nil || res.Failed {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	if tr.exists("@/custom/a") || !tr.exists("@/custom/b") {
		t.Error("applied other refs than given")
	}
	if diff := cmp.Diff([]string{"+/custom/b: applied"}, lines(tr.out.String())); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

// TestOutstandingAfter: once apply settles, what waits for another commit
// is listed, from the last walk or a new one.
func TestOutstandingAfter(t *testing.T) {
	base := newDeployRepo(t)
	base.release("gate.ocu.star", false)
	for _, settled := range []bool{true, false} {
		t.Run("settled="+map[bool]string{true: "yes", false: "no"}[settled], func(t *testing.T) {
			tr := base.clone(t).at("c2")
			tr.set("example/-/gate.ocu.star/+1/custom/approval", `"alice"`)
			res := tr.runApply()
			if res.Failed || res.settled != true {
				t.Fatalf("apply: %+v\n%s", res, tr.errOut.String())
			}
			if !settled {
				res.settled = false
			}
			got, err := tr.e.OutstandingAfter(context.Background(), res)
			if err != nil {
				t.Fatal(err)
			}
			want := []Outstanding{{"example", "c1", []string{"Outstanding ref: " + gate1 + "/call/gate/1/functions/1"}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyDeadline: no round starts after the deadline; the first round
// applies intent but runs nothing that is due after it.
func TestApplyDeadline(t *testing.T) {
	tr := newDeployRepo(t)
	tr.set("+/custom/version", `"v2"`)
	res, err := tr.e.Apply(context.Background(), ApplyOptions{Deadline: time.Now().Add(-time.Second)})
	if err != nil || res.Failed {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	if got := tr.doc("@/custom/version"); got != `"v2"` {
		t.Errorf("intent not applied: %s", got)
	}
	if tr.status(app1+"/deploy/staging/2") != state.StatusPending {
		t.Errorf("reconciled chain: status %q", tr.status(app1+"/deploy/staging/2"))
	}
}

// TestLock: the apply lock is exclusive; a second engine waits and then
// gives up with E_LOCKED.
func TestLock(t *testing.T) {
	tr := newDeployRepo(t)
	unlock, err := tr.e.Lock(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenFS(filepath.Join(tr.e.Root, ".store"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := tr.at("c1")
	other.e.Store = s
	if _, err := other.e.Lock(context.Background(), 10*time.Millisecond); store.CodeOf(err) != store.ELocked {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	unlock2, err := other.e.Lock(context.Background(), 0)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

// breakFile makes file of tr's checkout a package that does not evaluate.
func breakFile(t *testing.T, tr *testRepo, file string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tr.e.Root, file), []byte("ocuroot(\"0.3.0\")\nx = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestApplyFailedIntentOnce: an intent that fails is reported once, not
// again in later rounds; a release that cannot be loaded fails the apply.
func TestApplyFailedIntentOnce(t *testing.T) {
	tr := newDeployRepo(t)
	tr.set(appPkg+"/+7/custom/x", `1`)
	tr.set("+/custom/version", `"v2"`) // reconcile: a second round
	res := tr.runApply()
	if !res.Failed {
		t.Error("apply did not fail")
	}
	want := []string{"test: " + appPkg + "/+7/custom/x: release " + appPkg + "/@7 not found"}
	if diff := cmp.Diff(want, lines(tr.errOut.String())); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if tr.status(app1+"/deploy/staging/2") != state.StatusComplete {
		t.Errorf("the other work did not run:\n%s", tr.out.String())
	}

	tr = newDeployRepo(t)
	tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
	breakFile(t, tr, "app.ocu.star")
	if res := tr.runApply(); !res.Failed {
		t.Error("a release that cannot be loaded did not fail the apply")
	}
	if got := lines(tr.errOut.String()); len(got) != 1 || !strings.HasPrefix(got[0], "test: "+app1+": app.ocu.star:2:") {
		t.Errorf("stderr %q", got)
	}
}

// TestReleaseNewTwice: a second release at the same commit needs force.
func TestReleaseNewTwice(t *testing.T) {
	tr := newDeployRepo(t)
	_, err := tr.e.ReleaseNew(context.Background(), "app.ocu.star", false)
	want := "there are already 1 release(s) of app.ocu.star at commit c1 (listed above); use --force to create another"
	if err == nil || err.Error() != want {
		t.Errorf("error %v", err)
	}
	if tr.out.String() != app1+"/commit/c1\n" {
		t.Errorf("stdout %q", tr.out.String())
	}
	if tr.exists(app2) {
		t.Error("a second release was made")
	}
	if _, err := tr.at("").e.ReleaseNew(context.Background(), "app.ocu.star", true); err == nil || err.Error() != "cannot determine the commit" {
		t.Errorf("no commit: %v", err)
	}
}
