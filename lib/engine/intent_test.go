package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// TestApplyEnvironment: a present environment intent is validated and
// copied to state, and every deployed release gets a check_envs task; an
// absent one tears down every deployment to it and cancels pending deploys.
func TestApplyEnvironment(t *testing.T) {
	base := newDeployRepo(t)
	const task = app1 + "/task/check_envs"
	tests := []struct {
		name    string
		intent  string // JSON of +/environment/<env>; "" deletes it
		env     string
		want    string
		wantErr string
		state   string // JSON of @/environment/<env> afterwards, "" absent
		task    bool   // the release has a check_envs task afterwards
	}{
		{
			name: "new environment", env: "qa",
			intent: `{"name":"qa","attributes":{"type":"qa"}}`,
			want:   "applied", state: `{"attributes":{"type":"qa"},"name":"qa"}`, task: true,
		},
		{
			name: "equal environment", env: staging,
			intent: `{"name":"staging","attributes":{"type":"staging"}}`,
			want:   msgAlreadyApplied, state: `{"attributes":{"type":"staging"},"name":"staging"}`,
		},
		{
			name: "changed attributes", env: staging,
			intent: `{"name":"staging","attributes":{"type":"staging","region":"eu"}}`,
			want:   "applied", state: `{"attributes":{"region":"eu","type":"staging"},"name":"staging"}`, task: true,
		},
		{
			name: "null attributes", env: "qa",
			intent:  `{"name":"qa","attributes":null}`,
			wantErr: `environment "qa": attributes missing (use {} for none)`,
		},
		{
			name: "name differs from the ref", env: "qa",
			intent:  `{"name":"other","attributes":{}}`,
			wantErr: `environment name "other" must match the ref's name "qa"`,
		},
		{
			name: "invalid name", env: "qa",
			intent:  `{"name":"q/a","attributes":{}}`,
			wantErr: `invalid environment name "q/a"`,
		},
		{
			name: "name not a string", env: "qa",
			intent:  `{"name":1,"attributes":{}}`,
			wantErr: `environment "qa": name must be a string`,
		},
		{
			name: "attributes not an object", env: "qa",
			intent:  `{"name":"qa","attributes":[]}`,
			wantErr: `environment "qa": attributes must be an object of strings`,
		},
		{
			name: "absent from intent and state", env: "qa",
			want: msgAlreadyApplied,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			r := "+/environment/" + tt.env
			if tt.intent != "" {
				tr.set(r, tt.intent)
			}
			msg, err := tr.apply(r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || msg != tt.want {
				t.Fatalf("apply: %q, %v; want %q", msg, err, tt.want)
			}
			if got := tr.doc("@/environment/" + tt.env); got != tt.state {
				t.Errorf("state %s, want %s", got, tt.state)
			}
			if got := tr.exists(task); got != tt.task {
				t.Errorf("check_envs task %v, want %v", got, tt.task)
			}
		})
	}
}

