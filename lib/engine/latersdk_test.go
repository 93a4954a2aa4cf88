package engine

import (
	"context"
	"strings"
	"testing"
)

// TestLaterSDKNames: packages written for the SDK of Ocuroot 0.3.11 and
// later run unchanged: task() is call(), phase(tasks=...) is work=,
// done(watch=...) is accepted, and ./task/NAME refs name ./call/NAME.
func TestLaterSDKNames(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"app/release.ocu.star": `ocuroot("0.3.0")
def build():
    return done(outputs={"image": "app:1"}, watch=["app/**"])
def check(image):
    return done(outputs={"seen": image})
task(build, name="build")
phase(name="verify", tasks=[task(check, name="check", inputs={"image": ref("./task/build#output/image")})])
`})
	failed, err := tr.e.ReleaseNew(context.Background(), "app/release.ocu.star", false)
	if err != nil || failed {
		t.Fatalf("release: failed %v, %v\n%s", failed, err, tr.out.String())
	}
	if got := jsonOf(t, tr.value("example/-/app/release.ocu.star/@1/call/check#output/seen")); got != `"app:1"` {
		t.Errorf("check saw %s", got)
	}
	if got := jsonOf(t, tr.value("example/-/app/release.ocu.star/@1/call/check/1/functions/1#current/inputs/image/ref")); got != `"example/-/app/release.ocu.star/@1/call/build#output/image"` {
		t.Errorf("input ref %s", got)
	}
	if got := jsonOf(t, tr.value("example/-/app/release.ocu.star/@1#package/phases/1/work/0/call/name")); got != `"check"` {
		t.Errorf("phase verify holds %s", got)
	}

	tr = newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done()
phase(name="p", work=[call(f, name="a")], tasks=[call(f, name="b")])
`})
	_, err = tr.e.ReleaseNew(context.Background(), "pkg.ocu.star", false)
	if err == nil || !strings.Contains(err.Error(), `phase "p": give work= or tasks=, not both`) {
		t.Errorf("work= and tasks=: %v", err)
	}
}
