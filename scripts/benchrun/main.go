// Command benchrun times the ocu tools on a synthetic store shaped like real
// use (docs/store-format.md §13: 50 packages × 60 releases × 30 documents) against
// physical references measured in the same run, and prints a markdown table.
//
//	scripts/bench [-size 90k,1m] [-store DIR] [-runs N] [-md FILE] [CASE...]
//
// Steps: build ./cmd/... into a temporary bin folder; then for each size of
// -size in turn, generate the store with internal/storegen (or reuse -store
// DIR), read every file once to warm the page cache, and for each case run
// the ocu command and its reference alternately, -runs times each, and report
// the medians. The sizes are 90k (50 packages × 60 releases, the default) and
// 1m (550 × 60, about 1,000,000 documents and 600 MB, minutes to generate):
// every selected case runs at the first size, the cases whose cost follows
// the history (prefix, scan, get, apply, view-index, view-work) at each; the
// table's store column names the store and its size ("folder 90k",
// "folder 1m", "git 90k").
//
// CASE selects cases by id prefix: prefix, scan, pipeline, get, set, batch, apply, view, release,
// git (git-get, git-apply, git-commit, git-write: see git.go; they run last, on
// a git store of their own, -git-releases releases of 50 packages: the 90k
// shape by default). A case's reference may be another case's row of the same
// run instead of a command of its own: git-apply's is the folder store's
// apply on a store of the same shape, so selecting git-apply selects apply,
// and -size must include the git store's shape.
// Rows over target are reported, not failed: the exit status is 1 only when
// a command fails or gives a wrong result (checked once per case, untimed),
// or the tools do not build; 2 on usage errors. If the tools do not build,
// the references are still timed and the ocu column says why it is empty.
// -packages and -releases give the shape of a generated store instead of
// -size (for quick trials; the targets are stated for the named sizes).
//
// The write cases (set, batch) run last and create refs below
// <store>/refs/+/custom/bench and <store>/refs/+/custom/batch; both are removed
// before and after the run, so a reused store stays as generated.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ocu-team/ocu/internal/storegen"
)

// command is one side of a case: a process to time.
type command struct {
	argv      []string
	stdinFile string                        // fed to stdin when set
	prepare   func() error                  // run untimed before every run
	inproc    func() (time.Duration, error) // timed inside this process instead of argv
}

type benchCase struct {
	id, name string
	tools    []string // ocu binaries the case needs
	ocu, ref command
	// refCase names the case whose ocu median, on a store of the same
	// shape in the same run, is this case's reference instead of ref (the
	// folder store's apply for the git store's). Selecting the case
	// selects that one too.
	refCase  string
	refNote  string                    // what the reference is, for the notes
	check    func(stdout []byte) error // verifies the ocu command's result (untimed first run)
	maxRatio float64                   // target as ocu/reference; 0 when none
	maxTime  time.Duration             // absolute target; 0 when none
	sized    bool                      // its cost follows the history: run at every size
	size     string                    // the store it runs on: "folder 90k", "git 90k"
	ownStore string                    // the store column of a case that runs on a store of its own
	shape    shape                     // the shape of that store

	setup    func() error // run once before the case when it is selected
	warm     bool         // run the ocu command once more, untimed, before the checked run (fills a cache)
	teardown func()       // run once after it

	// results
	ocuMedian, refMedian time.Duration
	refFrom              string // the store of the refCase row the reference comes from
	ocuErr, refErr       error
}

// shape is what a store holds: packages × releases.
type shape struct{ packages, releases int }

// size is a named shape of the filesystem store.
type size struct {
	label string // "90k", "1m", or "P×R" for -packages and -releases
	shape
}

// namedSizes are the sizes of -size: the store of docs/store-format.md §13 and the
// one of issue 13's targets, the same per-release shape at 11 times the
// packages (about a year or two of a 50-service monorepo's releases).
var namedSizes = []size{{"90k", shape{50, 60}}, {"1m", shape{550, 60}}}

// parseSizes parses -size: labels of sizes, comma-separated.
func parseSizes(s string) ([]size, error) {
	var out []size
	for _, label := range strings.Split(s, ",") {
		i := slices.IndexFunc(namedSizes, func(z size) bool { return z.label == strings.ToLower(strings.TrimSpace(label)) })
		if i < 0 {
			return nil, fmt.Errorf("-size: unknown size %q (sizes: 90k, 1m)", label)
		}
		if !slices.Contains(out, namedSizes[i]) {
			out = append(out, namedSizes[i])
		}
	}
	return out, nil
}

func main() { os.Exit(run()) }

