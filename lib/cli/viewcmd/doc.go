// Package viewcmd is ocu-view, the web UI of state (docs/cli.md §2.6):
//
//	ocu-view [--addr HOST:PORT] [global options]
//
// It loads the repo's configuration and stores like every tool, listens on
// 127.0.0.1:3000 (the next free port up to 3100 when busy; an explicit
// --addr is used as given, and busy is exit 1), prints
//
//	Your state view is ready and waiting! Open your browser to: http://ADDR
//
// and serves package github.com/ocu-team/ocu/lib/view until its context is
// cancelled (SIGINT, SIGTERM in cmd/ocu-view), then exits 0. An address
// that is not loopback is served with the warning
// "ocu-view: warning: serving ADDR without authentication"; on loopback,
// requests naming another host are refused.
//
// The stores are reopened at most every 5 seconds while serving, so a view
// left running follows the engine's writes. Run is also "ocuroot state
// view".
package viewcmd
