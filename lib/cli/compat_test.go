package cli

import (
	"flag"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRefFlags(t *testing.T) {
	tests := []struct {
		args  []string
		given bool
		ref   string
	}{
		{args: nil, given: false, ref: "./@"},
		{args: []string{"--package", "frontend/release.ocu.star", "--release", "1"}, given: true, ref: "frontend/release.ocu.star/@1"},
		{args: []string{"--package=./frontend//release.ocu.star"}, given: true, ref: "frontend/release.ocu.star/@"},
		{args: []string{"--package", "frontend/"}, given: true, ref: "frontend/@"},
		{args: []string{"--release", "v2"}, given: true, ref: "./@v2"},
	}
	for _, tt := range tests {
		t.Run(cmp.Diff(nil, tt.args), func(t *testing.T) {
			var r RefFlags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			r.Register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if got := []any{r.Given(), r.Ref()}; !cmp.Equal(got, []any{tt.given, tt.ref}) {
				t.Errorf("Given, Ref = %v, want %v %q", got, tt.given, tt.ref)
			}
		})
	}
}

func TestLogmodeIsASwitch(t *testing.T) {
	for _, args := range [][]string{{"-l", "FILE"}, {"--logmode", "FILE"}, {"FILE", "-l"}, {"--logmode=true", "FILE"}} {
		t.Run(cmp.Diff(nil, args), func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			Logmode(fs)
			pos, err := Parse(fs, args, Env{}.Lookup)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"FILE"}, pos); diff != "" {
				t.Errorf("positional arguments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.String("q", "", "")
	fs.Bool("R", false, "")
	tests := []struct {
		args []string
		want []Arg
	}{
		{args: []string{"a", "-q", ".x", "-R", "b"}, want: []Arg{
			{Words: []string{"a"}}, {Flag: "q", Words: []string{"-q", ".x"}}, {Flag: "R", Words: []string{"-R"}}, {Words: []string{"b"}},
		}},
		{args: []string{"--q=.y", "-1", "-"}, want: []Arg{
			{Flag: "q", Words: []string{"--q=.y"}}, {Words: []string{"-1"}}, {Words: []string{"-"}},
		}},
		{args: []string{"-x", "v", "--", "-R"}, want: []Arg{
			{Flag: "x", Words: []string{"-x"}}, {Words: []string{"v"}}, {Words: []string{"-R"}},
		}},
		{args: []string{"-q"}, want: []Arg{{Flag: "q", Words: []string{"-q"}}}},
	}
	for _, tt := range tests {
		t.Run(cmp.Diff(nil, tt.args), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Split(fs, tt.args)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
