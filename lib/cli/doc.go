// Package cli holds the conventions every ocu tool shares (docs/cli.md §1): the
// global options and their OCU_ environment variables, flags mixed with
// positional arguments, opening the repo's stores, resolving refs given on
// the command line, reading ref lines, writing JSON, error lines and exit
// codes.
//
// Each tool is a package below lib/cli whose constructor builds its
// [Command]:
//
//	func Command(sio cli.IO) *cli.Command
//
// Its Exec returns an error; [Run] turns that error into the one place the
// exit code is decided ([ExitCode]) and prints it once, "<prog>: <error>"
// per line ([Report]). A tool that goes on past bad records collects them
// in [Errors]. The same constructor serves cmd/<tool>/main.go
// (os.Exit(cli.Main(get.Command))), the ocuroot tree ("ocuroot state get"
// is the command get.Command builds, under another name) and the tests.
// [Main] is the only code that reads the process: its arguments, streams,
// working directory, environment and signals. The working directory and
// environment reach the tools through the context ([WithEnv]); the global
// options are read from OCU_* variables of that environment, never from
// os.Getenv.
package cli
