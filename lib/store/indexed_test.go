package store_test

import (
	"testing"

	"github.com/ocu-team/ocu/lib/store"
)

// TestReleaseFolder: the one definition of a release folder, shared by the
// change log, the git tree diff, MatchSkipping and the open-work index.
func TestReleaseFolder(t *testing.T) {
	for in, want := range map[string]string{
		"example/-/app.ocu.star/@3":                              "example/-/app.ocu.star/@3",
		"example/-/app.ocu.star/@3/call/build/1/status/complete": "example/-/app.ocu.star/@3",
		"example/-/app.ocu.star/@3/custom/@x":                    "example/-/app.ocu.star/@3",
		"example/-/a/b/app.ocu.star/@abc.1/commit/abc":           "example/-/a/b/app.ocu.star/@abc.1",
		"github.com/org/repo/-/app.ocu.star/@10/custom/x":        "github.com/org/repo/-/app.ocu.star/@10",
		"example/-/app.ocu.star/@/deploy/production":             "",
		"example/-/app.ocu.star/+3/custom/approval":              "",
		"example/-/app.ocu.star/+/deploy/production":             "",
		"@/environment/production":                               "",
		"@/custom/@x/y":                                          "",
	} {
		if got := store.ReleaseFolder(in); got != want {
			t.Errorf("ReleaseFolder(%q) = %q, want %q", in, got, want)
		}
	}
}
