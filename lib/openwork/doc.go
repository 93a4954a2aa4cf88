// Package openwork finds the open work of a state store without walking its
// history (docs/open-work.md).
//
// An Index records which releases of the store are finished: no function
// pending or running, no check_envs task. A finished release is never
// walked again while nothing says it changed; what the engine and the view
// need from it — the commit it was made at and its release-level custom
// state — is kept in the index. Everything else is walked on every
// refresh: the intent store, global state, the package folders with their
// deployment links, and the releases that are open, new, or named by the
// store's record of changes (store.Indexed).
//
// The index is derived and never required: missing, unreadable, of another
// version or of another store, it is rebuilt by one full walk. It is kept
// beside the store (a folder's .ocuroot-index/open-work, a git store's
// cache) so that every ocu process shares it; the original client never
// sees it. Writes of other clients to a folder store are not in its change
// log: an index of such a store is trusted for at most Options.MaxAge since
// its last full walk.
//
// Beside the index lies the idle memo (Index.IdleKey, IdleHolds, SaveIdle):
// what the last ocu-apply that found nothing to do read, so that the next
// one, when none of it changed, stops there (docs/open-work.md §10).
package openwork
