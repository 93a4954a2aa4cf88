package storegen

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGenerateSmallStore(t *testing.T) {
	const packages, releases = 2, 3
	base := t.TempDir()
	stats, err := Generate(base, packages, releases)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Documents: packages*releases*DocumentsPerRelease + Environments, Links: packages * LinksPerPackage}
	if stats.Documents != want.Documents || stats.Links != want.Links {
		t.Fatalf("stats = %+v, want %d documents and %d links", stats, want.Documents, want.Links)
	}

	version, err := os.ReadFile(filepath.Join(base, ".ocuroot-store"))
	if err != nil || string(version) != `{"version":1}` {
		t.Fatalf(".ocuroot-store = %q, %v", version, err)
	}

	type object struct {
		Kind  string          `json:"kind"`
		Links []string        `json:"links"`
		Body  json.RawMessage `json:"body"`
	}
	objects := map[string]object{} // by ref
	var docs, links int
	var size int64
	refsDir := filepath.Join(base, "refs")
	err = filepath.WalkDir(refsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Name() != "@object.json" {
			t.Errorf("unexpected file %s", path)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		size += int64(len(data))
		rel, _ := filepath.Rel(refsDir, filepath.Dir(path))
		ref := filepath.ToSlash(rel)
		var o object
		if err := json.Unmarshal(data, &o); err != nil {
			t.Errorf("%s: %v", ref, err)
			return nil
		}
		switch o.Kind {
		case "ref":
			docs++
		case "link":
			links++
		default:
			t.Errorf("%s: kind %q", ref, o.Kind)
		}
		if !bytes.HasPrefix(data, []byte("{\n  \"kind\": ")) || bytes.HasSuffix(data, []byte("\n")) {
			t.Errorf("%s: not in the store's byte format:\n%s", ref, data)
		}
		if !slices.IsSorted(o.Links) {
			t.Errorf("%s: links not sorted: %q", ref, o.Links)
		}
		objects[ref] = o
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if docs != want.Documents || links != want.Links || size != stats.Bytes {
		t.Errorf("on disk: %d documents, %d links, %d bytes; stats %+v", docs, links, size, stats)
	}

	// Every link points at an existing document that lists it back.
	for ref, o := range objects {
		if o.Kind != "link" {
			continue
		}
		var target string
		if err := json.Unmarshal(o.Body, &target); err != nil {
			t.Errorf("%s: link body %s: %v", ref, o.Body, err)
			continue
		}
		to, ok := objects[target]
		if !ok || to.Kind != "ref" {
			t.Errorf("%s: target %s does not exist", ref, target)
			continue
		}
		if !slices.Contains(to.Links, ref) {
			t.Errorf("%s: target %s does not list it in links %q", ref, target, to.Links)
		}
	}
	// Every back-reference names a stored link to that document.
	for ref, o := range objects {
		for _, l := range o.Links {
			var target string
			if lo, ok := objects[l]; !ok || lo.Kind != "link" || json.Unmarshal(lo.Body, &target) != nil || target != ref {
				t.Errorf("%s lists %s, which is not a link to it", ref, l)
			}
		}
	}

	// Spot checks of the shape.
	latest := "example/-/svc001/release.ocu.star/@3"
	for _, ref := range []string{
		latest,
		latest + "/call/build/1/functions/1/status/complete",
		latest + "/deploy/production/1/logs",
		"example/-/svc001/release.ocu.star/@/deploy/production",
		"example/-/svc001/release.ocu.star/@/call/build/1",
	} {
		if _, ok := objects[ref]; !ok {
			t.Errorf("missing %s", ref)
		}
	}
	var rel struct {
		Commit  string         `json:"commit"`
		Package map[string]any `json:"package"`
	}
	if err := json.Unmarshal(objects[latest].Body, &rel); err != nil || len(rel.Commit) != 40 {
		t.Errorf("release body %s: %v", objects[latest].Body, err)
	}
	if _, ok := objects[latest+"/commit/"+rel.Commit]; !ok {
		t.Errorf("missing commit marker for %s", rel.Commit)
	}
	commits := 0
	for ref := range objects {
		if strings.HasPrefix(ref, "example/-/svc000/release.ocu.star/@") && strings.Contains(ref, "/commit/") {
			commits++
		}
	}
	if commits != releases {
		t.Errorf("svc000 has %d commit markers, want %d", commits, releases)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if _, err := Generate(a, 2, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(b, 2, 2); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, path)
		x, _ := os.ReadFile(path)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1+2*2*DocumentsPerRelease+2*LinksPerPackage+Environments {
		t.Errorf("%d files", n)
	}
}

func TestGenerateRefusesExistingStore(t *testing.T) {
	base := t.TempDir()
	if _, err := Generate(base, 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(base, 1, 1); err == nil {
		t.Fatal("second Generate into the same folder succeeded")
	}
}

// TestGenerateIntent checks that the generated intent matches the generated
// state: ocu-apply's diff is empty and a deploy intent reads back.
func TestGenerateIntent(t *testing.T) {
	state, intent := t.TempDir(), t.TempDir()
	if _, err := Generate(state, 2, 3); err != nil {
		t.Fatal(err)
	}
	st, err := GenerateIntent(intent, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*3 + Environments; st.Documents != want {
		t.Errorf("%d intents, want %d", st.Documents, want)
	}
	data, err := os.ReadFile(filepath.Join(intent, "refs/example/-/svc001/release.ocu.star/+/deploy/production/@object.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"release": "example/-/svc001/release.ocu.star/@3"`) {
		t.Errorf("intent:\n%s", data)
	}
}
