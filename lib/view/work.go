package view

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ocu-team/ocu/internal/fanout"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/state"
)

// maxWorkRows bounds the functions listed on /work.
const maxWorkRows = 500

// workData is the content of /work.
type workData struct {
	Functions []workRow
	More      int
}

// workRow is a pending or running function and what it waits for.
type workRow struct {
	Ref     string // the function
	Release string // R/-/F/@N
	File    string
	Number  string
	Item    string // "deploy/staging"
	Chain   string
	Name    string // function name
	Status  string
	Since   time.Time
	Waiting []string
}

// workPage answers /work: the functions pending or running, in every
// release, and for each pending one the inputs and dependencies it still
// waits for.
func (rq *request) workPage() {
	rd := rq.rd
	refs, err := rq.openMarkers()
	if err != nil {
		rq.storeFailure("functions", err)
		return
	}
	m := markers{}
	m.collect(refs)
	owners := slices.Sorted(maps.Keys(m))
	slices.SortFunc(owners, naturalCompare)
	data := workData{}
	if len(owners) > maxWorkRows {
		data.More = len(owners) - maxWorkRows
		owners = owners[:maxWorkRows]
	}
	rows := make([]workRow, len(owners))
	fanout.Each(len(owners), readWorkers, func(i int) {
		fn := owners[i]
		var doc state.Function
		rd.decode(fn, &doc)
		f := rd.functionView(m, fn, doc, true)
		row := workRow{Ref: fn, Name: f.Name, Status: f.Status, Waiting: f.Waiting}
		if n := len(f.History); n > 0 {
			row.Since = f.History[n-1].Time
		}
		if r, err := ref.Parse(fn); err == nil {
			row.Release = r.ReleaseLevel().String()
			row.File, row.Number = r.File, r.Release
			parts := strings.Split(r.Subpath, "/")
			row.Item = r.Type + "/" + parts[0]
			if len(parts) > 1 {
				row.Chain = row.Release + "/" + row.Item + "/" + parts[1]
			}
		}
		rows[i] = row
	})
	data.Functions = rows
	rq.render(http.StatusOK, "work", page{Title: "Work", Live: len(rows) > 0, Data: data})
}
