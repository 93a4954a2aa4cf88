// Command ocu-apply is the ocu-apply tool; its manual is package apply (ocu-apply -h).
package main

import (
	"os"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/apply"
)

func main() { os.Exit(cli.Main(apply.Command)) }
