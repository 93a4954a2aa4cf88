package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSelectIDs(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"apply"}, []string{"apply"}},
		// git-apply's reference is the folder store's apply: selected with it.
		{[]string{"git-apply"}, []string{"apply", "git-apply"}},
		{[]string{"git"}, []string{"apply", "git-apply", "git-commit", "git-get", "git-write"}},
		{[]string{"view"}, []string{"view-index", "view-work"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ids, err := selectIDs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for id := range ids {
				got = append(got, id)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("selectIDs(%q) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
	if _, err := selectIDs([]string{"nothing"}); err == nil {
		t.Error("selectIDs(nothing): no error")
	}
}

// TestCasesAtSize: the cases whose cost follows the history run at every
// size of -size, the others at the first only.
func TestCasesAtSize(t *testing.T) {
	all := makeCases("", shape{1, 1}, "", "")
	ids, err := selectIDs(nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := func(cases []*benchCase) []string {
		var out []string
		for _, c := range cases {
			out = append(out, c.id+" "+c.size)
		}
		return out
	}
	wantFirst := []string{"prefix folder 90k", "scan folder 90k", "pipeline folder 90k", "get folder 90k", "set folder 90k",
		"batch folder 90k", "batch-tmpfs folder on tmpfs", "apply folder 90k", "view-index folder 90k", "view-work folder 90k",
		"release new folder"}
	if diff := cmp.Diff(wantFirst, rows(casesAtSize(all, ids, true, namedSizes[0]))); diff != "" {
		t.Errorf("first size (-want +got):\n%s", diff)
	}
	wantLater := []string{"prefix folder 1m", "scan folder 1m", "get folder 1m", "apply folder 1m", "view-index folder 1m", "view-work folder 1m"}
	if diff := cmp.Diff(wantLater, rows(casesAtSize(all, ids, false, namedSizes[1]))); diff != "" {
		t.Errorf("later sizes (-want +got):\n%s", diff)
	}
}

func TestResolveReference(t *testing.T) {
	at90k, at1m := shape{50, 60}, shape{550, 60}
	apply90k := &benchCase{id: "apply", size: "folder 90k", shape: at90k, ocuMedian: 700 * time.Millisecond}
	apply1m := &benchCase{id: "apply", size: "folder 1m", shape: at1m, ocuMedian: 9 * time.Second}
	failed := &benchCase{id: "apply", size: "folder 90k", shape: at90k, ocuErr: errors.New("boom")}
	tests := []struct {
		name     string
		done     []*benchCase
		shape    shape
		want     time.Duration
		wantFrom string
		wantErr  string
	}{
		{"same shape", []*benchCase{apply90k, apply1m}, at90k, 700 * time.Millisecond, "folder 90k", ""},
		{"the other size", []*benchCase{apply90k, apply1m}, at1m, 9 * time.Second, "folder 1m", ""},
		{"no row of that shape", []*benchCase{apply1m}, at90k, 0, "", "no apply case on a store of 90k in this run"},
		{"the reference failed", []*benchCase{failed}, at90k, 0, "", "its reference, the apply case (folder 90k), failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &benchCase{id: "git-apply", refCase: "apply", shape: tt.shape}
			resolveReference(c, tt.done)
			gotErr := ""
			if c.refErr != nil {
				gotErr = c.refErr.Error()
			}
			if gotErr != tt.wantErr || c.refMedian != tt.want || c.refFrom != tt.wantFrom {
				t.Errorf("got %v from %q, error %q; want %v from %q, error %q", c.refMedian, c.refFrom, gotErr, tt.want, tt.wantFrom, tt.wantErr)
			}
		})
	}
}

// TestFormatReportReferenceRow: a row whose reference is another case's
// names it, and its ratio and target are taken against that case's median.
func TestFormatReportReferenceRow(t *testing.T) {
	apply := &benchCase{id: "apply", name: "`ocu-apply` with nothing to do", size: "folder 90k", refNote: "scan",
		ocuMedian: 100 * time.Millisecond, refMedian: 500 * time.Millisecond}
	tests := []struct {
		name string
		git  time.Duration
		want string
	}{
		{"within", 150 * time.Millisecond, "| git apply | git 90k | 150.0 ms | 100.0 ms (apply, folder 90k) | 1.50× | ≤ 2.0× reference | yes |"},
		{"over", 250 * time.Millisecond, "| git apply | git 90k | 250.0 ms | 100.0 ms (apply, folder 90k) | 2.50× | ≤ 2.0× reference | over target |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			git := &benchCase{id: "git-apply", name: "git apply", size: "git 90k", shape: shape{50, 60}, refCase: "apply",
				refNote: "the apply row", maxRatio: 2, ocuMedian: tt.git}
			apply.shape = git.shape
			resolveReference(git, []*benchCase{apply})
			report := formatReport([]*benchCase{apply, git}, "stores", 7)
			if !strings.Contains(report, tt.want+"\n") {
				t.Errorf("report lacks %q:\n%s", tt.want, report)
			}
		})
	}
}

func TestShapeLabel(t *testing.T) {
	for sh, want := range map[shape]string{{50, 60}: "90k", {550, 60}: "1m", {50, 34}: "50×34"} {
		if got := shapeLabel(sh); got != want {
			t.Errorf("shapeLabel(%v) = %q, want %q", sh, got, want)
		}
	}
}
