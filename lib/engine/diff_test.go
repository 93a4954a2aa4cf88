package engine

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDiff: every kind of intent that differs from state is reported with
// the action applying it takes; state without intent is reported as its
// twin; equal intents, deploy intents included, are not reported.
func TestDiff(t *testing.T) {
	base := newDeployRepo(t)
	base.link(appPkg+"/@v1", app1)
	tests := []struct {
		name    string
		prepare func(tr *testRepo)
		want    []change
	}{
		{name: "settled", want: []change{}},
		{
			name:    "new environment",
			prepare: func(tr *testRepo) { tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`) },
			want:    []change{{"+/environment/qa", "create"}},
		},
		{
			name: "changed environment",
			prepare: func(tr *testRepo) {
				tr.set("+/environment/prod", `{"name":"prod","attributes":{"type":"production"}}`)
			},
			want: []change{{"+/environment/prod", "update"}},
		},
		{
			name:    "environment without intent",
			prepare: func(tr *testRepo) { tr.remove("+/environment/prod") },
			want:    []change{{"+/environment/prod", "delete"}},
		},
		{
			name: "custom: new, changed, equal by value, nested",
			prepare: func(tr *testRepo) {
				tr.set("+/custom/new", `1`)
				tr.set("+/custom/changed", `"b"`)
				tr.set("@/custom/changed", `"a"`)
				tr.set("+/custom/same", `{"n":2.0}`)
				tr.set("@/custom/same", `{"n":2}`)
				tr.set("+/custom/a/b/c", `true`)
			},
			want: []change{{"+/custom/a/b/c", "create"}, {"+/custom/changed", "update"}, {"+/custom/new", "create"}},
		},
		{
			name: "custom state without intent",
			prepare: func(tr *testRepo) {
				tr.set("@/custom/orphan", `1`)
				tr.set(app1+"/custom/approval", `"alice"`)
				tr.set(appPkg+"/@/custom/flag", `"on"`)
			},
			want: []change{
				{"+/custom/orphan", "delete"},
				{appPkg + "/+/custom/flag", "delete"},
				{appPkg + "/+1/custom/approval", "delete"},
			},
		},
		{
			name: "custom of a release by tag",
			prepare: func(tr *testRepo) {
				tr.set(appPkg+"/+v1/custom/approval", `"alice"`)
				tr.set(appPkg+"/+v1/custom/other", `"bob"`)
				tr.set(app1+"/custom/approval", `"alice"`) // the tag's target: not reported
			},
			want: []change{{appPkg + "/+v1/custom/other", "create"}},
		},
		{
			name:    "custom of a missing release",
			prepare: func(tr *testRepo) { tr.set(appPkg+"/+v9/custom/approval", `"alice"`) },
			want:    []change{{appPkg + "/+v9/custom/approval", "create"}},
		},
		{
			name:    "deploy intent deleted",
			prepare: func(tr *testRepo) { tr.remove(appPkg + "/+/deploy/staging") },
			want:    []change{{appPkg + "/+/deploy/staging", "delete"}},
		},
		{
			name: "deploy intent changed",
			prepare: func(tr *testRepo) {
				tr.set(appPkg+"/+/deploy/prod", deployIntent(app1, `{"version":{"value":"v2"}}`))
			},
			want: []change{{appPkg + "/+/deploy/prod", "update"}},
		},
		{
			name:    "deploy intent without deployment",
			prepare: func(tr *testRepo) { tr.unlink(appPkg + "/@/deploy/prod") },
			want:    []change{{appPkg + "/+/deploy/prod", "create"}},
		},
		{
			name:    "invalid deploy intent",
			prepare: func(tr *testRepo) { tr.set(appPkg+"/+/deploy/prod", deployIntent(appPkg+"/@9", "")) },
			want:    []change{{appPkg + "/+/deploy/prod", "update"}},
		},
		{
			// Not applied yet: applying it says it is pending.
			name: "deploy intent pending",
			prepare: func(tr *testRepo) {
				tr.set(appPkg+"/+/deploy/prod", deployIntent(app1, `{"version":{"value":"v2"}}`))
				tr.mustApply(appPkg + "/+/deploy/prod")
			},
			want: []change{{appPkg + "/+/deploy/prod", "update"}},
		},
		{
			name: "intent that is not applicable",
			prepare: func(tr *testRepo) {
				tr.set("+/custom/x", `1`)
				tr.set("@/custom/x", `1`)
				tr.set("+/environment/qa/extra", `{}`)
				tr.set("+/deploy/x", `{}`)
				tr.set("@/deploy/x", `{}`)
			},
			want: []change{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			if tt.prepare != nil {
				tt.prepare(tr)
			}
			got, err := tr.e.Diff(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, changesOf(got)); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiffEmptyAfterApply: applying the diff and running the work leaves
// nothing to report.
func TestDiffEmptyAfterApply(t *testing.T) {
	tr := newDeployRepo(t)
	tr.set("+/environment/qa", `{"name":"qa","attributes":{}}`)
	tr.remove("+/environment/prod")
	tr.set("+/custom/version", `"v2"`)
	tr.set(app1+"/custom/orphan", `1`)
	if res := tr.runApply(); res.Failed {
		t.Fatalf("apply failed:\n%s%s", tr.out.String(), tr.errOut.String())
	}
	got, err := tr.e.Diff(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("diff after apply: %v\n%s", got, tr.out.String())
	}
	// qa deployed, prod torn down, staging re-deployed with v2.
	wants := map[string]string{
		appPkg + "/@/deploy/qa":      app1 + "/deploy/qa/1",
		appPkg + "/@/deploy/prod":    "",
		appPkg + "/@/deploy/staging": app1 + "/deploy/staging/2",
	}
	for link, want := range wants {
		if got := tr.target(link); got != want {
			t.Errorf("%s → %q, want %q", link, got, want)
		}
	}
	if got := tr.str(appPkg + "/@/deploy/staging#output/version"); got != "v2" {
		t.Errorf("staging version %q", got)
	}
}

// change is a Change with its ref printed.
type change struct{ Ref, Action string }

func changesOf(cs []Change) []change {
	out := make([]change, 0, len(cs))
	for _, c := range cs {
		out = append(out, change{c.Ref.String(), c.Action})
	}
	return out
}
