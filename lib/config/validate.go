package config

import (
	"fmt"
	"regexp"
)

// releaseValue is a valid release value (docs/refs.md §3 step 9).
var releaseValue = regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9._-]*)?$`)

// validateCommit reports whether h can be used as the commit H: a non-empty
// valid release value.
func validateCommit(h string) error {
	if h == "" || !releaseValue.MatchString(h) || h == "object.json" {
		return fmt.Errorf(`invalid commit %q (a commit id is made of letters, digits, "_", "." and "-" and does not start with "." or "-")`, h)
	}
	return nil
}
