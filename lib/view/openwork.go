package view

import (
	"sync"

	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
)

// The view keeps the store's open-work index across requests
// (docs/open-work.md §8): /work lists the markers it holds, and the index
// page reuses the status of a finished latest release until the index says
// the release changed.

// statusCache holds the status of finished releases read by earlier
// requests, with the stamp the index gave the release then.
type statusCache struct {
	mu sync.Mutex
	m  map[string]cachedStatus
}

type cachedStatus struct {
	stamp  uint64
	status string
}

// openWork returns the handler's open-work index brought up to date for
// this request, or nil when the store has none or it cannot be brought up
// to date (the request then walks, as without an index).
func (rq *request) openWork() *openwork.Index {
	if rq.indexDone {
		return rq.openIdx
	}
	rq.indexDone = true
	if !openwork.Indexable(rq.rd.s) {
		return nil
	}
	if err := rq.h.index.Refresh(rq.rd.ctx, rq.rd.s); err != nil {
		return nil
	}
	rq.openIdx = rq.h.index
	return rq.openIdx
}

// releaseStatus returns the status of release rel as the index page shows
// it, from the cache when rel is finished and has not changed since it was
// read.
func (rq *request) releaseStatus(idx *openwork.Index, rel string) (string, error) {
	var stamp uint64
	finished := false
	if idx != nil {
		stamp, finished = idx.Finished(rel)
	}
	c := &rq.h.statuses
	if finished {
		c.mu.Lock()
		got, ok := c.m[rel]
		c.mu.Unlock()
		if ok && got.stamp == stamp {
			return got.status, nil
		}
	}
	status, err := rq.rd.releaseStatusByFolders(rel)
	if err == nil && finished {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]cachedStatus{}
		}
		c.m[rel] = cachedStatus{stamp, status}
		c.mu.Unlock()
	}
	return status, err
}

// openMarkers lists the status markers of the functions pending or
// running, from the index when there is one.
func (rq *request) openMarkers() ([]string, error) {
	globs := []string{"**/functions/*/status/pending", "**/functions/*/status/running"}
	idx := rq.openWork()
	if idx == nil {
		return rq.rd.match(globs...)
	}
	return ref.FilterGlobs(idx.Refs(), globs)
}
