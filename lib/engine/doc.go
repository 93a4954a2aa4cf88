// Package engine turns Ocuroot packages into state (docs/engine.md): it
// evaluates *.ocu.star files with the Starlark SDK 0.3.0, creates releases
// with their work chains, runs work functions one at a time, records every
// document a release writes (releases, chains, functions, status markers,
// logs, outputs, tags and links), and continues, retries and tears down
// work.
//
// A release R/-/F/@N is created at the current commit H. Each work item —
// a call (build, test, approval) or a deploy to an environment — gets chain
// 1 with function 1 (fn or up). The items of a phase depend on the items of
// the nearest preceding non-empty phase: their function 1 waits until each
// dependency glob matches a completed run. A function also waits until all
// its inputs (read from refs, or given values and defaults) are present.
// Runnable functions run in ref order, pass after pass, until nothing more
// can run: the release is then complete, failed or paused.
//
// Every step is a store transaction: a function's start is committed
// before its code runs, its end (status, outputs or error, logs, chain
// completion, links, tags) in one commit after. Engine commands hold the
// state store's apply lock for their whole run, and functions left running
// by a process that died are marked failed when the next command starts.
//
// Release code runs at the release's commit: from the checkout when HEAD is
// that commit, otherwise from that commit materialized with go-git under
// $OCUROOT_HOME/checkouts.
package engine
