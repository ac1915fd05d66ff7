//go:build !unix

package rehearse

import (
	"os/exec"
	"syscall"
)

// supported: a rehearsal needs Unix signals and process groups (SIGTERM is
// what the kubelet sends); elsewhere Run says so.
const supported = false

func ownGroup(*exec.Cmd) {}

func signalProcess(cmd *exec.Cmd, _ syscall.Signal) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

const (
	sigTERM = syscall.Signal(15)
	sigINT  = syscall.Signal(2)
)
