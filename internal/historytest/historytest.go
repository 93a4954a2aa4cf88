// Package historytest builds a repo whose state holds a long release
// history, for the tests that pin what finding open work must still find
// however old the release it hides in (see docs/open-work.md).
//
// Build makes release 1 of one package with the engine itself (built, then
// deployed to staging and production) and copies its documents to releases
// 2..N, each at a commit of its own, as if the package had been released at
// N commits of the repo; the latest release is the one deployed. Copying
// instead of running N releases keeps a 200-release history under a second.
//
// Open work is then added with the engine (an intent applied, a release
// continued at its commit) or, to stand for another client writing to the
// store, with WriteDirect: files placed straight into the store folder, with
// no lock, no transaction and nothing of ocu's write path.
package historytest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// Names of the history.
const (
	Repo    = "example"
	File    = "app.ocu.star"
	Package = Repo + "/-/" + File
)

// Sources of the repo: two environments, and a package with a build call
// and a deploy to every environment. The deploy input refuse (false unless
// a deploy intent sets it) makes up fail, to leave a failed deploy behind.
const (
	EnvironmentsSource = `ocuroot("0.3.0")
register_environment(environment("staging", {"type": "staging"}))
register_environment(environment("production", {"type": "prod"}))
`
	PackageSource = `ocuroot("0.3.0")

def build(ctx):
    return done(outputs={"image": "registry.example.com/app:" + ctx.inputs.version})

def up(ctx):
    if ctx.inputs.refuse:
        fail("deploy refused")
    return done(outputs={"image": ctx.inputs.image})

def down(ctx):
    return done()

call(build, name="build", inputs={"version": "1"})
phase("deploy", work=[
    deploy(environment=e, up=up, down=down, inputs={"image": ref("./call/build#output/image"), "refuse": False})
    for e in environments()
])
`
)

// Commit returns the commit release n was made at: 40 hex digits.
func Commit(n int) string {
	sum := sha1.Sum(fmt.Appendf(nil, "historytest commit %d", n))
	return hex.EncodeToString(sum[:])
}

// Release returns the ref of release n: example/-/app.ocu.star/@n.
func Release(n int) string { return fmt.Sprintf("%s/@%d", Package, n) }

// History is a repo folder with the package files and a filesystem store
// holding state and intent.
type History struct {
	Root     string      // the repo folder
	Base     string      // the store folder, Root/.store
	Store    store.Store // the store, open
	Releases int         // releases made: 1..Releases
	// OpenWork configures the open-work index of the engines Engine
	// returns.
	OpenWork openwork.Options
}

// Engine returns an engine over the history's store at the commit of
// release n, as ocu-apply or ocuroot run in a checkout of that commit.
// Progress goes to out, errors to errOut.
func (h *History) Engine(n int, out, errOut io.Writer) *engine.Engine {
	return engine.New(engine.Config{
		Store:      h.Store,
		Repo:       Repo,
		Commit:     Commit(n),
		Root:       h.Root,
		Home:       filepath.Join(h.Root, ".ocuroot-home"),
		RepoConfig: []byte("ocuroot(\"0.3.0\")\nrepo_alias(\"" + Repo + "\")\n"),
		OpenWork:   h.OpenWork,
	}, engine.Options{Stdout: out, Stderr: errOut, Prog: "historytest"})
}