func run() int {
	storeDir := flag.String("store", "", "use the store in `DIR`; generated there first if DIR is missing or empty, kept afterwards")
	runs := flag.Int("runs", 7, "timed runs of each command; the median is reported")
	mdFile := flag.String("md", "", "also write the table to `FILE`")
	sizeList := flag.String("size", "90k", "sizes of the filesystem store, comma-separated: 90k (50 packages × 60 releases, about 90,000 "+
		"documents), 1m (550 × 60, about 1,000,000); every case runs at the first size, the cases whose cost follows the "+
		"history (prefix, scan, get, apply, view) at each. With several sizes, -store DIR holds a store per size in DIR/<size>")
	packages := flag.Int("packages", 50, "packages of a generated store, instead of -size")
	releases := flag.Int("releases", 60, "releases per package of a generated store, instead of -size")
	gitReleases := flag.Int("git-releases", 60, "releases per package (of 50) of the git cases' store; git-apply's reference "+
		"is the folder store's apply at the same shape, so -size (or -packages 50 -releases) must include it")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: scripts/bench [flags] [CASE...]\n\nCASE (id prefix): prefix, scan, pipeline, get, set, batch, apply, view, release, git (default: all;\ngit-apply selects apply too, its reference)\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *runs < 1 {
		logf("-runs must be at least 1")
		return 2
	}
	ids, err := selectIDs(flag.Args())
	if err != nil {
		logf("%v", err)
		return 2
	}
	sizes, err := parseSizes(*sizeList)
	if err != nil {
		logf("%v", err)
		return 2
	}
	explicit := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if explicit["packages"] || explicit["releases"] {
		if explicit["size"] {
			logf("-size and -packages or -releases: choose one")
			return 2
		}
		sh := shape{*packages, *releases}
		sizes = []size{{shapeLabel(sh), sh}}
	}
	const gitPackages = 50
	gitShape := shape{gitPackages, *gitReleases}
	if ids["git-apply"] && !slices.ContainsFunc(sizes, func(z size) bool { return z.shape == gitShape }) {
		logf("git-apply: its reference is the folder store's apply on a store of the git store's shape (%s): "+
			"add that size to -size or change -git-releases", shapeLabel(gitShape))
		return 2
	}
	root, err := os.Getwd()
	if err != nil {
		logf("%v", err)
		return 1
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		logf("run from the repo root (scripts/bench does): %v", err)
		return 2
	}

	tmp, err := os.MkdirTemp("", "ocu-bench-")
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		logf("interrupted; removing %s", tmp)
		os.RemoveAll(tmp)
		os.Exit(130)
	}()
	work := filepath.Join(tmp, "work") // working directory of every command: outside any repo
	if err := os.MkdirAll(work, 0o755); err != nil {
		logf("%v", err)
		return 1
	}

	// 1. Tools.
	bin := filepath.Join(tmp, "bin")
	logf("building ./cmd/... into %s", bin)
	buildErr := buildTools(root, bin)
	if buildErr != nil {
		logf("cannot build tools: %v", buildErr)
		logf("timing the references only")
	}

	// 2. Stores and cases: each size of filesystem store in turn (generated,
	// warmed, its cases run), then the git store.
	home := filepath.Join(tmp, "ocuroot-home")
	env := childEnv(home)
	var selected []*benchCase
	var storeLines []string
	failed := false
	runCases := func(cases []*benchCase) {
		for _, c := range cases {
			runCase(c, buildErr, bin, *runs, env, work)
			if c.refCase != "" && c.refErr == nil {
				resolveReference(c, selected)
			}
			if c.ocuErr != nil || c.refErr != nil {
				failed = true
			}
			selected = append(selected, c)
		}
	}
	if selectsFS(ids) {
		for i, sz := range sizes {
			if i > 0 && !selectsSized(ids) {
				break
			}
			dir := *storeDir
			if dir != "" && len(sizes) > 1 {
				dir = filepath.Join(dir, sz.label)
			}
			base, sh, err := openStore(dir, filepath.Join(tmp, "store-"+sz.label), sz.shape)
			if err != nil {
				logf("%v", err)
				return 1
			}
			if sh != sz.shape {
				sz = size{label: shapeLabel(sh), shape: sh}
			}
			scratch := filepath.Join(tmp, "scratch-"+sz.label) // the cases' files
			if err := os.MkdirAll(scratch, 0o755); err != nil {
				logf("%v", err)
				return 1
			}
			cases := casesAtSize(makeCases(base, sh, bin, scratch), ids, i == 0, size{sz.label, sh})
			removeBenchRefs(base) // left over from an interrupted run

			// Warm the page cache.
			start := time.Now()
			files, total, err := warm(base)
			if err != nil {
				logf("warming the page cache: %v", err)
				removeBenchRefs(base)
				return 1
			}
			storeLine := fmt.Sprintf("store %s: %s (%d packages × %d releases), %d objects, %.1f MB, read once in %s",
				sz.label, base, sh.packages, sh.releases, files, float64(total)/1e6, fmtDur(time.Since(start)))
			logf("%s", storeLine)
			storeLines = append(storeLines, storeLine)
			runCases(cases)
			removeBenchRefs(base)
		}
	}
	if selectsGit(ids) {
		fx, err := setupGit(tmp, home, gitShape)
		if err != nil {
			logf("git store: %v", err)
			return 1
		}
		var cases []*benchCase
		for _, c := range gitCases(fx, bin) {
			if ids[c.id] {
				c.size, c.shape = "git "+shapeLabel(gitShape), gitShape
				cases = append(cases, c)
			}
		}
		storeLines = append(storeLines, fx.line())
		runCases(cases)
	}
	storeLine := strings.Join(storeLines, "; ")

	// 5. Report.
	report := formatReport(selected, storeLine, *runs)
	fmt.Print(report)
	if *mdFile != "" {
		if err := os.WriteFile(*mdFile, []byte(report), 0o644); err != nil {
			logf("%v", err)
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// runCase runs one case: its setup, the measurement, its teardown.
func runCase(c *benchCase, buildErr error, bin string, runs int, env []string, work string) {
	logf("%s (%s): %d runs each", c.name, c.size, runs)
	if buildErr != nil {
		c.ocuErr = errors.New("cannot build tools")
	} else {
		for _, t := range c.tools {
			if _, err := os.Stat(filepath.Join(bin, t)); err != nil {
				c.ocuErr = fmt.Errorf("%s was not built (no ./cmd/%s)", t, t)
			}
		}
	}
	if c.setup != nil {
		if err := c.setup(); err != nil {
			c.refErr = fmt.Errorf("setup: %w", err)
		}
	}
	measure(c, runs, env, work)
	if c.teardown != nil {
		c.teardown()
	}
}

// casesAtSize returns the cases to run on the folder store of size sz:
// every selected case at the first size; at the others, the selected cases
// whose cost follows the history. It names their store ("folder 90k", or
// the case's own).
func casesAtSize(cases []*benchCase, ids map[string]bool, first bool, sz size) []*benchCase {
	var out []*benchCase
	for _, c := range cases {
		if ids[c.id] && (first || c.sized) {
			c.size, c.shape = "folder "+sz.label, sz.shape
			if c.ownStore != "" {
				c.size = c.ownStore
			}
			out = append(out, c)
		}
	}
	return out
}

// resolveReference takes c's reference from the cases run before it: the
// ocu median of case c.refCase on a store of c's shape.
func resolveReference(c *benchCase, done []*benchCase) {
	i := slices.IndexFunc(done, func(d *benchCase) bool { return d.id == c.refCase && d.shape == c.shape })
	switch {
	case i < 0:
		c.refErr = fmt.Errorf("no %s case on a store of %s in this run", c.refCase, shapeLabel(c.shape))
	case done[i].ocuErr != nil:
		c.refErr = fmt.Errorf("its reference, the %s case (%s), failed", c.refCase, done[i].size)
	default:
		c.refMedian, c.refFrom = done[i].ocuMedian, done[i].size
	}
}

// shapeLabel names a shape: the label of the named size of that shape,
// else "P×R".
func shapeLabel(sh shape) string {
	if i := slices.IndexFunc(namedSizes, func(z size) bool { return z.shape == sh }); i >= 0 {
		return namedSizes[i].label
	}
	return fmt.Sprintf("%d×%d", sh.packages, sh.releases)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchrun: "+format+"\n", args...)
}

// buildTools runs `go build -o bin/ ./cmd/...` in the repo root.
func buildTools(root, bin string) error {
	cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 10 {
			lines = append(lines[:10], fmt.Sprintf("… (%d more lines)", len(lines)-10))
		}
		return fmt.Errorf("go build ./cmd/...: %v\n%s", err, strings.Join(lines, "\n"))
	}
	return nil
}

// openStore returns the store to use: dir if it holds a store, else a new
// store generated in dir (or in tmpStore when dir is empty).
func openStore(dir, tmpStore string, want shape) (string, shape, error) {
	base := tmpStore
	if dir != "" {
		base, _ = filepath.Abs(dir)
		if _, err := os.Stat(filepath.Join(base, ".ocuroot-store")); err == nil {
			sh, err := inferShape(base)
			if err != nil {
				return "", shape{}, err
			}
			logf("reusing the store in %s", base)
			return base, sh, nil
		}
		if entries, err := os.ReadDir(base); err == nil && len(entries) > 0 {
			return "", shape{}, fmt.Errorf("-store %s: neither a store nor an empty folder", dir)
		}
	}
	logf("generating %d packages × %d releases in %s", want.packages, want.releases, base)
	start := time.Now()
	stats, err := storegen.Generate(base, want.packages, want.releases)
	if err != nil {
		return "", shape{}, err
	}
	logf("generated %d documents, %d links, %d bytes in %s",
		stats.Documents, stats.Links, stats.Bytes, fmtDur(time.Since(start)))
	return base, want, nil
}

// inferShape counts the packages and the releases of package svc000 of a
// store written by storegen.
func inferShape(base string) (shape, error) {
	var sh shape
	pkgs, err := os.ReadDir(filepath.Join(base, "refs", storegen.Repo, "-"))
	if err != nil {
		return sh, fmt.Errorf("%s is not a storegen store: %w", base, err)
	}
	for _, e := range pkgs {
		if strings.HasPrefix(e.Name(), "svc") {
			sh.packages++
		}
	}
	rels, err := os.ReadDir(filepath.Join(base, "refs", storegen.Repo, "-", filepath.FromSlash(storegen.PackageFile(0))))
	if err != nil {
		return sh, fmt.Errorf("%s is not a storegen store: %w", base, err)
	}
	for _, e := range rels {
		if n := strings.TrimPrefix(e.Name(), "@"); n != e.Name() && n != "" && strings.Trim(n, "0123456789") == "" {
			sh.releases++
		}
	}
	if sh.packages == 0 || sh.releases == 0 {
		return sh, fmt.Errorf("%s is not a storegen store (no packages or releases)", base)
	}
	return sh, nil
}

// warm reads every file below <base>/refs once.
func warm(base string) (files int, size int64, err error) {
	err = filepath.WalkDir(filepath.Join(base, "refs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		files++
		size += int64(len(data))
		return err
	})
	return files, size, err
}

// childEnv is the environment of every timed command: no OCU_* or OCUROOT_*
// settings from the caller, a private OCUROOT_HOME, the C locale.
func childEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OCU_") || strings.HasPrefix(kv, "OCUROOT_") || strings.HasPrefix(kv, "LC_ALL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "OCUROOT_HOME="+home, "LC_ALL=C")
}

