// Package viewtest writes a small Ocuroot state by hand for the tests of the
// web view: a frontend and a backend package deployed to staging and production, with the documents
// the engine writes for a release (docs/engine.md §6) — releases, chains,
// functions with inputs, outputs, errors and status markers, logs, the
// links R/-/F/@/deploy/E and R/-/F/@/call/C, deploy intents — plus a failed
// deploy, a paused release, a running one and custom state.
//
// Write records everything in one transaction on any store, so the same
// scenario serves a filesystem store in a temporary folder and a combined
// state and intent store.
package viewtest
