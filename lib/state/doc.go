// Package state declares the documents Ocuroot's engine keeps in a store and
// the identifiers that name them (docs/engine.md §6).
//
// # Synopsis
//
//	var rel state.Release                       // R/-/F/@N
//	err := state.Decode(doc.Value, &rel)        // a store.Doc's value → the typed document
//	id, err := state.ParseRelease(r)            // R/-/F/@N → {Repo, File, Number}
//	w, err := state.ParseWork(r)                // R/-/F/@N/<type>/<name>[/K[/functions/I]]
//	kind, w := state.Classify(r)                // release, work item, chain, function, logs …
//	fn := w.WithChain(2).WithFn(1).Ref()        // R/-/F/@N/<type>/<name>/2/functions/1
//
// # Description
//
// The document types (Release, Chain, Function, FunctionState, Marker,
// Environment, DeployIntent, RepoConfig, LogLine …) carry their fields in
// the order they are written, so encoding/json gives the bytes of the store
// format; the engine writes them and the view reads them back into the same
// types. Decode converts a document as a store returns it (generic JSON
// values) into one of them, as encoding/json would decode its JSON but
// without printing and parsing it again.
//
// A ReleaseID names a numbered release, a WorkID a work item of a release, one
// of its chains or a function of a chain. Both build ref.Ref values directly
// (Ref, ItemRef, ChainRef, FnRef …); a ref is parsed once, where it enters.
// Release, chain and function numbers are decimal without a leading zero
// (IsNumber); they compare by value (CompareNumbers).
//
// Every value a store holds keeps within MaxNesting levels of arrays and
// objects and is valid UTF-8 (CheckText); a ValueError names the offset
// of what breaks either rule.
//
// The package imports only lib/ref and the standard library.
package state
