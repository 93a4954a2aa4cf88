package store_test

import (
	"testing"

	"github.com/ocu-team/ocu/lib/store"
)

// TestReleaseFolder: the one definition of a release folder, shared by the
// change log, the git tree diff, MatchSkipping and the open-work index.
func TestKeptLinkFolder(t *testing.T) {
	for in, want := range map[string]bool{
		"example/-/app.ocu.star/@/call":                  true,
		"example/-/app.ocu.star/@/deploy/production/3":   true,
		"github.com/org/repo/-/a/b/app.ocu.star/@/call":  true,
		"example/-/app.ocu.star/@/call/build":            false, // below a kept folder: never reached
		"example/-/app.ocu.star/@":                       false,
		"example/-/app.ocu.star/@/deploy":                false,
		"example/-/app.ocu.star/@/deploy/production":     false, // the current deployment's link
		"example/-/app.ocu.star/@/deploy/production/3/x": false,
		"example/-/app.ocu.star/@/custom/call":           false,
		"example/-/app.ocu.star/@/commit":                false,
		"example/-/app.ocu.star/@/task":                  false,
		"example/-/app.ocu.star/@3/call":                 false,
		"example/-/app.ocu.star/@3/deploy/production/1":  false,
		"example/-/app.ocu.star/+/deploy/production/1":   false,
		"@/call":                false,
		"@/deploy/production/1": false,
	} {
		if got := store.KeptLinkFolder(in); got != want {
			t.Errorf("KeptLinkFolder(%q) = %v, want %v", in, got, want)
		}
	}
}

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
