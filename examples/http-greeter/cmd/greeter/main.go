// Command greeter is an HTTP service that deploys to Kubernetes with zero
// downtime. Run it with no arguments to serve; settings come from the
// environment (see internal/config).
//
// Greets callers: "hello" #1, {{even}} mid-rollout & $HOME-free.
//
// "greeter sleep DURATION" only sleeps, for an exec preStop hook: distroless
// and scratch images have no sleep binary.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
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
		// JSON like every other line of the log, so a log pipeline reads
		// why the container keeps failing to start.
		slog.New(slog.NewJSONHandler(stdout, nil)).Error("bad environment; not starting", "error", err.Error())
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	for _, w := range cfg.Warnings() {
		log.Warn("configuration outside the timing model", "warning", w)
	}
	setMemoryLimit(cfg.MemoryLimit, getenv, log)

	ctx, abort, stop := shutdownSignals()
	defer stop()

	if err := server.New(cfg, log).Run(ctx, abort); err != nil {
		log.Error("greeter stopped", "error", err.Error())
		return 1
	}
	return 0
}

// setMemoryLimit gives the Go runtime a soft memory limit of 90 % of the
// container's (MEMORY_LIMIT), unless GOMEMLIMIT, which the runtime read at
// start, sets one; and logs the limit in force. The runtime cannot see the
// container's limit: without a soft limit the heap may grow past it between
// two collections, and the kernel's OOM killer ends the process with
// SIGKILL, which skips the drain. Near the soft limit the garbage collector
// runs more often instead. The other 10 % is for what the runtime does not
// count (the kernel's socket buffers and page cache, charged to the
// container) and for the collector to catch up with a burst.
func setMemoryLimit(container int64, getenv func(string) string, log *slog.Logger) {
	switch {
	case getenv("GOMEMLIMIT") != "":
		log.Info("memory limit", "soft_limit_bytes", debug.SetMemoryLimit(-1), "from", "GOMEMLIMIT")
	case container > 0:
		debug.SetMemoryLimit(container - container/10)
		// Read back: the limit in force.
		log.Info("memory limit", "soft_limit_bytes", debug.SetMemoryLimit(-1), "from", "MEMORY_LIMIT", "container_limit_bytes", container)
	default:
		log.Info("memory limit: none", "hint", "MEMORY_LIMIT (the container's limit in bytes) or GOMEMLIMIT sets one")
	}
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
	fmt.Fprintln(stderr, "  sleep DURATION:    sleep, for an exec preStop hook (e.g. sleep 5s)")
	return 2
}
