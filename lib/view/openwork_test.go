package view_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocu-team/ocu/internal/historytest"
	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/view"
)

// TestOpenWorkInOldReleases pins what the overview and /work must still
// show when open work hides in an old release of a 200-release history
// (see docs/open-work.md): a rollback of production to release @3 left
// pending, a build of release @7 retried by another client writing straight
// into the store folder after the pages were rendered once (shown once the
// index's last full walk is older than MaxAge), and then
// production running release @3 while a deploy of it failed.
func TestOpenWorkInOldReleases(t *testing.T) {
	const n = 200
	ctx := context.Background()
	h := historytest.Open(t, n)
	// The view's open-work index trusts its last full walk for MaxAge
	// (docs/open-work.md §6); later is a time past it.
	later := false
	clock := func() time.Time {
		if later {
			return time.Now().Add(openwork.DefaultMaxAge + time.Minute)
		}
		return time.Now()
	}
	hd := handler(t, h.Store, view.Options{OpenWork: openwork.Options{Now: clock}})
	pkg, rel := historytest.Package, historytest.Release
	production := pkg + "/+/deploy/production"

	get := func(t *testing.T, path string, want ...string) {
		t.Helper()
		got := do(hd, http.MethodGet, path, nil)
		if got.code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, got.code, got.body)
		}
		for _, s := range want {
			if !strings.Contains(got.body, s) {
				t.Errorf("GET %s lacks %q", path, s)
			}
		}
	}
	apply := func(t *testing.T, k int) {
		t.Helper()
		var out bytes.Buffer
		if _, err := h.Engine(k, &out, &out).Apply(ctx, engine.ApplyOptions{}); err != nil {
			t.Fatalf("apply at %s: %v\n%s", rel(k), err, out.String())
		}
	}
	badge := func(status string) string { return `<span class="badge s-` + status + `">` + status + `</span>` }

	get(t, "/", "<b>200</b> releases", `href="/ref/`+pkg+`/@200">@200</a>`)
	get(t, "/work", "No function is pending or running.")

	pending3 := rel(3) + "/deploy/production/2/functions/1"
	direct7 := rel(7) + "/call/build/2"
	t.Run("pending work in releases @3 and @7 of 200", func(t *testing.T) {
		if err := h.Put(ctx, production, map[string]any{"release": rel(3)}); err != nil {
			t.Fatal(err)
		}
		apply(t, n)
		const now = "2026-01-05T10:00:00Z"
		if err := h.WriteDirect(map[string]any{
			direct7:                     state.Chain{Release: rel(7), Entrypoint: direct7 + "/functions/1"},
			direct7 + "/status/pending": state.Marker{Time: now},
			direct7 + "/functions/1": state.Function{
				Current: state.FunctionState{
					Fn:     state.FuncID{Name: "build", Pos: historytest.File + ":3:1"},
					ID:     "1",
					Inputs: state.Inputs{"version": {Value: "1"}},
					Status: state.StatusPending,
				},
				History: []state.HistoryEntry{{Status: state.StatusPending, Time: now}},
			},
			direct7 + "/functions/1/status/pending": state.Marker{Time: now},
		}); err != nil {
			t.Fatal(err)
		}
		// Not in a watched release: shown once the last full walk is older
		// than MaxAge.
		if got := do(hd, http.MethodGet, "/work", nil); strings.Contains(got.body, direct7) {
			t.Errorf("GET /work shows %s before MaxAge: the index walked a finished release", direct7)
		}
		later = true
		get(t, "/work",
			`href="/ref/`+pending3+`"`, historytest.File+" @3",
			`href="/ref/`+direct7+`/functions/1"`, historytest.File+" @7")
		// production: release 200 deployed, release 3 wanted and pending.
		get(t, "/", `@200</a> `+badge("complete")+` <span class="wanted">→ <a href="/ref/`+rel(3)+`">@3</a> `+badge("pending"))
	})

	t.Run("a failed deploy in an old release still deployed", func(t *testing.T) {
		apply(t, 3) // the rollback runs
		refuse := map[string]any{"release": rel(3), "input": map[string]any{"refuse": map[string]any{"value": true}}}
		if err := h.Put(ctx, production, refuse); err != nil {
			t.Fatal(err)
		}
		apply(t, 3) // the deploy with refuse set fails
		get(t, "/", `<a class="chip" href="/ref/`+rel(3)+`/deploy/production/2">production @3</a>`)
		get(t, "/ref/"+rel(3), badge("failed"))
		get(t, "/work", `href="/ref/`+direct7+`/functions/1"`)
	})
}

// TestIndexPageReusesOnlyWhatDidNotChange: the index page of a view that
// has cached what it read of finished releases equals a new view's after
// each write by ocu into those releases (docs/open-work.md §8).
func TestIndexPageReusesOnlyWhatDidNotChange(t *testing.T) {
	ctx := context.Background()
	h := historytest.Open(t, 5)
	long := handler(t, h.Store, view.Options{})
	rel := historytest.Release
	same := func(t *testing.T) {
		t.Helper()
		got := do(long, http.MethodGet, "/", nil)
		want := do(handler(t, h.Store, view.Options{}), http.MethodGet, "/", nil)
		if got.code != http.StatusOK || got.body != want.body {
			t.Fatalf("GET / of a long-running view differs from a new view's:\n%s\n---- new view:\n%s", got.body, want.body)
		}
	}
	same(t)
	same(t) // now from the cache
	marker := state.Marker{Time: "2026-01-05T10:00:00Z"}
	for _, step := range []struct {
		name string
		put  map[string]any
		del  []string
	}{
		{"the deployed chain fails", map[string]any{rel(5) + "/deploy/staging/1/status/failed": marker},
			[]string{rel(5) + "/deploy/staging/1/status/complete"}},
		{"the latest release gets a failed chain", map[string]any{
			rel(5) + "/call/build/2":               state.Chain{Release: rel(5)},
			rel(5) + "/call/build/2/status/failed": marker}, nil},
	} {
		t.Run(step.name, func(t *testing.T) {
			tx := store.NewTx(step.name)
			for r, v := range step.put {
				tx.Put(mustRef(t, r), v)
			}
			for _, r := range step.del {
				tx.Delete(mustRef(t, r), false)
			}
			if err := h.Store.Commit(ctx, tx); err != nil {
				t.Fatal(err)
			}
			// /work refreshes the index in full: the release is walked
			// again and is finished at a new generation.
			do(long, http.MethodGet, "/work", nil)
			same(t)
		})
	}
}
