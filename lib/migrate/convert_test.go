package migrate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func source(t *testing.T, docs map[string]string, links map[string]string) *Source {
	t.Helper()
	s := &Source{Version: 3, Objects: map[string]Object{}}
	for r, body := range docs {
		if !json.Valid([]byte(body)) {
			t.Fatalf("%s: invalid JSON", r)
		}
		s.Objects[r] = Object{Body: json.RawMessage(body)}
	}
	for r, target := range links {
		b, _ := json.Marshal(target)
		s.Objects[r] = Object{Link: true, Body: b}
	}
	return s
}

// TestConvertStatusesAndDrops: a run left running keeps its last function
// running and its chain pending, a paused run is pending, earlier functions
// are complete; what format 1 cannot hold is listed.
func TestConvertStatusesAndDrops(t *testing.T) {
	const p = "a/-/p.ocu.star"
	fn := `{"name":"f","pos":"p.ocu.star:1:1"}`
	src := source(t, map[string]string{
		p + "/@r1":                         `{"commit":"c1","package":{"functions":{},"phases":[{"name":"","tasks":[{"task":{"name":"t","inputs":{},"fn":` + fn + `}}]}]}}`,
		p + "/@r1/task/t/1":                `{"type":"task","release":"` + p + `/@r1","functions":[{"fn":` + fn + `,"inputs":{}},{"fn":` + fn + `,"inputs":{"x":{"value":1}}}],"output":null,"watch_files":["src/**"]}`,
		p + "/@r1/task/t/1/status/running": `{"time":"2025-10-01T00:00:02Z"}`,
		p + "/@r1/task/t/1/logs":           `[{"timestamp":"t","message":"m","attributes":{"col":"1","filename":"p.ocu.star","line":"2","thread":"f","stack":"trace"},"stream":0}]`,
		p + "/@r1/task/u/1":                `{"type":"task","release":"` + p + `/@r1","functions":[{"fn":` + fn + `,"dependencies":["` + p + `/@r1/task/t/*/status/complete"],"inputs":{"i":{"ref":"` + p + `/@r1/task/t#output/x"}}}],"output":null}`,
		p + "/@r1/task/u/1/status/paused":  `{"time":"2025-10-01T00:00:03Z"}`,
		"a/-/repo.ocu.star/@c1":            `{"Remotes":["origin"],"source":"eA=="}`,
	}, map[string]string{
		p + "/@123": p + "/@r1",
	})
	plan, err := Convert(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, w := range plan.State {
		if w.Target != "" {
			got[w.Ref] = "-> " + w.Target
		} else {
			got[w.Ref] = w.Value
		}
	}
	status := func(r string) any {
		return got[r].(map[string]any)["current"].(map[string]any)["status"]
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"function 1 of a running run", status(p + "/@1/call/t/1/functions/1"), "complete"},
		{"function 2 of a running run", status(p + "/@1/call/t/1/functions/2"), "running"},
		{"function of a paused run", status(p + "/@1/call/u/1/functions/1"), "pending"},
		{"dependency", got[p+"/@1/call/u/1/functions/1"].(map[string]any)["current"].(map[string]any)["dependencies"], []any{p + "/@1/call/t/*/status/complete"}},
		{"input ref", got[p+"/@1/call/u/1/functions/1"].(map[string]any)["current"].(map[string]any)["inputs"], map[string]any{"i": map[string]any{"ref": p + "/@1/call/t#output/x"}}},
		{"running chain marker", got[p+"/@1/call/t/1/status/pending"] != nil, true},
		{"paused chain marker", got[p+"/@1/call/u/1/status/pending"] != nil, true},
		{"no item marker", got[p+"/@1/call/t/status/pending"] == nil && got[p+"/@1/call/t/status/running"] == nil, true},
		{"release work", got[p+"/@1"].(map[string]any)["package"].(map[string]any)["phases"], []any{map[string]any{"name": "", "work": []any{map[string]any{"call": map[string]any{"fn": map[string]any{"name": "f", "pos": "p.ocu.star:1:1"}, "inputs": map[string]any{}, "name": "t"}}}}}},
		{"repo config", got["a/-/repo.ocu.star/@c1"], map[string]any{"source": "eA=="}},
		{"numeric tag", got[p+"/@123"], nil},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, normalize(t, c.got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	wantDropped := []string{
		"watch files of " + p + "/@r1/task/t/1 (1)",
		"remotes of a/-/repo.ocu.star/@c1",
		"tag " + p + "/@123 -> " + p + "/@r1: a number names a release in format 1",
		`log attribute "stack" on 1 log lines (format 1 keeps col, filename, line and thread)`,
	}
	if diff := cmp.Diff(wantDropped, plan.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	for _, line := range plan.Summary() {
		if strings.HasPrefix(line, "dropped: ") {
			continue
		}
		if !strings.HasPrefix(line, "state: ") {
			t.Errorf("summary line %q", line)
		}
	}
}

// normalize turns json.Number values into the numbers go-cmp compares
// with literals.
func normalize(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		in     string
		intent bool
		want   string
	}{
		{"example/-/f.ocu.star/@r12/task/build#output/image", false, "example/-/f.ocu.star/@12/call/build#output/image"},
		{"example/-/f.ocu.star/@r1/op/check_envs", false, "example/-/f.ocu.star/@1/task/check_envs"},
		{"example/-/f.ocu.star/@r1/deploy/staging/*/status/complete", false, "example/-/f.ocu.star/@1/deploy/staging/*/status/complete"},
		{"example/-/f.ocu.star/@/deploy/staging", true, "example/-/f.ocu.star/+/deploy/staging"},
		{"example/-/f.ocu.star/@r2/custom/approval", true, "example/-/f.ocu.star/+2/custom/approval"},
		{"@/environment/task", true, "+/environment/task"},
		{"@/custom/task/x", false, "@/custom/task/x"},
		{"example/-/f.ocu.star/@live", false, "example/-/f.ocu.star/@live"},
		{"example/-/f.ocu.star/@r01", false, "example/-/f.ocu.star/@r01"},
		{"no-marker", false, "no-marker"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := rewrite(tt.in, tt.intent); got != tt.want {
				t.Errorf("rewrite(%q, %v) = %q, want %q", tt.in, tt.intent, got, tt.want)
			}
		})
	}
}

// TestConvertOutputs: the last function of a complete run carries the run's
// output, and none when the run had no output, as the engine writes a done()
// without outputs.
func TestConvertOutputs(t *testing.T) {
	const p = "a/-/p.ocu.star"
	fn := `{"name":"f","pos":"p.ocu.star:1:1"}`
	src := source(t, map[string]string{
		p + "/@r1":                          `{"commit":"c1","package":{"functions":{},"phases":[{"name":"","tasks":[{"task":{"name":"t","inputs":{},"fn":` + fn + `}},{"task":{"name":"u","inputs":{},"fn":` + fn + `}}]}]}}`,
		p + "/@r1/task/t/1":                 `{"type":"task","release":"` + p + `/@r1","functions":[{"fn":` + fn + `,"inputs":{}}],"output":{"image":"x:1"}}`,
		p + "/@r1/task/t/1/status/complete": `{"time":"2025-10-01T00:00:02Z"}`,
		p + "/@r1/task/u/1":                 `{"type":"task","release":"` + p + `/@r1","functions":[{"fn":` + fn + `,"inputs":{}}],"output":null}`,
		p + "/@r1/task/u/1/status/complete": `{"time":"2025-10-01T00:00:03Z"}`,
	}, nil)
	plan, err := Convert(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]any{}
	for _, w := range plan.State {
		doc, _ := w.Value.(map[string]any)
		if cur, ok := doc["current"].(map[string]any); ok {
			out, has := cur["outputs"]
			outputs[w.Ref] = []any{has, out}
		}
	}
	want := map[string]any{
		p + "/@1/call/t/1/functions/1": []any{true, map[string]any{"image": "x:1"}},
		p + "/@1/call/u/1/functions/1": []any{false, nil},
	}
	if diff := cmp.Diff(want, outputs); diff != "" {
		t.Errorf("function outputs (-want +got):\n%s", diff)
	}
}
