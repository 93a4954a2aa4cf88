//go:build unix

package store

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// catFileAll returns every object of the repository in dir as git reads it.
func catFileAll(t *testing.T, dir string) map[plumbing.Hash]cachedObject {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	objs := map[plumbing.Hash]cachedObject{}
	rd := bufio.NewReader(bytes.NewReader(out))
	for {
		head, err := rd.ReadString('\n')
		if err == io.EOF {
			return objs
		}
		f := strings.Fields(head)
		if err != nil || len(f) != 3 {
			t.Fatalf("cat-file header %q: %v", head, err)
		}
		n, _ := strconv.Atoi(f[2])
		data := make([]byte, n+1)
		if _, err := io.ReadFull(rd, data); err != nil {
			t.Fatal(err)
		}
		typ, _ := plumbing.ParseObjectType(f[1])
		objs[plumbing.NewHash(f[0])] = cachedObject{typ, data[:n]}
	}
}

// TestObjectReader reads every object of repositories packed by git in
// different ways (loose, offset deltas, ref deltas) and compares with git.
func TestObjectReader(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	tests := []struct {
		name   string
		repack []string
	}{
		{"loose", nil},
		{"offset deltas", []string{"repack", "-adfq", "--depth=50", "--window=50"}},
		{"ref deltas", []string{"-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq", "--depth=50", "--window=50"}},
		{"two packs and loose", []string{"repack", "-dq"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			runGit(t, "", "init", "-q", dir)
			for i := range 30 {
				var doc strings.Builder
				for j := range 200 {
					fmt.Fprintf(&doc, "line %d of a document that changes a little: %d\n", j, i*j%7)
				}
				p := filepath.Join(dir, "refs", fmt.Sprintf("d%d", i%5), "@object.json")
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(doc.String()), 0o644)
				runGit(t, dir, "add", "-A")
				runGit(t, dir, "commit", "-qm", fmt.Sprint(i))
				if i == 15 && tt.name == "two packs and loose" {
					runGit(t, dir, "repack", "-adq")
				}
			}
			if tt.repack != nil {
				runGit(t, dir, tt.repack...)
			}
			if tt.name == "two packs and loose" {
				os.WriteFile(filepath.Join(dir, "late"), []byte("late"), 0o644)
				runGit(t, dir, "add", "-A")
				runGit(t, dir, "commit", "-qm", "late")
			}
			want := catFileAll(t, filepath.Join(dir, ".git"))
			r := newObjectReader(filepath.Join(dir, ".git", "objects"))
			defer r.close()
			for h, w := range want {
				typ, data, err := r.read(h)
				if err != nil {
					t.Fatalf("%s: %v", h, err)
				}
				if typ != w.typ || !bytes.Equal(data, w.data) {
					t.Fatalf("%s: got %s %q, want %s %q", h, typ, data, w.typ, w.data)
				}
				if !r.has(h) {
					t.Errorf("has(%s) = false", h)
				}
			}
			missing := plumbing.NewHash(strings.Repeat("ab", 20))
			if _, _, err := r.read(missing); err != errNoGitObject || r.has(missing) {
				t.Errorf("missing object: %v", err)
			}
		})
	}
}

func TestTreeEncoding(t *testing.T) {
	h := plumbing.NewHash(strings.Repeat("12", 20))
	entries := []gitEntry{
		{name: "a.b", mode: modeBlob, hash: h},
		{name: "a", mode: modeTree, hash: h}, // sorts as "a/", after "a.b"
		{name: "a-", mode: modeBlob, hash: h},
		{name: "@object.json", mode: modeBlob, hash: h},
		{name: "@1", mode: modeTree, hash: h},
	}
	got, err := parseTree(encodeTree(entries))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, fmt.Sprintf("%o %s", e.mode, e.name))
	}
	want := []string{"40000 @1", "100644 @object.json", "100644 a-", "100644 a.b", "40000 a"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
