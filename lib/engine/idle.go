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
	stores  store.ReadLogger // logging, for folder stores
	idx     *openwork.Index
	key     string
	log     *store.ReadLog // nil for git stores
	started time.Time
	printed int
}

// BeginIdle refreshes the open-work index and checks the memo of the last
// idle run under a key made of the index's refs, the stores' folders, the
// engine's repo and commit and extra (the command, its folder, its
// settings). same is true when that memo holds: the run would do and
// print nothing, and the caller may stop. Otherwise run, when not nil, logs the reads of folder
// stores until End (git stores need no log: the key names their commits);
// it is nil when runs on these stores cannot be remembered (no index, a
// folder store and a git store together, open work).
func (e *Engine) BeginIdle(ctx context.Context, extra ...string) (run *IdleRun, same bool, err error) {
	idx, err := e.openWork(ctx)
	if err != nil || idx == nil {
		return nil, false, err
	}
	stores := []store.Store{e.Store}
	if c, ok := e.Store.(*store.Combined); ok {
		stores = []store.Store{c.State, c.Intent}
	}
	// Git stores are pinned by their commits, which the key names; folder
	// stores need the log of what was read. A mix is not remembered.
	var where []string
	pinned := 0
	for _, s := range stores {
		where = append(where, fmt.Sprint(s))
		ix, ok := s.(store.Indexed)
		if !ok {
			return nil, false, nil
		}
		if ix.IndexInfo().AllWriters {
			pos, err := ix.ChangePosition(ctx)
			if err != nil {
				return nil, false, err
			}
			where = append(where, pos)
			pinned++
		}
	}
	logger, folders := e.Store.(store.ReadLogger)
	if pinned != 0 && pinned != len(stores) || pinned == 0 && !folders {
		return nil, false, nil
	}
	key, ok := idx.IdleKey(slices.Concat(where, []string{e.Repo, e.Commit}, extra)...)
	if !ok {
		return nil, false, nil
	}
	if same, err := idx.IdleHolds(ctx, key); err != nil || same {
		return nil, same, err
	}
	run = &IdleRun{e: e, idx: idx, key: key, started: time.Now(), printed: e.progress.printed()}
	if pinned == 0 {
		run.log, run.stores = store.NewReadLog(), logger
		if !logger.LogReads(run.log) {
			return nil, false, nil
		}
		// Every read from now on must reach the files, to be logged.
		e.mu.Lock()
		clear(e.reads)
		clear(e.releases)
		e.mu.Unlock()
	}
	return run, false, nil
}

// End stops logging and remembers the run when it was idle: quiet says
// that the command itself found nothing (no failure, no outstanding work)
// and the engine printed no line since BeginIdle. Any other run removes
// the memo.
func (r *IdleRun) End(quiet bool) error {
	r.Cancel()
	if quiet && r.e.progress.printed() == r.printed {
		return r.idx.SaveIdle(r.key, r.log, r.started)
	}
	return r.idx.ForgetIdle()
}

// Cancel stops logging and leaves the memo as it is: the caller does not
// run the command after all.
func (r *IdleRun) Cancel() {
	if r.stores != nil {
		r.stores.LogReads(nil)
	}
}
