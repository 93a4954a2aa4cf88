//go:build !unix

package sdk

import "os/exec"

// setProcessGroup is a no-op where process groups are not available; the
// command is killed when its context is done.
func setProcessGroup(*exec.Cmd) {}