const batchSize = 10_000

func makeCases(base string, sh shape, bin, work string) []*benchCase {
	tool := func(name string) string { return filepath.Join(bin, name) }
	refs := filepath.Join(base, "refs")
	pkgRef := storegen.Repo + "/-/" + storegen.PackageFile(min(7, sh.packages-1))
	production := sh.packages*sh.releases + sh.packages // @N/deploy/production per release, @/deploy/production per package
	oneRef := fmt.Sprintf("%s/@%d/deploy/production/1", pkgRef, sh.releases)
	oneFile := filepath.Join(refs, filepath.FromSlash(oneRef), "@object.json")
	benchDoc := filepath.Join(refs, "+", "custom", "bench", "x", "@object.json")
	batchDir := filepath.Join(refs, "+", "custom", "batch")
	batchNDJSON := filepath.Join(work, "batch.ndjson")
	batchSrc := filepath.Join(work, "batch-src")   // the files ocu-set should write, below refs/
	batchCopy := filepath.Join(work, "batch-copy") // where the reference copies them
	intentDir := filepath.Join(work, "intent")     // deploy intents matching the state
	releaseRepo := filepath.Join(work, "release-repo")
	pkgsDir := filepath.Join(refs, storegen.Repo, "-") // the package folders
	// writeIntent writes the intent store once per store: the apply and
	// view cases share it.
	writeIntent := func() error {
		if _, err := os.Stat(intentDir); err == nil {
			return nil
		}
		_, err := storegen.GenerateIntent(intentDir, sh.packages, sh.releases)
		return err
	}
	applyTarget := 150 * time.Millisecond
	if sh.packages*sh.releases*storegen.DocumentsPerRelease > 100_000 {
		applyTarget = 300 * time.Millisecond
	}

	return []*benchCase{
		{
			id:       "prefix",
			name:     fmt.Sprintf("prefix match `%s/@*/commit/*`", pkgRef),
			tools:    []string{"ocu-match"},
			ocu:      command{argv: []string{tool("ocu-match"), "--state-store", base, pkgRef + "/@*/commit/*"}},
			ref:      command{argv: []string{"find", filepath.Join(refs, filepath.FromSlash(pkgRef)), "-name", "@object.json"}},
			refNote:  "`find <base>/refs/<package> -name @object.json` (the subtree the glob's literal prefix names)",
			check:    wantLines(sh.releases),
			maxRatio: 1.5,
			sized:    true,
		},
		{
			id:       "scan",
			name:     "full scan `**/deploy/production`",
			tools:    []string{"ocu-match"},
			ocu:      command{argv: []string{tool("ocu-match"), "--state-store", base, "**/deploy/production"}},
			ref:      command{argv: []string{"find", refs, "-name", "@object.json"}},
			refNote:  "`find <base>/refs -name @object.json`",
			check:    wantLines(production),
			maxRatio: 1.0,
			sized:    true,
		},
		{
			id:    "pipeline",
			name:  fmt.Sprintf("pipeline `ocu-match '**/deploy/production' \\| ocu-get` (%d docs)", production),
			tools: []string{"ocu-match", "ocu-get"},
			ocu: command{argv: []string{"sh", "-c", `"$1" --state-store "$3" '**/deploy/production' | "$2" --state-store "$3"`,
				"sh", tool("ocu-match"), tool("ocu-get"), base}},
			ref: command{argv: []string{"sh", "-c", `find "$1/refs" -path '*/deploy/production/@object.json' | xargs cat`,
				"sh", base}},
			refNote:  "`sh -c \"find <base>/refs -path '*/deploy/production/@object.json' | xargs cat\"`",
			check:    wantLines(production),
			maxRatio: 1.5,
		},
		{
			id:      "get",
			name:    "one `ocu-get` (numbered release, one file)",
			tools:   []string{"ocu-get"},
			ocu:     command{argv: []string{tool("ocu-get"), "--state-store", base, oneRef}},
			ref:     command{argv: []string{"cat", oneFile}},
			refNote: fmt.Sprintf("`cat` of the same document's file (context only); ref `%s`", oneRef),
			check: func(out []byte) error {
				if !json.Valid(out) {
					return fmt.Errorf("output is not one JSON value: %.200q", out)
				}
				return nil
			},
			maxTime: 10 * time.Millisecond,
			sized:   true,
		},
		{
			id:    "set",
			name:  "one `ocu-set +/custom/bench/x VALUE`",
			tools: []string{"ocu-set"},
			ocu: command{
				argv:    []string{tool("ocu-set"), "--state-store", base, "+/custom/bench/x", "approved by bench"},
				prepare: func() error { return os.RemoveAll(filepath.Dir(filepath.Dir(benchDoc))) },
			},
			ref:     command{argv: []string{"cat", oneFile}},
			refNote: "`cat` of one document's file (context only); each ocu run creates the document anew",
			check:   func([]byte) error { return wantFile(benchDoc) },
			maxTime: 10 * time.Millisecond,
		},
		{
			id:    "batch",
			name:  fmt.Sprintf("`ocu-set` NDJSON batch of %d documents", batchSize),
			tools: []string{"ocu-set"},
			setup: func() error { return writeBatchFiles(batchNDJSON, batchSrc) },
			ocu: command{
				argv:      []string{tool("ocu-set"), "--state-store", base},
				stdinFile: batchNDJSON,
				prepare:   func() error { return removeAndSync(batchDir) },
			},
			ref: command{
				argv:    []string{"sh", "-c", `cp -r "$1" "$2" && sync -f "$2"`, "sh", filepath.Join(batchSrc, "refs"), batchCopy},
				prepare: func() error { return removeAndSync(batchCopy) },
			},
			refNote: fmt.Sprintf("`sh -c 'cp -r SRC DST && sync -f DST'`: copies a page-cached tree of the %d `@object.json` "+
				"files ocu-set writes (same folders, same bytes) to a new folder on the same file system, then one syncfs "+
				"(the durability barrier of docs/store-format.md §9.2); no journal, no lock, no validation", batchSize),
			check: func([]byte) error {
				entries, err := os.ReadDir(batchDir)
				if err != nil {
					return err
				}
				if len(entries) != batchSize {
					return fmt.Errorf("%d documents in %s, want %d", len(entries), batchDir, batchSize)
				}
				return wantFile(filepath.Join(batchDir, "k00000", "@object.json"))
			},
			maxTime: 2 * time.Second,
		},
		batchOnTmpfs(tool, batchNDJSON, batchSrc),
		{
			id:    "apply",
			name:  "`ocu-apply` with nothing to do",
			tools: []string{"ocu-apply", "ocu-match"},
			setup: func() error {
				os.RemoveAll(intentDir)
				return writeIntent()
			},
			ocu: command{argv: []string{tool("ocu-apply"), "--state-store", base, "--intent-store", intentDir}},
			ref: command{argv: []string{tool("ocu-match"), "--state-store", base, "--intent-store", intentDir, "**/deploy/production"}},
			refNote: "one full `ocu-match '**/deploy/production'` scan of the same state and intent stores; the intent store " +
				"holds the deploy intents the state satisfies (storegen.GenerateIntent). Targets of issue 13: ≤ 0.1× the " +
				"scan, ≤ 150 ms up to 100,000 documents and ≤ 300 ms at about 1,000,000",
			check: func(out []byte) error {
				if len(out) > 0 {
					return fmt.Errorf("ocu-apply had something to do: %.300q", out)
				}
				return nil
			},
			maxRatio: 0.1,
			maxTime:  applyTarget,
			sized:    true,
		},
		viewCase("view-index", "ocu-view overview (`GET /`)", "/", tool, base, intentDir, pkgsDir, writeIntent,
			fmt.Sprintf("<b>%d</b> packages", sh.packages)),
		viewCase("view-work", "ocu-view work page (`GET /work`)", "/work", tool, base, intentDir, pkgsDir, writeIntent,
			"No function is pending or running."),
		{
			id:       "release",
			name:     "`ocuroot release new`: one build call and 20 deploys",
			tools:    []string{"ocuroot"},
			ownStore: "new folder",
			setup:    func() error { return writeReleaseRepo(tool("ocuroot"), releaseRepo) },
			ocu: command{argv: []string{tool("ocuroot"), "-C", releaseRepo, "--repo-commit-override", "bench",
				"release", "new", "--force", "pkg.ocu.star"}},
			ref:     command{argv: []string{"cat", filepath.Join(releaseRepo, "pkg.ocu.star")}},
			refNote: "`cat` of the package file (context only); a fresh filesystem store, 20 environments, functions that return at once",
			check: func(out []byte) error {
				if !bytes.Contains(out, []byte(": complete\n")) {
					return fmt.Errorf("the release did not complete: %.500q", out)
				}
				return nil
			},
			maxTime: 300 * time.Millisecond,
		},
	}
}

