package state

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/ref"
)

const pkg = "example/-/frontend/release.ocu.star"

func mustParse(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestIsNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"1", true}, {"12", true}, {"", false}, {"0", false}, {"01", false}, {"1a", false}, {"v1", false},
	}
	for _, tt := range tests {
		if got := IsNumber(tt.in); got != tt.want {
			t.Errorf("IsNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if CompareNumbers("9", "10") >= 0 || CompareNumbers("10", "9") <= 0 || CompareNumbers("7", "7") != 0 {
		t.Error("CompareNumbers does not order by value")
	}
}

func TestClassify(t *testing.T) {
	rel := ReleaseID{Repo: "example", File: "frontend/release.ocu.star", Number: "12"}
	build := rel.Work(ref.TypeCall, "build")
	tests := []struct {
		in   string
		kind Kind
		work WorkID
	}{
		{"@/environment/qa", KindEnvironment, WorkID{}},
		{"@/environment/qa/x", KindOther, WorkID{}},
		{"+/environment/qa", KindOther, WorkID{}},
		{pkg, KindPackage, WorkID{}},
		{pkg + "/@12", KindRelease, WorkID{}},
		{pkg + "/@v1", KindOther, WorkID{}},
		{pkg + "/@012", KindOther, WorkID{}},
		{pkg + "/+12/call/build", KindOther, WorkID{}},
		{pkg + "/@12/custom/x", KindOther, WorkID{}},
		{pkg + "/@12/call/build", KindWorkItem, build},
		{pkg + "/@12/call/build#output", KindWorkItem, build},
		{pkg + "/@12/call/build/3", KindChain, build.WithChain(3)},
		{pkg + "/@12/call/build/03", KindOther, WorkID{}},
		{pkg + "/@12/call/build/99999999999999999999", KindOther, WorkID{}},
		{pkg + "/@12/call/build/3/logs", KindLogs, build.WithChain(3)},
		{pkg + "/@12/call/build/3/functions/2", KindFunction, build.WithChain(3).WithFn(2)},
		{pkg + "/@12/call/build/3/functions/0", KindOther, WorkID{}},
		{pkg + "/@12/call/build/3/functions", KindOther, WorkID{}},
		{pkg + "/@12/call/build/3/2", KindOther, WorkID{}},
		{pkg + "/@12/call/build/3/functions/2/x", KindOther, WorkID{}},
		{pkg + "/@12/deploy/prod/1", KindChain, rel.Work(ref.TypeDeploy, "prod").WithChain(1)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			kind, w := Classify(mustParse(t, tt.in))
			if kind != tt.kind {
				t.Errorf("kind = %v, want %v", kind, tt.kind)
			}
			if diff := cmp.Diff(tt.work, w); diff != "" {
				t.Errorf("work ID (-want +got):\n%s", diff)
			}
			_, err := ParseWork(mustParse(t, tt.in))
			isWork := tt.kind == KindWorkItem || tt.kind == KindChain || tt.kind == KindFunction
			if (err == nil) != isWork {
				t.Errorf("ParseWork error = %v, want work: %v", err, isWork)
			}
		})
	}
}

func TestWorkRefs(t *testing.T) {
	w := WorkID{Release: ReleaseID{Repo: "example", File: "frontend/release.ocu.star", Number: "4"}, Type: ref.TypeDeploy, Name: "prod", Chain: 2, Fn: 3}
	tests := []struct {
		name string
		got  ref.Ref
		want string
	}{
		{"Ref", w.Ref(), pkg + "/@4/deploy/prod/2/functions/3"},
		{"chain Ref", w.WithFn(0).Ref(), pkg + "/@4/deploy/prod/2"},
		{"item Ref", w.Item().Ref(), pkg + "/@4/deploy/prod"},
		{"ItemRef", w.ItemRef(), pkg + "/@4/deploy/prod"},
		{"ChainRef", w.ChainRef(), pkg + "/@4/deploy/prod/2"},
		{"LogsRef", w.LogsRef(), pkg + "/@4/deploy/prod/2/logs"},
		{"FnRef", w.WithChain(5).WithFn(1).FnRef(), pkg + "/@4/deploy/prod/5/functions/1"},
		{"CurrentRef", w.CurrentRef(), pkg + "/@/deploy/prod"},
		{"IntentRef", w.IntentRef(), pkg + "/+/deploy/prod"},
		{"CurrentChainRef", w.CurrentChainRef(), pkg + "/@/deploy/prod/2"},
		{"StatusRef", w.StatusRef(StatusFailed), pkg + "/@4/deploy/prod/2/functions/3/status/failed"},
		{"chain StatusRef", w.WithFn(0).StatusRef(StatusPending), pkg + "/@4/deploy/prod/2/status/pending"},
		{"item StatusRef", w.Item().StatusRef(StatusComplete), pkg + "/@4/deploy/prod/status/complete"},
		{"CommitRef", w.Release.CommitRef("abc"), pkg + "/@4/commit/abc"},
		{"CheckEnvsRef", w.Release.CheckEnvsRef(), pkg + "/@4/task/check_envs"},
		{"release", w.Release.Ref(), pkg + "/@4"},
		{"package", w.Release.Package(), pkg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.String() != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
			// A built ref is the ref its string parses to.
			if p := mustParse(t, tt.want); p != tt.got {
				t.Errorf("built %#v, parsed %#v", tt.got, p)
			}
		})
	}
}

func TestParseRelease(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{pkg + "/@3", true}, {pkg + "/@v3", false}, {pkg + "/@3/call/build", false}, {"@3", false}, {pkg + "/+3", false},
	}
	for _, tt := range tests {
		id, err := ParseRelease(mustParse(t, tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("ParseRelease(%s) error = %v, want ok %v", tt.in, err, tt.ok)
		}
		if err == nil && id.String() != tt.in {
			t.Errorf("ParseRelease(%s) = %s", tt.in, id)
		}
	}
}

// The documents keep their field order: it is the order of the store format.
func TestFieldOrder(t *testing.T) {
	st := FunctionState{Fn: FuncID{Name: "up", Pos: "m:1:1"}, ID: "1", Status: StatusPending, Dependencies: []string{"d"}}
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dependencies":["d"],"fn":{"name":"up","pos":"m:1:1"},"id":"1","inputs":null,"status":"pending"}`
	if string(data) != want {
		t.Errorf("got %s\nwant %s", data, want)
	}
}
