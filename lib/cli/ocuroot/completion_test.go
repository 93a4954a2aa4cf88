package ocuroot

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/cli"
)

func completionTestContext(t *testing.T) context.Context {
	return cli.WithEnv(context.Background(), cli.Env{Dir: t.TempDir(), Environ: []string{"HOME=" + t.TempDir()}})
}

// TestCompletionModel checks, against lists written out here, that the
// model learns the flags each verb takes, including those ocuroot adds on
// top of a tool, and which of them take a value.
func TestCompletionModel(t *testing.T) {
	m := newCompletionModel(Command(cli.IO{}))
	tests := []struct {
		verb    string
		switch_ []string // flags without a value
		valued  []string
		absent  []string
	}{
		{verb: "release new", switch_: []string{"-l", "--logmode", "-f", "--force"}, valued: []string{"--package", "--release", "--wait", "--state-store", "-C"}},
		{verb: "release continue", switch_: []string{"-l", "--logmode"}, valued: []string{"--package", "--release", "--wait"}},
		{verb: "release retry", switch_: []string{"-l", "--logmode", "--running"}, valued: []string{"--package", "--release"}},
		{verb: "work continue", switch_: []string{"-l", "--logmode"}, valued: []string{"--max-rounds"}, absent: []string{"--package"}},
		{verb: "work any", switch_: []string{"-l", "--logmode", "-d", "--dryrun", "--comprehensive", "-n", "--dry-run"}, valued: []string{"--wait"}, absent: []string{"--package"}},
		{verb: "work tasks", switch_: []string{"-l", "--logmode"}},
		{verb: "work trigger", switch_: []string{"-l", "--logmode", "-d", "--dryrun", "-i", "--intent"}},
		{verb: "deploy down", valued: []string{"--wait"}, absent: []string{"-l", "--logmode", "--package"}},
		{verb: "state get", switch_: []string{"-c", "-R", "--history"}, valued: []string{"--package", "--release", "-q", "--query", "--at"}},
		{verb: "state match", switch_: []string{"-l", "--no-links"}, valued: []string{"--package", "--release", "--at"}, absent: []string{"--logmode"}},
		{verb: "state set", valued: []string{"--package", "--release", "-f", "--format"}},
		{verb: "state delete", switch_: []string{"--missing-ok"}, valued: []string{"--package", "--release"}},
		{verb: "state apply", valued: []string{"--package", "--release"}},
		{verb: "state diff", switch_: []string{"--json"}, valued: []string{"--package", "--release"}},
		{verb: "state view", valued: []string{"--package", "--release", "--addr"}},
		{verb: "completion bash", valued: []string{"--state-store"}},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			flags, ok := m.flags[tt.verb]
			if !ok {
				t.Fatalf("no flags for %q", tt.verb)
			}
			find := func(name string) (completionFlag, bool) {
				i := slices.IndexFunc(flags, func(f completionFlag) bool { return f.name == name })
				if i < 0 {
					return completionFlag{}, false
				}
				return flags[i], true
			}
			for _, want := range []struct {
				names []string
				value bool
			}{{tt.switch_, false}, {tt.valued, true}} {
				for _, name := range want.names {
					f, ok := find(name)
					switch {
					case !ok:
						t.Errorf("%s is not completed", name)
					case f.value != want.value:
						t.Errorf("%s: takes a value = %v, want %v", name, f.value, want.value)
					}
				}
			}
			for _, name := range tt.absent {
				if _, ok := find(name); ok {
					t.Errorf("%s is completed, but %s does not take it", name, tt.verb)
				}
			}
		})
	}
	// Every verb of the table is in the model.
	for c, verbs := range commands() {
		for v := range verbs {
			if _, ok := m.flags[c+" "+v]; !ok {
				t.Errorf("%s %s: no completion", c, v)
			}
		}
	}
}

// completionCase is a command line being completed (the last word is the
// one completed) and the words the script must offer.
type completionCase struct {
	words []string
	want  []string
}

// completionCases lists, for every command, verb and flag of the command
// table, a command line and what completing it must offer: the commands,
// each command's verbs, each verb's flags, ocuroot's own flags; and flag
// values skipped (a switch such as -l takes none). Commands and verbs come
// from the table itself, flags from the model (checked by
// TestCompletionModel).
func completionCases(m completionModel) []completionCase {
	table := commands()
	cmdNames := append(slices.Sorted(maps.Keys(table)), "help", "version")
	globals := strings.Fields(names(m.flags[""], nil))
	cases := []completionCase{
		{[]string{"ocuroot", ""}, cmdNames},
		{[]string{"ocuroot", "-"}, globals},
		{[]string{"ocuroot", "--state-store", "st", ""}, cmdNames},
		{[]string{"ocuroot", "-C", "dir", "state", "-"}, globals},
		{[]string{"ocuroot", "help", ""}, cmdNames},
		{[]string{"ocuroot", "release", "new", "-l", "-"}, strings.Fields(names(m.flags["release new"], nil))},
		{[]string{"ocuroot", "state", "get", "-q", "-", "--pa"}, []string{"--package"}},
	}
	for _, c := range slices.Sorted(maps.Keys(table)) {
		cases = append(cases, completionCase{[]string{"ocuroot", c, ""}, slices.Sorted(maps.Keys(table[c]))})
		for _, v := range slices.Sorted(maps.Keys(table[c])) {
			want := strings.Fields(names(m.flags[c+" "+v], nil))
			if len(want) == 0 {
				want = []string{"(no flags learnt)"}
			}
			cases = append(cases, completionCase{[]string{"ocuroot", c, v, "-"}, want})
		}
	}
	return cases
}

