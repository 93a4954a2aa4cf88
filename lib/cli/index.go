package cli

import (
	"flag"
	"time"

	"github.com/ocu-team/ocu/lib/openwork"
)

// IndexFlags are the flags of the open-work index (docs/open-work.md §6).
type IndexFlags struct {
	rescan bool
	maxAge time.Duration
}

// Register adds --rescan and --index-max-age to fs.
func (f *IndexFlags) Register(fs *flag.FlagSet) {
	fs.BoolVar(&f.rescan, "rescan", false, "walk every release of the state store, not only the open ones")
	fs.DurationVar(&f.maxAge, "index-max-age", openwork.DefaultMaxAge, "on a folder store, walk every release when the last full walk is older than `DURATION` (0: on every run)")
}

// Options returns the index options the flags set. A maximum age of 0 (or
// less) trusts the index for no time at all; openwork.Options takes 0 as
// its default instead.
func (f *IndexFlags) Options() openwork.Options {
	maxAge := f.maxAge
	if maxAge <= 0 {
		maxAge = time.Nanosecond
	}
	return openwork.Options{Rescan: f.rescan, MaxAge: maxAge}
}
