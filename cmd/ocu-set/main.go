// Command ocu-set is the ocu-set tool; its manual is package set (ocu-set -h).
package main

import (
	"os"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/set"
)

func main() { os.Exit(cli.Main(set.Command)) }
