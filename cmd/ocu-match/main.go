// Command ocu-match is the ocu-match tool; its manual is package match (ocu-match -h).
package main

import (
	"os"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/match"
)

func main() { os.Exit(cli.Main(match.Command)) }
