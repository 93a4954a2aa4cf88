package store

import (
	"context"

	"github.com/ocu-team/ocu/lib/ref"
)

// Store holds JSON documents by ref. Implementations: *FS (a folder), the
// git store, and *Combined (a state store and an intent store seen as one).
// Refs given to a Store are absolute (resolved against the repo first).
type Store interface {
	// Get resolves r (links, latest-release fallback), reads the document and
	// applies r's fragment. The returned Doc.Ref is the resolved ref with r's
	// fragment. Nothing stored → an error matching ErrNotFound.
	Get(ctx context.Context, r ref.Ref) (Doc, error)
	// Match lists the stored refs matching any of the globs (docs/store-format.md §7),
	// sorted bytewise and deduplicated. noLinks hides links and everything
	// stored under a link position; when some objects it must read for
	// that are corrupt, Match returns the other refs together with an
	// error matching E_CORRUPT that names each of them (errors.Join of
	// *OpError). Any other error comes with no refs.
	Match(ctx context.Context, globs []string, noLinks bool) ([]string, error)
	// Children lists the folders one segment below r, as ref strings.
	Children(ctx context.Context, r ref.Ref) ([]string, error)
	// Commit applies the transaction atomically: all of it or nothing.
	Commit(ctx context.Context, tx *Tx) error
	// Close releases the store's resources.
	Close() error
}

// Doc is a document read from a store.
type Doc struct {
	Ref   ref.Ref // the ref actually read: links followed, fragment kept
	Value any     // decoded with json.Number for numbers; nil is JSON null
}
