package engine

import (
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// parseWorkRef parses the ref of a work item, chain or function.
func parseWorkRef(s string) (state.WorkID, error) {
	r, err := ref.Parse(s)
	if err != nil {
		return state.WorkID{}, err
	}
	return state.ParseWork(r)
}

// parseRelease parses R/-/F/@N.
func parseRelease(s string) (state.ReleaseID, error) {
	r, err := ref.Parse(s)
	if err != nil {
		return state.ReleaseID{}, err
	}
	return state.ParseRelease(r)
}
