// Command ocuroot is the ocuroot multiplexer; its manual is package ocuroot (ocuroot help).
package main

import (
	"os"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/ocuroot"
)

func main() { os.Exit(cli.Main(ocuroot.Command)) }
