package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ocu-team/ocu/internal/storegen"
	"github.com/ocu-team/ocu/lib/ref"
	"github.com/ocu-team/ocu/lib/store"
)

// gitFixture is the git store of the git cases (docs/store-format.md §13): a state
// branch of about 50,000 documents, pushed to two identical local bare
// remotes — one written by ocu, one by the git CLI in a clone — so neither
// side ever has the other's commits to fetch.
type gitFixture struct {
	ocuRemote string // bare repository ocu reads and writes
	cliRemote string // bare repository the git CLI pushes to
	clone     string // the git CLI's clone of cliRemote, with a work tree
	home      string // OCUROOT_HOME of every ocu command (the cache)
	docs      int
	files     int
}

// gitBranch is the branch of the fixture.
const gitBranch = "state"

// benchDocRef is the document the write cases change: a deploy intent
// inside a package, below the largest trees of the layout.
const benchDocRef = "example/-/svc007/release.ocu.star/+/deploy/production"

// setupGit generates a store of packages × releases with storegen, commits
// it with the git CLI and pushes it to both remotes.
func setupGit(tmp, home string, packages, releases int) (*gitFixture, error) {
	dir := filepath.Join(tmp, "git")
	fx := &gitFixture{
		ocuRemote: filepath.Join(dir, "ocu.git"),
		cliRemote: filepath.Join(dir, "cli.git"),
		clone:     filepath.Join(dir, "clone"),
		home:      home,
	}
	src := filepath.Join(dir, "src")
	logf("git: generating %d packages × %d releases in %s", packages, releases, src)
	stats, err := storegen.Generate(src, packages, releases)
	if err != nil {
		return nil, err
	}
	fx.docs = stats.Documents
	fx.files = stats.Documents + stats.Links
	start := time.Now()
	steps := [][]string{
		{"init", "-q", "-b", gitBranch, src},
		{"-C", src, "add", "-A"},
		{"-C", src, "commit", "-q", "-m", "seed"},
		{"init", "-q", "--bare", fx.ocuRemote},
		{"init", "-q", "--bare", fx.cliRemote},
		{"-C", src, "push", "-q", fx.ocuRemote, gitBranch},
		{"-C", src, "push", "-q", fx.cliRemote, gitBranch},
		{"clone", "-q", "-b", gitBranch, fx.cliRemote, fx.clone},
	}
	for _, args := range steps {
		if out, err := gitCommand(args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	logf("git: %d documents, %d files committed and pushed to two remotes in %s", fx.docs, fx.files, fmtDur(time.Since(start)))
	return fx, os.RemoveAll(src)
}

// gitCommand runs git with a fixed identity and no user configuration.
func gitCommand(args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@localhost",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@localhost")
	return cmd
}

func (fx *gitFixture) line() string {
	return fmt.Sprintf("git store: branch %q of a local bare remote, %d documents (%d files)", gitBranch, fx.docs, fx.files)
}

// gitCases are the git store cases: one read, the commit alone, and a write with its fetch and push.
func gitCases(fx *gitFixture, bin string, packages, releases int) []*benchCase {
	tool := func(name string) string { return filepath.Join(bin, name) }
	loc := "git+" + fx.ocuRemote + "#" + gitBranch
	oneRef := fmt.Sprintf("%s/-/%s/@%d/deploy/production/1", storegen.Repo, storegen.PackageFile(min(7, packages-1)), releases)
	onePath := "refs/" + oneRef + "/@object.json"
	benchPath := "refs/" + benchDocRef + "/@object.json"
	cliFile := filepath.Join(fx.clone, filepath.FromSlash(benchPath))
	valueFile := filepath.Join(filepath.Dir(fx.clone), "value.json")
	gitEnv := "GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost " +
		"GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost"

	n := 0
	nextValue := func() string { // a new value for every run of either side
		n++
		return fmt.Sprintf(`{"approved":true,"run":%d}`, n)
	}
	writeOcuValue := func() error { return os.WriteFile(valueFile, []byte(nextValue()), 0o644) }
	writeCLIFile := func() error {
		if err := os.MkdirAll(filepath.Dir(cliFile), 0o755); err != nil {
			return err
		}
		doc := fmt.Sprintf("{\n  \"kind\": \"ref\",\n  \"body\": %s\n}", nextValue())
		return os.WriteFile(cliFile, []byte(doc), 0o644)
	}
	remoteHas := func(want string) func([]byte) error {
		return func([]byte) error {
			out, err := gitCommand("--git-dir", fx.ocuRemote, "show", gitBranch+":"+benchPath).Output()
			if err != nil {
				return fmt.Errorf("%s is not on the remote: %v", benchPath, err)
			}
			if !bytes.Contains(out, []byte(want)) {
				return fmt.Errorf("%s on the remote: %s", benchPath, out)
			}
			return nil
		}
	}

	// The commit alone, measured inside one process through the store's
	// trace of its phases (the push that follows is not timed).
	commitAlone := func() (time.Duration, error) {
		var d time.Duration
		s, err := store.OpenGit(context.Background(), store.GitOptions{
			URL: fx.ocuRemote, Branch: gitBranch, CreateBranch: true, Home: fx.home,
			Trace: func(phase string, t time.Duration) {
				if phase == "commit" {
					d = t
				}
			},
		})
		if err != nil {
			return 0, err
		}
		defer s.Close()
		r, err := ref.Parse(benchDocRef)
		if err != nil {
			return 0, err
		}
		v, err := store.DecodeValue([]byte(nextValue()))
		if err != nil {
			return 0, err
		}
		if err := s.Commit(context.Background(), store.NewTx("set "+benchDocRef).Put(r, v)); err != nil {
			return 0, err
		}
		if d == 0 {
			return 0, fmt.Errorf("no commit phase traced")
		}
		return d, nil
	}

	return []*benchCase{
		{
			id:    "git-get",
			name:  "git: one `ocu-get` with nothing new to fetch",
			tools: []string{"ocu-get"},
			ocu:   command{argv: []string{tool("ocu-get"), "--state-store", loc, oneRef}},
			ref: command{argv: []string{"sh", "-c", `git -C "$1" fetch -q origin && git -C "$1" cat-file blob "origin/$2:$3"`,
				"sh", fx.clone, gitBranch, onePath}},
			refNote: "`git fetch` (nothing new) then `git cat-file blob origin/state:<path>` in the clone (context only): " +
				"the git CLI's way to read the same document fresh",
			check: func(out []byte) error {
				if !json.Valid(out) {
					return fmt.Errorf("output is not one JSON value: %.200q", out)
				}
				return nil
			},
			maxTime: 50 * time.Millisecond,
		},
		{
			id:    "git-commit",
			name:  "git: the commit alone (one changed document)",
			tools: []string{},
			ocu:   command{inproc: commitAlone},
			ref: command{
				argv:    []string{"sh", "-c", gitEnv + ` git -C "$1" commit -q -m "set $2"`, "sh", fx.clone, benchDocRef},
				prepare: func() error { return runSteps(writeCLIFile, gitCommand("-C", fx.clone, "add", benchPath)) },
			},
			refNote: "`git commit` in the clone, after an untimed `git add` of the changed file; ocu: the commit phase of " +
				"a write measured inside the process (evaluate, blobs and trees on the changed path, commit, refs), push not timed",
			maxTime: 150 * time.Millisecond,
		},
		{
			id:    "git-write",
			name:  "git: `ocu-set` of one document (fetch, commit, push)",
			tools: []string{"ocu-set"},
			ocu: command{
				argv:      []string{tool("ocu-set"), "--state-store", loc, "-f", "json", benchDocRef, "-"},
				stdinFile: valueFile,
				prepare:   writeOcuValue,
			},
			ref: command{
				argv: []string{"sh", "-c", gitEnv + ` git -C "$1" add "$2" && ` + gitEnv + ` git -C "$1" commit -q -m "set $3" && git -C "$1" push -q origin "$4"`,
					"sh", fx.clone, benchPath, benchDocRef, gitBranch},
				prepare: writeCLIFile,
			},
			refNote: "`git add <file> && git commit && git push` in a clone of an identical remote, the changed file " +
				"written untimed before each run",
			check:    func(out []byte) error { return remoteHas(`"run":`)(out) },
			maxRatio: 1.2,
		},
	}
}

// runSteps runs the steps in order: *exec.Cmd or func() error.
func runSteps(steps ...any) error {
	for _, s := range steps {
		switch s := s.(type) {
		case *exec.Cmd:
			if out, err := s.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v\n%s", strings.Join(s.Args, " "), err, out)
			}
		case func() error:
			if err := s(); err != nil {
				return err
			}
		}
	}
	return nil
}
