package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/ocu-team/ocu/internal/storegen"
	"github.com/ocu-team/ocu/lib/cli"
	"github.com/ocu-team/ocu/lib/cli/apply"
)

func main() {
	if os.Args[1] == "intent" {
		_, err := storegen.GenerateIntent(os.Args[2], 550, 60)
		fmt.Println(err)
		return
	}
	f, _ := os.Create(os.Args[1])
	n := 20
	ctx := cli.WithEnv(context.Background(), cli.Env{Dir: "/tmp/pw", Environ: os.Environ()})
	pprof.StartCPUProfile(f)
	start := time.Now()
	for range n {
		cli.Run(ctx, apply.Command, os.Args[2:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	}
	pprof.StopCPUProfile()
	fmt.Fprintln(os.Stderr, "per run", time.Since(start)/time.Duration(n))
}
