package view_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/internal/storegen"
	"github.com/ocu-team/ocu/lib/store"
	"github.com/ocu-team/ocu/lib/view"
)

// generated returns a handler on a state store written by storegen and an
// empty intent store, opened anew for every request (as ocu-view does when
// its session is older than a few seconds: no link check cached).
func generated(tb testing.TB, packages, releases int) http.Handler {
	tb.Helper()
	dir, intentDir := tb.TempDir(), tb.TempDir()
	if _, err := storegen.Generate(dir, packages, releases); err != nil {
		tb.Fatal(err)
	}
	h, err := view.New(view.Options{Open: func(context.Context) (store.Store, func(), error) {
		state, err := store.OpenFS(dir, store.FSOptions{})
		if err != nil {
			return nil, nil, err
		}
		intent, err := store.OpenFS(intentDir, store.FSOptions{})
		if err != nil {
			state.Close()
			return nil, nil, err
		}
		s := store.NewCombined(state, intent)
		return s, func() { s.Close() }, nil
	}})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// TestGeneratedStore renders the pages of a small store shaped like real
// use.
func TestGeneratedStore(t *testing.T) {
	h := generated(t, 2, 3)
	const pkg = "example/-/svc001/release.ocu.star"
	tests := []struct {
		path     string
		contains []string
	}{
		{"/", []string{
			"<b>2</b> packages", "<b>6</b> releases", "<b>6</b> deployments", "<b>3</b> environments",
			`href="/ref/` + pkg + `/@3"`, `class="badge s-complete">complete`, `href="/ref/@/environment/staging"`,
		}},
		{"/ref/" + pkg, []string{`href="/ref/` + pkg + `/@3"`, `href="/ref/` + pkg + `/@1"`, "Deployments"}},
		{"/ref/" + pkg + "/@2", []string{"Phase test", "deploy dev", "call build", "Happy Helming!"}},
		{"/ref/@/environment/production", []string{"svc000/release.ocu.star", "svc001/release.ocu.star", "https://svc001.example.com"}},
		{"/work", []string{"No function is pending or running."}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := do(h, http.MethodGet, tt.path, nil)
			if got.code != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", tt.path, got.code, got.body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(got.body, s) {
					t.Errorf("GET %s lacks %q", tt.path, s)
				}
			}
		})
	}
}

// BenchmarkPages renders pages of the 90,000-document benchmark store
// (docs/store-format.md §13: 50 packages × 60 releases × 30 documents). The target for
// the index is 300 ms.
func BenchmarkPages(b *testing.B) {
	h := generated(b, 50, 60)
	const pkg = "example/-/svc017/release.ocu.star"
	for _, p := range []struct{ name, path string }{
		{"index", "/"},
		{"package", "/ref/" + pkg},
		{"release", "/ref/" + pkg + "/@60"},
		{"environment", "/ref/@/environment/production"},
		{"deployment", "/ref/" + pkg + "/@/deploy/production"},
	} {
		b.Run(p.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, p.path, nil)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", p.path, rec.Code)
				}
			}
		})
	}
}
