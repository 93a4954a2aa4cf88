// Command ocu-view is the ocu-view tool; its manual is package viewcmd (ocu-view -h).
package main

import (
	"os"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/viewcmd"
)

func main() { os.Exit(cli.Main(viewcmd.Command)) }
