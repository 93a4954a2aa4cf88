package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRelease times `release new` of a package with one build call and
// 20 environments whose functions return at once (target ≤ 300 ms on the
// filesystem store; scripts/bench times the ocuroot process too).
func BenchmarkRelease(b *testing.B) {
	var envs strings.Builder
	envs.WriteString("ocuroot(\"0.3.0\")\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&envs, "register_environment(environment(\"env%02d\", {\"type\": \"t\"}))\n", i)
	}
	tr := newTestRepo(&testing.T{}, map[string]string{
		"environments.ocu.star": envs.String(),
		"pkg.ocu.star": `ocuroot("0.3.0")
def build(ctx):
    return done(outputs={"image": "img:1"})
def up(ctx):
    return done(outputs={"url": "https://" + ctx.inputs.environment["name"] + ".example.com", "image": ctx.inputs.image})
def down(ctx):
    return done()
call(build, name="build")
phase("deploy", work=[deploy(environment=e, up=up, down=down, inputs={"image": ref("./call/build#output/image")}) for e in environments()])
`,
	})
	ctx := context.Background()
	if _, err := tr.e.ReleaseNew(ctx, "environments.ocu.star", false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		failed, err := tr.e.ReleaseNew(ctx, "pkg.ocu.star", true)
		if err != nil || failed {
			b.Fatalf("release: %v %v", failed, err)
		}
	}
}