// TestCompletionScripts runs each shell's completion script, where the
// shell is installed, on every case of completionCases: the scripts are
// valid and name every verb and flag of the table.
func TestCompletionScripts(t *testing.T) {
	ctx := completionTestContext(t)
	m := newCompletionModel(Command(cli.IO{}))
	cases := completionCases(m)
	shells := []struct {
		shell  string
		driver func(script string, cases []completionCase) string
	}{
		{"bash", bashDriver},
		{"zsh", zshDriver},
		{"fish", fishDriver},
	}
	for _, sh := range shells {
		t.Run(sh.shell, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := cli.Run(ctx, Command, []string{"completion", sh.shell}, cli.IO{Stdout: &stdout, Stderr: &stderr}); code != 0 {
				t.Fatalf("ocuroot completion %s: exit %d: %s", sh.shell, code, stderr.String())
			}
			bin, err := exec.LookPath(sh.shell)
			if err != nil {
				t.Skipf("%s is not installed", sh.shell)
			}
			script := filepath.Join(t.TempDir(), "ocuroot."+sh.shell)
			if err := os.WriteFile(script, stdout.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "-n", script).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", sh.shell, err, out)
			}
			driver := filepath.Join(t.TempDir(), "driver")
			if err := os.WriteFile(driver, []byte(sh.driver(script, cases)), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, driver)
			cmd.Dir = t.TempDir() // no files to complete
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s driver: %v\n%s", sh.shell, err, out)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(got) != len(cases) {
				t.Fatalf("%d lines for %d cases:\n%s", len(got), len(cases), out)
			}
			for i, c := range cases {
				words := strings.Fields(got[i])
				slices.Sort(words)
				want := slices.Clone(c.want)
				slices.Sort(want)
				if diff := cmp.Diff(want, words); diff != "" {
					t.Errorf("completing %q (-want +got):\n%s", c.words, diff)
				}
			}
		})
	}
}

// shWords quotes words for bash and zsh.
func shWords(words []string) string {
	var q []string
	for _, w := range words {
		q = append(q, "'"+w+"'")
	}
	return strings.Join(q, " ")
}

// bashDriver completes each case with _ocuroot, one line of words each.
func bashDriver(script string, cases []completionCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "source '%s'\n", script)
	b.WriteString(`c() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_ocuroot
	echo "${COMPREPLY[*]}"
}
`)
	for _, c := range cases {
		fmt.Fprintf(&b, "c %s\n", shWords(c.words))
	}
	return b.String()
}

// zshDriver completes each case with _ocuroot, compadd printing the words
// that start with the word completed, as zsh would offer them.
func zshDriver(script string, cases []completionCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "source '%s'\n", script)
	b.WriteString(`compadd() {
	local w
	local -a out
	[[ $1 == -- ]] && shift
	for w; do [[ $w == "${words[CURRENT]}"* ]] && out+=($w); done
	print -r -- "$out[*]"
}
_files() { print; }
c() {
	local -a words
	words=("$@")
	CURRENT=$#
	_ocuroot
}
`)
	for _, c := range cases {
		fmt.Fprintf(&b, "c %s\n", shWords(c.words))
	}
	return b.String()
}

// fishDriver completes each case with complete -C, one line of words each.
func fishDriver(script string, cases []completionCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "source '%s'\n", script)
	for _, c := range cases {
		line := strings.Join(c.words, " ")
		fmt.Fprintf(&b, "string join ' ' -- (complete -C %s | string replace -r '\\t.*' '')\n", fishQuote(line))
	}
	return b.String()
}

// commands is the tree's table of commands and their verbs.
func commands() map[string]map[string]bool {
	table := map[string]map[string]bool{}
	for _, c := range Command(cli.IO{}).Subcommands {
		if len(c.Subcommands) == 0 {
			continue // help, version
		}
		table[c.Name] = map[string]bool{}
		for _, v := range c.Subcommands {
			table[c.Name][v.Name] = true
		}
	}
	return table
}
