package view

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

func TestPretty(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []token
	}{
		{name: "scalars", in: `[1.50, "x", true, null]`, want: []token{
			{Text: "[\n  "}, {Class: "n", Text: "1.50"}, {Text: ",\n  "}, {Class: "s", Text: `"x"`},
			{Text: ",\n  "}, {Class: "b", Text: "true"}, {Text: ",\n  "}, {Class: "z", Text: "null"}, {Text: "\n]"},
		}},
		{name: "keys sorted, nested", in: `{"b": {}, "a": []}`, want: []token{
			{Text: "{\n  "}, {Class: "k", Text: `"a"`}, {Text: ": [],\n  "},
			{Class: "k", Text: `"b"`}, {Text: ": {}\n}"},
		}},
		{name: "refs and globs linked", in: `["example/-/f/@1/call/build#output/image", "@/environment/prod", "example/-/f/@1/deploy/*/status/complete", "complete"]`, want: []token{
			{Text: "[\n  "}, {Class: "s", Text: `"example/-/f/@1/call/build#output/image"`, Href: "/ref/example/-/f/@1/call/build%23output/image"},
			{Text: ",\n  "}, {Class: "s", Text: `"@/environment/prod"`, Href: "/ref/@/environment/prod"},
			{Text: ",\n  "}, {Class: "s", Text: `"example/-/f/@1/deploy/*/status/complete"`, Href: "/match/example/-/f/@1/deploy/*/status/complete"},
			{Text: ",\n  "}, {Class: "s", Text: `"complete"`}, {Text: "\n]"},
		}},
		{name: "text kept as is for the template to escape", in: `"<script>\"&"`, want: []token{
			{Class: "s", Text: `"<script>\"&"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(tt.in))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, pretty(v)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHrefFor(t *testing.T) {
	tests := map[string]string{
		"example/-/f/@1":                 "/ref/example/-/f/@1",
		"+/custom/x":                     "/ref/+/custom/x",
		"example/-/f/@1#a b":             "",
		"https://backend.example.com/v1": "https://backend.example.com/v1",
		"javascript:alert(1)":            "",
		"JAVASCRIPT:alert(1)":            "",
		"https://x.example.com/\"><b>":   "",
		"registry.example.com/fe:1":      "",
		"./call/build":                   "",
		"frontend/release.ocu.star/@1":   "",
		"**/deploy/production":           "",
		"@/custom/*":                     "/match/@/custom/*",
		"example/-/f/@1/custom/100%":     "/ref/example/-/f/@1/custom/100%25",
		"":                               "",
	}
	for in, want := range tests {
		if got := hrefFor(in); got != want {
			t.Errorf("hrefFor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPathRoundTrip(t *testing.T) {
	for _, s := range []string{
		"example/-/frontend/release.ocu.star/@1/call/build#output/image",
		"+/custom/a+b", "@/custom/100%", "**/deploy/{a,b}", "[!x]?", "a b/c\td", "é/ü", "x?y#z",
	} {
		p := escapePath(s)
		if strings.ContainsAny(p, " \t#?%") && !strings.Contains(p, "%") {
			t.Errorf("escapePath(%q) = %q", s, p)
		}
		u, err := url.Parse("http://localhost" + prefixRef + p)
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		got, ok := pathArg(u, prefixRef)
		if !ok || got != s {
			t.Errorf("escapePath(%q) = %q, decoded back to %q, %v", s, p, got, ok)
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	got := []string{"@10", "@9", "@", "@1", "@rc", "@2", "@01", "svc10", "svc9", "a", "@100"}
	slices.SortFunc(got, naturalCompare)
	want := []string{"@", "@1", "@01", "@2", "@9", "@10", "@100", "@rc", "a", "svc9", "svc10"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestKindOf(t *testing.T) {
	tests := map[string]state.Kind{
		"example/-/f.ocu.star":                               state.KindPackage,
		"example/-/f.ocu.star/@1":                            state.KindRelease,
		"example/-/f.ocu.star/@rc":                           state.KindOther,
		"example/-/f.ocu.star/+1":                            state.KindOther,
		"@/environment/prod":                                 state.KindEnvironment,
		"+/environment/prod":                                 state.KindOther,
		"example/-/f.ocu.star/@1/deploy/prod":                state.KindWorkItem,
		"example/-/f.ocu.star/@1/call/build/2":               state.KindChain,
		"example/-/f.ocu.star/@1/call/build/2/logs":          state.KindLogs,
		"example/-/f.ocu.star/@1/call/build/2/functions/3":   state.KindFunction,
		"example/-/f.ocu.star/@1/call/build/status/complete": state.KindOther,
		"example/-/f.ocu.star/@1/custom/x":                   state.KindOther,
	}
	for in, want := range tests {
		r, err := ref.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := state.Classify(r); got != want {
			t.Errorf("Classify(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestCrumbs(t *testing.T) {
	tests := []struct {
		path, fragment string
		want           []crumb
	}{
		{"", "", []crumb{{"state", "/ref/"}}},
		{"github.com/org/repo/-/a/f.ocu.star/@1", "commit", []crumb{
			{"state", "/ref/"}, {"github.com/org/repo", "/ref/github.com/org/repo/-/"},
			{"a", "/ref/github.com/org/repo/-/a"}, {"f.ocu.star", "/ref/github.com/org/repo/-/a/f.ocu.star"},
			{"@1", "/ref/github.com/org/repo/-/a/f.ocu.star/@1"}, {"#commit", ""},
		}},
		{"@/environment/prod", "", []crumb{
			{"state", "/ref/"}, {"@", "/ref/@"}, {"environment", "/ref/@/environment"}, {"prod", "/ref/@/environment/prod"},
		}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, crumbs(tt.path, tt.fragment)); diff != "" {
			t.Errorf("crumbs(%q) (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestFolderRef(t *testing.T) {
	tests := map[string]bool{
		"":                               true,
		"example/-":                      true,
		"example/-/f.ocu.star/@1/deploy": true,
		"@/environment":                  true,
		"@":                              true,
		"github.com":                     false,
		"example/-/f/@1/deploy/x/..":     false,
	}
	for in, want := range tests {
		r, ok := folderRef(in)
		if ok != want {
			t.Errorf("folderRef(%q) ok = %v, want %v", in, ok, want)
		}
		if ok && strings.TrimSuffix(r.String(), "/") != in {
			t.Errorf("folderRef(%q) = %q", in, r.String())
		}
	}
}

// TestReleaseStatus checks the release status rule (docs/engine.md §7) as the
// release page computes it (one walk) and as the index does (folder
// listings).
func TestReleaseStatus(t *testing.T) {
	const rel = "example/-/p.ocu.star/@1"
	tests := []struct {
		name    string
		markers []string // OWNER/status/NAME below rel, each written at its index
		want    string
	}{
		{"no work", nil, "complete"},
		{"all complete", []string{"call/build/1/status/complete", "deploy/prod/1/status/complete"}, "complete"},
		{"one pending", []string{"call/build/1/status/complete", "deploy/prod/1/status/pending"}, "pending"},
		{"failed wins over pending", []string{"deploy/a/1/status/failed", "deploy/b/1/status/pending"}, "failed"},
		{"a later run fixed it", []string{"deploy/prod/1/status/failed_retried", "deploy/prod/2/status/complete"}, "complete"},
		{"run 10 is later than run 9", []string{"deploy/prod/9/status/complete", "deploy/prod/10/status/failed"}, "failed"},
		{"cancelled counts as done", []string{"deploy/prod/1/status/cancelled"}, "complete"},
		{"running function", []string{
			"deploy/prod/1/status/pending", "deploy/prod/1/functions/1/status/running", "deploy/a/1/status/failed",
		}, "running"},
		{"running in an older pending chain", []string{
			"deploy/prod/1/status/pending", "deploy/prod/1/functions/1/status/running", "deploy/prod/2/status/pending",
		}, "running"},
		{"several markers: the latest time", []string{"deploy/prod/1/status/pending", "deploy/prod/1/status/complete"}, "complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.OpenFS(t.TempDir(), store.FSOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tx := store.NewTx("test").Put(mustParse(t, rel), map[string]any{})
			for i, m := range tt.markers {
				at := time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339Nano)
				tx.Put(mustParse(t, rel+"/"+m), map[string]any{"time": at})
			}
			if err := s.Commit(context.Background(), tx); err != nil {
				t.Fatal(err)
			}
			rd := &reader{ctx: context.Background(), s: s}
			m, err := rd.releaseMarkers(rel)
			if err != nil {
				t.Fatal(err)
			}
			if got := rd.releaseStatus(m, rel); got != tt.want {
				t.Errorf("releaseStatus = %s, want %s", got, tt.want)
			}
			if got, err := rd.releaseStatusByFolders(rel); got != tt.want || err != nil {
				t.Errorf("releaseStatusByFolders = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func mustParse(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, err := ref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPrettyBounds checks that a value too deep or too large to show is
// cut, with a link to all of it as JSON, and that the page text stays
// bounded whatever the value's depth.
func TestPrettyBounds(t *testing.T) {
	nest := func(n int) any {
		var v any = json.Number("1")
		for range n {
			v = []any{v}
		}
		return v
	}
	wide := make([]any, 300_000)
	for i := range wide {
		wide[i] = "x"
	}
	long := []any{strings.Repeat("a", maxPrettyBytes)}
	tests := []struct {
		name string
		v    any
		cut  bool
	}{
		{"as deep as a store allows", nest(state.MaxNesting), false},
		{"one level deeper", nest(state.MaxNesting + 1), true},
		{"far deeper (an old document)", nest(10_000), true},
		{"too many tokens", wide, true},
		{"too many bytes", long, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks := prettyAt(tt.v, "+/custom/big#a")
			size := 0
			for _, tok := range toks {
				size += len(tok.Text)
			}
			if size > maxPrettyBytes+200 {
				t.Errorf("%d bytes of text, bound %d", size, maxPrettyBytes)
			}
			last := toks[len(toks)-1]
			gotCut := strings.Contains(last.Text, "cut:")
			if gotCut != tt.cut {
				t.Fatalf("cut = %v, want %v (last token %+v)", gotCut, tt.cut, last)
			}
			if tt.cut && last.Href != "/api/get/+/custom/big%23a" {
				t.Errorf("cut note links to %q, want the value's JSON", last.Href)
			}
		})
	}
	if toks := pretty(nest(10_000)); toks[len(toks)-1].Href != "" || !strings.Contains(toks[len(toks)-1].Text, "/api/get") {
		t.Errorf("without a ref, the cut note %+v should name /api/get without a link", toks[len(toks)-1])
	}
}

// TestLogLinesBounds checks that a long log shows its last lines with a
// line saying how many came before, and that long messages are cut.
func TestLogLinesBounds(t *testing.T) {
	line := func(msg string) any { return map[string]any{"message": msg, "stream": json.Number("1")} }
	many := make([]any, 10_000)
	for i := range many {
		many[i] = line(fmt.Sprintf("line %d", i))
	}
	big := make([]any, 200)
	for i := range big {
		big[i] = line(fmt.Sprintf("%d %s", i, strings.Repeat("b", 10_000)))
	}
	const at = "example/-/f/@1/call/build/1/logs"
	const whole = "/api/get/" + at
	tests := []struct {
		name      string
		log       []any
		first     string // the first line shown
		shown     int    // lines shown, the note included
		lastWhole string // Whole of the last line
	}{
		{"short", []any{line("a"), line("b")}, "a", 2, ""},
		{"many lines", many, fmt.Sprintf("… %d earlier lines not shown", 10_000-pageLogLines), pageLogLines + 1, ""},
		{"many bytes", big, fmt.Sprintf("… %d earlier lines not shown", 200-pageLogBytes/10_004), pageLogBytes/10_004 + 1, ""},
		{"one huge line", []any{line(strings.Repeat("é", maxLogMessage))}, strings.Repeat("é", maxLogMessage/2) + fmt.Sprintf("… (%d bytes not shown)", maxLogMessage), 1, whole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []state.LogLine
			if err := state.Decode(tt.log, &log); err != nil {
				t.Fatal(err)
			}
			lines, total := logLines(log, at, logBounds{pageLogLines, pageLogBytes})
			if total != len(tt.log) || len(lines) != tt.shown || lines[0].Message != tt.first {
				t.Fatalf("total %d, %d lines shown, first %.80q; want %d, %d, %.80q", total, len(lines), lines[0].Message, len(tt.log), tt.shown, tt.first)
			}
			if tt.shown < len(tt.log) && lines[0].Whole != whole {
				t.Errorf("the note links to %q, want %q", lines[0].Whole, whole)
			}
			if got := lines[len(lines)-1].Whole; got != tt.lastWhole {
				t.Errorf("last line links to %q, want %q", got, tt.lastWhole)
			}
		})
	}
}

// TestMalformedFields: a field of the wrong JSON type in an engine
// document is left out; the page shows the rest of the document.
func TestMalformedFields(t *testing.T) {
	s, err := store.OpenFS(t.TempDir(), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const fn = "example/-/f/@1/call/build/1/functions/1"
	doc := `{"current":{"error":5,"fn":{"name":"build","pos":"f:1:1"},"id":"1",
		"inputs":{"a":{"value":1},"b":"not a descriptor"},"runner":{"host":"h","pid":"x","started":"2025-01-01T00:00:00Z"},
		"status":"failed"},"history":[{"status":"pending","time":7},{"status":"failed","time":"2025-01-01T00:00:01Z"}]}`
	v, err := store.DecodeValue([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(context.Background(), store.NewTx("test").Put(mustParse(t, fn), v)); err != nil {
		t.Fatal(err)
	}
	rd := &reader{ctx: context.Background(), s: s}
	var fd state.Function
	if !rd.decode(fn, &fd) {
		t.Fatal("not read")
	}
	f := rd.functionView(markers{}, fn, fd, false)
	got := fmt.Sprintf("%s %s %s %q %s", f.Name, f.Pos, f.Status, f.Error, f.Runner)
	if want := `build f:1:1 failed "" h, pid 0, started ` + formatTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); got != want {
		t.Errorf("function %s, want %s", got, want)
	}
	if len(f.Inputs) != 2 || f.Inputs[0].Source != "value" || f.Inputs[1].Source != "missing" {
		t.Errorf("inputs %+v", f.Inputs)
	}
	if len(f.History) != 2 || !f.History[0].Time.IsZero() || f.History[1].Status != state.StatusFailed {
		t.Errorf("history %+v", f.History)
	}
}

// TestPartKeys: every field the overview's part templates read moves the
// key its rendering is cached under, so a cached part never shows stale
// data.
func TestPartKeys(t *testing.T) {
	newRow := func() *pkgRow {
		return &pkgRow{
			pkg:         pkg{Ref: "r/-/f", Repo: "r", File: "f", Releases: []string{"1", "2"}},
			LatestRef:   "r/-/f/@2",
			Status:      "complete",
			Deployments: []*deployment{{Env: "prod", Release: "r/-/f/@1", Number: "1", Chain: "r/-/f/@1/deploy/prod/1"}},
		}
	}
	rowChanges := map[string]func(*pkgRow){
		"Ref":                func(r *pkgRow) { r.Ref = "r/-/g" },
		"Repo":               func(r *pkgRow) { r.Repo = "s" },
		"File":               func(r *pkgRow) { r.File = "g" },
		"Latest":             func(r *pkgRow) { r.Releases = []string{"1", "3"} },
		"Releases":           func(r *pkgRow) { r.Releases = []string{"0", "1", "2"} },
		"LatestRef":          func(r *pkgRow) { r.LatestRef = "" },
		"Status":             func(r *pkgRow) { r.Status = "failed" },
		"Err":                func(r *pkgRow) { r.Err = "boom" },
		"deployment Release": func(r *pkgRow) { r.Deployments[0].Release = "" },
		"deployment Chain":   func(r *pkgRow) { r.Deployments[0].Chain = "r/-/f/@1/deploy/prod/2" },
		"deployment Env":     func(r *pkgRow) { r.Deployments[0].Env = "staging" },
		"deployment Number":  func(r *pkgRow) { r.Deployments[0].Number = "2" },
		"another deployment": func(r *pkgRow) { r.Deployments = append(r.Deployments, &deployment{Env: "qa"}) },
	}
	for name, change := range rowChanges {
		r := newRow()
		before := r.partKey()
		change(r)
		if r.partKey() == before {
			t.Errorf("package row: a change of %s keeps the key", name)
		}
	}
	newDep := func() *deployment {
		return &deployment{Package: "r/-/f", File: "f", Release: "r/-/f/@1", Number: "1", Status: "complete",
			Wanted: "r/-/f/@2", WantedNumber: "2", WantedStatus: "pending"}
	}
	depChanges := map[string]func(*deployment){
		"Package":      func(d *deployment) { d.Package = "r/-/g" },
		"File":         func(d *deployment) { d.File = "g" },
		"Release":      func(d *deployment) { d.Release = "" },
		"Number":       func(d *deployment) { d.Number = "3" },
		"Status":       func(d *deployment) { d.Status = "failed" },
		"Wanted":       func(d *deployment) { d.Wanted = "" },
		"WantedNumber": func(d *deployment) { d.WantedNumber = "4" },
		"WantedStatus": func(d *deployment) { d.WantedStatus = "failed" },
	}
	for name, change := range depChanges {
		d := newDep()
		before := d.partKey()
		change(d)
		if d.partKey() == before {
			t.Errorf("deployment: a change of %s keeps the key", name)
		}
	}
}
