package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// shutdownSignals turns signals into the two contexts the server runs on:
// the first SIGTERM (from the kubelet) or SIGINT (Ctrl-C) cancels ctx and
// starts the graceful shutdown; a second one cancels abort and cuts it
// short. One channel for both, registered before serving, so no signal
// falls between two handlers. stop releases the signals.
func shutdownSignals() (ctx, abort context.Context, stop func()) {
	ctx, shutdown := context.WithCancel(context.Background())
	abort, abortNow := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	go func() {
		for _, cancel := range []context.CancelFunc{shutdown, abortNow} {
			select {
			case <-signals:
				cancel()
			case <-abort.Done():
				return
			}
		}
	}()
	return ctx, abort, func() {
		signal.Stop(signals)
		abortNow() // ends the goroutine
		shutdown()
	}
}
