package config

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkLoad measures what every tool pays at start: discovery and the
// evaluation of a typical repo.ocu.star, without git.
func BenchmarkLoad(b *testing.B) {
	root := b.TempDir()
	writeFiles(b, root, map[string]string{
		FileName: v030 + `repo_alias("example")
store.set(store.fs(".store/state"), intent=store.fs(".store/intent"))
`,
		"frontend/x": "",
	})
	dir := filepath.Join(root, "frontend")
	for b.Loop() {
		if _, err := Load(context.Background(), Options{Dir: dir}); err != nil {
			b.Fatal(err)
		}
	}
}
