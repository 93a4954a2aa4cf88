package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// TestCheckEnvs: a check_envs task gives a chain to every work item without
// one and to items whose environment was removed and is back; a
// deployment torn down on purpose stays down.
func TestCheckEnvs(t *testing.T) {
	base := newDeployRepo(t)
	const task = app1 + "/task/check_envs"
	// removeEnv deletes environment env and runs its teardown.
	removeEnv := func(tr *testRepo, env string) {
		tr.remove("+/environment/" + env)
		tr.mustApply("+/environment/" + env)
		tr.workContinue()
	}
	addEnv := func(tr *testRepo, env string) {
		tr.set("+/environment/"+env, `{"name":"`+env+`","attributes":{}}`)
		if msg := tr.mustApply("+/environment/" + env); msg != msgApplied {
			tr.t.Fatalf("apply %s: %s", env, msg)
		}
	}
	tests := []struct {
		name    string
		prepare func(tr *testRepo)
		want    int      // checkEnvs' count
		created []string // chains created, pending
		lines   []string // progress
	}{
		{name: "no task", want: 0},
		{
			name:    "new environment",
			prepare: func(tr *testRepo) { addEnv(tr, "qa") },
			want:    1, created: []string{app1 + "/deploy/qa/1"},
			lines: []string{"app.ocu.star@1 deploy to qa: pending"},
		},
		{
			name: "changed environment",
			prepare: func(tr *testRepo) {
				tr.set("+/environment/prod", `{"name":"prod","attributes":{"type":"production"}}`)
				tr.mustApply("+/environment/prod")
			},
			want: 1,
		},
		{
			name: "re-created environment",
			prepare: func(tr *testRepo) {
				removeEnv(tr, staging)
				addEnv(tr, staging)
			},
			want: 1, created: []string{app1 + "/deploy/staging/3"},
			lines: []string{"app.ocu.star@1 deploy to staging: pending"},
		},
		{
			name: "re-created environment after a cancelled deploy",
			prepare: func(tr *testRepo) {
				// A pending redeploy of prod is cancelled by the removal.
				tr.set(appPkg+"/+/deploy/prod", deployIntent(app1, `{"version":{"value":"v2"}}`))
				tr.mustApply(appPkg + "/+/deploy/prod")
				removeEnv(tr, prod)
				addEnv(tr, prod)
			},
			want: 1, created: []string{app1 + "/deploy/prod/4"},
			lines: []string{"app.ocu.star@1 deploy to prod: pending"},
		},
		{
			name: "re-created environment after a cancelled first deploy",
			prepare: func(tr *testRepo) {
				// qa's first deploy is still pending when qa goes.
				addEnv(tr, "qa")
				if _, err := tr.e.checkEnvs(context.Background(), releaseID(t, app1)); err != nil {
					tr.t.Fatal(err)
				}
				tr.remove("+/environment/qa")
				if msg := tr.mustApply("+/environment/qa"); msg != msgDeleted {
					tr.t.Fatalf("remove qa: %s", msg)
				}
				if tr.status(app1+"/deploy/qa/1") != state.StatusCancelled || tr.chain(app1+"/deploy/qa/1").Reason != "environment" {
					tr.t.Fatalf("qa's deploy not cancelled: %s", tr.status(app1+"/deploy/qa/1"))
				}
				addEnv(tr, "qa")
			},
			want: 1, created: []string{app1 + "/deploy/qa/2"},
			lines: []string{"app.ocu.star@1 deploy to qa: pending"},
		},
		{
			name: "deliberate teardown stays down",
			prepare: func(tr *testRepo) {
				tr.remove(appPkg + "/+/deploy/staging")
				tr.mustApply(appPkg + "/+/deploy/staging")
				tr.workContinue()
				addEnv(tr, "qa")
			},
			want: 1, created: []string{app1 + "/deploy/qa/1"},
			lines: []string{"app.ocu.star@1 deploy to qa: pending"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			if tt.prepare != nil {
				tt.prepare(tr)
			}
			before := tr.refs(app1 + "/{call,deploy}/*/*/status/pending")
			tr.out.Reset()
			n, err := tr.e.checkEnvs(context.Background(), releaseID(t, app1))
			if err != nil || n != tt.want {
				t.Fatalf("checkEnvs: %d, %v; want %d", n, err, tt.want)
			}
			created := newChains(before, tr.refs(app1+"/{call,deploy}/*/*/status/pending"))
			if diff := cmp.Diff(tt.created, created); diff != "" {
				t.Errorf("chains created (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.lines, lines(tr.out.String())); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
			if tr.exists(task) {
				t.Error("the task is left")
			}
			for _, c := range created {
				f1 := tr.function(c + "/functions/1")
				want := []string{app1 + "/call/build/*/status/complete"}
				if f1.Current.Fn.Name != "up" || !cmp.Equal(f1.Current.Dependencies, want) {
					t.Errorf("%s function 1: %+v", c, f1.Current)
				}
			}
			// The release's package is the new compilation.
			var rel state.Release
			if _, err := tr.e.get(context.Background(), mustRef(t, app1), &rel); err != nil {
				t.Fatal(err)
			}
			var envs []string
			for _, w := range rel.Package.Phases[1].Work {
				envs = append(envs, w.Deploy.Environment)
			}
			if diff := cmp.Diff(tr.envNames(), envs); diff != "" {
				t.Errorf("deploys of the package (-want +got):\n%s", diff)
			}
		})
	}
}

// envNames lists the environments in state.
func (tr *testRepo) envNames() []string {
	tr.t.Helper()
	envs, err := tr.e.environments(context.Background())
	if err != nil {
		tr.t.Fatal(err)
	}
	var names []string
	for _, e := range envs {
		names = append(names, e.Name)
	}
	return names
}

// newChains lists the chains whose pending markers are in after and not in
// before.
func newChains(before, after []string) []string {
	var created []string
	for _, m := range after {
		if !slices.Contains(before, m) {
			created = append(created, strings.TrimSuffix(m, "/status/pending"))
		}
	}
	return created
}

// TestTasksBrokenRelease: a release whose package cannot be evaluated is
// reported and counted; its task stays.
func TestTasksBrokenRelease(t *testing.T) {
	tr := newDeployRepo(t)
	tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
	tr.mustApply("+/environment/qa")
	if err := os.WriteFile(filepath.Join(tr.e.Root, "app.ocu.star"), []byte("ocuroot(\"0.3.0\")\nx = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	done, failed, err := tr.e.Tasks(context.Background())
	if err != nil || done != 0 || failed != 1 {
		t.Fatalf("tasks: %d done, %d failed, %v", done, failed, err)
	}
	if !strings.HasPrefix(tr.errOut.String(), "test: "+app1+": app.ocu.star:2:") {
		t.Errorf("stderr %q", tr.errOut.String())
	}
	if !tr.exists(app1 + "/task/check_envs") {
		t.Error("the task of a broken release was deleted")
	}
}

// TestReconcile: a deployment whose inputs changed is deployed again once;
// refs not found, null values, the deployment's own outputs, busy
// deployments and deployments without intent are not changes.
func TestReconcile(t *testing.T) {
	base := newDeployRepo(t)
	tests := []struct {
		name    string
		prepare func(tr *testRepo)
		rels    []string
		want    int
		created []string
	}{
		{name: "nothing changed", rels: []string{app1}},
		{
			name:    "changed input",
			prepare: func(tr *testRepo) { tr.set("@/custom/version", `"v2"`) },
			rels:    []string{app1}, want: 2,
			created: []string{app1 + "/deploy/prod/2", app1 + "/deploy/staging/2"},
		},
		{
			name:    "null is not a change",
			prepare: func(tr *testRepo) { tr.set("@/custom/version", `null`) },
			rels:    []string{app1},
		},
		{
			name:    "equal to the default is not a change",
			prepare: func(tr *testRepo) { tr.set("@/custom/version", `"v1"`) },
			rels:    []string{app1},
		},
		{
			name: "not a release at this commit",
			prepare: func(tr *testRepo) {
				tr.set("@/custom/version", `"v2"`)
			},
			rels: []string{app2, "not a ref"},
		},
		{
			name: "deploy intent absent",
			prepare: func(tr *testRepo) {
				tr.set("@/custom/version", `"v2"`)
				tr.remove(appPkg + "/+/deploy/prod")
			},
			rels: []string{app1}, want: 1,
			created: []string{app1 + "/deploy/staging/2"},
		},
		{
			name: "deployment busy",
			prepare: func(tr *testRepo) {
				tr.set(appPkg+"/+/deploy/prod", deployIntent(app1, `{"version":{"value":"v0"}}`))
				tr.mustApply(appPkg + "/+/deploy/prod")
				tr.set("@/custom/version", `"v2"`)
			},
			rels: []string{app1}, want: 1,
			created: []string{app1 + "/deploy/staging/2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			if tt.prepare != nil {
				tt.prepare(tr)
			}
			before := tr.refs(appPkg + "/@*/deploy/*/*/status/pending")
			// A string that is no release ref cannot be passed: it is left out.
			var rels []state.ReleaseID
			for _, r := range tt.rels {
				if p, err := ref.Parse(r); err == nil {
					id, err := state.ParseRelease(p)
					if err != nil {
						t.Fatal(err)
					}
					rels = append(rels, id)
				}
			}
			n, err := tr.e.reconcile(context.Background(), rels)
			if err != nil || n != tt.want {
				t.Fatalf("reconcile: %d, %v; want %d", n, err, tt.want)
			}
			created := newChains(before, tr.refs(appPkg+"/@*/deploy/*/*/status/pending"))
			if diff := cmp.Diff(tt.created, created); diff != "" {
				t.Errorf("chains created (-want +got):\n%s", diff)
			}
			for _, c := range created {
				f1 := tr.function(c + "/functions/1")
				if f1.Current.Fn.Name != "up" || f1.Current.Dependencies != nil ||
					f1.Current.Inputs["version"] != (state.Descriptor{Ref: "@/custom/version", Default: "v1", Value: "v2"}) {
					t.Errorf("%s function 1: %+v", c, f1.Current)
				}
				if !strings.Contains(tr.out.String(), label(mustWork(t, c), false)+": pending (inputs changed)\n") {
					t.Errorf("progress:\n%s", tr.out.String())
				}
			}
		})
	}
}

func mustWork(t *testing.T, r string) state.WorkID {
	t.Helper()
	return workID(t, r)
}

// TestReconcileOnce: a changed input deploys again once; the run's own
// outputs and a deleted input ref do not deploy again.
func TestReconcileOnce(t *testing.T) {
	tr := newDeployRepo(t)
	tr.set("@/custom/version", `"v2"`)
	tr.workContinue()
	if got := tr.chainStatuses("deploy/staging"); !cmp.Equal(got, []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 complete"}) {
		t.Fatalf("staging chains %v\n%s", got, tr.out.String())
	}
	if got := tr.str(appPkg + "/@/deploy/staging#output/version"); got != "v2" {
		t.Errorf("version %q", got)
	}
	tr.remove("@/custom/version")
	for i := range 2 {
		if n, err := tr.e.reconcile(context.Background(), releaseIDs(t, app1)); err != nil || n != 0 {
			t.Errorf("reconcile %d: %d, %v", i, n, err)
		}
	}
}

// TestOutstanding: work another commit could run is listed per (repo,
// commit): runnable pending functions, reconcilable deployments and
// check_envs tasks; waiting functions are not.
func TestOutstanding(t *testing.T) {
	base := newDeployRepo(t)
	base.release("gate.ocu.star", false) // waits for its approval
	base.out.Reset()
	tests := []struct {
		name    string
		prepare func(tr *testRepo)
		current bool // include the current commit
		want    []Outstanding
	}{
		{name: "nothing", want: []Outstanding{}},
		{
			name: "pending runnable function",
			prepare: func(tr *testRepo) {
				tr.set(appPkg+"/+/deploy/prod", deployIntent(app1, `{"version":{"value":"v0"}}`))
				tr.mustApply(appPkg + "/+/deploy/prod")
			},
			want: []Outstanding{{"example", "c1", []string{"Outstanding ref: " + app1 + "/deploy/prod/2/functions/1"}}},
		},
		{
			name:    "waiting function once its input is there",
			prepare: func(tr *testRepo) { tr.set(gate1+"/custom/approval", `"alice"`) },
			want:    []Outstanding{{"example", "c1", []string{"Outstanding ref: " + gate1 + "/call/gate/1/functions/1"}}},
		},
		{
			name:    "reconcilable deployments",
			prepare: func(tr *testRepo) { tr.set("@/custom/version", `"v2"`) },
			want: []Outstanding{{"example", "c1", []string{
				"Reconcilable ref: " + appPkg + "/@/deploy/prod",
				"Reconcilable ref: " + appPkg + "/@/deploy/staging",
			}}},
		},
		{
			name: "a busy deployment is not reconcilable",
			prepare: func(tr *testRepo) {
				tr.set("@/custom/version", `"v2"`)
				tr.set(appPkg+"/+/deploy/prod", deployIntent(app1, `{"version":{"value":"v0"}}`))
				tr.mustApply(appPkg + "/+/deploy/prod")
			},
			want: []Outstanding{{"example", "c1", []string{
				"Outstanding ref: " + app1 + "/deploy/prod/2/functions/1",
				"Reconcilable ref: " + appPkg + "/@/deploy/staging",
			}}},
		},
		{
			name: "check_envs task",
			prepare: func(tr *testRepo) {
				tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
				tr.mustApply("+/environment/qa")
			},
			want: []Outstanding{{"example", "c1", []string{"Task ref: " + app1 + "/task/check_envs"}}},
		},
		{
			name: "releases at two commits, the current one left out",
			prepare: func(tr *testRepo) {
				c3 := tr.at("c3")
				c3.release("gate.ocu.star", false)
				tr.set(gate1+"/custom/approval", `"alice"`)
				tr.set("example/-/gate.ocu.star/@2/custom/approval", `"bob"`)
				tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
				tr.mustApply("+/environment/qa")
			},
			want: []Outstanding{
				{"example", "c1", []string{"Outstanding ref: " + gate1 + "/call/gate/1/functions/1", "Task ref: " + app1 + "/task/check_envs"}},
				{"example", "c3", []string{"Outstanding ref: example/-/gate.ocu.star/@2/call/gate/1/functions/1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			if tt.prepare != nil {
				tt.prepare(tr)
			}
			got, err := tr.at("c2").e.Outstanding(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("from c2 (-want +got):\n%s", diff)
			}
			// At c1, c1's work is not outstanding unless asked for.
			got, err = tr.e.Outstanding(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range got {
				if o.Commit == "c1" {
					t.Errorf("from c1: %v", o)
				}
			}
			got, err = tr.e.Outstanding(context.Background(), true)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("from c1 with the current commit (-want +got):\n%s", diff)
			}
		})
	}
}

const gate1 = "example/-/gate.ocu.star/@1"
