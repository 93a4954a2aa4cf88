package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocu-team/ocu/lib/state"
)

// stepFiles returns a chain of two functions whose second fails when FAIL=second.
func stepFiles() map[string]string {
	return map[string]string{"steps.ocu.star": `ocuroot("0.3.0")
def first(ctx):
    return next(second, inputs={"n": 1})
def second(ctx):
    if host.env().get("FAIL") == "second":
        fail("second failed")
    return done(outputs={"n": ctx.inputs.n})
call(first, name="job")
`}
}

// TestRetry: a retry continues a failed chain in a new one, functions
// before the failed one copied as complete; the old chain and function
// become failed_retried.
func TestRetry(t *testing.T) {
	t.Run("failed up chain", func(t *testing.T) {
		t.Parallel()
		tr := newDeployRepo(t)
		tr.at("c1", "FAIL=up-staging").release("app.ocu.star", true)
		tr.set(appPkg+"/+/deploy/staging", deployIntent(app1, "")) // the retry's start rewrites it
		failed, err := tr.e.ReleaseRetry(context.Background(), releaseID(t, app2), false)
		if err != nil || failed {
			t.Fatalf("retry: %v, %v\n%s", failed, err, tr.out.String())
		}
		want := []string{app2 + "/deploy/staging/1 failed_retried", app2 + "/deploy/staging/2 complete"}
		if diff := cmp.Diff(want, tr.chainStatuses("deploy/staging")[1:]); diff != "" {
			t.Errorf("chains (-want +got):\n%s", diff)
		}
		old := tr.function(app2 + "/deploy/staging/1/functions/1")
		if old.Current.Status != state.StatusFailedRetried || old.Current.Runner != nil ||
			old.History[len(old.History)-1].Status != state.StatusFailedRetried ||
			tr.status(app2+"/deploy/staging/1/functions/1") != state.StatusFailedRetried {
			t.Errorf("retried function %+v", old)
		}
		if tr.status(app2+"/deploy/staging") != state.StatusComplete {
			t.Errorf("work item status %s", tr.status(app2+"/deploy/staging"))
		}
		if got := tr.target(appPkg + "/@/deploy/staging"); got != app2+"/deploy/staging/2" {
			t.Errorf("current deployment %q", got)
		}
		if got := tr.str(appPkg + "/+/deploy/staging#release"); got != app2 {
			t.Errorf("intent release %q", got)
		}
		wantLine := "app.ocu.star@2 deploy to staging: pending (retry of " + app2 + "/deploy/staging/1)"
		if got := lines(tr.out.String()); got[0] != wantLine || got[len(got)-1] != "release "+app2+": complete" {
			t.Errorf("progress:\n%s", tr.out.String())
		}
	})

	t.Run("second function of a chain", func(t *testing.T) {
		t.Parallel()
		const rel = "example/-/steps.ocu.star/@1"
		tr := newTestRepo(t, stepFiles())
		tr.at("c1", "FAIL=second").release("steps.ocu.star", true)
		if _, err := tr.e.ReleaseRetry(context.Background(), releaseID(t, rel), false); err != nil {
			t.Fatal(err)
		}
		first := tr.function(rel + "/call/job/2/functions/1")
		var history []string
		for _, h := range first.History {
			history = append(history, h.Status)
		}
		if diff := cmp.Diff([]string{"pending", "running", "complete", "complete"}, history); diff != "" {
			t.Errorf("copied function history (-want +got):\n%s", diff)
		}
		if first.Current.Status != state.StatusComplete || first.Current.Runner != nil || tr.status(rel+"/call/job/2/functions/1") != state.StatusComplete {
			t.Errorf("copied function %+v", first.Current)
		}
		if got := jsonOf(t, tr.value(rel+"/call/job#output/n")); got != "1" {
			t.Errorf("output %s", got)
		}
		statuses := map[string]string{}
		for _, f := range []string{"1", "1/functions/1", "1/functions/2", "2", "2/functions/2"} {
			statuses[f] = tr.status(rel + "/call/job/" + f)
		}
		want := map[string]string{"1": "failed_retried", "1/functions/1": "complete", "1/functions/2": "failed_retried", "2": "complete", "2/functions/2": "complete"}
		if diff := cmp.Diff(want, statuses); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		if entry := tr.str(rel + "/call/job/2#entrypoint"); entry != rel+"/call/job/2/functions/1" {
			t.Errorf("entrypoint %s", entry)
		}
	})

	t.Run("failed down chain", func(t *testing.T) {
		t.Parallel()
		tr := newDeployRepo(t)
		tr.remove(appPkg + "/+/deploy/staging")
		tr.mustApply(appPkg + "/+/deploy/staging")
		tr.at("c1", "FAIL=down-staging").workContinue()
		if failed, err := tr.e.ReleaseRetry(context.Background(), releaseID(t, app1), false); err != nil || failed {
			t.Fatalf("retry: %v, %v", failed, err)
		}
		c := tr.chain(app1 + "/deploy/staging/3")
		if c.Type != "down" || c.Reason != "intent" {
			t.Errorf("retry chain %+v", c)
		}
		if tr.target(appPkg+"/@/deploy/staging") != "" || tr.exists(appPkg+"/+/deploy/staging") {
			t.Error("the retried teardown left the deployment or wrote intent")
		}
	})

	t.Run("nothing failed", func(t *testing.T) {
		t.Parallel()
		tr := newDeployRepo(t)
		_, err := tr.e.ReleaseRetry(context.Background(), releaseID(t, app1), false)
		if err == nil || err.Error() != "no failed functions in "+app1 {
			t.Errorf("error %v", err)
		}
	})

	t.Run("running function elsewhere", func(t *testing.T) {
		t.Parallel()
		tr := newDeployRepo(t)
		tr.release("gate.ocu.star", false)
		tr.markRunning(gate1+"/call/gate/1/functions/1", state.Runner{Host: "elsewhere", Pid: 1})
		if _, err := tr.e.ReleaseRetry(context.Background(), releaseID(t, gate1), false); err == nil {
			t.Fatal("a running function retried without --running")
		}
		tr.out.Reset()
		failed, err := tr.e.ReleaseRetry(context.Background(), releaseID(t, gate1), true)
		if err != nil || failed {
			t.Fatalf("retry --running: %v, %v", failed, err)
		}
		if tr.status(gate1+"/call/gate/1/functions/1") != state.StatusFailedRetried || tr.status(gate1+"/call/gate/1") != state.StatusFailedRetried {
			t.Error("the running function was not marked failed_retried")
		}
		if tr.status(gate1+"/call/gate/2/functions/1") != state.StatusPending {
			t.Error("no pending copy")
		}
		if !strings.HasSuffix(tr.out.String(), "release "+gate1+": pending\n") {
			t.Errorf("progress:\n%s", tr.out.String())
		}
	})
}

