package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ocu-team/ocu/lib/ref"
)

// triggerConfig is a repo.ocu.star whose trigger leaves a file named after
// the commit in its folder, and fails when that folder holds "broken".
const triggerConfig = `ocuroot("0.3.0")
def wake(commit):
    if host.is_dir("broken"):
        fail("cannot wake " + commit)
    host.write("woken-" + commit, "go")
trigger(wake)
`

// TestTriggers: the trigger recorded with a commit's repo configuration is
// called with the commit; no trigger is a notice, a failing trigger a
// warning; a dry run prints what waits instead.
func TestTriggers(t *testing.T) {
	tests := []struct {
		name   string
		config string // repo.ocu.star recorded at c1
		broken bool
		pairs  []Outstanding
		dryRun bool
		stdout []string
		stderr []string
		woken  []string // files the trigger left
	}{
		{
			name: "trigger called", config: triggerConfig,
			pairs:  []Outstanding{{"example", "c1", []string{"Task ref: x"}}},
			stdout: []string{"triggered example at c1"},
			woken:  []string{"woken-c1"},
		},
		{
			name: "dry run", config: triggerConfig, dryRun: true,
			pairs:  []Outstanding{{"example", "c1", []string{"Task ref: x", "Outstanding ref: y"}}},
			stdout: []string{"Task ref: x", "Outstanding ref: y", "would trigger example at c1"},
		},
		{
			name: "no trigger", config: `ocuroot("0.3.0")` + "\n",
			pairs:  []Outstanding{{"example", "c1", nil}},
			stderr: []string{"test: outstanding work for example at commit c1: check out c1 and run ocu-apply"},
		},
		{
			name: "no configuration recorded", config: triggerConfig,
			pairs: []Outstanding{{"example", "c9", nil}, {"other", "c1", nil}},
			stderr: []string{
				"test: outstanding work for example at commit c9: check out c9 and run ocu-apply",
				"test: outstanding work for other at commit c1: check out c1 and run ocu-apply",
			},
		},
		{
			name: "failing trigger", config: triggerConfig, broken: true,
			pairs:  []Outstanding{{"example", "c1", nil}},
			stderr: []string{"test: warning: trigger for example at c1: example/-/repo.ocu.star/@c1:4:13: fail: cannot wake c1"},
		},
		{
			name: "configuration that does not evaluate", config: "ocuroot(\"0.3.0\")\nx = \n",
			pairs:  []Outstanding{{"example", "c1", nil}},
			stderr: []string{"test: warning: trigger for example at c1: example/-/repo.ocu.star/@c1:2:5: got newline, want primary expression"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\ndef f(ctx):\n    return done()\ncall(f, name=\"a\")\n"})
			tr.e.RepoConfig = []byte(tt.config)
			tr.release("pkg.ocu.star", false)
			tr.out.Reset()
			dir := t.TempDir()
			if tt.broken {
				if err := os.Mkdir(filepath.Join(dir, "broken"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tr.e.RunTriggers(context.Background(), tt.pairs, dir, tt.dryRun)
			if diff := cmp.Diff(tt.stdout, lines(tr.out.String())); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stderr, lines(tr.errOut.String())); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			var woken []string
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "broken" {
					woken = append(woken, e.Name())
				}
			}
			if diff := cmp.Diff(tt.woken, woken); diff != "" {
				t.Errorf("trigger files (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIntentTriggers: the configuration linked in the intent store names the
// commit to trigger.
func TestIntentTriggers(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\ndef f(ctx):\n    return done()\ncall(f, name=\"a\")\n"})
	tr.e.RepoConfig = []byte(triggerConfig)
	tr.release("pkg.ocu.star", false)
	tr.out.Reset()
	dir := t.TempDir()
	if err := tr.e.IntentTriggers(context.Background(), dir, true); err != nil {
		t.Fatal(err)
	}
	if got := tr.out.String(); got != "would trigger example at c1\n" {
		t.Errorf("dry run: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "woken-c1")); err == nil {
		t.Error("a dry run triggered")
	}
	tr.out.Reset()
	if err := tr.e.IntentTriggers(context.Background(), dir, false); err != nil {
		t.Fatal(err)
	}
	if got := tr.out.String(); got != "triggered example at c1\n" {
		t.Errorf("stdout %q, stderr %q", got, tr.errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "woken-c1")); err != nil {
		t.Error(err)
	}
	// The state record of the same commit works too.
	if err := tr.e.Trigger(context.Background(), "example", "c1", dir, ref.State); err != nil {
		t.Error(err)
	}
	if err := tr.e.Trigger(context.Background(), "example", "c2", dir, ref.Intent); err != ErrNoTrigger {
		t.Errorf("no record: %v", err)
	}
}

// TestTriggerLimits: a trigger runs under the limits of package code, so a
// loop in it ends with the limit's one-line message.
func TestTriggerLimits(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\ndef f(ctx):\n    return done()\ncall(f, name=\"a\")\n"})
	tr.e.RepoConfig = []byte("ocuroot(\"0.3.0\")\ndef wake(commit):\n    while True:\n        pass\ntrigger(wake)\n")
	tr.release("pkg.ocu.star", false)
	tr.e.Limits = Limits{MaxSteps: 100000}
	tr.out.Reset()
	tr.e.RunTriggers(context.Background(), []Outstanding{{"example", "c1", nil}}, t.TempDir(), false)
	want := []string{"test: warning: trigger for example at c1: exceeded 100000 Starlark execution steps (OCU_FUNCTION_MAX_STEPS)"}
	if diff := cmp.Diff(want, lines(tr.errOut.String())); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}
