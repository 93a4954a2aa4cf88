package cli

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is the collector's pace in the tools' processes unless GOGC
// sets it (docs/cli.md, Environment). The tools read thousands of small
// documents into a young heap: at Go's default of 100 the collector took
// a fifth of an idle ocu-apply's CPU on a store of 1M documents, and
// ocu-view's overview spent as much; at 400 both run about 15 % faster
// (docs/open-work.md §10) for a heap that grows up to five times the live
// data between collections instead of twice.
const gcPercent = 400

// Main runs the command newCmd builds as this process and returns its
// exit code, for os.Exit: the arguments, streams, working directory and
// environment are the process's, and SIGINT and SIGTERM cancel the
// command's context. SIGPIPE is ignored, so that a closed stdout is an
// EPIPE error the command reports; the programs it starts keep the
// default. This is the only code of the tools that reads the process's
// state; every cmd/*/main.go calls it, and so do the tests' processes.
func Main(newCmd Constructor) int {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	wd, _ := os.Getwd()
	ctx = WithEnv(ctx, Env{Dir: wd, Environ: os.Environ()})
	return Run(ctx, newCmd, os.Args[1:], IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}
