// Package cli holds the conventions every ocu tool shares (docs/cli.md §1): the
// global options and their OCU_ environment variables, flags mixed with
// positional arguments, opening the repo's stores, resolving refs given on
// the command line, reading ref lines, writing JSON, error lines and exit
// codes.
//
// Each tool is a package below lib/cli with
//
//	func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
//
// called by its thin cmd/<tool>/main.go, by the ocuroot multiplexer and by
// the tests. The process's working directory and environment reach the
// tools through the context ([WithEnv]); only main reads them from the
// operating system. The global options are also read from OCU_* variables
// by ff (github.com/peterbourgon/ff/v3) with the prefix OCU, restricted to
// the global options, so in a real process both views of the environment
// are the same.
package cli
