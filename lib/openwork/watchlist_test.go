//go:build linux

package openwork_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ocu-team/ocu/internal/historytest"
	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
)

// TestWatchListNamedReleases: the releases deploy intents and current
// deployments name are on the watch list (docs/open-work.md §6), told to
// the index by the engine's scan (Index.Watch): another client's deploy
// into such a release (a new chain in @N/deploy/E) is seen by the next
// refresh, without waiting for MaxAge.
func TestWatchListNamedReleases(t *testing.T) {
	ctx := context.Background()
	for name, named := range map[string]func(h *historytest.History) error{
		"named by a deploy intent": func(h *historytest.History) error {
			return h.Put(ctx, historytest.Package+"/+/deploy/production", map[string]any{"release": historytest.Release(3)})
		},
		"deployed (named by the production link only)": func(h *historytest.History) error {
			// A rollback to @3 run by ocu, then the intent moved back to
			// the latest release without being applied.
			production := historytest.Package + "/+/deploy/production"
			if err := h.Put(ctx, production, map[string]any{"release": historytest.Release(3)}); err != nil {
				return err
			}
			for _, k := range []int{10, 3} {
				var out bytes.Buffer
				if _, err := h.Engine(k, &out, &out).Apply(ctx, engine.ApplyOptions{}); err != nil {
					return fmt.Errorf("%w\n%s", err, out.String())
				}
			}
			d, err := h.Store.Get(ctx, parse(t, historytest.Package+"/@/deploy/production"))
			if err != nil {
				return err
			}
			if got := d.Ref.String(); got != historytest.Release(3)+"/deploy/production/2" {
				return fmt.Errorf("production deployment %s", got)
			}
			return h.Put(ctx, production, map[string]any{"release": historytest.Release(10)})
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := historytest.Open(t, 10)
			if err := named(h); err != nil {
				t.Fatal(err)
			}
			// A diff (ocu-apply -n: it writes nothing) names the releases
			// to the index, which stamps them.
			h.OpenWork = openwork.Options{MaxAge: time.Hour, RacyWindow: time.Nanosecond}
			var out bytes.Buffer
			if _, err := h.Engine(10, &out, &out).Diff(ctx); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			idx := openwork.New(h.OpenWork)
			if err := idx.Refresh(ctx, h.Store); err != nil {
				t.Fatal(err)
			}
			if _, ok := idx.Finished(historytest.Release(3)); !ok {
				t.Fatalf("%s is not a finished release: the test would not show the watch", historytest.Release(3))
			}
			// Another client starts a deploy: a new chain of @3's deploy
			// to production, pending. The folder gaining the entry gets a
			// time of its own (see writeWatched in equivalence_test.go).
			r := historytest.Release(3) + "/deploy/production/7/functions/1/status/pending"
			if err := h.WriteDirect(map[string]any{r: marker()}); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(h.Base, "refs", filepath.FromSlash(historytest.Release(3)), "deploy", "production")
			if err := os.Chtimes(dir, time.Unix(1_500_000_000, 0), time.Unix(1_500_000_000, 0)); err != nil {
				t.Fatal(err)
			}
			if err := idx.Refresh(ctx, h.Store); err != nil {
				t.Fatal(err)
			}
			if got, _ := ref.FilterGlobs(idx.Refs(), queries["pending"]); !slices.Contains(got, r) {
				t.Errorf("another client's deploy into %s (%s) is not seen: pending %q", historytest.Release(3), name, got)
			}
		})
	}
}
