//go:build unix

package rehearse

import (
	"os/exec"
	"syscall"
)

// supported: pods are process groups, so a pod and whatever it started can
// be signalled, and killed, together.
const supported = true

// ownGroup makes cmd the leader of a new process group.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
}

// signalProcess sends sig to the process only, as the container runtime
// sends SIGTERM to the container's first process.
func signalProcess(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Signal(sig)
}

// killGroup sends SIGKILL to cmd's whole process group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group may be gone already
}

const (
	sigTERM = syscall.SIGTERM
	sigINT  = syscall.SIGINT
)
