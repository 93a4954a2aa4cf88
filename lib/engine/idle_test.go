package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocu-team/ocu/internal/historytest"
	"github.com/ocu-team/ocu/lib/engine"
	"github.com/ocu-team/ocu/lib/ref"
)

// TestIdleRun: a run that found nothing to do is remembered, and the next
// one stops before reading when nothing it read changed
// (docs/open-work.md §10); any change to what it read, by ocu or by
// another client writing files in place, and any new intent, makes the
// next run read and do the work.
func TestIdleRun(t *testing.T) {
	ctx := context.Background()
	const n = 20
	h := historytest.Open(t, n)
	h.OpenWork.RacyWindow = time.Nanosecond // the history was just written
	memo := filepath.Join(h.Base, ".ocuroot-index", "idle")

	apply := func(t *testing.T) (same bool, out string) {
		t.Helper()
		same, remembered, out := idleApply(t, h, n)
		if !same && !remembered {
			t.Fatal("a run on a folder store with no open work is not remembered")
		}
		return same, out
	}
	idle := func(t *testing.T, wantSame bool) {
		t.Helper()
		same, out := apply(t)
		if same != wantSame || out != "" {
			t.Fatalf("memo held: %v, want %v; output %q", same, wantSame, out)
		}
	}

	// Custom intent copied to state: the run that copies it does
	// something, the next ones are idle.
	custom := "+/custom/approval"
	if err := h.Put(ctx, custom, 1); err != nil {
		t.Fatal(err)
	}
	if same, out := apply(t); same || out == "" {
		t.Fatalf("memo held: %v with intent to apply; output %q", same, out)
	}
	idle(t, false) // nothing remembered yet
	if _, err := os.Stat(memo); err != nil {
		t.Fatalf("no memo after an idle run: %v", err)
	}
	idle(t, true)
	idle(t, true)

	// Another client rewrites that intent in place: no new ref, no log
	// line, only the file. The next run reads it and copies it.
	if err := h.WriteDirect(map[string]any{custom: 2}); err != nil {
		t.Fatal(err)
	}
	same, out := apply(t)
	if same || !strings.Contains(out, "custom/approval") {
		t.Fatalf("memo held: %v after the intent changed in place; output:\n%s", same, out)
	}
	if _, err := os.Stat(memo); err == nil {
		t.Error("a run that did something left a memo")
	}
	idle(t, false)
	idle(t, true)

	// The same through ocu.
	if err := h.Put(ctx, custom, 3); err != nil {
		t.Fatal(err)
	}
	if same, out := apply(t); same || !strings.Contains(out, "custom/approval") {
		t.Fatalf("memo held: %v after ocu changed the intent; output:\n%s", same, out)
	}
	idle(t, false)
	idle(t, true)

	// Another client changes the state side in place: applying copies the
	// intent over it again.
	if err := h.WriteDirect(map[string]any{"@/custom/approval": 99}); err != nil {
		t.Fatal(err)
	}
	if same, out := apply(t); same || !strings.Contains(out, "custom/approval") {
		t.Fatalf("memo held: %v after the state changed in place; output:\n%s", same, out)
	}
	idle(t, false)
	idle(t, true)

	// A document the runs read rewritten by another client with the same
	// bytes: only its identity moved, and that is enough to read again.
	staging := historytest.Package + "/+/deploy/staging"
	stagingRef, err := ref.Parse(staging)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := h.Store.Get(ctx, stagingRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.WriteDirect(map[string]any{staging: doc.Value}); err != nil {
		t.Fatal(err)
	}
	idle(t, false)
	idle(t, true)

	// A new deploy intent, to a new environment: a new ref for the index.
	if err := h.Put(ctx, "+/environment/qa", map[string]any{"name": "qa", "attributes": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	if same, out := apply(t); same || out == "" {
		t.Fatalf("memo held: %v after a new environment; output %q", same, out)
	}
}

// TestIdleRunNeverHidesWork writes, again and again, one of several things
// another client or ocu may write to what an idle run reads — the same
// bytes again, or a new value — after a run was remembered. Whenever the
// memo still holds, a full read (the diff, the outstanding work) must find
// nothing to do either; then a run brings the store back to idle.
func TestIdleRunNeverHidesWork(t *testing.T) {
	ctx := context.Background()
	const n = 10
	h := historytest.Open(t, n)
	h.OpenWork.RacyWindow = time.Nanosecond
	pkg := historytest.Package
	rng := rand.New(rand.NewPCG(13, 7))
	get := func(r string) any {
		t.Helper()
		pr, err := ref.Parse(r)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := h.Store.Get(ctx, pr)
		if err != nil {
			t.Fatal(err)
		}
		return doc.Value
	}
	direct := func(r string, v any) error { return h.WriteDirect(map[string]any{r: v}) }
	if err := h.Put(ctx, "+/custom/approval", "a"); err != nil {
		t.Fatal(err)
	}
	writes := []struct {
		name string
		do   func() error
	}{
		{"custom intent, same bytes", func() error { return direct("+/custom/approval", get("+/custom/approval")) }},
		{"custom intent, a new value", func() error { return direct("+/custom/approval", fmt.Sprint(rng.IntN(3))) }},
		{"custom state, a new value", func() error { return direct("@/custom/approval", fmt.Sprint(rng.IntN(3))) }},
		{"custom intent through ocu", func() error { return h.Put(ctx, "+/custom/approval", fmt.Sprint(rng.IntN(3))) }},
		{"deploy intent, same bytes", func() error { return direct(pkg+"/+/deploy/staging", get(pkg+"/+/deploy/staging")) }},
		{"environment state, new attributes", func() error {
			return direct("@/environment/staging", map[string]any{"name": "staging", "attributes": map[string]any{"type": fmt.Sprint(rng.IntN(2))}})
		}},
		{"environment intent, new attributes", func() error {
			return direct("+/environment/staging", map[string]any{"name": "staging", "attributes": map[string]any{"type": fmt.Sprint(rng.IntN(2))}})
		}},
		{"the deployed function, same bytes", func() error {
			fn := historytest.Release(n) + "/deploy/staging/1/functions/1"
			return direct(fn, get(fn))
		}},
	}
	converge := func() {
		t.Helper()
		for range 3 {
			if same, _, _ := idleApply(t, h, n); same {
				return
			}
		}
	}
	converge()
	held := 0
	for i := range 40 {
		w := writes[rng.IntN(len(writes))]
		time.Sleep(5 * time.Millisecond) // past the file system's clock tick (the racy window's job)
		if err := w.do(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		e := h.Engine(n, &out, &out)
		idle, same, err := e.BeginIdle(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if idle != nil {
			idle.Cancel()
		}
		if same {
			held++
			e := h.Engine(n, &out, &out)
			changes, err := e.Diff(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pairs, err := e.Outstanding(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) > 0 || len(pairs) > 0 {
				t.Fatalf("step %d, %s: the memo held, but a full read finds %v to apply and outstanding work %v", i, w.name, changes, pairs)
			}
		}
		converge()
	}
	t.Logf("the memo held after %d of 40 writes", held)
}

// idleApply runs what ocu-apply runs at the commit of release n: the idle
// memo checked, then, unless it held, the diff applied, the work continued,
// the outstanding work listed and the run remembered when it was idle. It
// reports whether the memo held, whether the run could be remembered at
// all, and the progress output.
func idleApply(t *testing.T, h *historytest.History, n int) (same, remembered bool, out string) {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	e := h.Engine(n, &buf, &buf)
	idle, same, err := e.BeginIdle(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if same {
		return true, true, ""
	}
	res, err := e.Apply(ctx, engine.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := e.OutstandingAfter(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	if idle != nil {
		if err := idle.End(!res.Failed && len(pairs) == 0); err != nil {
			t.Fatal(err)
		}
	}
	return false, idle != nil, buf.String()
}