// TestFailedReleasesAtCommit lists the releases of the current commit with
// a failed item.
func TestFailedReleasesAtCommit(t *testing.T) {
	tr := newDeployRepo(t)
	tr.at("c1", "FAIL=up-prod").release("app.ocu.star", true)
	tr.at("c2", "FAIL=up-prod").release("app.ocu.star", true)
	got, err := tr.e.FailedReleasesAtCommit(context.Background())
	if err != nil || !cmp.Equal(got, releaseIDs(t, app2)) {
		t.Errorf("%v, %v", got, err)
	}
}

// TestMarkInterrupted: functions this host left running in a process that
// is gone fail; others are left alone.
func TestMarkInterrupted(t *testing.T) {
	base := newDeployRepo(t)
	base.release("gate.ocu.star", false)
	const f = gate1 + "/call/gate/1/functions/1"
	const dead = 1 << 30 // above any pid_max
	tests := []struct {
		name   string
		host   string // "" this host
		pid    int
		stale  bool // the document is no longer running
		marked bool
	}{
		{name: "process gone", pid: dead, marked: true},
		{name: "this process", pid: os.Getpid(), marked: true},
		{name: "process alive", pid: os.Getppid()},
		{name: "another host", host: "elsewhere", pid: dead},
		{name: "a stale marker", pid: dead, stale: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			host := tt.host
			if host == "" {
				host = tr.e.host
			}
			tr.markRunning(f, state.Runner{Host: host, Pid: tt.pid, Started: "t"})
			if tt.stale {
				fdoc := tr.function(f)
				fdoc.Current.Status = state.StatusPending
				tr.set(f, jsonOf(t, fdoc))
			}
			n, err := tr.e.MarkInterrupted(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !tt.marked {
				if n != 0 || tr.status(f) != state.StatusRunning {
					t.Errorf("marked %d, status %s", n, tr.status(f))
				}
				return
			}
			msg := fmt.Sprintf("interrupted: runner %s pid %d stopped before the function finished", host, tt.pid)
			fdoc := tr.function(f)
			if n != 1 || fdoc.Current.Status != state.StatusFailed || fdoc.Current.Error != msg || fdoc.Current.Runner != nil {
				t.Errorf("marked %d: %+v", n, fdoc.Current)
			}
			for _, r := range []string{f, gate1 + "/call/gate/1", gate1 + "/call/gate"} {
				if s := tr.status(r); s != state.StatusFailed {
					t.Errorf("%s: status %s", r, s)
				}
			}
			if want := "gate.ocu.star@1 gate: running -> failed: " + msg + "\n"; tr.out.String() != want {
				t.Errorf("progress %q, want %q", tr.out.String(), want)
			}
			if got := tr.str(gate1 + "/call/gate/1/logs#0/message"); got != msg {
				t.Errorf("log %q", got)
			}
		})
	}
}

