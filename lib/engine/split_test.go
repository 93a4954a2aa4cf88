package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// TestIntentInputs: a deploy intent's inputs go over the declared ones,
// each checked to be a descriptor with a ref, a default or a value.
func TestIntentInputs(t *testing.T) {
	declared := state.Inputs{
		"version": {Default: "v1", Ref: "@/custom/version"},
		"region":  {Value: "eu"},
	}
	tests := []struct {
		name  string
		input string
		want  state.Inputs
		err   string
	}{
		{name: "none", input: `{}`, want: declared},
		{
			name: "value over declared", input: `{"version":{"value":"v2"}}`,
			want: state.Inputs{"version": {Value: "v2"}, "region": {Value: "eu"}},
		},
		{
			name: "new input with a ref", input: `{"extra":{"ref":"@/custom/x","doc":"more"}}`,
			want: state.Inputs{"version": declared["version"], "region": declared["region"], "extra": {Ref: "@/custom/x", Doc: "more"}},
		},
		{name: "invalid name", input: `{"a-b":{"value":1}}`, err: `invalid input name "a-b"`},
		{name: "keyword", input: `{"def":{"value":1}}`, err: `invalid input name "def"`},
		{name: "not an object", input: `{"version":"v2"}`, err: `input "version" is not a descriptor`},
		{name: "unknown key", input: `{"version":{"value":"v2","extra":1}}`, err: `input "version" is not a descriptor`},
		{name: "only doc", input: `{"version":{"doc":"x"}}`, err: `input "version" is not a descriptor`},
		{name: "bad ref", input: `{"version":{"ref":"a//b"}}`, err: `input "version": invalid ref`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := store.DecodeValue([]byte(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			got, err := intentInputs(declared, v.(map[string]any))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jsonOf(t, tt.want), jsonOf(t, got)); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
		})
	}
	if len(declared) != 2 || declared["version"].Value != nil {
		t.Errorf("declared inputs changed: %+v", declared)
	}
}

// TestDeclaredDeploy: the deploy to an environment a package declares, the
// last one when several phases do.
func TestDeclaredDeploy(t *testing.T) {
	up := func(name string) state.FuncID { return state.FuncID{Name: name} }
	pkg := state.Package{Phases: []state.Phase{
		{Work: []state.Work{{Call: &state.CallWork{Name: "staging"}}}},
		{Work: []state.Work{{Deploy: &state.DeployWork{Environment: "staging", Up: up("first")}}}},
		{Work: []state.Work{{Deploy: &state.DeployWork{Environment: "prod", Up: up("prod")}}, {Deploy: &state.DeployWork{Environment: "staging", Up: up("last")}}}},
	}}
	tests := []struct{ env, want string }{{"staging", "last"}, {"prod", "prod"}, {"qa", ""}}
	for _, tt := range tests {
		got := declaredDeploy(pkg, tt.env)
		switch {
		case tt.want == "" && got != nil:
			t.Errorf("%s: %+v, want none", tt.env, got)
		case tt.want != "" && (got == nil || got.Up.Name != tt.want):
			t.Errorf("%s: %+v, want up %s", tt.env, got, tt.want)
		}
	}
}

// TestCommitLongRef: a ref built from valid parts but longer than a ref may
// be fails the whole transaction with the ref's parse error.
func TestCommitLongRef(t *testing.T) {
	tr := newTestRepo(t, nil)
	rel := state.ReleaseID{Repo: "example", File: strings.Repeat("d/", 1990) + "f.ocu.star", Number: "1"}
	tx := store.NewTx("long").Put(environmentRef(ref.State, "ok"), state.Environment{Name: "ok"}).
		Put(rel.Work(ref.TypeCall, "build").WithChain(1).WithFn(1).FnRef(), state.Function{})
	err := tr.e.commit(context.Background(), tx)
	if err == nil || !strings.Contains(err.Error(), "ref longer than") {
		t.Fatalf("commit: %v, want a too long ref", err)
	}
	if tr.exists("@/environment/ok") {
		t.Error("part of the transaction was written")
	}
}

// TestDeploymentKey: chains of any release of a package to an environment
// are one deployment.
func TestDeploymentKey(t *testing.T) {
	a := workID(t, appPkg+"/@1/deploy/prod/2")
	b := workID(t, appPkg+"/@3/deploy/prod/1/functions/2")
	c := workID(t, appPkg+"/@1/deploy/staging/2")
	if deploymentKey(a) != deploymentKey(b) || deploymentKey(a) == deploymentKey(c) {
		t.Errorf("keys %+v %+v %+v", deploymentKey(a), deploymentKey(b), deploymentKey(c))
	}
	data, _ := json.Marshal(deploymentKey(a).CurrentRef())
	if string(data) != `"`+appPkg+`/@/deploy/prod"` {
		t.Errorf("current ref %s", data)
	}
}