// TestRemoveEnvironment: deleting an environment intent deletes the
// environment, deletes the deploy intents to it, schedules one down chain
// per deployment (reason "environment") and cancels pending up chains.
func TestRemoveEnvironment(t *testing.T) {
	tr := newDeployRepo(t)
	// Release 2 deploys everywhere; a rollback of staging to release 1 is
	// then left pending.
	tr.release("app.ocu.star", false)
	tr.set(appPkg+"/+/deploy/staging", deployIntent(app1, ""))
	if msg := tr.mustApply(appPkg + "/+/deploy/staging"); msg != "Created work: "+app1+"/deploy/staging/2" {
		t.Fatalf("rollback: %s", msg)
	}

	tr.remove("+/environment/staging")
	msg := tr.mustApply("+/environment/staging")
	if want := "deleted; down scheduled: " + app2 + "/deploy/staging/2"; msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	for _, gone := range []string{"@/environment/staging", appPkg + "/+/deploy/staging"} {
		if tr.exists(gone) {
			t.Errorf("%s still exists", gone)
		}
	}
	down := tr.chain(app2 + "/deploy/staging/2")
	if down.Type != "down" || down.Reason != "environment" {
		t.Errorf("down chain %+v", down)
	}
	f1 := tr.function(app2 + "/deploy/staging/2/functions/1")
	if f1.Current.Fn.Name != "down" || f1.Current.Status != state.StatusPending {
		t.Errorf("down function %+v", f1.Current)
	}
	// The down function gets the values the deployment ran with, no refs.
	wantInputs := `{"environment":{"value":{"attributes":{"type":"staging"},"name":"staging"}},` +
		`"image":{"value":"img:1"},"previous":{"value":"staging"},"version":{"value":"v1"}}`
	if got := jsonOf(t, f1.Current.Inputs); got != wantInputs {
		t.Errorf("down inputs\n got %s\nwant %s", got, wantInputs)
	}
	rollback := tr.chain(app1 + "/deploy/staging/2")
	if rollback.Reason != "environment" || tr.status(app1+"/deploy/staging/2") != state.StatusCancelled ||
		tr.status(app1+"/deploy/staging/2/functions/1") != state.StatusCancelled {
		t.Errorf("pending rollback not cancelled: %+v, %s", rollback, tr.status(app1+"/deploy/staging/2"))
	}
	if f := tr.function(app1 + "/deploy/staging/2/functions/1"); f.Current.Status != state.StatusCancelled ||
		f.History[len(f.History)-1].Status != state.StatusCancelled {
		t.Errorf("cancelled function %+v", f)
	}
	// Prod is untouched.
	if tr.target(appPkg+"/@/deploy/prod") != app2+"/deploy/prod/1" || !tr.exists(appPkg+"/+/deploy/prod") {
		t.Error("prod deployment changed")
	}

	// Applied again: nothing left to do.
	if msg := tr.mustApply("+/environment/staging"); msg != msgAlreadyApplied {
		t.Errorf("again: %q", msg)
	}
	// The down chain runs and removes the deployment; no deploy intent is
	// written by it.
	tr.workContinue()
	if tr.status(app2+"/deploy/staging/2") != state.StatusComplete || tr.target(appPkg+"/@/deploy/staging") != "" ||
		tr.exists(appPkg+"/+/deploy/staging") {
		t.Errorf("after the down run: status %s, link %q\n%s", tr.status(app2+"/deploy/staging/2"),
			tr.target(appPkg+"/@/deploy/staging"), tr.out.String())
	}
	if tr.exists(app1 + "/deploy/staging/3") {
		t.Error("the cancelled rollback ran")
	}
}

