package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Main runs the command newCmd builds as this process and returns its
// exit code, for os.Exit: the arguments, streams, working directory and
// environment are the process's, and SIGINT and SIGTERM cancel the
// command's context. SIGPIPE is ignored, so that a closed stdout is an
// EPIPE error the command reports; the programs it starts keep the
// default. This is the only code of the tools that reads the process's
// state; every cmd/*/main.go calls it, and so do the tests' processes.
func Main(newCmd Constructor) int {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	wd, _ := os.Getwd()
	ctx = WithEnv(ctx, Env{Dir: wd, Environ: os.Environ()})
	return Run(ctx, newCmd, os.Args[1:], IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}