// TestApplyMarksInterrupted: ocu-apply fails when it found an interrupted
// function.
func TestApplyMarksInterrupted(t *testing.T) {
	tr := newDeployRepo(t)
	tr.release("gate.ocu.star", false)
	tr.markRunning(gate1+"/call/gate/1/functions/1", state.Runner{Host: tr.e.host, Pid: 1 << 30})
	if res := tr.runApply(); !res.Failed {
		t.Error("apply did not fail")
	}
	if tr.status(gate1+"/call/gate/1") != state.StatusFailed {
		t.Error("not marked")
	}
}

// TestInterruptedFunction: a function whose command is interrupted fails
// with the signal named, and its failure is recorded.
func TestInterruptedFunction(t *testing.T) {
	base := newDeployRepo(t)
	base.release("gate.ocu.star", false)
	base.set(gate1+"/custom/approval", `"alice"`)
	const f = gate1 + "/call/gate/1/functions/1"
	tests := []struct {
		cause error
		want  string
	}{
		{errors.New("interrupt"), "interrupted by SIGINT"},
		{errors.New("terminated"), "interrupted by SIGTERM"},
		{nil, "interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			tr := base.clone(t)
			// The command is interrupted once the function has started.
			ctx, cancel := context.WithCancelCause(context.Background())
			out := &cancelOnLine{line: "gate.ocu.star@1 gate: pending -> running\n", cancel: func() { cancel(tt.cause) }}
			tr.e = New(tr.e.Config, Options{Stdout: out, Stderr: &tr.errOut, Prog: "test"})
			if _, err := tr.e.evaluation(ctx, "gate.ocu.star", "c1", "1"); err != nil {
				t.Fatal(err) // evaluated before: the function's own run is interrupted
			}
			// The run stops with the command's cancellation; the outcome
			// is stored all the same.
			res, err := tr.e.run(ctx, releaseIDs(t, gate1))
			if (err != nil && !errors.Is(err, context.Canceled)) || res.ran != 1 || res.failed != 1 {
				t.Fatalf("run: %+v, %v", res, err)
			}
			got := tr.function(f)
			if got.Current.Status != state.StatusFailed || got.Current.Error != tt.want {
				t.Errorf("function %+v", got.Current)
			}
			if tr.status(gate1+"/call/gate/1") != state.StatusFailed {
				t.Error("chain not failed")
			}
		})
	}
}