// TestApplyCustom: custom intent goes to its twin with the release
// resolved; deleted intent deletes only that document.
func TestApplyCustom(t *testing.T) {
	base := newDeployRepo(t)
	base.link(appPkg+"/@v1", app1)
	tests := []struct {
		name    string
		state   map[string]string // stored before
		intent  string
		doc     string // JSON of the intent; "" absent
		want    string
		wantErr string
		after   map[string]string // state afterwards ("" absent)
	}{
		{
			name: "global, new", intent: "+/custom/x", doc: `{"a":[1,2]}`, want: msgApplied,
			after: map[string]string{"@/custom/x": `{"a":[1,2]}`},
		},
		{
			name: "global, equal", intent: "+/custom/x", doc: `"same"`, want: msgAlreadyApplied,
			state: map[string]string{"@/custom/x": `"same"`},
			after: map[string]string{"@/custom/x": `"same"`},
		},
		{
			name: "numbers compare by value", intent: "+/custom/x", doc: `{"n":1.0}`, want: msgAlreadyApplied,
			state: map[string]string{"@/custom/x": `{"n":1}`},
			after: map[string]string{"@/custom/x": `{"n":1}`},
		},
		{
			name: "global, changed", intent: "+/custom/x", doc: `2`, want: msgApplied,
			state: map[string]string{"@/custom/x": `1`},
			after: map[string]string{"@/custom/x": `2`},
		},
		{
			name: "nested path", intent: "+/custom/a/b/c", doc: `true`, want: msgApplied,
			after: map[string]string{"@/custom/a/b/c": `true`, "@/custom/a": ""},
		},
		{
			name: "numbered release", intent: appPkg + "/+1/custom/approval", doc: `"alice"`, want: msgApplied,
			after: map[string]string{app1 + "/custom/approval": `"alice"`},
		},
		{
			name: "tag resolved to its release", intent: appPkg + "/+v1/custom/approval", doc: `"bob"`, want: msgApplied,
			after: map[string]string{app1 + "/custom/approval": `"bob"`},
		},
		{
			name: "package level stays package level", intent: appPkg + "/+/custom/flag", doc: `"on"`, want: msgApplied,
			after: map[string]string{appPkg + "/@/custom/flag": `"on"`, app1 + "/custom/flag": ""},
		},
		{
			name: "missing release", intent: appPkg + "/+9/custom/x", doc: `1`,
			wantErr: "release " + appPkg + "/@9 not found",
			after:   map[string]string{appPkg + "/@9": "", appPkg + "/@9/custom/x": ""},
		},
		{
			name: "missing tag", intent: appPkg + "/+v9/custom/x", doc: `1`,
			wantErr: "release " + appPkg + "/@v9 not found",
			after:   map[string]string{appPkg + "/@v9/custom/x": ""},
		},
		{
			name: "a tag naming no release", intent: appPkg + "/+build/custom/x", doc: `1`,
			state:   map[string]string{"link:" + appPkg + "/@build": app1 + "/call/build"},
			wantErr: "release " + appPkg + "/@build not found (it names " + app1 + "/call/build)",
		},
		{
			name: "deleted, state present", intent: "+/custom/a", want: msgDeleted,
			state: map[string]string{"@/custom/a": `1`, "@/custom/a/b": `2`},
			after: map[string]string{"@/custom/a": "", "@/custom/a/b": `2`},
		},
		{
			name: "deleted, release-level state present", intent: appPkg + "/+1/custom/approval", want: msgDeleted,
			state: map[string]string{app1 + "/custom/approval": `"alice"`},
			after: map[string]string{app1 + "/custom/approval": ""},
		},
		{
			name: "deleted, state absent", intent: "+/custom/a", want: msgAlreadyApplied,
		},
		{
			name: "deleted, release missing", intent: appPkg + "/+9/custom/x", want: msgAlreadyApplied,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			for r, v := range tt.state {
				if l, ok := strings.CutPrefix(r, "link:"); ok {
					tr.link(l, v)
				} else {
					tr.set(r, v)
				}
			}
			if tt.doc != "" {
				tr.set(tt.intent, tt.doc)
			}
			msg, err := tr.apply(tt.intent)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || msg != tt.want {
				t.Fatalf("apply: %q, %v; want %q", msg, err, tt.want)
			}
			for r, want := range tt.after {
				if got := tr.doc(r); got != want {
					t.Errorf("%s: %s, want %s", r, got, want)
				}
			}
		})
	}
}

// TestApplyIntentRefs: only environment, custom and deploy intent applies.
func TestApplyIntentRefs(t *testing.T) {
	tr := newTestRepo(t, nil)
	for _, r := range []string{"@/custom/x", "+/custom/x#a", "example/-/f.ocu.star/+1/deploy/prod", "+/environment/a/b", "+/deploy/x", "not a ref"} {
		if msg, err := tr.apply(r); err == nil {
			t.Errorf("%s: applied (%q)", r, msg)
		}
	}
}

