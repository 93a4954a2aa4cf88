// Package ref parses and prints Ocuroot refs, the names of the JSON
// documents of a store (docs/refs.md).
//
// # Synopsis
//
//	local:   [REPO/-/]FILE[/MARKER VALUE][/TYPE/SUBPATH][#FRAGMENT]
//	global:  MARKER VALUE[/TYPE/SUBPATH][#FRAGMENT]
//	MARKER:  @ (state) or + (intent)
//
//	r, err := ref.ParseTool("example/-/frontend/release.ocu.star/@1/call/build#output/image")
//	abs, err := r.Resolve(base)  // relative refs: "./call/build", "frontend/@"
//	path := abs.Doc().String()   // canonical form = path below the store's refs/
//
// # Description
//
// [Parse] validates a ref and returns its model, [Ref]. Validation is strict
// because the canonical print of a ref without fragment ([Ref.String] of
// [Ref.Doc]) is also the relative path of its document in the store: no
// empty, "." or ".." segments, no white space, controls or backslashes, no
// glob metacharacters, at most 4000 bytes in all and 255 per segment.
// Printing is canonical: "example/-" prints "example/-/", one trailing '/'
// and an empty fragment are dropped, so two refs name the same thing exactly
// when their models are equal.
//
// The empty string parses to the zero Ref without error (a JSON field may
// hold ""); tools use [ParseTool], which refuses it. Errors are [*Error]
// values carrying a [Class] (E_BAD_CHAR, E_SEPARATOR, …) and the reason text
// tools print after `invalid ref "<input>": `.
//
// A ref is relative when it is not global and its repo is empty or "." or
// its file is "." ("./call/build", "./-/backend/release.ocu.star",
// "frontend/release.ocu.star/@1"); [Ref.Resolve] completes it from a base
// ref, R/-/ for tool arguments and R/-/F/@N inside a package.
//
// Legacy refs are accepted and printed verbatim: task/… subpaths, legacy
// release ids ("@<commit>.<n>", ULIDs) and the root links "@" and "+".
//
// # Globs
//
// Globs are not refs: [CompileGlob] compiles a pattern matched against
// canonical ref strings ('/' is the separator, "**" crosses it) and
// [GlobLiteralPrefix] gives the subtree a store walk may be limited to.
// A ref given where a glob is expected cannot contain glob characters
// (E_GLOB_CHAR) and a glob cannot contain a fragment.
package ref
