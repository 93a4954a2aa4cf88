package ocuroot

import (
	"flag"
	"strings"
	"testing"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/apply"
	"github.com/ocu-team/ocu/lib/cli/deletecmd"
	"github.com/ocu-team/ocu/lib/cli/get"
	"github.com/ocu-team/ocu/lib/cli/match"
	"github.com/ocu-team/ocu/lib/cli/set"
	"github.com/ocu-team/ocu/lib/cli/viewcmd"
)

// TestTreeRunsTheTools checks that the verbs of the tree that are tools
// are the commands the tools' constructors build: the same usage text and
// every flag of the tool, bound the same way, under the verb's name.
func TestTreeRunsTheTools(t *testing.T) {
	root := Command(cli.IO{})
	tests := []struct {
		path string
		tool cli.Constructor
	}{
		{"state get", get.Command},
		{"state match", match.Command},
		{"state set", set.Command},
		{"state delete", deletecmd.Command},
		{"state apply", apply.Command},
		{"state diff", apply.Command},
		{"state view", viewcmd.Command},
		{"work any", apply.Command},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			verb := root
			for _, word := range strings.Fields(tt.path) {
				if verb = verb.Sub(word); verb == nil {
					t.Fatalf("no %q in the tree", tt.path)
				}
			}
			if got := verb.Tool.Prog; got != "ocuroot "+tt.path {
				t.Errorf("program name %q", got)
			}
			tool := tt.tool(cli.IO{})
			if verb.LongHelp != tool.LongHelp {
				t.Errorf("usage text differs from the tool's:\n%s", verb.LongHelp)
			}
			tool.Flags.VisitAll(func(f *flag.Flag) {
				g := verb.Flags.Lookup(f.Name)
				if g == nil || g.Usage != f.Usage || cli.IsBoolFlag(g) != cli.IsBoolFlag(f) {
					t.Errorf("flag -%s of the tool is not the verb's", f.Name)
				}
			})
		})
	}
}
