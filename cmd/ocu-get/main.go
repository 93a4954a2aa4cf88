// Command ocu-get is the ocu-get tool; its manual is package get (ocu-get -h).
package main

import (
	"os"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/get"
)

func main() { os.Exit(cli.Main(get.Command)) }
