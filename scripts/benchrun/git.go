package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
// branch of about 90,000 documents (50 packages × 60 releases, the folder
// store's 90k shape), pushed to two identical local bare remotes — one
// written by ocu, one by the git CLI in a clone — so neither side ever has
// the other's commits to fetch. The remote ocu uses also holds an intent
// branch: the deploy intents the state satisfies, as storegen.GenerateIntent
// writes them for the folder store's apply case.
type gitFixture struct {
	ocuRemote string // bare repository ocu reads and writes
	cliRemote string // bare repository the git CLI pushes to
	clone     string // the git CLI's clone of cliRemote, with a work tree
	home      string // OCUROOT_HOME of every ocu command (the cache)
	shape     shape  // packages × releases of the state branch
	docs      int
	files     int
	intents   int // documents of the intent branch
}

// gitBranch and gitIntentBranch are the branches of the fixture: state and
// intent as two branches of one repository, as the README's Git stores
// example configures them.
const (
	gitBranch       = "state"
	gitIntentBranch = "intent"
)

// benchDocRef is the document the write cases change: a deploy intent
// inside a package, below the largest trees of the layout.
const benchDocRef = "example/-/svc007/release.ocu.star/+/deploy/production"

// setupGit generates a store of sh with storegen, commits it with the git
// CLI and pushes it to both remotes; then the deploy intents the state
// satisfies, to the intent branch of the remote ocu uses.
func setupGit(tmp, home string, sh shape) (*gitFixture, error) {
	setupStart := time.Now()
	dir := filepath.Join(tmp, "git")
	fx := &gitFixture{
		ocuRemote: filepath.Join(dir, "ocu.git"),
		cliRemote: filepath.Join(dir, "cli.git"),
		clone:     filepath.Join(dir, "clone"),
		home:      home,
		shape:     sh,
	}
	src, intentSrc := filepath.Join(dir, "src"), filepath.Join(dir, "intent-src")
	logf("git: generating %d packages × %d releases in %s", sh.packages, sh.releases, src)
	stats, err := storegen.Generate(src, sh.packages, sh.releases)
	if err != nil {
		return nil, err
	}
	fx.docs = stats.Documents
	fx.files = stats.Documents + stats.Links
	intentStats, err := storegen.GenerateIntent(intentSrc, sh.packages, sh.releases)
	if err != nil {
		return nil, err
	}
	fx.intents = intentStats.Documents
	logf("git: generated in %s", fmtDur(time.Since(setupStart)))
	start := time.Now()
	// No automatic gc in the source repositories: a detached `git gc --auto`
	// after the commit of 90,000 loose objects would still be writing
	// into them when they are removed.
	steps := [][]string{
		{"init", "-q", "-b", gitBranch, src},
		{"-C", src, "config", "gc.auto", "0"},
		{"-C", src, "add", "-A"},
		{"-C", src, "commit", "-q", "-m", "seed"},
		{"init", "-q", "--bare", fx.ocuRemote},
		{"-C", src, "push", "-q", fx.ocuRemote, gitBranch},
		{"clone", "-q", "--bare", fx.ocuRemote, fx.cliRemote}, // a local clone: hard links, not a second push
		{"clone", "-q", "-b", gitBranch, fx.cliRemote, fx.clone},
		{"init", "-q", "-b", gitIntentBranch, intentSrc},
		{"-C", intentSrc, "config", "gc.auto", "0"},
		{"-C", intentSrc, "add", "-A"},
		{"-C", intentSrc, "commit", "-q", "-m", "seed intent"},
		{"-C", intentSrc, "push", "-q", fx.ocuRemote, gitIntentBranch},
	}
	for _, args := range steps {
		if out, err := gitCommand(args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	logf("git: %d documents, %d files committed and pushed, cloned as the git CLI's remote, %d intents pushed to branch %s, in %s; setup %s in all",
		fx.docs, fx.files, fx.intents, gitIntentBranch, fmtDur(time.Since(start)), fmtDur(time.Since(setupStart)))
	return fx, errors.Join(os.RemoveAll(src), os.RemoveAll(intentSrc))
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
	return fmt.Sprintf("git store: branch %q of a local bare remote, %d documents (%d files, %d packages × %d releases), "+
		"branch %q %d intents", gitBranch, fx.docs, fx.files, fx.shape.packages, fx.shape.releases, gitIntentBranch, fx.intents)
}

// gitCases are the git store cases: one read, an idle apply, the commit
// alone, and a write with its fetch and push. The apply runs before the
// writes, which change a deploy intent on the state branch.
func gitCases(fx *gitFixture, bin string) []*benchCase {
	tool := func(name string) string { return filepath.Join(bin, name) }
	loc := "git+" + fx.ocuRemote + "#" + gitBranch
	intentLoc := "git+" + fx.ocuRemote + "#" + gitIntentBranch
	oneRef := fmt.Sprintf("%s/-/%s/@%d/deploy/production/1", storegen.Repo, storegen.PackageFile(min(7, fx.shape.packages-1)), fx.shape.releases)
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

	// The idle apply changes nothing on the remote and fetches both
	// branches on every run: the tips before it, and when the run started.
	remoteTips := func() (string, error) {
		out, err := gitCommand("--git-dir", fx.ocuRemote, "rev-parse", gitBranch, gitIntentBranch).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git rev-parse on %s: %v: %s", fx.ocuRemote, err, out)
		}
		return string(out), nil
	}
	var tipsBefore string
	var applyStart time.Time
	idleApplied := func(out []byte) error {
		if len(out) > 0 {
			return fmt.Errorf("ocu-apply had something to do: %.300q", out)
		}
		tips, err := remoteTips()
		if err != nil {
			return err
		}
		if tips != tipsBefore {
			return fmt.Errorf("ocu-apply moved the remote's branches: %q, was %q", tips, tipsBefore)
		}
		for _, branch := range []string{gitBranch, gitIntentBranch} {
			fetched, err := lastFetch(fx.home, fx.ocuRemote, branch)
			if err != nil {
				return err
			}
			if fetched.Before(applyStart) {
				return fmt.Errorf("branch %s was not fetched by the run (last fetch %s, run started %s)",
					branch, fetched.Format(time.RFC3339Nano), applyStart.UTC().Format(time.RFC3339Nano))
			}
		}
		return nil
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
			id:    "git-apply",
			name:  "git: `ocu-apply` with nothing to do (state and intent branches)",
			tools: []string{"ocu-apply"},
			setup: func() (err error) {
				tipsBefore, err = remoteTips()
				return err
			},
			warm: true,
			ocu: command{
				argv:    []string{tool("ocu-apply"), "--state-store", loc, "--intent-store", intentLoc},
				prepare: func() error { applyStart = time.Now(); return nil },
			},
			refCase: "apply",
			refNote: "the `apply` row of the same run: `ocu-apply` with nothing to do on the folder store of the same shape " +
				"(issue 13's target: ≤ 2× it). State on branch `state` and the deploy intents it satisfies " +
				"(storegen.GenerateIntent) on branch `intent` of one local bare remote, as the README's Git stores example " +
				"configures them; one untimed run fills the cache first, and every run fetches both branches (nothing new), " +
				"as a cron line does with the default `--git-max-age` (0: fetch at every start; the check verifies it)",
			check:    idleApplied,
			maxRatio: 2,
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

// lastFetch returns when a process last fetched branch of the remote at url
// into a cache below home: the "fetched" of its meta.json
// (docs/store-format.md, The cache).
func lastFetch(home, url, branch string) (time.Time, error) {
	metas, err := filepath.Glob(filepath.Join(home, "stores", "*", "meta.json"))
	if err != nil {
		return time.Time{}, err
	}
	for _, path := range metas {
		data, err := os.ReadFile(path)
		if err != nil {
			return time.Time{}, err
		}
		var meta struct {
			URL, Branch string
			Fetched     time.Time
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			return time.Time{}, fmt.Errorf("%s: %w", path, err)
		}
		if meta.URL == url && meta.Branch == branch {
			return meta.Fetched, nil
		}
	}
	return time.Time{}, fmt.Errorf("no cache of %s (branch %s) in %s", url, branch, filepath.Join(home, "stores"))
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
