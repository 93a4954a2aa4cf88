package view

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ocu-team/ocu/lib/openwork"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
	"github.com/ocu-team/ocu/lib/store"
)

// reader reads the state one request needs. Every read goes through the
// store API; what is read below a finished release is cached between
// requests once the request has the open-work index (idx, see
// request.openWork).
type reader struct {
	ctx   context.Context
	s     store.Store
	idx   *openwork.Index
	cache *finishedCache
	dec   *state.Decoder // kept across requests; nil: decode afresh
}

// get reads the document at the absolute ref in (links followed).
func (rd *reader) get(in string) (store.Doc, error) {
	r, err := ref.Parse(in)
	if err != nil {
		return store.Doc{}, err
	}
	return rd.s.Get(rd.ctx, r)
}

// decode reads the document at in into dst, a document type of package
// state; it reports whether the document could be read. A field of the
// wrong type stays zero: the page shows the rest.
func (rd *reader) decode(in string, dst any) bool {
	d, err := rd.get(in)
	if err != nil {
		return false
	}
	if rd.dec != nil {
		_ = rd.dec.Decode(d.Value, dst)
	} else {
		_ = state.Decode(d.Value, dst)
	}
	return true
}

// value reads the document at in, or nil when it cannot be read.
func (rd *reader) value(in string) any {
	d, err := rd.get(in)
	if err != nil {
		return nil
	}
	return d.Value
}

// children lists the names of the folders one segment below the folder
// path p ("" is the root), in natural order. A path that is not a ref by
// itself, such as the type level "…/@1/deploy" or "@/environment", is
// listed all the same; a path above a repo's "/-/" (a part of a repo name
// holding '/') cannot be listed by the store and is found by a walk.
// Folders without a marker are listed in both the state and the intent
// store.
func (rd *reader) children(p string) ([]string, error) {
	var full []string
	r, ok := folderRef(p)
	if !ok {
		var err error
		if full, err = rd.walkChildren(rd.s, p); err != nil {
			return nil, err
		}
	}
	stores := []store.Store{rd.s}
	if c, isCombined := rd.s.(*store.Combined); isCombined && c.State != c.Intent && !r.IsZero() && r.Marker == ref.NoMarker {
		stores = []store.Store{c.State, c.Intent}
	}
	for _, s := range stores {
		if !ok {
			break
		}
		list, err := s.Children(rd.ctx, r)
		if err != nil {
			return nil, err
		}
		full = append(full, list...)
	}
	names := make([]string, 0, len(full))
	for _, c := range full {
		names = append(names, c[strings.LastIndexByte(c, '/')+1:])
	}
	slices.SortFunc(names, naturalCompare)
	return slices.Compact(names), nil
}

// isRepoLevel reports whether r is a repo, "R/-/".
func isRepoLevel(r ref.Ref) bool {
	return !r.Global && r.Repo != "" && r.File == "" && r.Marker == ref.NoMarker && r.Type == ""
}

