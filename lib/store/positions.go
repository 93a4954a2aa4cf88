package store

import (
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// linkPositions returns the canonical refs at which a stored link takes
// effect for r (docs/store-format.md §5.1), deepest first. The fragment is ignored.
//
//   - local refs with an empty or named release (@, @v1, +, +rc): every prefix
//     at or below the first subpath segment, then the release level;
//   - numbered releases and plain refs: none;
//   - global refs: every prefix at or below the first subpath segment.
func linkPositions(r ref.Ref) []string {
	if r.Marker == ref.NoMarker || (!r.Global && state.IsNumber(r.Release)) {
		return nil
	}
	rel := r.ReleaseLevel().String()
	var out []string
	if r.Type != "" {
		typed := rel + "/" + r.Type + "/"
		sub := r.Subpath
		for {
			out = append(out, typed+sub)
			i := strings.LastIndexByte(sub, '/')
			if i < 0 {
				break
			}
			sub = sub[:i]
		}
	}
	if !r.Global {
		out = append(out, rel)
	}
	return out
}

// isLinkPosition reports whether r (without fragment) is one of its own link
// positions, the only places a link may be stored.
func isLinkPosition(r ref.Ref) bool {
	ps := linkPositions(r)
	return len(ps) > 0 && ps[0] == r.Doc().String()
}
