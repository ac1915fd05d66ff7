// Command pause is the pod sandbox's process: it holds the pod's network
// namespace open, reaps the children that end up under it, and exits on
// SIGTERM or SIGINT. It is built statically into an image from scratch,
// because no registry is reachable from the test node to pull the usual
// one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
