package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ocu-team/ocu/lib/ref"
)

// workRef names a work item of a release, or one of its chains, or a
// function of a chain: R/-/F/@N/<typ>/<name>[/K[/functions/I]].
type workRef struct {
	repo, file, release string // release: the number N
	typ, name           string // "call" or "deploy"; call name or environment
	chain               int    // K; 0 names the work item
	fn                  int    // I; 0 names the chain
}

func (w workRef) releaseRef() string { return w.repo + "/-/" + w.file + "/@" + w.release }
func (w workRef) item() string       { return w.releaseRef() + "/" + w.typ + "/" + w.name }
func (w workRef) chainRef() string   { return w.item() + "/" + strconv.Itoa(w.chain) }
func (w workRef) fnRef() string      { return w.chainRef() + "/functions/" + strconv.Itoa(w.fn) }

// current is the work item's ref under the current release: R/-/F/@/<typ>/<name>.
func (w workRef) current() string {
	return w.repo + "/-/" + w.file + "/@/" + w.typ + "/" + w.name
}

// intent is the deploy intent of the item: R/-/F/+/deploy/E.
func (w workRef) intent() string { return w.repo + "/-/" + w.file + "/+/deploy/" + w.name }

func (w workRef) withChain(k int) workRef { w.chain, w.fn = k, 0; return w }
func (w workRef) withFn(i int) workRef    { w.fn = i; return w }

// parseWorkRef parses the ref of a work item, chain or function.
func parseWorkRef(s string) (workRef, error) {
	r, err := ref.Parse(s)
	if err != nil {
		return workRef{}, err
	}
	if r.Global || r.Marker != ref.State || !r.IsNumbered() || (r.Type != ref.TypeCall && r.Type != ref.TypeDeploy) {
		return workRef{}, fmt.Errorf("%s is not work of a release", s)
	}
	w := workRef{repo: r.Repo, file: r.File, release: r.Release, typ: r.Type}
	segs := strings.Split(r.Subpath, "/")
	w.name = segs[0]
	num := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n > 0 && strconv.Itoa(n) == s
	}
	ok := true
	switch len(segs) {
	case 1:
	case 2:
		w.chain, ok = num(segs[1])
	case 4:
		w.chain, ok = num(segs[1])
		var ok2 bool
		w.fn, ok2 = num(segs[3])
		ok = ok && ok2 && segs[2] == "functions"
	default:
		ok = false
	}
	if !ok {
		return workRef{}, fmt.Errorf("%s is not work of a release", s)
	}
	return w, nil
}

// releaseID names a release: R/-/F/@N.
type releaseID struct {
	repo, file, number string
}

func (r releaseID) String() string { return r.repo + "/-/" + r.file + "/@" + r.number }

// parseRelease parses R/-/F/@N.
func parseRelease(s string) (releaseID, error) {
	r, err := ref.Parse(s)
	if err != nil {
		return releaseID{}, err
	}
	if r.Global || r.Marker != ref.State || !r.IsNumbered() || r.Type != "" {
		return releaseID{}, fmt.Errorf("%s is not a numbered release", s)
	}
	return releaseID{repo: r.Repo, file: r.File, number: r.Release}, nil
}
