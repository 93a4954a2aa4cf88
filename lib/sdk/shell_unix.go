//go:build unix

package sdk

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup runs cmd in its own process group so that an
// interruption reaches every process it started: SIGTERM to the group
// first, SIGKILL killDelay later (docs/engine.md §15).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		err := syscall.Kill(-pgid, syscall.SIGTERM)
		time.AfterFunc(killDelay, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return err
	}
}