// cancelOnLine calls cancel when line is written to it.
type cancelOnLine struct {
	line   string
	cancel func()
}

func (c *cancelOnLine) Write(p []byte) (int, error) {
	if string(p) == c.line {
		c.cancel()
	}
	return len(p), nil
}

// lateFiles returns a package whose evaluation is slow when SLOW is set and
// fails with a secret in its message when BREAK is set; its call waits for
// its release's custom/go.
func lateFiles() map[string]string {
	return map[string]string{"late.ocu.star": `ocuroot("0.3.0")
token = secret("s3cr3t-" + "value")
if host.env().get("SLOW"):
    host.shell("sleep 30")
if host.env().get("BREAK"):
    fail("cannot load with " + token)
def f(ctx):
    return done()
call(f, name="a", inputs={"go": ref("./custom/go")})
`}
}

// TestInterruptedEvaluation: a command interrupted while it evaluates the
// package of a function fails the function as interrupted.
func TestInterruptedEvaluation(t *testing.T) {
	const rel = "example/-/late.ocu.star/@1"
	tr := newTestRepo(t, lateFiles())
	tr.release("late.ocu.star", false)
	tr.set(rel+"/custom/go", `true`)
	ctx, cancel := context.WithCancelCause(context.Background())
	out := &cancelOnLine{line: "late.ocu.star@1 a: pending -> running\n", cancel: func() { cancel(errors.New("interrupt")) }}
	run := tr.at("c1", "SLOW=1")
	run.e = New(run.e.Config, Options{Stdout: out, Stderr: &run.errOut, Prog: "test"})
	if res, err := run.e.run(ctx, releaseIDs(t, rel)); (err != nil && !errors.Is(err, context.Canceled)) || res.failed != 1 {
		t.Fatalf("run: %+v, %v", res, err)
	}
	if got := tr.function(rel + "/call/a/1/functions/1").Current.Error; got != "interrupted by SIGINT" {
		t.Errorf("error %q, want interrupted by SIGINT", got)
	}
}

// TestEvaluationErrorMasked: the error of a package that no longer
// evaluates when its function runs is stored with secrets masked.
func TestEvaluationErrorMasked(t *testing.T) {
	const rel = "example/-/late.ocu.star/@1"
	tr := newTestRepo(t, lateFiles())
	tr.release("late.ocu.star", false)
	tr.set(rel+"/custom/go", `true`)
	run := tr.at("c1", "BREAK=1")
	if failed, err := run.e.ReleaseContinue(context.Background(), releaseID(t, rel)); err != nil || !failed {
		t.Fatalf("continue: %v, %v", failed, err)
	}
	if strings.Contains(run.out.String(), "s3cr3t-value") {
		t.Errorf("secret printed:\n%s", run.out.String())
	}
	f := tr.function(rel + "/call/a/1/functions/1")
	if !strings.Contains(f.Current.Error, "cannot load with") {
		t.Fatalf("error %q", f.Current.Error)
	}
	if strings.Contains(f.Current.Error, "s3cr3t-value") || strings.Contains(tr.doc(rel+"/call/a/1/logs"), "s3cr3t-value") {
		t.Errorf("the secret is stored in the function's error or logs: %q", f.Current.Error)
	}
}

// TestReleaseNewErrorMasked: a package that fails while release new
// evaluates it returns an error with the registered secrets masked, as
// every line the engine prints (the command prints that error).
func TestReleaseNewErrorMasked(t *testing.T) {
	tr := newTestRepo(t, lateFiles())
	run := tr.at("c1", "BREAK=1")
	_, err := run.e.ReleaseNew(context.Background(), "late.ocu.star", true)
	if err == nil || !strings.Contains(err.Error(), "cannot load with <secret>") {
		t.Fatalf("release new: %v, want the failure with the secret masked", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-value") {
		t.Errorf("secret in the error: %v", err)
	}
}
