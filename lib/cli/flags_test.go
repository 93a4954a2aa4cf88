package cli

import (
	"flag"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args    []string
		pos     []string
		query   string
		raw     bool
		state   string
		wantErr string
	}{
		{args: []string{"a", "b"}, pos: []string{"a", "b"}},
		{args: []string{"-q", ".x", "a"}, pos: []string{"a"}, query: ".x"},
		{args: []string{"a", "-q", ".x", "b", "-R"}, pos: []string{"a", "b"}, query: ".x", raw: true},
		{args: []string{"--query=.y", "a"}, pos: []string{"a"}, query: ".y"},
		{args: []string{"-q=.y", "a"}, pos: []string{"a"}, query: ".y"},
		{args: []string{"--raw=true", "a"}, pos: []string{"a"}, raw: true},
		{args: []string{"--raw=false", "a"}, pos: []string{"a"}},
		{args: []string{"a", "--", "-q", "-R"}, pos: []string{"a", "-q", "-R"}},
		{args: []string{"+/custom/x", "-1"}, pos: []string{"+/custom/x", "-1"}},
		{args: []string{"-0.5", "-1e3", "-"}, pos: []string{"-0.5", "-1e3", "-"}},
		{args: []string{"--state-store", "s", "a"}, pos: []string{"a"}, state: "s"},
		{args: []string{"-rc"}, wantErr: "flag provided but not defined: -rc"},
		{args: []string{"a", "-q"}, wantErr: "flag needs an argument: -q"},
		{args: []string{"-1x"}, wantErr: "flag provided but not defined: -1x"},
	}
	for _, tt := range tests {
		t.Run(cmp.Diff(nil, tt.args), func(t *testing.T) {
			var g Globals
			var query string
			var raw bool
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			g.Register(fs)
			fs.StringVar(&query, "q", "", "")
			fs.StringVar(&query, "query", "", "")
			fs.BoolVar(&raw, "R", false, "")
			fs.BoolVar(&raw, "raw", false, "")
			pos, err := Parse(fs, tt.args, Env{}.Lookup)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []any{pos, query, raw, g.StateStore}
			want := []any{tt.pos, tt.query, tt.raw, tt.state}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEnvironment(t *testing.T) {
	env := &testEnv{}
	env.Setenv("OCU_STATE_STORE", "from-env")
	env.Setenv("OCU_REPO", "env-repo")
	env.Setenv("OCU_Q", ".env")
	env.Setenv("OCU_GIT_PUSH_ATTEMPTS", "3")
	env.Setenv("OCU_GIT_TIMEOUT", "15s")
	var g Globals
	var query string
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	g.Register(fs)
	fs.StringVar(&query, "q", "", "")
	if _, err := Parse(fs, []string{"--repo", "flag-repo"}, env.Lookup); err != nil {
		t.Fatal(err)
	}
	got := []any{g.StateStore, g.Repo, g.GitPushAttempts, g.GitTimeout, query}
	want := []any{"from-env", "flag-repo", 3, 15 * time.Second, ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	env.Setenv("OCU_GIT_MAX_AGE", "soon")
	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	g.Register(fs)
	if _, err := Parse(fs, nil, env.Lookup); err == nil {
		t.Error("a bad OCU_GIT_MAX_AGE was accepted")
	}
}

func TestParseOffline(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"default", nil, nil, false},
		{"--offline", nil, []string{"--offline"}, true},
		{"--git-offline", nil, []string{"--git-offline"}, true},
		{"OCU_OFFLINE", map[string]string{"OCU_OFFLINE": "1"}, nil, true},
		{"OCU_GIT_OFFLINE", map[string]string{"OCU_GIT_OFFLINE": "true"}, nil, true},
		{"a flag wins over the environment", map[string]string{"OCU_GIT_OFFLINE": "1"}, []string{"--offline=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &testEnv{}
			for k, v := range tt.env {
				env.Setenv(k, v)
			}
			var g Globals
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			g.Register(fs)
			if _, err := Parse(fs, tt.args, env.Lookup); err != nil {
				t.Fatal(err)
			}
			if g.GitOffline != tt.want {
				t.Errorf("offline = %v, want %v", g.GitOffline, tt.want)
			}
		})
	}
}

func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"-1": true, "-0.5": true, "-1e3": true, "-1E+3": true, "0": true, "-0": true,
		"-": false, "--": false, "-01": false, "-1.": false, "-.5": false, "-x": false, "-1e": false,
	} {
		if got := isJSONNumber(s); got != want {
			t.Errorf("isJSONNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseNotNegative(t *testing.T) {
	tests := []struct {
		args    []string
		env     string // OCU_GIT_MAX_AGE
		wantErr string
	}{
		{args: []string{"--rounds", "0", "--wait", "0s", "--memory", "0"}},
		{args: []string{"--rounds", "3", "--wait", "5m"}},
		{args: []string{"--rounds", "-1"}, wantErr: "--rounds must not be negative (got -1)"},
		{args: []string{"--rounds=-1"}, wantErr: "--rounds must not be negative (got -1)"},
		{args: []string{"--wait", "-1s"}, wantErr: "--wait must not be negative (got -1s)"},
		{args: []string{"--memory", "-5"}, wantErr: "--memory must not be negative (got -5)"},
		{args: []string{"--git-push-attempts", "-2"}, wantErr: "--git-push-attempts must not be negative (got -2)"},
		{env: "-1m", wantErr: "OCU_GIT_MAX_AGE must not be negative (got -1m)"},
		{env: "soon", wantErr: `OCU_GIT_MAX_AGE: invalid duration "soon"`},
	}
	for _, tt := range tests {
		t.Run(cmp.Diff(nil, tt.args)+tt.env, func(t *testing.T) {
			env := &testEnv{}
			env.Setenv("OCU_GIT_MAX_AGE", tt.env)
			var g Globals
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			g.Register(fs)
			fs.Int("rounds", 10, "")
			fs.Duration("wait", time.Minute, "")
			fs.Int64("memory", 1, "")
			_, err := Parse(fs, tt.args, env.Lookup)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// testEnv is an environment for Parse, as cli.Env carries it.
type testEnv struct{ Env }

func (e *testEnv) Setenv(key, value string) { e.Environ = append(e.Environ, key+"="+value) }
