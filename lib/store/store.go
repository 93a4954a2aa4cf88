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

// Resolver is implemented by every store of this package: the ref a Get
// would read, without reading it.
type Resolver interface {
	// Resolve follows the links on r's path (docs/store-format.md §5.2)
	// and returns where they lead, fragment kept; it reads no document, so
	// what is stored there (maybe nothing) is for Get to say, and the
	// latest-release fallback (§5.3) is not applied.
	Resolve(ctx context.Context, r ref.Ref) (ref.Ref, error)
}

var (
	_ Resolver = (*FS)(nil)
	_ Resolver = (*Git)(nil)
	_ Resolver = (*Combined)(nil)
)
