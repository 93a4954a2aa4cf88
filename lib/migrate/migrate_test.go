package migrate_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/migrate"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

var fixtures = []string{"v0.3.14", "v0.3.17-1"}

// unpack extracts testdata/ocuroot-later/NAME.tar.gz into a temporary
// folder and returns the folder it holds (NAME).
func unpack(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ocuroot-later", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dst+string(filepath.Separator)) {
			t.Fatalf("%s escapes the archive", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, fs.FileMode(h.Mode)&0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(dst, name)
}

// treeHash hashes every file below dir, names and contents.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		io.WriteString(h, p+"\x00"+strconv.Itoa(len(data))+"\x00")
		h.Write(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readFolder(t *testing.T, dir string) migrate.Files {
	t.Helper()
	files, err := migrate.ReadFS(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// readBranch reads a branch of a local bare repository through the git
// store's cache.
func readBranch(t *testing.T, remote, branch string) migrate.Files {
	t.Helper()
	g, err := store.OpenGit(context.Background(), store.GitOptions{URL: remote, Branch: branch, Home: t.TempDir(), AnyFormat: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	files := migrate.Files{}
	if err := g.Files(func(p string, data []byte) error {
		files[p] = data
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return files
}

// migrated migrates the later-format stores in state and intent (nil for
// a single-store layout in state) into new filesystem stores and returns
// the source stores and the migrated stores.
func migrated(t *testing.T, state, intent migrate.Files) (src [2]*migrate.Source, dst *store.Combined, plan *migrate.Plan) {
	t.Helper()
	s, i, err := migrate.Split(state)
	if err != nil {
		t.Fatal(err)
	}
	if intent != nil {
		if i != nil {
			t.Fatal("a state folder holding intent")
		}
		if i, _, err = migrate.Split(intent); err != nil {
			t.Fatal(err)
		}
	}
	plan, err = migrate.Convert(s, i)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	st, err := store.OpenFS(filepath.Join(out, "state"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := store.OpenFS(filepath.Join(out, "intent"), store.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); it.Close() })
	if err := plan.Write(context.Background(), st, it); err != nil {
		t.Fatal(err)
	}
	return [2]*migrate.Source{s, i}, store.NewCombined(st, it), plan
}

// TestMigrateReadsTheSame migrates every store of both fixtures and reads
// each source document back through its format 1 ref: documents with the
// same shape read equal, and runs, work items, releases and links read
// the same outputs, releases, inputs and statuses. The source is left
// byte for byte as it was.
func TestMigrateReadsTheSame(t *testing.T) {
	for _, name := range fixtures {
		for _, layout := range []string{"fs-store", "shared-store", "git-remotes"} {
			t.Run(name+"/"+layout, func(t *testing.T) {
				dir := unpack(t, name)
				before := treeHash(t, dir)
				var src [2]*migrate.Source
				var dst *store.Combined
				switch layout {
				case "fs-store":
					src, dst, _ = migrated(t, readFolder(t, filepath.Join(dir, layout, "state")), readFolder(t, filepath.Join(dir, layout, "intent")))
				case "shared-store":
					src, dst, _ = migrated(t, readFolder(t, filepath.Join(dir, layout)), nil)
				default:
					src, dst, _ = migrated(t, readBranch(t, filepath.Join(dir, layout, "state.git"), "state"), readBranch(t, filepath.Join(dir, layout, "intent.git"), "intent"))
				}
				if src[1] == nil || len(src[0].Objects) < 30 || len(src[1].Objects) < 5 {
					t.Fatalf("read too little: %d state objects, intent %v", len(src[0].Objects), src[1] != nil)
				}
				checkState(t, src[0], dst)
				checkIntent(t, src[1], dst)
				if after := treeHash(t, dir); after != before {
					t.Error("the source changed")
				}
			})
		}
	}
}

type reader struct {
	t   *testing.T
	dst *store.Combined
}

// get reads s (a ref, fragment allowed) from the migrated stores.
func (r reader) get(s string) (any, bool) {
	r.t.Helper()
	rf, err := ref.Parse(s)
	if err != nil {
		r.t.Fatalf("%s: %v", s, err)
	}
	d, err := r.dst.Get(context.Background(), rf)
	if store.CodeOf(err) == store.ENotFound {
		return nil, false
	}
	if err != nil {
		r.t.Fatalf("%s: %v", s, err)
	}
	return d.Value, true
}

// same checks that s reads want.
func (r reader) same(s string, want any) {
	r.t.Helper()
	got, ok := r.get(s)
	if !ok {
		r.t.Errorf("%s: not found", s)
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		r.t.Errorf("%s (-source +migrated):\n%s", s, diff)
	}
}

func body(t *testing.T, o migrate.Object) any {
	v, err := store.DecodeValue(o.Body)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func member(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// later converts a later-format ref into its format 1 form the way the
// fixtures' documents are read: @rN → @N, task → call, op → task.
func later(s string, intent bool) string {
	s = strings.NewReplacer("/task/", "/call/", "/op/", "/task/").Replace(s)
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		if n, ok := strings.CutPrefix(seg, "@r"); ok {
			if _, err := strconv.Atoi(strings.SplitN(n, "#", 2)[0]); err == nil {
				segs[i] = "@" + n
			}
		}
		if intent && strings.HasPrefix(seg, "@") {
			segs[i] = "+" + segs[i][1:]
			break
		}
	}
	return strings.Join(segs, "/")
}

func checkState(t *testing.T, src *migrate.Source, dst *store.Combined) {
	rd := reader{t, dst}
	for r, o := range src.Objects {
		segs := strings.Split(r, "/")
		last := segs[len(segs)-1]
		switch {
		case strings.Contains(r, "/push/"), r == "@":
			continue // dropped
		case o.Link:
			target := o.Target()
			want, _ := rd.get(later(target, false))
			tv := member(body(t, src.Objects[target]), "run_ref")
			if rr, ok := tv.(string); ok {
				// A link to a work item summary reads the run's chain.
				if member(body(t, src.Objects[target]), "type") == "down" {
					if _, ok := rd.get(later(r, false)); ok {
						t.Errorf("%s: a link to a torn-down deployment was kept", r)
					}
					continue
				}
				rd.same(later(r, false)+"#output", member(body(t, src.Objects[target]), "output"))
				rd.same(later(r, false)+"#entrypoint", later(rr, false)+"/functions/1")
				continue
			}
			rd.same(later(r, false), want)
		case strings.Contains(r, "/environment/"), strings.Contains(r, "/custom/"), strings.Contains(r, "/commit/"), strings.Contains(r, "/op/"):
			rd.same(later(r, false), body(t, o))
		case strings.Contains(r, "repo.ocu.star/@") || strings.HasPrefix(r, "@"):
			rd.same(later(r, false)+"#source", member(body(t, o), "source"))
		case last == "logs":
			var msgs []any
			for _, l := range body(t, o).([]any) {
				msgs = append(msgs, member(l, "message"))
			}
			got, _ := rd.get(later(r, false))
			var gotMsgs []any
			for _, l := range got.([]any) {
				gotMsgs = append(gotMsgs, member(l, "message"))
			}
			if diff := cmp.Diff(msgs, gotMsgs); diff != "" {
				t.Errorf("%s:\n%s", r, diff)
			}
		case len(segs) >= 2 && segs[len(segs)-2] == "status":
			run := strings.Join(segs[:len(segs)-2], "/")
			status := last
			if status == "paused" || status == "running" {
				status = "pending"
			}
			if _, ok := rd.get(later(run, false) + "/status/" + status); !ok {
				t.Errorf("%s: no chain marker %s", r, status)
			}
		case member(body(t, o), "functions") != nil && member(body(t, o), "run_ref") == nil && member(body(t, o), "package") == nil:
			b := body(t, o)
			chain := later(r, false)
			rd.same(chain+"#release", later(member(b, "release").(string), false))
			fns := member(b, "functions").([]any)
			for i, f := range fns {
				fref := chain + "/functions/" + strconv.Itoa(i+1)
				rd.same(fref+"#current/fn", member(f, "fn"))
				for name, d := range member(f, "inputs").(map[string]any) {
					if v := member(d, "value"); v != nil {
						rd.same(fref+"#current/inputs/"+name+"/value", v)
					}
					if s, ok := member(d, "ref").(string); ok {
						rd.same(fref+"#current/inputs/"+name+"/ref", later(s, false))
					}
				}
			}
			if _, ok := rd.get(chain + "/functions/" + strconv.Itoa(len(fns)+1)); ok {
				t.Errorf("%s: more functions than the run has", chain)
			}
			complete := src.Objects[r+"/status/complete"].Body != nil
			if complete {
				rd.same(chain+"#output", member(b, "output"))
			}
		case member(body(t, o), "run_ref") != nil:
			rd.same(later(r, false)+"#output", member(body(t, o), "output"))
			rd.same(later(r, false)+"#release", later(member(body(t, o), "release").(string), false))
		case member(body(t, o), "package") != nil:
			b := body(t, o)
			rd.same(later(r, false)+"#commit", member(b, "commit"))
			for i, p := range member(b, "package", "phases").([]any) {
				n := len(member(p, "tasks").([]any))
				got, _ := rd.get(later(r, false) + "#package/phases/" + strconv.Itoa(i) + "/work")
				if l, _ := got.([]any); len(l) != n {
					t.Errorf("%s: phase %d has %d work items, want %d", r, i, len(l), n)
				}
			}
		default:
			t.Errorf("%s: not checked", r)
		}
	}
}

func checkIntent(t *testing.T, src *migrate.Source, dst *store.Combined) {
	rd := reader{t, dst}
	for r, o := range src.Objects {
		switch {
		case r == "@":
			continue // dropped
		case o.Link:
			rd.same(later(r, true), mustGet(rd, later(o.Target(), true)))
		case strings.Contains(r, "/deploy/"):
			b := body(t, o)
			rd.same(later(r, true)+"#release", later(member(b, "release").(string), false))
			rd.same(later(r, true)+"#type", "")
			for name, d := range member(b, "input").(map[string]any) {
				rd.same(later(r, true)+"#input/"+name+"/value", member(d, "value"))
				rd.same(later(r, true)+"#input/"+name+"/ref", later(member(d, "ref").(string), false))
			}
		case strings.Contains(r, "repo.ocu.star/@") || (strings.HasPrefix(r, "@") && !strings.HasPrefix(r, "@/")):
			rd.same(later(r, true)+"#source", member(body(t, o), "source"))
		default:
			rd.same(later(r, true), body(t, o))
		}
	}
}

func mustGet(rd reader, s string) any {
	v, ok := rd.get(s)
	if !ok {
		rd.t.Errorf("%s: not found", s)
	}
	return v
}
