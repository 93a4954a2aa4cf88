// Package store keeps Ocuroot documents by ref, in Ocuroot store format
// version 1 (docs/store-format.md).
//
// A store maps canonical refs to JSON documents. On disk a filesystem store
// ([FS], opened with [OpenFS]) holds
//
//	<base>/.ocuroot-store                 {"version":1}
//	<base>/refs/<canonical ref>/@object.json
//	<base>/.ocuroot-lock                  write lock (flock)
//	<base>/.ocuroot-journal/              transactions in flight
//
// where each @object.json is an envelope {"kind":"ref","links":[…],"body":…}
// or a link {"kind":"link","body":"<target ref>"}. Stores written by the
// original Ocuroot read back unchanged, and the original reads what ocu
// writes.
//
// Reads ([Store.Get]) follow links at the link positions of a ref, up to 8
// hops, apply the latest-release fallback for "@" refs and walk a fragment
// into the document. [Store.Match] lists stored refs matching gobwas globs,
// walking only the subtree a glob's literal prefix allows, in parallel.
//
// Writes happen only in transactions ([Tx]): operations are recorded, then
// evaluated against the store's current content when committed, all or
// nothing. The filesystem store commits under an exclusive flock, through a
// write-ahead journal that the next writer completes after a crash, with
// temp files renamed into place. The journal also keeps every file's
// earlier content: a transaction that fails (a full disk, a folder it may
// not write) is rolled back before Commit returns, and one that cannot be
// completed after a crash is rolled back instead of blocking the store. No ref reaches a path outside the store:
// refs are validated, paths checked, and symbolic links below the root
// refused.
//
// [Combined] routes '+' (intent) refs to the intent store and everything else
// to the state store. The conformance suite in package storetest runs
// against every implementation.
//
// For the open-work index (docs/open-work.md), [Indexed] stores walk
// skipping finished releases and report what changed since a position,
// folder stores stamp releases ([Stamper]), and a [ReadLog] attached to
// folder stores records what their reads consulted, with each file's
// identity, so that a later process can tell nothing of it changed.
package store
