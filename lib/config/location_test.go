package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseLocation(t *testing.T) {
	const dir = "/work/dir"
	tests := []struct {
		in      string
		want    Location
		str     string // String(); empty = in
		wantErr string
	}{
		{in: "/abs/store", want: fsLoc("/abs/store")},
		{in: "/abs/store/", want: fsLoc("/abs/store"), str: "/abs/store"},
		{in: ".store/state", want: fsLoc("/work/dir/.store/state"), str: "/work/dir/.store/state"},
		{in: "../up/./x", want: fsLoc("/work/up/x"), str: "/work/up/x"},
		{in: ".", want: fsLoc("/work/dir"), str: "/work/dir"},
		{
			in:   "git+https://github.com/org/state.git",
			want: Location{Kind: KindGit, URL: "https://github.com/org/state.git", Remote: "https://github.com/org/state.git", CreateBranch: true},
		},
		{
			in:   "git+https://github.com/org/state.git#state",
			want: Location{Kind: KindGit, URL: "https://github.com/org/state.git", Remote: "https://github.com/org/state.git", Branch: "state", CreateBranch: true},
		},
		{
			in:   "git+https://x-access-token:SECRET@github.com/org/state.git/#feature/x",
			want: Location{Kind: KindGit, URL: "https://github.com/org/state.git", Remote: "https://x-access-token:SECRET@github.com/org/state.git/", Branch: "feature/x", CreateBranch: true},
			str:  "git+https://***@github.com/org/state.git/#feature/x",
		},
		{
			in:   "git+HTTP://user@Example.com:8080/x",
			want: Location{Kind: KindGit, URL: "HTTP://Example.com:8080/x", Remote: "HTTP://user@Example.com:8080/x", CreateBranch: true},
			str:  "git+HTTP://***@Example.com:8080/x",
		},
		{
			in:   "git+ssh://git@git.example.com:2222/team/app.git",
			want: Location{Kind: KindGit, URL: "ssh://git.example.com:2222/team/app.git", Remote: "ssh://git@git.example.com:2222/team/app.git", CreateBranch: true},
			str:  "git+ssh://***@git.example.com:2222/team/app.git",
		},
		{
			in:   "git+git@github.com:org/state.git#state",
			want: Location{Kind: KindGit, URL: "github.com:org/state.git", Remote: "git@github.com:org/state.git", Branch: "state", CreateBranch: true},
			str:  "git+***@github.com:org/state.git#state",
		},
		{
			in:   "git+file:///srv/git/state.git/",
			want: Location{Kind: KindGit, URL: "file:///srv/git/state.git", Remote: "file:///srv/git/state.git/", CreateBranch: true},
		},
		{
			in:   "git+../remotes/state.git#state",
			want: Location{Kind: KindGit, URL: "/work/remotes/state.git", Remote: "/work/remotes/state.git", Branch: "state", CreateBranch: true},
			str:  "git+/work/remotes/state.git#state",
		},
		{
			in:   "git+/srv/state.git/",
			want: Location{Kind: KindGit, URL: "/srv/state.git", Remote: "/srv/state.git", CreateBranch: true},
			str:  "git+/srv/state.git",
		},
		{in: "", wantErr: "empty store location"},
		{in: "git+", wantErr: `store location "git+": empty git URL`},
		{in: "git+#main", wantErr: `store location "git+#main": empty git URL`},
		{in: "git+https://h/x#", wantErr: `store location "git+https://h/x#": empty branch after #`},
		{in: "git+https://u:pw@h/x#a b", wantErr: `store location "git+https://***@h/x#a b": invalid branch name "a b"`},
		{in: "git+ftp://u:pw@h/x", wantErr: `store location "git+ftp://***@h/x": unsupported git URL scheme "ftp" (use https://, http://, ssh://, file://, user@host:path or a local path)`},
		{in: "git+https://h/x y", wantErr: `store location "git+https://h/x y": invalid git URL "https://h/x y": white space or control character`},
		{in: "git+https:///x", wantErr: `store location "git+https:///x": invalid git URL "https:///x": no host`},
		{in: "git+http://u:pw@[::1/x", wantErr: `store location "git+http://***@[::1/x": invalid git URL "http://***@[::1/x": missing ']' in host`},
		{in: "git+https://h:port/x", wantErr: `store location "git+https://h:port/x": invalid git URL "https://h:port/x": invalid port ":port" after host`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLocation(tt.in, dir)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			wantStr := tt.str
			if wantStr == "" {
				wantStr = tt.in
			}
			if got.String() != wantStr {
				t.Errorf("String() = %q, want %q", got.String(), wantStr)
			}
			// A location string parses back to the same store.
			if again, err := ParseLocation(got.String(), dir); err == nil && got.URL == "" && !again.Same(got) {
				t.Errorf("String() %q does not parse back to the same store", got.String())
			}
		})
	}
}

