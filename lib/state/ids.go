package state

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
)

// IsNumber reports whether s is a release, chain or function number: decimal
// digits without a leading zero.
func IsNumber(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CompareNumbers orders numbers (see IsNumber) by value.
func CompareNumbers(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

// number converts a number (see IsNumber) to an int; ok false for anything
// else, numbers too large for an int included.
func number(s string) (int, bool) {
	if !IsNumber(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// ReleaseID names a numbered release, R/-/F/@N. A ReleaseID without Number
// names the package R/-/F (see WorkID.CurrentRef).
type ReleaseID struct {
	Repo, File, Number string
}

// Ref returns R/-/F/@N.
func (r ReleaseID) Ref() ref.Ref {
	return ref.Ref{Repo: r.Repo, File: r.File, Marker: ref.State, Release: r.Number}
}

func (r ReleaseID) String() string { return r.Ref().String() }

// Package returns the ref of the release's package, R/-/F.
func (r ReleaseID) Package() ref.Ref { return ref.Ref{Repo: r.Repo, File: r.File} }

// CommitRef returns the release's commit marker, R/-/F/@N/commit/H.
func (r ReleaseID) CommitRef(h string) ref.Ref { return r.sub(ref.TypeCommit, h) }

// CheckEnvsRef returns the release's check_envs task, R/-/F/@N/task/check_envs.
func (r ReleaseID) CheckEnvsRef() ref.Ref { return r.sub(ref.TypeTask, "check_envs") }

func (r ReleaseID) sub(typ, subpath string) ref.Ref {
	x := r.Ref()
	x.Type, x.Subpath = typ, subpath
	return x
}

// Work returns the ID of work item <typ>/<name> of the release.
func (r ReleaseID) Work(typ, name string) WorkID {
	return WorkID{Release: r, Type: typ, Name: name}
}

// ParseRelease returns the ID of r when r names a numbered release exactly
// (R/-/F/@N, no subpath).
func ParseRelease(r ref.Ref) (ReleaseID, error) {
	if r.Global || r.Marker != ref.State || !IsNumber(r.Release) || r.Type != "" {
		return ReleaseID{}, fmt.Errorf("%s is not a numbered release", r)
	}
	return ReleaseID{Repo: r.Repo, File: r.File, Number: r.Release}, nil
}

// WorkID names a work item of a release, R/-/F/@N/<type>/<name>, one of its
// chains (Chain K > 0) or a function of a chain (Fn I > 0).
type WorkID struct {
	Release ReleaseID
	Type    string // ref.TypeCall or ref.TypeDeploy
	Name    string // the call's name or the deploy's environment
	Chain   int    // K; 0 names the work item
	Fn      int    // I; 0 names the chain
}

// WithChain returns the ID of chain k of the work item.
func (w WorkID) WithChain(k int) WorkID { w.Chain, w.Fn = k, 0; return w }

// WithFn returns the ID of function i of the chain.
func (w WorkID) WithFn(i int) WorkID { w.Fn = i; return w }

// Item returns the ID of the work item itself.
func (w WorkID) Item() WorkID { return w.WithChain(0) }

// Ref returns the ref w names: a function, else a chain, else the work item.
func (w WorkID) Ref() ref.Ref {
	switch {
	case w.Fn > 0:
		return w.FnRef()
	case w.Chain > 0:
		return w.ChainRef()
	}
	return w.ItemRef()
}

func (w WorkID) String() string { return w.Ref().String() }

// ItemRef returns R/-/F/@N/<type>/<name>.
func (w WorkID) ItemRef() ref.Ref {
	r := w.Release.Ref()
	r.Type, r.Subpath = w.Type, w.Name
	return r
}

// ChainRef returns R/-/F/@N/<type>/<name>/K.
func (w WorkID) ChainRef() ref.Ref { return w.sub(strconv.Itoa(w.Chain)) }

// LogsRef returns the chain's logs, R/-/F/@N/<type>/<name>/K/logs.
func (w WorkID) LogsRef() ref.Ref { return w.sub(strconv.Itoa(w.Chain) + "/logs") }

// FnRef returns R/-/F/@N/<type>/<name>/K/functions/I.
func (w WorkID) FnRef() ref.Ref {
	return w.sub(strconv.Itoa(w.Chain) + "/functions/" + strconv.Itoa(w.Fn))
}

func (w WorkID) sub(path string) ref.Ref {
	r := w.ItemRef()
	r.Subpath += "/" + path
	return r
}

// StatusRef returns the status marker s of what w names: R/-/F/@N/<type>/<name>[/K[/functions/I]]/status/s.
func (w WorkID) StatusRef(s string) ref.Ref {
	r := w.Ref()
	r.Subpath += "/status/" + s
	return r
}

// CurrentRef returns the work item's link under the current release,
// R/-/F/@/<type>/<name>.
func (w WorkID) CurrentRef() ref.Ref {
	r := w.Release.Ref()
	r.Release, r.Type, r.Subpath = "", w.Type, w.Name
	return r
}

// CurrentChainRef returns the link to chain K under the current release,
// R/-/F/@/<type>/<name>/K.
func (w WorkID) CurrentChainRef() ref.Ref {
	r := w.CurrentRef()
	r.Subpath += "/" + strconv.Itoa(w.Chain)
	return r
}

// IntentRef returns the deploy intent of the item, R/-/F/+/deploy/<name>.
func (w WorkID) IntentRef() ref.Ref {
	return ref.Ref{Repo: w.Release.Repo, File: w.Release.File, Marker: ref.Intent, Type: ref.TypeDeploy, Subpath: w.Name}
}

// ParseWork returns the ID of the work item, chain or function r names.
func ParseWork(r ref.Ref) (WorkID, error) {
	switch k, w := Classify(r); k {
	case KindWorkItem, KindChain, KindFunction:
		return w, nil
	}
	return WorkID{}, fmt.Errorf("%s is not work of a release", r)
}

// Kind is what a ref names, as far as the engine's documents go.
type Kind int

// Kinds of refs.
const (
	KindOther       Kind = iota
	KindPackage          // R/-/F
	KindRelease          // R/-/F/@N
	KindEnvironment      // @/environment/E
	KindWorkItem         // R/-/F/@N/<type>/<name>
	KindChain            // …/<name>/K
	KindFunction         // …/<name>/K/functions/I
	KindLogs             // …/<name>/K/logs
)

// Classify says what r names, its fragment aside, and for a work item,
// chain, function or logs which one.
func Classify(r ref.Ref) (Kind, WorkID) {
	switch {
	case r.Global:
		if r.Marker == ref.State && r.Type == ref.TypeEnvironment && !strings.Contains(r.Subpath, "/") {
			return KindEnvironment, WorkID{}
		}
		return KindOther, WorkID{}
	case r.Marker == ref.NoMarker && r.Type == "" && r.File != "":
		return KindPackage, WorkID{}
	case r.Marker != ref.State || !IsNumber(r.Release):
		return KindOther, WorkID{}
	case r.Type == "":
		return KindRelease, WorkID{}
	case r.Type != ref.TypeCall && r.Type != ref.TypeDeploy:
		return KindOther, WorkID{}
	}
	w := WorkID{Release: ReleaseID{Repo: r.Repo, File: r.File, Number: r.Release}, Type: r.Type}
	name, rest, more := strings.Cut(r.Subpath, "/")
	w.Name = name
	if !more {
		return KindWorkItem, w
	}
	k, rest, more := strings.Cut(rest, "/")
	var ok bool
	if w.Chain, ok = number(k); !ok {
		return KindOther, WorkID{}
	}
	switch {
	case !more:
		return KindChain, w
	case rest == "logs":
		return KindLogs, w
	}
	if i, ok := strings.CutPrefix(rest, "functions/"); ok {
		if w.Fn, ok = number(i); ok {
			return KindFunction, w
		}
	}
	return KindOther, WorkID{}
}