// TestApplyDeploy: a present deploy intent is already applied, pending,
// failed (a notice), or creates a chain of its release's up function,
// cancelling pending up chains first.
func TestApplyDeploy(t *testing.T) {
	base := newDeployRepo(t)
	base.release("app.ocu.star", false) // release 2, deployed everywhere
	base.link(appPkg+"/@v1", app1)
	const intent = appPkg + "/+/deploy/staging"
	tests := []struct {
		name    string
		prepare func(tr *testRepo)
		doc     string // the intent applied; "" leaves it as stored
		want    string
		wantErr string
		chains  []string // chains of staging in releases 1 and 2 afterwards, with their status
	}{
		{
			name: "current deployment", want: msgAlreadyApplied,
			chains: []string{app1 + "/deploy/staging/1 complete", app2 + "/deploy/staging/1 complete"},
		},
		{
			name: "rollback to another release", doc: deployIntent(app1, ""),
			want:   "Created work: " + app1 + "/deploy/staging/2",
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 pending", app2 + "/deploy/staging/1 complete"},
		},
		{
			name: "rollback by tag", doc: deployIntent(appPkg+"/@v1", ""),
			want:   "Created work: " + app1 + "/deploy/staging/2",
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 pending", app2 + "/deploy/staging/1 complete"},
		},
		{
			name: "changed input on the current release", doc: deployIntent(app2, `{"version":{"value":"v9"}}`),
			want:   "Created work: " + app2 + "/deploy/staging/2",
			chains: []string{app1 + "/deploy/staging/1 complete", app2 + "/deploy/staging/1 complete", app2 + "/deploy/staging/2 pending"},
		},
		{
			name: "changed default on the current release",
			prepare: func(tr *testRepo) {
				stored := tr.value(intent).(map[string]any)
				stored["input"].(map[string]any)["version"].(map[string]any)["default"] = "v7"
				tr.set(intent, jsonOf(tr.t, stored))
			},
			want:   "Created work: " + app2 + "/deploy/staging/2",
			chains: []string{app1 + "/deploy/staging/1 complete", app2 + "/deploy/staging/1 complete", app2 + "/deploy/staging/2 pending"},
		},
		{
			name: "an extra input on the current release",
			prepare: func(tr *testRepo) {
				stored := tr.value(intent).(map[string]any)
				stored["input"].(map[string]any)["extra"] = map[string]any{"value": 1}
				tr.set(intent, jsonOf(tr.t, stored))
			},
			want:   "Created work: " + app2 + "/deploy/staging/2",
			chains: []string{app1 + "/deploy/staging/1 complete", app2 + "/deploy/staging/1 complete", app2 + "/deploy/staging/2 pending"},
		},
		{
			name: "already pending",
			prepare: func(tr *testRepo) {
				tr.set(intent, deployIntent(app1, ""))
				tr.mustApply(intent)
			},
			want:   "Deploy intent already pending or in progress",
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 pending", app2 + "/deploy/staging/1 complete"},
		},
		{
			name: "failed",
			prepare: func(tr *testRepo) {
				tr.set(intent, deployIntent(app1, ""))
				tr.mustApply(intent)
				if res := tr.at("c1", "FAIL=up-staging").workContinue(); res.Failures != 1 {
					tr.t.Fatalf("the rollback did not fail: %+v", res)
				}
				// Its start rewrote the intent with the inputs it ran with.
			},
			want:   "deploy of " + app1 + " to staging failed; run: ocuroot release retry " + app1,
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 failed", app2 + "/deploy/staging/1 complete"},
		},
		{
			name: "a new intent cancels a pending one",
			prepare: func(tr *testRepo) {
				tr.set(intent, deployIntent(app1, ""))
				tr.mustApply(intent)
			},
			doc:  deployIntent(app2, `{"version":{"value":"v9"}}`),
			want: "Created work: " + app2 + "/deploy/staging/2",
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 cancelled",
				app2 + "/deploy/staging/1 complete", app2 + "/deploy/staging/2 pending"},
		},
		{
			name: "a running deploy is not cancelled",
			prepare: func(tr *testRepo) {
				tr.set(intent, deployIntent(app1, ""))
				tr.mustApply(intent)
				tr.markRunning(app1+"/deploy/staging/2/functions/1", state.Runner{Host: "elsewhere", Pid: 1})
			},
			doc:  deployIntent(app2, `{"version":{"value":"v9"}}`),
			want: "Created work: " + app2 + "/deploy/staging/2",
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 pending",
				app2 + "/deploy/staging/1 complete", app2 + "/deploy/staging/2 pending"},
		},
		{
			name: "type down", doc: `{"type":"down","release":"` + app1 + `","input":{}}`,
			wantErr: `invalid deploy intent: type "down" (expected "")`,
		},
		{
			name: "release of another package", doc: deployIntent("example/-/other.ocu.star/@1", ""),
			wantErr: `invalid deploy intent: release "example/-/other.ocu.star/@1" must be a release of example/-/app.ocu.star (FILE/@N or a tag)`,
		},
		{
			name: "release not a ref", doc: deployIntent("::", ""),
			wantErr: `invalid deploy intent: release "::" must be a release of`,
		},
		{
			name: "release not a string", doc: `{"release":5}`,
			wantErr: "invalid deploy intent: " + intent + ": unexpected document",
		},
		{
			name: "missing release", doc: deployIntent(appPkg+"/@9", ""),
			wantErr: "release " + appPkg + "/@9 not found",
		},
		{
			name: "invalid input name", doc: deployIntent(app1, `{"bad-name":{"value":1}}`),
			wantErr: `invalid deploy intent: invalid input name "bad-name"`,
		},
		{
			name: "keyword input name", doc: deployIntent(app1, `{"for":{"value":1}}`),
			wantErr: `invalid deploy intent: invalid input name "for"`,
		},
		{
			name: "input not a descriptor", doc: deployIntent(app1, `{"x":5}`),
			wantErr: `invalid deploy intent: input "x" is not a descriptor`,
		},
		{
			name: "descriptor with an unknown key", doc: deployIntent(app1, `{"x":{"value":1,"extra":2}}`),
			wantErr: `invalid deploy intent: input "x" is not a descriptor`,
		},
		{
			name: "empty descriptor", doc: deployIntent(app1, `{"x":{"doc":"nothing"}}`),
			wantErr: `invalid deploy intent: input "x" is not a descriptor`,
		},
		{
			name: "descriptor with a bad ref", doc: deployIntent(app1, `{"x":{"ref":"a/-/b/@/c/d?"}}`),
			wantErr: `invalid deploy intent: input "x": `,
		},
		{
			name: "environment the release does not deploy to",
			prepare: func(tr *testRepo) {
				tr.set(appPkg+"/+/deploy/qa", deployIntent(app1, ""))
				_, err := tr.apply(appPkg + "/+/deploy/qa")
				if err == nil || err.Error() != app1+" declares no deploy to qa" {
					tr.t.Errorf("error %v", err)
				}
			},
			want:   msgAlreadyApplied,
			chains: []string{app1 + "/deploy/staging/1 complete", app2 + "/deploy/staging/1 complete"},
		},
		{
			name: "environment gone from state",
			prepare: func(tr *testRepo) {
				tr.remove("@/environment/staging")
			},
			doc:     deployIntent(app1, ""),
			wantErr: `environment "staging" does not exist (@/environment/staging)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			if tt.prepare != nil {
				tr.prepare(tt.prepare)
			}
			if tt.doc != "" {
				tr.set(intent, tt.doc)
			}
			msg, err := tr.apply(intent)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || msg != tt.want {
				t.Fatalf("apply: %q, %v; want %q", msg, err, tt.want)
			}
			if tt.chains != nil {
				if diff := cmp.Diff(tt.chains, tr.chainStatuses("deploy/staging")); diff != "" {
					t.Errorf("chains (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// prepare runs f on tr.
func (tr *testRepo) prepare(f func(*testRepo)) { tr.t.Helper(); f(tr) }

// chainStatuses lists the chains of item ("deploy/staging") in every
// release of app.ocu.star as "<chain ref> <status>".
func (tr *testRepo) chainStatuses(item string) []string {
	tr.t.Helper()
	var out []string
	for _, m := range tr.refs(appPkg + "/@*/" + item + "/*/status/*") {
		c, status, _ := strings.Cut(m, "/status/")
		out = append(out, c+" "+status)
	}
	return out
}

// TestRolledBackDeployment: a created chain runs with the entry inputs and
// moves the current deployment; applying the same intent again does nothing.
func TestRolledBackDeployment(t *testing.T) {
	tr := newDeployRepo(t)
	tr.release("app.ocu.star", false)
	const intent = appPkg + "/+/deploy/staging"
	tr.set(intent, deployIntent(app1, `{"version":{"value":"v0","doc":"pinned"}}`))
	if msg := tr.mustApply(intent); msg != "Created work: "+app1+"/deploy/staging/2" {
		t.Fatalf("apply: %s", msg)
	}
	f1 := tr.function(app1 + "/deploy/staging/2/functions/1")
	if f1.Current.Fn.Name != "up" || f1.Current.Dependencies != nil || f1.Current.Inputs["version"].Value != "v0" {
		t.Errorf("function 1: %+v", f1.Current)
	}
	tr.workContinue()
	if got := tr.target(appPkg + "/@/deploy/staging"); got != app1+"/deploy/staging/2" {
		t.Errorf("current deployment %s\n%s", got, tr.out.String())
	}
	if got := tr.str(appPkg + "/@/deploy/staging#output/version"); got != "v0" {
		t.Errorf("deployed version %q", got)
	}
	// The start rewrote the intent with the populated inputs: it is applied.
	if msg := tr.mustApply(intent); msg != msgAlreadyApplied {
		t.Errorf("again: %q", msg)
	}
	// The same intent with another doc is still the same intent.
	stored := tr.value(intent).(map[string]any)
	stored["input"].(map[string]any)["version"].(map[string]any)["doc"] = "other"
	tr.set(intent, jsonOf(tr.t, stored))
	if msg := tr.mustApply(intent); msg != msgAlreadyApplied {
		t.Errorf("doc changed: %q", msg)
	}
}

// TestDeployAbsent: a deleted deploy intent schedules a down chain of the
// current deployment, unless one is pending or the last one failed; with
// no deployment it cancels pending up chains.
func TestDeployAbsent(t *testing.T) {
	base := newDeployRepo(t)
	const intent = appPkg + "/+/deploy/staging"
	base.remove(intent)
	tests := []struct {
		name    string
		prepare func(tr *testRepo)
		want    string
		chains  []string
		current string // the current deployment afterwards
	}{
		{
			name:    "down scheduled",
			want:    "down scheduled: " + app1 + "/deploy/staging/2",
			chains:  []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 pending"},
			current: app1 + "/deploy/staging/1",
		},
		{
			name:    "down pending",
			prepare: func(tr *testRepo) { tr.mustApply(intent) },
			want:    "Deploy intent already pending or in progress",
			chains:  []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 pending"},
			current: app1 + "/deploy/staging/1",
		},
		{
			name: "down failed",
			prepare: func(tr *testRepo) {
				tr.mustApply(intent)
				tr.at("c1", "FAIL=down-staging").workContinue()
			},
			want:    "teardown of " + app1 + " from staging failed; run: ocuroot release retry " + app1,
			chains:  []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 failed"},
			current: app1 + "/deploy/staging/1",
		},
		{
			name: "torn down",
			prepare: func(tr *testRepo) {
				tr.mustApply(intent)
				tr.workContinue()
			},
			want:   msgAlreadyApplied,
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 complete"},
		},
		{
			name: "no deployment, pending up chain cancelled",
			prepare: func(tr *testRepo) {
				tr.mustApply(intent)
				tr.workContinue()
				tr.set(intent, deployIntent(app1, ""))
				tr.mustApply(intent)
				tr.remove(intent)
			},
			want: msgAlreadyApplied,
			chains: []string{app1 + "/deploy/staging/1 complete", app1 + "/deploy/staging/2 complete",
				app1 + "/deploy/staging/3 cancelled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			if tt.prepare != nil {
				tt.prepare(tr)
			}
			msg, err := tr.apply(intent)
			if err != nil || msg != tt.want {
				t.Fatalf("apply: %q, %v; want %q", msg, err, tt.want)
			}
			if diff := cmp.Diff(tt.chains, tr.chainStatuses("deploy/staging")); diff != "" {
				t.Errorf("chains (-want +got):\n%s", diff)
			}
			if got := tr.target(appPkg + "/@/deploy/staging"); got != tt.current {
				t.Errorf("current deployment %q, want %q", got, tt.current)
			}
			if tr.exists(intent) {
				t.Error("a down chain wrote the deploy intent")
			}
		})
	}
}

// TestDownChain: the down chain runs the release's down function with the
// deployment's values and keeps the deployment of another release.
func TestDownChain(t *testing.T) {
	tr := newDeployRepo(t)
	const intent = appPkg + "/+/deploy/staging"
	tr.remove(intent)
	tr.mustApply(intent)
	c := tr.chain(app1 + "/deploy/staging/2")
	if c.Type != "down" || c.Reason != "intent" || c.Entrypoint != app1+"/deploy/staging/2/functions/1" {
		t.Errorf("down chain %+v", c)
	}
	tr.workContinue()
	if !strings.Contains(tr.out.String(), "app.ocu.star@1 teardown of staging> down staging\n") {
		t.Errorf("progress:\n%s", tr.out.String())
	}
	if got := tr.str(app1 + "/deploy/staging#type"); got != "down" {
		t.Errorf("work copy type %q", got)
	}
	if got := tr.target(appPkg + "/@/deploy/staging/2"); got != app1+"/deploy/staging/2" {
		t.Errorf("chain link %q", got)
	}
}

// TestSortIntents: environments, then custom, then deploy; by ref within a
// kind; refs that are not intent last.
func TestSortIntents(t *testing.T) {
	in := []string{
		"example/-/b.ocu.star/+/deploy/prod", "+/custom/z", "@/custom/not-intent", "example/-/a.ocu.star/+/deploy/prod",
		"+/environment/b", "example/-/a.ocu.star/+1/custom/x", "+/environment/a", "+/custom/a",
	}
	var refs []ref.Ref
	for _, r := range in {
		refs = append(refs, mustRef(t, r))
	}
	SortIntents(refs)
	want := []string{
		"+/environment/a", "+/environment/b", "+/custom/a", "+/custom/z", "example/-/a.ocu.star/+1/custom/x",
		"example/-/a.ocu.star/+/deploy/prod", "example/-/b.ocu.star/+/deploy/prod", "@/custom/not-intent",
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestApplyOrder: one apply round applies environments, then custom, then
// deploy intent; an intent that fails is reported and the others go on.
func TestApplyOrder(t *testing.T) {
	tr := newDeployRepo(t)
	tr.set(appPkg+"/+/deploy/staging", deployIntent(app1, `{"version":{"value":"v2"}}`))
	tr.set(appPkg+"/+/deploy/prod", deployIntent(appPkg+"/@7", ""))
	tr.set("+/custom/version", `"v3"`)
	tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
	res, err := tr.e.Apply(context.Background(), ApplyOptions{NoContinue: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed {
		t.Error("a failed intent did not fail the apply")
	}
	want := []string{
		"+/environment/qa: applied",
		"+/custom/version: applied",
		appPkg + "/+/deploy/staging: Created work: " + app1 + "/deploy/staging/2",
	}
	if diff := cmp.Diff(want, lines(tr.out.String())); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	wantErr := "test: " + appPkg + "/+/deploy/prod: release " + appPkg + "/@7 not found\n"
	if tr.errOut.String() != wantErr {
		t.Errorf("stderr %q, want %q", tr.errOut.String(), wantErr)
	}
	// NoContinue: nothing ran, the task is left.
	if tr.status(app1+"/deploy/staging/2") != state.StatusPending || !tr.exists(app1+"/task/check_envs") {
		t.Error("apply -no-continue ran work")
	}
}
