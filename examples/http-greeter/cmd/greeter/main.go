// Command greeter is an HTTP service that deploys to Kubernetes with zero
// downtime. Run it with no arguments to serve; settings come from the
// environment (see internal/config).
//
// Greets callers: "hello" #1, {{even}} mid-rollout & $HOME-free.
//
// "greeter sleep 5s" only sleeps: the Deployment's exec preStop hook runs
// it, because distroless and scratch images have no sleep binary.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/greeter/internal/config"
	"example.com/greeter/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs passed in, for tests. It returns
// the exit code: 0 after an orderly shutdown, 1 when serving failed, 2 on a
// bad command line or environment.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		return subcommand(args, stderr)
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "greeter:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))

	// The first SIGTERM (from the kubelet) or SIGINT (Ctrl-C) starts the
	// graceful shutdown; a second one cuts it short. One channel for both,
	// registered before serving, so no signal falls between two handlers.
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	abort, abortNow := context.WithCancel(context.Background())
	defer abortNow()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(signals)
	go func() {
		for _, stop := range []context.CancelFunc{shutdown, abortNow} {
			select {
			case <-signals:
				stop()
			case <-abort.Done():
				return
			}
		}
	}()

	if err := server.New(cfg, log).Run(ctx, abort); err != nil {
		log.Error("greeter stopped", "error", err.Error())
		return 1
	}
	return 0
}

func subcommand(args []string, stderr io.Writer) int {
	if args[0] == "sleep" && len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		if err == nil && d >= 0 {
			time.Sleep(d)
			return 0
		}
	}
	fmt.Fprintln(stderr, "usage: greeter [sleep DURATION]")
	fmt.Fprintln(stderr, "  with no arguments: serve; settings come from the environment")
	fmt.Fprintln(stderr, "  sleep DURATION:    sleep, for the exec preStop hook (e.g. sleep 5s)")
	return 2
}