// batchOnTmpfs is the batch case again with the store on tmpfs (/dev/shm),
// where creating files costs little: it shows what ocu-set itself costs
// when the disk is slow. The reference copies the same files on tmpfs.
func batchOnTmpfs(tool func(string) string, ndjson, src string) *benchCase {
	dir := filepath.Join("/dev/shm", fmt.Sprintf("ocu-bench-%d", os.Getpid()))
	store, copyDir := filepath.Join(dir, "store"), filepath.Join(dir, "copy")
	batchDir := filepath.Join(store, "refs", "+", "custom", "batch")
	c := &benchCase{
		id:       "batch-tmpfs",
		name:     fmt.Sprintf("`ocu-set` NDJSON batch of %d documents, store on tmpfs", batchSize),
		tools:    []string{"ocu-set"},
		ownStore: "folder on tmpfs",
		setup: func() error {
			if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
				return fmt.Errorf("no tmpfs at /dev/shm")
			}
			return writeBatchFiles(ndjson, src)
		},
		ocu: command{
			argv:      []string{tool("ocu-set"), "--state-store", store},
			stdinFile: ndjson,
			prepare:   func() error { return os.RemoveAll(batchDir) },
		},
		ref: command{
			argv: []string{"cp", "-r", filepath.Join(src, "refs"), copyDir},
			prepare: func() error {
				if err := os.RemoveAll(copyDir); err != nil {
					return err
				}
				return os.MkdirAll(dir, 0o755)
			},
		},
		refNote: "`cp -r SRC DST` of the same files, both on tmpfs",
		check: func([]byte) error {
			return wantFile(filepath.Join(batchDir, "k00000", "@object.json"))
		},
		teardown: func() { os.RemoveAll(dir) },
		maxTime:  2 * time.Second,
	}
	return c
}

