package sdk

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.starlark.net/starlark"
)

func TestShell(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		environ []string // added to the host environment
		want    map[string]any
		wantErr string
	}{
		{
			name: "stdout stderr exit code",
			src:  `r = shell("echo out; echo err >&2")`,
			want: map[string]any{"stdout": "out\n", "stderr": "err\n", "exit_code": json.Number("0")},
		},
		{
			name: "combined in arrival order",
			src:  `r = host.shell("echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c")`,
			want: map[string]any{"stdout": "a\nc\n", "stderr": "b\n", "combined_output": "a\nb\nc\n", "exit_code": json.Number("0")},
		},
		{
			name:    "non-zero exit fails",
			src:     `r = shell("echo before; exit 3")`,
			wantErr: "main.ocu.star:2:10: command exited with status 3",
		},
		{
			name: "continue_on_error",
			src:  `r = shell("echo out; echo err >&2; exit 3", continue_on_error=True)`,
			want: map[string]any{"stdout": "out\n", "stderr": "err\n", "exit_code": json.Number("3")},
		},
		{
			name:    "env added to the inherited environment",
			environ: []string{"BASE=base", "FOO=old"},
			src:     `r = shell("echo $BASE $FOO $NEW", env={"FOO": "over", "NEW": "new"})`,
			want:    map[string]any{"stdout": "base over new\n"},
		},
		{
			name: "process environment not inherited",
			src:  `r = shell("echo ${OCU_SDK_TEST_LEAK:-none}")`,
			want: map[string]any{"stdout": "none\n"},
		},
		{
			name: "other shell",
			src:  `r = shell("echo $0", shell="bash")`,
			want: map[string]any{"stdout": "bash\n"},
		},
		{
			name:    "env value must be a string",
			src:     `r = shell("true", env={"A": 1})`,
			wantErr: `main.ocu.star:2:10: shell: env["A"] must be a string, got int`,
		},
		{
			name:    "missing command",
			src:     `r = shell()`,
			wantErr: `main.ocu.star:2:10: shell: missing argument for command`,
		},
		{
			name:    "missing dir",
			src:     `r = shell("true", dir="nope")`,
			wantErr: `main.ocu.star:2:10: shell: dir nope: no such file or directory`,
		},
		{
			name:    "missing shell",
			src:     `r = shell("true", shell="no-such-shell-ocu")`,
			wantErr: `main.ocu.star:2:10: shell: cannot run no-such-shell-ocu: exec: "no-such-shell-ocu": executable file not found in $PATH`,
		},
	}
	t.Setenv("OCU_SDK_TEST_LEAK", "leaked")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := testHost(t)
			h.Environ = append(h.Environ, tt.environ...)
			g, err := execSrc(t, h, tt.src)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := global(t, g, "r").(map[string]any)
			for k, want := range tt.want {
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
			if _, ok := got["combined_output"]; !ok {
				t.Errorf("no combined_output in %v", got)
			}
		})
	}
}

