// Command ocu-delete is the ocu-delete tool; its manual is package deletecmd (ocu-delete -h).
package main

import (
	"os"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/deletecmd"
)

func main() { os.Exit(cli.Main(deletecmd.Command)) }