// writeReleaseRepo makes the repo of the release case: a filesystem store,
// 20 environments registered, a package with a build call and a deploy to
// each environment.
func writeReleaseRepo(ocuroot, dir string) error {
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var envs strings.Builder
	envs.WriteString("ocuroot(\"0.3.0\")\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&envs, "register_environment(environment(\"env%02d\", {\"type\": \"t\"}))\n", i)
	}
	files := map[string]string{
		"repo.ocu.star":         "ocuroot(\"0.3.0\")\nrepo_alias(\"bench\")\nstore.set(store.fs(\".store\"))\n",
		"environments.ocu.star": envs.String(),
		"pkg.ocu.star": `ocuroot("0.3.0")

def build(ctx):
    return done(outputs={"image": "registry.example.com/app:1"})

def up(ctx):
    return done(outputs={"url": "https://" + ctx.inputs.environment["name"] + ".example.com", "image": ctx.inputs.image})

def down(ctx):
    return done()

call(build, name="build")
phase("deploy", work=[deploy(environment=e, up=up, down=down, inputs={"image": ref("./call/build#output/image")}) for e in environments()])
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	out, err := exec.Command(ocuroot, "-C", dir, "--repo-commit-override", "bench", "release", "new", "environments.ocu.star").CombinedOutput()
	if err != nil {
		return fmt.Errorf("registering environments: %v\n%s", err, out)
	}
	return nil
}

// allCases are the cases of makeCases, then of gitCases, in order, made
// for no store: for their ids and attributes.
func allCases() []*benchCase {
	return append(makeCases("", shape{1, 1}, "", ""), gitCases(&gitFixture{shape: shape{1, 1}}, "")...)
}

// selectsSized tells whether ids select a case that runs at every size.
func selectsSized(ids map[string]bool) bool {
	for _, c := range allCases() {
		if ids[c.id] && c.sized {
			return true
		}
	}
	return false
}

// selectsFS and selectsGit tell whether ids select a case of the
// filesystem store or of the git store.
func selectsFS(ids map[string]bool) bool {
	for id := range ids {
		if !strings.HasPrefix(id, "git-") {
			return true
		}
	}
	return false
}

func selectsGit(ids map[string]bool) bool {
	for id := range ids {
		if strings.HasPrefix(id, "git-") {
			return true
		}
	}
	return false
}

// selectIDs returns the ids of the cases the arguments select (by id
// prefix), with the cases their references name; no arguments select all.
func selectIDs(args []string) (map[string]bool, error) {
	cases := allCases()
	var caseIDs []string
	for _, c := range cases {
		caseIDs = append(caseIDs, c.id)
	}
	ids := map[string]bool{}
	for _, a := range args {
		found := false
		for _, id := range caseIDs {
			if strings.HasPrefix(id, a) {
				ids[id], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("no case %q (cases: %s)", a, strings.Join(caseIDs, ", "))
		}
	}
	if len(args) == 0 {
		for _, id := range caseIDs {
			ids[id] = true
		}
	}
	for _, c := range cases {
		if ids[c.id] && c.refCase != "" {
			ids[c.refCase] = true
		}
	}
	return ids, nil
}

func wantLines(n int) func([]byte) error {
	return func(out []byte) error {
		if got := bytes.Count(out, []byte("\n")); got != n {
			return fmt.Errorf("printed %d lines, want %d", got, n)
		}
		return nil
	}
}

func wantFile(path string) error {
	_, err := os.Stat(path)
	return err
}

// writeBatchFiles writes the NDJSON batch fed to ocu-set and, for the
// reference, the files ocu-set is expected to write, below srcDir/refs.
func writeBatchFiles(ndjsonPath, srcDir string) error {
	if err := os.RemoveAll(srcDir); err != nil {
		return err
	}
	var ndjson bytes.Buffer
	for i := range batchSize {
		ref := fmt.Sprintf("+/custom/batch/k%05d", i)
		value := map[string]any{"approved": i%3 != 0, "n": i, "owner": fmt.Sprintf("team-%d", i%12)}
		line, err := json.Marshal(map[string]any{"ref": ref, "value": value})
		if err != nil {
			return err
		}
		ndjson.Write(line)
		ndjson.WriteByte('\n')

		doc, err := encodeEnvelope(value)
		if err != nil {
			return err
		}
		dir := filepath.Join(srcDir, "refs", filepath.FromSlash(ref))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "@object.json"), doc, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(ndjsonPath, ndjson.Bytes(), 0o644)
}

// removeAndSync removes dir and flushes the file systems, so that a write
// case starts without the previous run's deletions still pending.
func removeAndSync(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	syscall.Sync()
	return nil
}

// encodeEnvelope returns the bytes the store writes for a document (docs/store-format.md §3).
func encodeEnvelope(body any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(struct {
		Kind string `json:"kind"`
		Body any    `json:"body"`
	}{"ref", body})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// removeBenchRefs removes what the write cases add to the store, and the
// folders left empty.
func removeBenchRefs(base string) {
	custom := filepath.Join(base, "refs", "+", "custom")
	os.RemoveAll(filepath.Join(custom, "bench"))
	os.RemoveAll(filepath.Join(custom, "batch"))
	os.Remove(custom)                           // only if empty
	os.Remove(filepath.Join(base, "refs", "+")) // only if empty
}

// measure runs both sides once untimed (checking the ocu result), then
// alternates them runs times, swapping which goes first on every round. A
// case whose reference is another case's row (refCase) times the ocu side
// alone.
func measure(c *benchCase, runs int, env []string, dir string) {
	timesRef := c.refCase == ""
	if timesRef && c.refErr == nil {
		_, _, c.refErr = execute(c.ref, env, dir, false)
	}
	if c.warm && c.ocuErr == nil {
		_, _, c.ocuErr = execute(c.ocu, env, dir, false)
	}
	if c.ocuErr == nil {
		var out []byte
		if _, out, c.ocuErr = execute(c.ocu, env, dir, true); c.ocuErr == nil && c.check != nil {
			if err := c.check(out); err != nil {
				c.ocuErr = fmt.Errorf("wrong result: %w", err)
			}
		}
	}
	var ocuTimes, refTimes []time.Duration
	for i := range runs {
		sides := []bool{false, true} // false: reference, true: ocu
		if i%2 == 1 {
			sides = []bool{true, false}
		}
		for _, ocu := range sides {
			if ocu && c.ocuErr == nil {
				d, _, err := execute(c.ocu, env, dir, false)
				ocuTimes = append(ocuTimes, d)
				c.ocuErr = err
			}
			if !ocu && timesRef && c.refErr == nil {
				d, _, err := execute(c.ref, env, dir, false)
				refTimes = append(refTimes, d)
				c.refErr = err
			}
		}
	}
	if c.ocuErr == nil {
		c.ocuMedian = median(ocuTimes)
	}
	if timesRef && c.refErr == nil {
		c.refMedian = median(refTimes)
	}
}

// execute runs cmd once and returns its wall time (process start to exit).
// stdout goes to /dev/null unless capture is set.
func execute(c command, env []string, dir string, capture bool) (time.Duration, []byte, error) {
	if c.prepare != nil {
		if err := c.prepare(); err != nil {
			return 0, nil, fmt.Errorf("prepare: %w", err)
		}
	}
	if c.inproc != nil {
		d, err := c.inproc()
		return d, nil, err
	}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	if capture {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	if c.stdinFile != "" {
		f, err := os.Open(c.stdinFile)
		if err != nil {
			return 0, nil, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return elapsed, nil, fmt.Errorf("%s: %v: %s", filepath.Base(c.argv[0]), err, msg)
	}
	return elapsed, stdout.Bytes(), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func formatReport(cases []*benchCase, storeLine string, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s; %s/%s, %d CPUs, %s; median of %d runs, tool and reference alternating\n\n",
		storeLine, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), runs)
	b.WriteString("| case | store | ocu (median) | reference (median) | ratio | target | ok |\n")
	b.WriteString("|---|---|---:|---:|---:|---|---|\n")
	var problems []string
	for _, c := range cases {
		ocu, ref, ratio, ok := "—", "—", "—", ""
		var targets []string
		if c.maxRatio > 0 {
			targets = append(targets, fmt.Sprintf("≤ %.1f× reference", c.maxRatio))
		}
		if c.maxTime > 0 {
			targets = append(targets, "≤ "+fmtDur(c.maxTime))
		}
		target := strings.Join(targets, ", ")
		switch {
		case c.refErr == nil && c.refCase != "":
			ref = fmt.Sprintf("%s (%s, %s)", fmtDur(c.refMedian), c.refCase, c.refFrom)
		case c.refErr == nil:
			ref = fmtDur(c.refMedian)
		default:
			ref = "failed"
			problems = append(problems, fmt.Sprintf("%s (%s): reference: %v", c.id, c.size, c.refErr))
		}
		switch {
		case c.ocuErr != nil:
			ocu = "failed"
			ok = "failed: " + strings.SplitN(c.ocuErr.Error(), "\n", 2)[0]
			if len(ok) > 60 {
				ok = ok[:60] + "…"
			}
			problems = append(problems, fmt.Sprintf("%s (%s): ocu: %v", c.id, c.size, c.ocuErr))
		default:
			ocu = fmtDur(c.ocuMedian)
			ok = "yes"
			if c.maxRatio > 0 && (c.refErr != nil || float64(c.ocuMedian) > c.maxRatio*float64(c.refMedian)) {
				ok = "over target"
			}
			if c.maxTime > 0 && c.ocuMedian > c.maxTime {
				ok = "over target"
			}
		}
		if c.ocuErr == nil && c.refErr == nil {
			ratio = fmt.Sprintf("%.2f×", float64(c.ocuMedian)/float64(c.refMedian))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", c.name, c.size, ocu, ref, ratio, target, strings.ReplaceAll(ok, "|", `\|`))
	}
	b.WriteString("\nReferences:\n\n")
	noted := map[string]bool{}
	for _, c := range cases {
		if !noted[c.id] {
			noted[c.id] = true
			fmt.Fprintf(&b, "- %s: %s\n", c.id, c.refNote)
		}
	}
	if len(problems) > 0 {
		b.WriteString("\nFailures:\n\n")
		for _, p := range problems {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(p, "\n", "\n  "))
		}
	}
	return b.String()
}
