// Command ocu-delete is the ocu-delete tool; its manual is package deletecmd (ocu-delete -h).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/deletecmd"
)

func main() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE) // a closed stdout is an EPIPE error; children keep the default
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	wd, _ := os.Getwd()
	ctx = cli.WithEnv(ctx, cli.Env{Dir: wd, Environ: os.Environ()})
	code := deletecmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
