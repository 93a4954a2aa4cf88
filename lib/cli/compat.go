package cli

import (
	"flag"
	"path"
)

// RefFlags are the --package and --release options of the ocuroot state
// and release verbs, kept from the original client: when a verb is given no
// REF argument they name one, PACKAGE/@RELEASE, relative to the repo like a
// REF argument (see docs/refs.md). A REF argument wins over them.
type RefFlags struct {
	Package string
	Release string
}

// Register adds --package and --release to fs.
func (r *RefFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&r.Package, "package", "", "without a REF argument: the package `PATH` of the REF (default: the repo root)")
	fs.StringVar(&r.Release, "release", "", "without a REF argument: the release `ID` or tag of the REF")
}

// Given reports whether either option was given a value.
func (r RefFlags) Given() bool { return r.Package != "" || r.Release != "" }

// Path is the package path, cleaned ("./a//b.ocu.star" is
// "a/b.ocu.star"); "." when none is given.
func (r RefFlags) Path() string {
	if r.Package == "" {
		return "."
	}
	return path.Clean(r.Package)
}

// Ref is the ref the options name: PATH/@RELEASE.
func (r RefFlags) Ref() string { return r.Path() + "/@" + r.Release }

// Logmode adds -l/--logmode, the original client's switch for plain log
// lines instead of its terminal interface. It is accepted and changes
// nothing: ocu always prints plain lines.
func Logmode(fs *flag.FlagSet) {
	var on bool
	for _, name := range []string{"l", "logmode"} {
		fs.BoolVar(&on, name, false, "accepted for compatibility: progress is always printed as plain lines")
	}
}
