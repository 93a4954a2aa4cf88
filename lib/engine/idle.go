package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/store"
)

// An IdleRun remembers what a command that found nothing to do read, so
// that the next one, finding every file it read unchanged, can stop
// before reading them (docs/open-work.md §10).
type IdleRun struct {
	e       *Engine
	stores  store.ReadLogger
	idx     *openwork.Index
	key     string
	log     *store.ReadLog
	started time.Time
	printed int
}

// BeginIdle refreshes the open-work index and checks the memo of the last
// idle run under a key made of the index's refs, the stores' folders, the
// engine's repo and commit and extra (the command, its folder, its
// settings). same is true
// when that memo holds: the run would do and print nothing, and the
// caller may stop. Otherwise run, when not nil, logs the reads of the
// stores until End; it is nil when runs on these stores cannot be
// remembered (no index, not folders, open work).
func (e *Engine) BeginIdle(ctx context.Context, extra ...string) (run *IdleRun, same bool, err error) {
	stores, ok := e.Store.(store.ReadLogger)
	if !ok {
		return nil, false, nil
	}
	idx, err := e.openWork(ctx)
	if err != nil || idx == nil {
		return nil, false, err
	}
	where := []string{fmt.Sprint(e.Store)}
	if c, ok := e.Store.(*store.Combined); ok {
		where = []string{fmt.Sprint(c.State), fmt.Sprint(c.Intent)} // their folders
	}
	key, ok := idx.IdleKey(slices.Concat(where, []string{e.Repo, e.Commit}, extra)...)
	if !ok {
		return nil, false, nil
	}
	if same, err := idx.IdleHolds(ctx, key); err != nil || same {
		return nil, same, err
	}
	log := store.NewReadLog()
	if !stores.LogReads(log) {
		return nil, false, nil
	}
	// Every read from now on must reach the files, to be logged.
	e.mu.Lock()
	clear(e.reads)
	clear(e.releases)
	e.mu.Unlock()
	return &IdleRun{e: e, stores: stores, idx: idx, key: key, log: log, started: time.Now(), printed: e.progress.printed()}, false, nil
}

// End stops logging and remembers the run when it was idle: quiet says
// that the command itself found nothing (no failure, no outstanding work)
// and the engine printed no line since BeginIdle. Any other run removes
// the memo.
func (r *IdleRun) End(quiet bool) error {
	r.stores.LogReads(nil)
	if quiet && r.e.progress.printed() == r.printed {
		return r.idx.SaveIdle(r.key, r.log, r.started)
	}
	return r.idx.ForgetIdle()
}

// Cancel stops logging and leaves the memo as it is: the caller does not
// run the command after all.
func (r *IdleRun) Cancel() { r.stores.LogReads(nil) }