// walkChildren lists the folders below p in s by matching every stored ref
// under it: the slow path for the parts of repo names.
func (rd *reader) walkChildren(s store.Store, p string) ([]string, error) {
	if p == "" || !validPath(p) {
		return nil, nil
	}
	refs, err := s.Match(rd.ctx, []string{p + "/**"}, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range refs {
		rest := strings.TrimPrefix(r, p+"/")
		name, _, _ := strings.Cut(rest, "/")
		out = append(out, p+"/"+name)
	}
	return out, nil
}

// validPath reports whether p could be the start of a stored ref: the
// segments a ref may hold and no glob characters.
func validPath(p string) bool {
	_, err := ref.Parse(p + "/x")
	return err == nil
}

// folderRef returns the ref whose store folder is p, also for the folders
// that are no ref by themselves (a type level, "…/@1/deploy"). The root is
// the zero Ref.
func folderRef(p string) (ref.Ref, bool) {
	if p == "" {
		return ref.Ref{}, true
	}
	if r, err := ref.Parse(p); err == nil && !r.IsRelative() && r.Fragment == "" {
		return r, true
	}
	// A type level: a valid ref once a name follows.
	if r, err := ref.Parse(p + "/x"); err == nil && r.Subpath == "x" && r.Fragment == "" {
		r.Subpath = ""
		return r, r.String() == p
	}
	return ref.Ref{}, false
}

// match lists the stored refs matching the globs.
func (rd *reader) match(globs ...string) ([]string, error) {
	return rd.s.Match(rd.ctx, globs, false)
}

// marker is a status marker: its status and the time it was written.
type marker struct {
	Status string
	Time   time.Time
}

// markers are the status markers found under a release or a package: the
// names of the markers in each status folder, by the ref owning the folder
// (a chain, a work item or a function).
type markers map[string][]string

// collect adds refs of the form OWNER/status/NAME.
func (m markers) collect(refs []string) {
	for _, r := range refs {
		i := strings.LastIndex(r, "/status/")
		if i < 0 {
			continue
		}
		owner, name := r[:i], r[i+len("/status/"):]
		if !strings.Contains(name, "/") {
			m[owner] = append(m[owner], name)
		}
	}
}

// status returns the status of owner: its only marker, or, when a writer
// left several, the one with the latest time (docs/engine.md §7). No marker
// gives "".
func (rd *reader) status(m markers, owner string) string {
	names := m[owner]
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return rd.latestMarker(owner, names).Status
}

// latestMarker reads the markers of owner and returns the latest.
func (rd *reader) latestMarker(owner string, names []string) marker {
	var best marker
	for _, n := range names {
		mk := marker{Status: n, Time: rd.markerTime(owner + "/status/" + n)}
		if best.Status == "" || mk.Time.After(best.Time) {
			best = mk
		}
	}
	return best
}

// statusOf reads the status folder of owner: status and time. No marker
// gives the zero marker.
func (rd *reader) statusOf(owner string) marker {
	mk, _ := cached(rd, store.ReleaseFolder(owner), "status "+owner, func() (marker, error) {
		names, err := rd.children(owner + "/status")
		if err != nil || len(names) == 0 {
			return marker{}, err
		}
		return rd.latestMarker(owner, names), nil
	})
	return mk
}

// markerTime reads the time of the status or commit marker at in.
func (rd *reader) markerTime(in string) time.Time {
	var mk state.Marker
	rd.decode(in, &mk)
	return parseTime(mk.Time)
}

// releaseMarkerGlobs are the globs that find every status marker of the
// release rel: work items, chains and functions.
func releaseMarkerGlobs(rel string) []string {
	return []string{
		rel + "/*/*/status/*",
		rel + "/*/*/*/status/*",
		rel + "/*/*/*/functions/*/status/*",
	}
}

// releaseMarkers reads every status marker of the release rel in one walk
// of its folder.
func (rd *reader) releaseMarkers(rel string) (markers, error) {
	refs, err := rd.match(releaseMarkerGlobs(rel)...)
	if err != nil {
		return nil, err
	}
	m := markers{}
	m.collect(refs)
	return m, nil
}

// chainPath splits the ref of a chain, REL/TYPE/NAME/K, into the work item
// REL/TYPE/NAME and K; ok is false for anything else below rel.
func chainPath(rel, owner string) (item string, k string, ok bool) {
	rest, found := strings.CutPrefix(owner, rel+"/")
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !isWorkType(parts[0]) || !state.IsNumber(parts[2]) {
		return "", "", false
	}
	return rel + "/" + parts[0] + "/" + parts[1], parts[2], true
}

// isWorkType reports whether t is a type of work item: call or deploy.
func isWorkType(t string) bool { return t == ref.TypeCall || t == ref.TypeDeploy }

// releaseStatus is the status of the release rel from its markers
// (docs/engine.md §7): running if any function runs; else, from the latest chain
// of every work item, failed, then pending, else complete.
func (rd *reader) releaseStatus(m markers, rel string) string {
	latest := map[string]string{} // work item → owner of its latest chain
	for owner, names := range m {
		if strings.HasPrefix(owner, rel+"/") && strings.Contains(owner, "/functions/") && slices.Contains(names, state.StatusRunning) {
			if rd.status(m, owner) == state.StatusRunning {
				return state.StatusRunning
			}
		}
		item, k, ok := chainPath(rel, owner)
		if !ok {
			continue
		}
		if cur, seen := latest[item]; !seen || state.CompareNumbers(k, cur[strings.LastIndexByte(cur, '/')+1:]) > 0 {
			latest[item] = owner
		}
	}
	failed, pending := false, false
	for _, owner := range latest {
		switch rd.status(m, owner) {
		case state.StatusFailed:
			failed = true
		case state.StatusPending, state.StatusRunning:
			pending = true
		}
	}
	switch {
	case failed:
		return state.StatusFailed
	case pending:
		return state.StatusPending
	}
	return state.StatusComplete
}

// statusName returns the status of owner from the names in its status
// folder, reading the markers' times only when a writer left several.
func (rd *reader) statusName(owner string) string {
	names, err := rd.children(owner + "/status")
	switch {
	case err != nil || len(names) == 0:
		return ""
	case len(names) == 1:
		return names[0]
	}
	return rd.latestMarker(owner, names).Status
}

// releaseStatusByFolders is releaseStatus read through folder listings
// instead of a walk of the release, for pages that need only the status:
// the latest chain of each work item gives failed, pending or complete, and
// the functions of pending chains tell whether one runs (a running
// function's chain is pending until its last function finishes).
func (rd *reader) releaseStatusByFolders(rel string) (string, error) {
	failed, pending := false, false
	for _, typ := range []string{ref.TypeCall, ref.TypeDeploy} {
		items, err := rd.children(rel + "/" + typ)
		if err != nil {
			return "", err
		}
		for _, name := range items {
			item := rel + "/" + typ + "/" + name
			runs, err := rd.children(item)
			if err != nil {
				return "", err
			}
			latest, latestStatus := "", ""
			for _, k := range runs {
				if !state.IsNumber(k) {
					continue
				}
				chain := item + "/" + k
				st := rd.statusName(chain)
				if st == state.StatusPending && rd.anyRunning(chain) {
					return state.StatusRunning, nil
				}
				if latest == "" || state.CompareNumbers(k, latest) > 0 {
					latest, latestStatus = k, st
				}
			}
			failed = failed || latestStatus == state.StatusFailed
			pending = pending || latestStatus == state.StatusPending
		}
	}
	switch {
	case failed:
		return state.StatusFailed, nil
	case pending:
		return state.StatusPending, nil
	}
	return state.StatusComplete, nil
}

// anyRunning reports whether a function of chain is running.
func (rd *reader) anyRunning(chain string) bool {
	ids, _ := rd.children(chain + "/functions")
	for _, id := range ids {
		if state.IsNumber(id) && rd.statusName(chain+"/functions/"+id) == state.StatusRunning {
			return true
		}
	}
	return false
}

// liveStatus reports whether a status means work is still to be done.
func liveStatus(status string) bool {
	return status == state.StatusPending || status == state.StatusRunning
}

// naturalCompare orders strings with runs of digits compared as numbers:
// "@2" before "@10".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := state.CompareNumbers(na, nb); c != 0 {
				return c
			}
			if c := cmp.Compare(da, db); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// isNotFound reports whether err means nothing is stored there.
func isNotFound(err error) bool {
	return store.CodeOf(err) == store.ENotFound
}

// isUsage reports whether err means the request cannot be asked: an invalid
// ref or glob.
func isUsage(err error) bool {
	var re *ref.Error
	var br badRequest
	return errors.As(err, &re) || errors.As(err, &br) || store.CodeOf(err) == store.EBadGlob || store.CodeOf(err) == store.EFragment
}