func TestShellDir(t *testing.T) {
	h, _ := testHost(t)
	if err := os.Mkdir(filepath.Join(h.Dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := execSrc(t, h, `
rel = shell("pwd -P", dir="sub").stdout.strip()
dflt = shell("pwd -P").stdout.strip()
`)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(h.Dir)
	if got := global(t, g, "rel"); got != filepath.Join(real, "sub") {
		t.Errorf("dir=sub ran in %v, want %s", got, filepath.Join(real, "sub"))
	}
	if got := global(t, g, "dflt"); got != real {
		t.Errorf("default dir ran in %v, want %s", got, real)
	}
	abs := t.TempDir()
	g, err = execSrc(t, h, `r = shell("pwd -P", dir=`+starlark.String(abs).String()+`).stdout.strip()`)
	if err != nil {
		t.Fatal(err)
	}
	realAbs, _ := filepath.EvalSymlinks(abs)
	if got := global(t, g, "r"); got != realAbs {
		t.Errorf("absolute dir ran in %v, want %s", got, realAbs)
	}
}

func TestShellLog(t *testing.T) {
	h, rec := testHost(t)
	_, err := execSrc(t, h, `
tok = secret("hunter2")
shell("echo one; echo two >&2; printf 'no newline with hunter2'")
shell("echo muted; echo muted >&2", mute=True)
print("printed " + tok)
`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"one", "no newline with <secret>"}, rec.texts(StreamStdout)); diff != "" {
		t.Errorf("stdout lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"two"}, rec.texts(StreamStderr)); diff != "" {
		t.Errorf("stderr lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"printed <secret>"}, rec.texts(StreamPrint)); diff != "" {
		t.Errorf("print lines (-want +got):\n%s", diff)
	}
	for _, l := range rec.lines {
		want := "main.ocu.star:4:6"
		if l.Stream == StreamPrint {
			want = "main.ocu.star:6:6"
		}
		if l.Pos.String() != want {
			t.Errorf("line %q at %s, want %s", l.Text, l.Pos, want)
		}
		if l.Thread != "main.ocu.star" {
			t.Errorf("line %q on thread %q", l.Text, l.Thread)
		}
	}
}

// TestShellLogMaskedStream checks that a secret is masked in shell output
// however the output cuts it: across lines, across reads of the pipe.
func TestShellLogMaskedStream(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string
		wantErr []string
	}{
		{
			name: "multi-line secret",
			src:  `shell("printf '%s\\n' \"$K\"", env={"K": secret("first-line\nsecond-line")})`,
			want: []string{"<secret>"},
		},
		{
			name: "secret across reads",
			src:  `secret("split-token-42"); shell("printf 'a split-'; sleep 0.2; printf 'token-42 b\\n'")`,
			want: []string{"a <secret> b"},
		},
		{
			name:    "multi-line secret on stderr across reads",
			src:     `secret("one\ntwo"); shell("printf 'x one\\n' >&2; sleep 0.2; printf 'two y\\n' >&2")`,
			wantErr: []string{"x <secret> y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := testHost(t)
			if _, err := execSrc(t, h, tt.src); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rec.texts(StreamStdout)); diff != "" {
				t.Errorf("stdout lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErr, rec.texts(StreamStderr)); diff != "" {
				t.Errorf("stderr lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestShellLogLongLine checks that a very long output line is logged in
// pieces of at most MaxLogLine bytes, nothing lost.
func TestShellLogLongLine(t *testing.T) {
	h, rec := testHost(t)
	if _, err := execSrc(t, h, `shell("head -c 200000 /dev/zero | tr '\\0' x; echo; echo end")`); err != nil {
		t.Fatal(err)
	}
	lines := rec.texts(StreamStdout)
	total := 0
	for _, l := range lines[:len(lines)-1] {
		if len(l) > MaxLogLine || strings.Trim(l, "x") != "" {
			t.Fatalf("piece of %d bytes: %.20q", len(l), l)
		}
		total += len(l)
	}
	if total != 200000 || lines[len(lines)-1] != "end" || len(lines) != 5 {
		t.Errorf("%d lines, %d bytes of x, last %q", len(lines), total, lines[len(lines)-1])
	}
}

func TestShellUnmaskedResult(t *testing.T) {
	h, _ := testHost(t)
	g, err := execSrc(t, h, `
secret("hunter2")
r = shell("echo hunter2").stdout
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := global(t, g, "r"); got != "hunter2\n" {
		t.Errorf("stdout = %q: results are not masked, only logs", got)
	}
}

func TestShellCancel(t *testing.T) {
	h, _ := testHost(t)
	writeFiles(t, h.Dir, map[string]string{"main.ocu.star": "ocuroot(\"0.3.0\")\nshell(\"sleep 30\")\n"})
	ev := &Evaluator{Root: h.Dir, Predeclared: func(string) starlark.StringDict { return h.Builtins() }}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	src, _ := os.ReadFile(filepath.Join(h.Dir, "main.ocu.star"))
	_, err := ev.Exec(ctx, "main.ocu.star", src)
	if err == nil || !strings.Contains(err.Error(), "command interrupted") {
		t.Fatalf("error = %v, want an interruption", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %s", d)
	}
}

// umask returns the process umask, probed with a file.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(p, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ fi.Mode().Perm()
}

func TestFiles(t *testing.T) {
	h, _ := testHost(t)
	writeFiles(t, h.Dir, map[string]string{"in/b.txt": "bee", "in/a.txt": "ay", "in/c/x": ""})
	g, err := execSrc(t, h, `
write("out/deep/new.txt", "hello")
host.write_file("out/other.txt", "other")
read1 = read("out/deep/new.txt")
read2 = host.read_file("in/a.txt")
read3 = host.read("`+filepath.Join(h.Dir, "in/b.txt")+`")
names = read_dir("in")
names2 = host.read_dir(".")
dirs = [is_dir("in"), is_dir("in/a.txt"), host.is_dir("missing"), is_dir("in/c")]
`)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{
		"read1":  "hello",
		"read2":  "ay",
		"read3":  "bee",
		"names":  []any{"a.txt", "b.txt", "c"},
		"names2": []any{"in", "main.ocu.star", "out"},
		"dirs":   []any{true, false, false, true},
	} {
		if diff := cmp.Diff(want, global(t, g, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	mask := umask(t)
	for p, want := range map[string]os.FileMode{
		"out/deep/new.txt": 0o644 &^ mask,
		"out/deep":         0o755 &^ mask,
		"out":              0o755 &^ mask,
	} {
		fi, err := os.Stat(filepath.Join(h.Dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		src, wantErr string
	}{
		{`read("nope.txt")`, "main.ocu.star:2:5: read: open nope.txt: no such file or directory"},
		{`read_dir("nope")`, "main.ocu.star:2:9: read_dir: open nope: no such file or directory"},
		{`write("x.txt", 1)`, "main.ocu.star:2:6: write: content must be a string, got int"},
		{`host.read()`, "main.ocu.star:2:10: read: missing argument for path"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			h, _ := testHost(t)
			_, err := execSrc(t, h, tt.src)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestHostInfo(t *testing.T) {
	h, _ := testHost(t)
	h.Environ = []string{"A=1", "B=x=y", "A=2", "NOEQUALS"}
	g, err := execSrc(t, h, `
e = env()
e2 = host.env()
info = [os(), host.arch(), pwd(), host.pwd()]
`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"A": "2", "B": "x=y"}, global(t, g, "e")); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(global(t, g, "e"), global(t, g, "e2")); diff != "" {
		t.Errorf("host.env differs from env:\n%s", diff)
	}
	if diff := cmp.Diff([]any{runtime.GOOS, runtime.GOARCH, h.Dir, h.Dir}, global(t, g, "info")); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
}

func TestSecretBuiltin(t *testing.T) {
	tests := []struct {
		src, wantErr string
	}{
		{`x = secret("tok")`, ""},
		{`x = secret(1)`, "main.ocu.star:2:11: secret: want a string, got int"},
		{`x = secret("")`, "main.ocu.star:2:11: secret: the value must not be empty"},
		{`x = secret()`, "main.ocu.star:2:11: secret: got 0 arguments, want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			h, _ := testHost(t)
			g, err := execSrc(t, h, tt.src)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := global(t, g, "x"); got != "tok" {
				t.Errorf("secret returned %v", got)
			}
			if got := h.Secrets.Mask("a tok"); got != "a <secret>" {
				t.Errorf("not registered: %q", got)
			}
		})
	}
}

func TestJSONAndStruct(t *testing.T) {
	h, _ := testHost(t)
	g, err := execSrc(t, h, `
s = struct(a=1, b="x")
enc = json.encode({"k": [1, 2.5, None]})
dec = json.decode('{"n": 1}')
fields = [s.a, s.b]
`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"k":[1,2.5,null]}`, global(t, g, "enc")); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(map[string]any{"n": json.Number("1")}, global(t, g, "dec")); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(map[string]any{"a": json.Number("1"), "b": "x"}, global(t, g, "s")); diff != "" {
		t.Error(diff)
	}
}

// TestCredentials checks that ocu's own git credentials stay out of
// host.env() and of shell commands unless asked for by name, and are
// masked wherever they are logged.
func TestCredentials(t *testing.T) {
	h, rec := testHost(t)
	h.Environ = append(h.Environ, "OCU_GIT_TOKEN=tok-123456", "OCU_GIT_SSH_KEY_PASSPHRASE=pass-654321", "OTHER=o")
	g, err := execSrc(t, h, `
all = sorted(host.env().keys())
tok = host.env("OCU_GIT_TOKEN")
missing = host.env("NOT_SET_ANYWHERE")
other = env("OTHER")
inherited = shell("echo ${OCU_GIT_TOKEN:-none} ${OCU_GIT_SSH_KEY_PASSPHRASE:-none}").stdout.strip()
passed = shell("echo $T", env={"T": tok}).stdout.strip()
print("token " + tok)
`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"OTHER", "PATH"}, global(t, g, "all")); diff != "" {
		t.Errorf("host.env() keys (-want +got):\n%s", diff)
	}
	got := []any{global(t, g, "tok"), global(t, g, "missing"), global(t, g, "other"), global(t, g, "inherited"), global(t, g, "passed")}
	if diff := cmp.Diff([]any{"tok-123456", nil, "o", "none none", "tok-123456"}, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"none none", "<secret>"}, rec.texts(StreamStdout)); diff != "" {
		t.Errorf("shell log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"token <secret>"}, rec.texts(StreamPrint)); diff != "" {
		t.Errorf("print log (-want +got):\n%s", diff)
	}
	if got := h.Secrets.Mask("pass-654321"); got != "<secret>" {
		t.Errorf("passphrase not masked: %q", got)
	}
	if _, err := execSrc(t, h, `host.env(1)`); err == nil || !strings.Contains(err.Error(), "env: want a variable name, got int") {
		t.Errorf("host.env(1): %v", err)
	}
}
