package store

import (
	"context"
	"strings"
)

// Indexed is implemented by the stores whose open work can be indexed
// (docs/open-work.md): *FS, the git store, and *Combined (through its state
// store; its intent store is matched in full).
//
// Release folders are as ReleaseFolder says (`R/-/F/@N`, `R/-/F/@H.x`);
// paths are given as below refs/, without a trailing slash:
// "example/-/frontend/release.ocu.star/@12".
type Indexed interface {
	// MatchSkipping is Match(ctx, globs, false) that does not enter a
	// release folder for which skip returns true: nothing at or below it is
	// listed. skip may be called from several goroutines, for every release
	// folder the walk reaches, and for other folders whose name starts with
	// "@" and is longer than "@" (the walk does not tell them apart): skip
	// must refuse those. Nor does it enter the folders of the chain links
	// the engine keeps below a package's "@" folder (KeptLinkFolder).
	MatchSkipping(ctx context.Context, globs []string, skip func(release string) bool) ([]string, error)
	// ChangePosition returns where the store's record of changes stands:
	// for a folder, the end of its change log; for a git store, the commit
	// its reads see. Match and MatchSkipping calls made after it see at
	// least everything before that position.
	ChangePosition(ctx context.Context) (string, error)
	// ChangedSince lists the release folders written since pos (created,
	// changed or removed; sorted, deduplicated) and the position reached,
	// which is at least ChangePosition's at the time of the call. ok is
	// false when pos cannot be followed (a log rotated away, a commit the
	// cache no longer holds, a position of another store): the caller must
	// then consider every release changed.
	ChangedSince(ctx context.Context, pos string) (releases []string, now string, ok bool, err error)
	// IndexInfo says where an index of the store is kept and what it must
	// name.
	IndexInfo() IndexInfo
}

// IndexInfo locates the open-work index of a store (docs/open-work.md).
type IndexInfo struct {
	// Path is the index file; "" when the index can only be kept in
	// memory (the folder does not exist yet, or cannot hold it).
	Path string
	// Identity names the store the index describes; an index naming
	// another identity is rebuilt.
	Identity string
	// AllWriters is true when ChangedSince sees every writer (a git store:
	// it compares trees), false when it sees only ocu's own transactions (a
	// folder: the original client writes files without the change log).
	AllWriters bool
}

// KeptLinkFolder reports whether dir, a path below refs/, is one of the
// folders of chain links the engine keeps below a package's "@" folder
// (docs/store-format.md §5.4): `R/-/F/@/call`, holding the latest run of
// each call and a link to each of its chains, or `R/-/F/@/deploy/E/K`, a
// link to chain K. They hold links to chains, which resolve into release
// folders, never work of their own; a package has one link per completed
// chain (six of a package's thirteen folders at 60 releases), so the
// open-work walk does not enter them.
func KeptLinkFolder(dir string) bool {
	i := strings.Index(dir, "/-/")
	if i < 0 {
		return false
	}
	j := strings.Index(dir[i+2:], "/@/")
	if j < 0 {
		return false
	}
	rest := dir[i+2+j+3:]
	if rest == "call" {
		return true
	}
	env, ok := strings.CutPrefix(rest, "deploy/")
	return ok && strings.Count(env, "/") == 1 && !strings.HasSuffix(env, "/") && env[0] != '/'
}

// ReleaseFolder returns the release folder a path below refs/ (or a ref)
// lies in: up to its first segment after the repo's "-" that starts with
// "@" and is longer than "@" (`R/-/F/@N` of `R/-/F/@N/call/build/1/…`);
// "" for a path outside releases (global, package level "@", intent "+").
func ReleaseFolder(p string) string {
	i := strings.Index(p, "/-/")
	if i < 0 {
		return ""
	}
	for j := i + 3; j < len(p); {
		end := strings.IndexByte(p[j:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += j
		}
		seg := p[j:end]
		switch {
		case seg == "" || seg[0] == '+' || seg == "@":
			return ""
		case seg[0] == '@':
			return p[:end]
		}
		j = end + 1
	}
	return ""
}