func TestSame(t *testing.T) {
	base := tempDir(t)
	real := mkdir(t, base, "real/store")
	if err := os.Symlink(filepath.Join(base, "real"), filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	git := func(url, branch string) Location {
		l, err := ParseLocation("git+"+url+branch, base)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		name string
		a, b Location
		want bool
	}{
		{"same path", fsLoc(real), fsLoc(real), true},
		{"cleaned", fsLoc(real), mustParse(t, real+"/./", base), true},
		{"relative and absolute", mustParse(t, "real/store", base), fsLoc(real), true},
		{"symlink", fsLoc(filepath.Join(base, "link/store")), fsLoc(real), true},
		{"symlink, missing below", fsLoc(filepath.Join(base, "link/store/missing/x")), fsLoc(filepath.Join(real, "missing/x")), true},
		{"different paths", fsLoc(real), fsLoc(filepath.Join(base, "real")), false},
		{"missing paths, cleaned", fsLoc("/nonexistent/a"), fsLoc("/nonexistent/x/../a/"), true},
		{"missing paths, different", fsLoc("/nonexistent/a"), fsLoc("/nonexistent/b"), false},
		{"git same", git("https://github.com/o/r.git", "#state"), git("https://github.com/o/r.git", "#state"), true},
		{"git credentials ignored", git("https://tok:x@github.com/o/r.git/", "#state"), git("https://github.com/o/r.git", "#state"), true},
		{"git other branch", git("https://github.com/o/r.git", "#state"), git("https://github.com/o/r.git", "#intent"), false},
		{"git default branch differs from named", git("https://github.com/o/r.git", ""), git("https://github.com/o/r.git", "#main"), false},
		{"git other URL", git("https://github.com/o/r.git", ""), git("https://github.com/o/r", ""), false},
		{"git local relative and absolute", git("remote.git", ""), git(filepath.Join(base, "remote.git"), ""), true},
		{"fs and git", fsLoc(real), git(real, ""), false},
		{"zero", Location{}, Location{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Same(tt.b); got != tt.want {
				t.Errorf("Same = %v, want %v", got, tt.want)
			}
			if got := tt.b.Same(tt.a); got != tt.want {
				t.Errorf("Same (reversed) = %v, want %v", got, tt.want)
			}
		})
	}
}

func mustParse(t *testing.T, s, dir string) Location {
	t.Helper()
	l, err := ParseLocation(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestOverrideRepoName(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "https://github.com/Org/Repo.git", want: "https:/github.com/Org/Repo.git"},
		{in: "ssh://git@GitHub.com:22/Org/Repo.git", want: "ssh:/git@GitHub.com:22/Org/Repo.git"},
		{in: "github.com/Org/Repo", want: "github.com/Org/Repo"},
		{in: "example.com//team/./app/", want: "example.com/team/app"},
		{in: "example.com/team/x/../app", want: "example.com/team/app"},
		{in: "../x/y.git", want: "../x/y.git"},
		{in: "example", want: "example"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := OverrideRepoName(tt.in); got != tt.want {
				t.Errorf("OverrideRepoName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		in, root, want string
	}{
		// docs/engine.md §1.3
		{in: "https://github.com/ocuroot/example.git", want: "github.com/ocuroot/example"},
		{in: "https://github.com/ocuroot/example/", want: "github.com/ocuroot/example"},
		{in: "http://GitHub.com/ocuroot/example", want: "GitHub.com/ocuroot/example"},
		{in: "git@github.com:ocuroot/example.git", want: "github.com/ocuroot/example"},
		{in: "ssh://git@github.com/ocuroot/example.git", want: "github.com/ocuroot/example"},
		{in: "ssh://git@git.example.com:2222/team/app.git", want: "git.example.com:2222/team/app"},
		{in: "https://x-access-token:SECRET@github.com/org/repo.git", want: "github.com/org/repo"},
		{in: "file:///srv/git/example.git", want: "srv/git/example"},
		{in: "/srv/git/example.git", want: "srv/git/example"},
		{in: "../example.git", root: "/src/app", want: "src/example"},
		// more
		{in: "  https://github.com/o/r.git\n", want: "github.com/o/r"},
		{in: "https://github.com:443/o/r", want: "github.com/o/r"},
		{in: "http://github.com:80/o/r", want: "github.com/o/r"},
		{in: "https://github.com:8443/o/r", want: "github.com:8443/o/r"},
		{in: "ssh://git@github.com:22/o/r.git", want: "github.com/o/r"},
		{in: "https://github.com/o/r.git?x=1#frag", want: "github.com/o/r"},
		{in: "https://github.com/o/r.git/", want: "github.com/o/r"},
		{in: "https://github.com/o/r/.git", want: "github.com/o/r"},
		{in: "github.com:o/r", want: "github.com/o/r"},
		{in: "git@github.com:/abs/r.git", want: "github.com/abs/r"},
		{in: "HTTPS://USER@HOST.EXAMPLE.COM/Org/Repo", want: "HOST.EXAMPLE.COM/Org/Repo"},
		// the host keeps its case, as with the original client; the https,
		// ssh:// and SCP forms of one remote agree
		{in: "git@GitHub.com:OcuRoot/Example.git", want: "GitHub.com/OcuRoot/Example"},
		{in: "ssh://git@GitHub.com/OcuRoot/Example.git", want: "GitHub.com/OcuRoot/Example"},
		{in: "https://GitHub.com/OcuRoot/Example.git", want: "GitHub.com/OcuRoot/Example"},
		{in: "ssh://git@GitHub.com:22/OcuRoot/Example", want: "GitHub.com/OcuRoot/Example"},
		{in: "./local", root: "/src/app", want: "src/app/local"},
		{in: "local.git", root: "/src/app", want: "src/app/local"},
		{in: "https://[::1]:8443/o/r", want: "[::1]:8443/o/r"},
		{in: "https://host/", want: "host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			root := tt.root
			if root == "" {
				root = "/nowhere"
			}
			got, err := NormalizeURL(tt.in, root)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if _, err := NormalizeURL("  ", "/"); err == nil {
		t.Error("empty URL: no error")
	}
}