// Open is Build into a temporary folder of t, for tests: it fails t on an
// error and closes the history when t ends.
func Open(t testing.TB, n int) *History {
	t.Helper()
	h, err := Build(context.Background(), t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Build writes the repo into dir (which must be empty or missing) and
// makes n releases of the package: release 1 with the engine, releases
// 2..n as copies. Every release is complete; the latest is deployed to
// both environments and named by the deploy intents.
func Build(ctx context.Context, dir string, n int) (*History, error) {
	if n < 1 {
		return nil, fmt.Errorf("historytest: n must be at least 1, got %d", n)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for name, src := range map[string]string{"environments.ocu.star": EnvironmentsSource, File: PackageSource} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return nil, err
		}
	}
	base := filepath.Join(dir, ".store")
	s, err := store.OpenFS(base, store.FSOptions{})
	if err != nil {
		return nil, err
	}
	h := &History{Root: dir, Base: base, Store: s, Releases: n}
	var log bytes.Buffer
	e := h.Engine(1, &log, &log)
	for _, file := range []string{"environments.ocu.star", File} {
		failed, err := e.ReleaseNew(ctx, file, false)
		if err == nil && failed {
			err = fmt.Errorf("release of %s failed", file)
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("historytest: %w\n%s", err, log.Bytes())
		}
	}
	if err := h.copyRelease(ctx, n); err != nil {
		s.Close()
		return nil, fmt.Errorf("historytest: %w", err)
	}
	return h, nil
}

// Close closes the store.
func (h *History) Close() error { return h.Store.Close() }

// copyRelease copies release 1 to releases 2..n in one transaction and
// moves the package's links and deploy intents to release n.
func (h *History) copyRelease(ctx context.Context, n int) error {
	if n == 1 {
		return nil
	}
	first := Release(1)
	refs, err := h.Store.Match(ctx, []string{first, first + "/**"}, false)
	if err != nil {
		return err
	}
	type doc struct {
		ref  string
		json string
	}
	var docs []doc
	for _, r := range refs {
		d, err := h.get(ctx, r)
		if err != nil {
			return err
		}
		if d.Ref.String() != r {
			return fmt.Errorf("%s: a link inside a release (to %s)", r, d.Ref)
		}
		data, err := json.Marshal(d.Value)
		if err != nil {
			return err
		}
		docs = append(docs, doc{r, string(data)})
	}
	tx := store.NewTx(fmt.Sprintf("historytest: releases 2..%d", n))
	for k := 2; k <= n; k++ {
		for _, d := range docs {
			if err := put(tx, renumber(d.ref, k), renumber(d.json, k)); err != nil {
				return err
			}
		}
	}
	// The package's links (@/call/build, @/deploy/E and their /1) and the
	// deploy intents follow to release n.
	links, err := h.Store.Match(ctx, []string{Package + "/@/**"}, false)
	if err != nil {
		return err
	}
	for _, l := range links {
		d, err := h.get(ctx, l)
		if err != nil {
			return err
		}
		lr, err1 := ref.Parse(l)
		tr, err2 := ref.Parse(renumber(d.Ref.String(), n))
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%s: %v %v", l, err1, err2)
		}
		tx.Link(lr, tr)
	}
	intents, err := h.Store.Match(ctx, []string{Package + "/+/deploy/*"}, false)
	if err != nil {
		return err
	}
	for _, i := range intents {
		d, err := h.get(ctx, i)
		if err != nil {
			return err
		}
		data, err := json.Marshal(d.Value)
		if err != nil {
			return err
		}
		if err := put(tx, i, renumber(string(data), n)); err != nil {
			return err
		}
	}
	return h.Store.Commit(ctx, tx)
}

func (h *History) get(ctx context.Context, s string) (store.Doc, error) {
	r, err := ref.Parse(s)
	if err != nil {
		return store.Doc{}, err
	}
	return h.Store.Get(ctx, r)
}

// renumber rewrites what names release 1 in s (its ref, refs below it, its
// commit) to name release k.
func renumber(s string, k int) string {
	from, to := Release(1), Release(k)
	s = strings.ReplaceAll(s, from+"/", to+"/")
	s = strings.ReplaceAll(s, `"`+from+`"`, `"`+to+`"`)
	if s == from {
		s = to
	}
	return strings.ReplaceAll(s, Commit(1), Commit(k))
}

// put adds a Put of the JSON text v at r to tx.
func put(tx *store.Tx, r, v string) error {
	pr, err := ref.Parse(r)
	if err != nil {
		return err
	}
	val, err := store.DecodeValue([]byte(v))
	if err != nil {
		return fmt.Errorf("%s: %w", r, err)
	}
	tx.Put(pr, val)
	return nil
}

// Put stores v at r through the store (ocu's write path).
func (h *History) Put(ctx context.Context, r string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx := store.NewTx("historytest: put " + r)
	if err := put(tx, r, string(data)); err != nil {
		return err
	}
	return h.Store.Commit(ctx, tx)
}

// WriteDirect writes documents (ref → body) the way another client writing
// to the same store folder would, the original Ocuroot for one: each file
// <base>/refs/<ref>/@object.json written in place, folders created as
// needed, no lock taken, no transaction, nothing of ocu's write path (so
// nothing ocu records about its own writes sees them). The bytes are store
// format 1: {"kind": "ref", "body": …}, indented by two spaces.
func (h *History) WriteDirect(docs map[string]any) error {
	for r, body := range docs {
		pr, err := ref.Parse(r)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Kind string `json:"kind"`
			Body any    `json:"body"`
		}{"ref", body}); err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		dir := filepath.Join(h.Base, "refs", filepath.FromSlash(pr.String()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "@object.json"), bytes.TrimSuffix(buf.Bytes(), []byte("\n")), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// RemoveDirect removes documents the way another client would: the file
// and the folders left empty, no lock, no transaction.
func (h *History) RemoveDirect(refs ...string) error {
	for _, r := range refs {
		pr, err := ref.Parse(r)
		if err != nil {
			return err
		}
		dir := filepath.Join(h.Base, "refs", filepath.FromSlash(pr.String()))
		if err := os.Remove(filepath.Join(dir, "@object.json")); err != nil {
			return err
		}
		for d := dir; d != filepath.Join(h.Base, "refs"); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break // not empty
			}
		}
	}
	return nil
}
