package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/internal/historytest"
	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// TestOpenWorkInOldReleases pins what finding open work must still find
// when it hides in an old release of a long history (200 releases of one
// package, the latest deployed everywhere): a pending function in release
// @3, work written into an old release by another client straight into the
// store folder, an environment added after 200 releases, and a failed
// deploy in an old release that is still the one deployed. Each is found by
// what ocu-apply (and ocuroot work any) runs: the diff (ocu-apply -n), the
// outstanding work at other commits (triggers), and at the release's own
// commit, apply, work continue, work tasks and release retry. The steps
// share the history and run in order; a way of finding open work that
// skipped old or finished releases fails them.
func TestOpenWorkInOldReleases(t *testing.T) {
	const n = 200
	ctx := context.Background()
	h := historytest.Open(t, n)
	pkg := historytest.Package
	rel := historytest.Release
	production := pkg + "/+/deploy/production"
	productionRef, err := ref.Parse(production)
	if err != nil {
		t.Fatal(err)
	}

	// at runs fn with an engine at the commit of release k and returns
	// its progress output.
	at := func(t *testing.T, k int, fn func(e *engine.Engine) error) string {
		t.Helper()
		var out bytes.Buffer
		if err := fn(h.Engine(k, &out, &out)); err != nil {
			t.Fatalf("at %s: %v\n%s", rel(k), err, out.String())
		}
		return out.String()
	}
	// idle is an ocu-apply at the latest commit that must find nothing to
	// do; it runs before open work is written behind ocu's back, so that
	// whatever a run keeps about the store is up to date when it is.
	idle := func(t *testing.T) {
		t.Helper()
		out := at(t, n, func(e *engine.Engine) error {
			res, err := e.Apply(ctx, engine.ApplyOptions{})
			if err == nil && res.Failed {
				t.Error("idle apply failed")
			}
			return err
		})
		if out != "" {
			t.Errorf("idle apply did something:\n%s", out)
		}
	}
	diff := func(t *testing.T) []engine.Change {
		t.Helper()
		var changes []engine.Change
		at(t, n, func(e *engine.Engine) (err error) {
			changes, err = e.Diff(ctx)
			return err
		})
		return changes
	}
	// outstanding is what the triggers of an ocu-apply at the latest
	// commit are called for: commit → lines.
	outstandingAt := func(t *testing.T, k int) map[string][]string {
		t.Helper()
		got := map[string][]string{}
		at(t, k, func(e *engine.Engine) error {
			res, err := e.Apply(ctx, engine.ApplyOptions{})
			if err != nil {
				return err
			}
			pairs, err := e.OutstandingAfter(ctx, res)
			for _, p := range pairs {
				if p.Repo != historytest.Repo {
					t.Errorf("outstanding work for repo %q", p.Repo)
				}
				got[p.Commit] = p.Lines
			}
			return err
		})
		return got
	}
	outstanding := func(t *testing.T) map[string][]string {
		t.Helper()
		return outstandingAt(t, n)
	}
	exists := func(t *testing.T, r string) bool {
		t.Helper()
		pr, err := ref.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		switch _, err := h.Store.Get(ctx, pr); {
		case err == nil:
			return true
		case store.CodeOf(err) == store.ENotFound:
			return false
		default:
			t.Fatal(err)
			return false
		}
	}
	linkTarget := func(t *testing.T, r string) string {
		t.Helper()
		pr, err := ref.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		d, err := h.Store.Get(ctx, pr)
		if err != nil {
			t.Fatal(err)
		}
		return d.Ref.String()
	}

	t.Run("nothing to do", func(t *testing.T) {
		idle(t)
		if got := diff(t); len(got) > 0 {
			t.Errorf("diff %v, want none", got)
		}
		if got := outstanding(t); len(got) > 0 {
			t.Errorf("outstanding %v, want none", got)
		}
	})

	// A rollback of production to release 3: applied at the latest commit,
	// the deploy waits for a checkout of release 3's commit.
	pending3 := rel(3) + "/deploy/production/2/functions/1"
	t.Run("a pending function in release @3 of 200", func(t *testing.T) {
		if err := h.Put(ctx, production, map[string]any{"release": rel(3)}); err != nil {
			t.Fatal(err)
		}
		out := at(t, n, func(e *engine.Engine) error {
			_, err := e.Apply(ctx, engine.ApplyOptions{})
			return err
		})
		if !strings.Contains(out, "Created work: "+rel(3)+"/deploy/production/2") {
			t.Fatalf("apply at the latest commit:\n%s", out)
		}
		if diff := cmp.Diff([]engine.Change{{Ref: productionRef, Action: "update"}}, diff(t)); diff != "" {
			t.Errorf("ocu-apply -n (-want +got):\n%s", diff)
		}
		want := map[string][]string{historytest.Commit(3): {"Outstanding ref: " + pending3}}
		if diff := cmp.Diff(want, outstanding(t)); diff != "" {
			t.Errorf("triggers (-want +got):\n%s", diff)
		}
		out = at(t, 3, func(e *engine.Engine) error {
			res, err := e.Apply(ctx, engine.ApplyOptions{})
			if err == nil && res.Failed {
				t.Error("apply at release 3's commit failed")
			}
			return err
		})
		if !strings.Contains(out, "running -> done") {
			t.Errorf("apply at release 3's commit ran nothing:\n%s", out)
		}
		if got := linkTarget(t, pkg+"/@/deploy/production"); got != rel(3)+"/deploy/production/2" {
			t.Errorf("production deployment %s, want release 3's chain 2", got)
		}
		idle(t)
	})

	// Another client adds a check_envs task to the latest release, which
	// the index watches (docs/open-work.md §6): seen by the next run.
	t.Run("work written by another client in the latest release", func(t *testing.T) {
		h.OpenWork.RacyWindow = time.Nanosecond // the stamps, not the racy rule, see it
		defer func() { h.OpenWork = openwork.Options{} }()
		idle(t)
		if err := h.WriteDirect(map[string]any{rel(n) + "/task/check_envs": state.Marker{Time: "2026-01-05T10:00:00Z"}}); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{historytest.Commit(n): {"Task ref: " + rel(n) + "/task/check_envs"}}
		if diff := cmp.Diff(want, outstandingAt(t, n-1)); diff != "" {
			t.Errorf("triggers of a run at the previous commit (-want +got):\n%s", diff)
		}
		at(t, n, func(e *engine.Engine) error {
			done, failed, err := e.Tasks(ctx)
			if err == nil && (done != 1 || failed != 0) {
				t.Errorf("work tasks: %d done, %d failed; want 1, 0", done, failed)
			}
			return err
		})
		if exists(t, rel(n)+"/task/check_envs") {
			t.Error("the task of the latest release is still there")
		}
		idle(t)
	})

	// Another client (the original Ocuroot) retries the build of release 7
	// and adds a check_envs task to release 9, writing the files itself:
	// nothing of ocu's write path sees them.
	direct7 := rel(7) + "/call/build/2"
	t.Run("work written by another client in old releases, after MaxAge", func(t *testing.T) {
		idle(t)
		var f1 state.Function
		pf, _ := ref.Parse(rel(7) + "/call/build/1/functions/1")
		d, err := h.Store.Get(ctx, pf)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeInto(d.Value, &f1); err != nil {
			t.Fatal(err)
		}
		const now = "2026-01-05T10:00:00Z"
		inputs := state.Inputs{}
		for name, in := range f1.Current.Inputs {
			inputs[name] = state.Descriptor{Value: in.Value}
		}
		if err := h.WriteDirect(map[string]any{
			direct7:                     state.Chain{Release: rel(7), Entrypoint: direct7 + "/functions/1"},
			direct7 + "/status/pending": state.Marker{Time: now},
			direct7 + "/functions/1": state.Function{
				Current: state.FunctionState{Fn: f1.Current.Fn, ID: "1", Inputs: inputs, Status: state.StatusPending},
				History: []state.HistoryEntry{{Status: state.StatusPending, Time: now}},
			},
			direct7 + "/functions/1/status/pending": state.Marker{Time: now},
			rel(9) + "/task/check_envs":             state.Marker{Time: now},
		}); err != nil {
			t.Fatal(err)
		}
		// The open-work index does not walk finished releases that are not
		// watched (docs/open-work.md §6): until its last full walk is older
		// than MaxAge, runs do not see these.
		if got := outstanding(t); len(got) > 0 {
			t.Errorf("triggers before MaxAge: %v (the index walked finished releases)", got)
		}
		h.OpenWork.Now = func() time.Time { return time.Now().Add(openwork.DefaultMaxAge + time.Minute) }
		defer func() { h.OpenWork = openwork.Options{} }()
		want := map[string][]string{
			historytest.Commit(7): {"Outstanding ref: " + direct7 + "/functions/1"},
			historytest.Commit(9): {"Task ref: " + rel(9) + "/task/check_envs"},
		}
		if diff := cmp.Diff(want, outstanding(t)); diff != "" {
			t.Errorf("triggers (-want +got):\n%s", diff)
		}
		// ocuroot work continue at release 7's commit runs it.
		out := at(t, 7, func(e *engine.Engine) error {
			res, err := e.WorkContinue(ctx, 10)
			if err == nil && (!res.Did || res.Failures > 0) {
				t.Errorf("work continue: %+v", res)
			}
			return err
		})
		if !exists(t, direct7+"/status/complete") {
			t.Errorf("%s did not complete:\n%s", direct7, out)
		}
		// ocuroot work tasks at release 9's commit processes its task.
		at(t, 9, func(e *engine.Engine) error {
			done, failed, err := e.Tasks(ctx)
			if err == nil && (done != 1 || failed != 0) {
				t.Errorf("work tasks: %d done, %d failed; want 1, 0", done, failed)
			}
			return err
		})
		if exists(t, rel(9)+"/task/check_envs") {
			t.Error("the task of release 9 is still there")
		}
		idle(t)
	})

	// A new environment: every release deployed somewhere gets a task,
	// release 3 too (production runs it since the rollback).
	t.Run("an environment added after 200 releases", func(t *testing.T) {
		if err := h.Put(ctx, "+/environment/qa", map[string]any{"name": "qa", "attributes": map[string]any{"type": "qa"}}); err != nil {
			t.Fatal(err)
		}
		qa, err := ref.Parse("+/environment/qa")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := diff(t), []engine.Change{{Ref: qa, Action: "create"}}; !cmp.Equal(got, want) {
			t.Errorf("ocu-apply -n: %v, want %v", got, want)
		}
		out := at(t, n, func(e *engine.Engine) error {
			_, err := e.Apply(ctx, engine.ApplyOptions{})
			return err
		})
		if got := linkTarget(t, pkg+"/@/deploy/qa"); got != rel(n)+"/deploy/qa/1" {
			t.Errorf("qa deployment %s, want release %d's chain 1:\n%s", got, n, out)
		}
		want := map[string][]string{historytest.Commit(3): {"Task ref: " + rel(3) + "/task/check_envs"}}
		if diff := cmp.Diff(want, outstanding(t)); diff != "" {
			t.Errorf("triggers (-want +got):\n%s", diff)
		}
		at(t, 3, func(e *engine.Engine) error {
			done, failed, err := e.Tasks(ctx)
			if err == nil && (done != 1 || failed != 0) {
				t.Errorf("work tasks: %d done, %d failed; want 1, 0", done, failed)
			}
			return err
		})
		if !exists(t, rel(3)+"/deploy/qa/1/functions/1") {
			t.Error("the task of release 3 created no qa deploy")
		}
	})

	// Production stays at release 3 while a deploy of release 3 with other
	// inputs fails.
	t.Run("a failed deploy in an old release still deployed", func(t *testing.T) {
		intent := map[string]any{"release": rel(3), "input": map[string]any{"refuse": map[string]any{"value": true}}}
		if err := h.Put(ctx, production, intent); err != nil {
			t.Fatal(err)
		}
		out := at(t, 3, func(e *engine.Engine) error {
			res, err := e.Apply(ctx, engine.ApplyOptions{})
			if err == nil && !res.Failed {
				t.Error("the refused deploy did not fail")
			}
			return err
		})
		if !strings.Contains(out, "deploy refused") {
			t.Fatalf("apply at release 3's commit:\n%s", out)
		}
		if got := linkTarget(t, pkg+"/@/deploy/production"); got != rel(3)+"/deploy/production/2" {
			t.Errorf("production deployment %s, want release 3's chain 2", got)
		}
		if got := diff(t); !slices.Contains(got, engine.Change{Ref: productionRef, Action: "update"}) {
			t.Errorf("ocu-apply -n: %v, want %s update", got, production)
		}
		out = at(t, n, func(e *engine.Engine) error {
			_, err := e.Apply(ctx, engine.ApplyOptions{})
			return err
		})
		if want := "deploy of " + rel(3) + " to production failed; run: ocuroot release retry " + rel(3); !strings.Contains(out, want) {
			t.Errorf("apply at the latest commit does not say %q:\n%s", want, out)
		}
		// ocuroot release retry at release 3's commit finds it.
		at(t, 3, func(e *engine.Engine) error {
			rels, err := e.FailedReleasesAtCommit(ctx)
			if err == nil && (len(rels) != 1 || rels[0].String() != rel(3)) {
				t.Errorf("failed releases at release 3's commit: %v", rels)
			}
			return err
		})
	})
}

// decodeInto converts a value read from a store into a document type.
func decodeInto(v any, dst any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, dst)
}
