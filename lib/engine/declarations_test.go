package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDeclarations: deploy(), environment() and register_environment()
// refuse what a package may not declare.
func TestDeclarations(t *testing.T) {
	const fns = "def f(ctx):\n    return done()\n"
	tests := []struct{ name, src, err string }{
		{"environment not a name", `deploy(environment=5, up=f, down=f)`, "deploy: environment must be an environment() or a name, not int"},
		{"invalid environment name", `deploy(environment="a/b", up=f, down=f)`, `invalid environment name "a/b"`},
		{"reserved input", `deploy(environment="prod", up=f, down=f, inputs={"environment": 1})`, `deploy: the input name "environment" is reserved`},
		{"up a lambda", `deploy(environment="prod", up=lambda ctx: done(), down=f)`, "up must be a top-level function, not a lambda"},
		{"down not a function", `deploy(environment="prod", up=f, down="f")`, "down must be a top-level function, not string"},
		{"deployed twice", "deploy(environment=\"prod\", up=f, down=f)\ndeploy(environment=\"prod\", up=f, down=f)", `environment "prod" is deployed twice`},
		{"environments and work", "register_environment(environment(\"a\"))\ncall(f, name=\"x\")", "pkg.ocu.star declares both environments and work"},
		{"environment registered twice", "register_environment(environment(\"a\"))\nregister_environment(environment(\"a\"))", `environment "a" registered twice`},
		{"invalid environment", `environment("a b")`, `invalid environment name "a b"`},
		{"attribute not a string", `environment("a", {"n": 1})`, `environment "a": attributes must map strings to strings, got string: int`},
		{"invalid call name", `call(f, name="a/b")`, `invalid call name "a/b"`},
		{"work in a phase is not work", `phase("p", work=[1])`, `phase "p": work[0] is a int, not a call() or deploy()`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\n" + fns + tt.src + "\n"})
			_, err := tr.e.evaluate(context.Background(), "pkg.ocu.star", "c1", "1")
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}

// TestDeployDeclaration: a deploy to a name or an environment() gets the
// environment as an input read from state, besides its own inputs.
func TestDeployDeclaration(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def up(ctx):
    return done()
def down(ctx):
    return done()
deploy(environment="prod", up=up, down=down, inputs={"n": 1})
deploy(environment=environment("qa", {"k": "v"}), up=up, down=down)
`})
	ev, err := tr.e.evaluate(context.Background(), "pkg.ocu.star", "c1", "1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ph := range ev.pkg.Phases {
		for _, w := range ph.Work {
			got = append(got, w.Deploy.Environment+" "+w.Deploy.Up.Pos+" "+w.Deploy.Down.Pos+" "+jsonOf(t, w.Deploy.Inputs))
		}
	}
	want := []string{
		`prod pkg.ocu.star:2:1 pkg.ocu.star:4:1 {"environment":{"ref":"@/environment/prod"},"n":{"value":1}}`,
		`qa pkg.ocu.star:2:1 pkg.ocu.star:4:1 {"environment":{"ref":"@/environment/qa"}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestEnvironmentValue: environments() lists state; an environment value
// has a name, attributes, json() and dict(), and is JSON as an input.
func TestEnvironmentValue(t *testing.T) {
	tr := newTestRepo(t, map[string]string{"pkg.ocu.star": `ocuroot("0.3.0")
def f(ctx):
    return done(outputs={"env": ctx.inputs.env})
e = environments()[0]
call(f, name="a", inputs={
    "env": e,
    "json": e.json(),
    "dict": e.dict(),
    "str": str(e),
    "type": type(e),
    "names": [x.name for x in environments()],
    "attrs": e.attributes,
})
`})
	tr.set("@/environment/b", `{"name":"b","attributes":{}}`)
	tr.set("@/environment/a", `{"name":"a","attributes":{"z":"1","y":"2"}}`)
	ev, err := tr.e.evaluate(context.Background(), "pkg.ocu.star", "c1", "1")
	if err != nil {
		t.Fatal(err)
	}
	got := jsonOf(t, ev.pkg.Phases[0].Work[0].Call.Inputs)
	want := `{"attrs":{"value":{"y":"2","z":"1"}},` +
		`"dict":{"value":{"attributes":{"y":"2","z":"1"},"name":"a"}},` +
		`"env":{"value":{"attributes":{"y":"2","z":"1"},"name":"a"}},` +
		`"json":{"value":"{\"attributes\":{\"y\":\"2\",\"z\":\"1\"},\"name\":\"a\"}"},` +
		`"names":{"value":["a","b"]},"str":{"value":"environment(\"a\")"},"type":{"value":"environment"}}`
	if got != want {
		t.Errorf("inputs\n got %s\nwant %s", got, want)
	}
}

// TestTopLevelOnly: package builtins refuse to run inside a work function.
func TestTopLevelOnly(t *testing.T) {
	for _, call := range []string{`phase("p")`, `call(f, name="x")`, `register_environment(environment("a"))`, `deploy(environment="a", up=f, down=f)`} {
		t.Run(call, func(t *testing.T) {
			tr := newTestRepo(t, map[string]string{"pkg.ocu.star": "ocuroot(\"0.3.0\")\ndef f(ctx):\n    " + call + "\n    return done()\ncall(f, name=\"a\")\n"})
			tr.release("pkg.ocu.star", true)
			msg := tr.str("example/-/pkg.ocu.star/@1/call/a/1/functions/1#current/error")
			if !strings.Contains(msg, "is only available at the top level of a package, not in a work function") {
				t.Errorf("error %q", msg)
			}
		})
	}
}
