package view

import (
	"sync"
	"time"

	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
)

// The view keeps the store's open-work index across requests
// (docs/open-work.md §8): /work lists the markers it holds, and the index
// page reuses what it read of finished releases (a latest release's
// status, a deployed chain's status) until the index says the release
// changed.

// fullRefreshAfter is how long the index page only checks the index (what
// changed since, the watched releases) before it refreshes it in full (new
// and reopened releases walked and recorded).
const fullRefreshAfter = 10 * time.Second

// maxCached bounds the entries of the finished-release cache.
const maxCached = 100_000

// finishedCache holds what requests read below finished releases, each
// entry with the generation the index gave its release then: an entry is
// good while the release is finished at that generation.
type finishedCache struct {
	mu          sync.Mutex
	m           map[string]cachedRead
	fullRefresh time.Time // the last full refresh of the index
}

type cachedRead struct {
	gen uint64
	v   any
}

// cached returns what key holds for release rel, reading it with read when
// rel is not finished or the entry is missing or older; without an index
// it only reads.
func cached[T any](rd *reader, rel, key string, read func() (T, error)) (T, error) {
	var gen uint64
	finished := false
	if rd.idx != nil {
		gen, finished = rd.idx.Finished(rel)
	}
	c := rd.cache
	if finished {
		c.mu.Lock()
		got, ok := c.m[key]
		c.mu.Unlock()
		if v, isT := got.v.(T); ok && isT && got.gen == gen {
			return v, nil
		}
	}
	v, err := read()
	if err == nil && finished {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxCached {
			c.m = map[string]cachedRead{}
		}
		c.m[key] = cachedRead{gen, v}
		c.mu.Unlock()
	}
	return v, err
}

// openWork returns the handler's open-work index brought up to date for
// this request — in full when full is set or the last full refresh is
// older than fullRefreshAfter, else only checked — or nil when the store
// has none or it cannot be brought up to date (the request then reads, as
// without an index). The request's reader caches through it from then on.
func (rq *request) openWork(full bool) *openwork.Index {
	if rq.indexDone {
		return rq.rd.idx
	}
	rq.indexDone = true
	if !openwork.Indexable(rq.rd.s) {
		return nil
	}
	c := rq.rd.cache
	c.mu.Lock()
	full = full || time.Since(c.fullRefresh) > fullRefreshAfter
	c.mu.Unlock()
	idx := rq.h.index
	var err error
	if full {
		err = idx.Refresh(rq.rd.ctx, rq.rd.s)
	} else {
		err = idx.Check(rq.rd.ctx, rq.rd.s)
	}
	if err != nil {
		return nil
	}
	if full {
		c.mu.Lock()
		c.fullRefresh = time.Now()
		c.mu.Unlock()
	}
	rq.rd.idx = idx
	return idx
}

// latestReleaseStatus returns the status of release rel as the index page shows
// it, from the cache when rel is finished and has not changed since it was
// read.
func (rd *reader) latestReleaseStatus(rel string) (string, error) {
	return cached(rd, rel, "release "+rel, func() (string, error) { return rd.releaseStatusByFolders(rel) })
}

// openMarkers lists the status markers of the functions pending or
// running, from the index when there is one.
func (rq *request) openMarkers() ([]string, error) {
	globs := []string{"**/functions/*/status/pending", "**/functions/*/status/running"}
	idx := rq.openWork(true)
	if idx == nil {
		return rq.rd.match(globs...)
	}
	return ref.FilterGlobs(idx.Refs(), globs)
}
