// Package storegen writes synthetic Ocuroot stores shaped like real use, for benchmarks.
//
// Generate writes a filesystem store (docs/store-format.md §2, §3) directly, without the
// store library: repo "example" with packages example/-/svcNNN/release.ocu.star,
// each with numbered releases. A release holds 30 documents: the Release
// document, its commit marker, and for each of its four work items (call
// build, deploy staging, deploy dev, deploy production) the work copy, the
// work status marker, chain 1, its status marker, function 1, its status
// marker and the chain's logs (docs/engine.md §6). Every package also gets the
// links the engine keeps (docs/store-format.md §5.4) to the chains of its latest release:
// @/call/build, @/call/build/1, @/deploy/E and @/deploy/E/1, with the
// back-references listed in the targets' "links" field.
//
// The output is deterministic: the same parameters give the same bytes.
package storegen
