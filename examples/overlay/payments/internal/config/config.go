// Package config reads the service's settings from environment variables.
// Every default below was chosen by zdgen's timing model; the README's table
// explains each one. deploy/k8s/deployment.yaml sets them explicitly, so the
// numbers that govern a rollout are visible where the rollout is defined.
package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Config is the service's configuration.
type Config struct {
	// Port serves the API and /readyz. 0 picks a free port (tests).
	Port int
	// HealthPort serves /livez on a listener of its own, which stays open
	// until the process exits: liveness must pass during the drain.
	HealthPort int
	// DrainDelay is how long the service keeps serving after SIGTERM, with
	// /readyz failing and every response asking the client to close its
	// connection, before it stops accepting connections.
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// once the server stops accepting; then the rest are closed.
	ShutdownTimeout time.Duration
	// WorkMax caps /work?ms=, so no request outlives ShutdownTimeout.
	WorkMax time.Duration
	// StartupDelay simulates a slow start (a cache to warm, say): the
	// service listens at once but is ready only after it, so the startup
	// probe can be tried. 0 in production.
	StartupDelay time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// MemoryLimit is the container's memory limit in bytes, which the
	// Deployment passes from limits.memory through the downward API; 0
	// when unknown. main sets the Go runtime's soft limit below it.
	MemoryLimit int64
}

// Defaults are the values zdgen derived for this service.
func Defaults() Config {
	return Config{
		Port:            8080,
		HealthPort:      8081,
		DrainDelay:      2 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		WorkMax:         10 * time.Second,
		LogLevel:        slog.LevelInfo,
	}
}

// FromEnv reads PORT, HEALTH_PORT, DRAIN_DELAY, SHUTDOWN_TIMEOUT, WORK_MAX,
// STARTUP_DELAY, LOG_LEVEL and MEMORY_LIMIT through getenv (os.Getenv in
// main), keeping the default for any that is unset or empty.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults()
	for _, v := range []struct {
		key string
		set func(string) error
	}{
		{"PORT", portVar(&c.Port)},
		{"HEALTH_PORT", portVar(&c.HealthPort)},
		{"DRAIN_DELAY", durationVar(&c.DrainDelay)},
		{"SHUTDOWN_TIMEOUT", durationVar(&c.ShutdownTimeout)},
		{"WORK_MAX", durationVar(&c.WorkMax)},
		{"STARTUP_DELAY", durationVar(&c.StartupDelay)},
		{"LOG_LEVEL", func(s string) error { return c.LogLevel.UnmarshalText([]byte(s)) }},
		{"MEMORY_LIMIT", bytesVar(&c.MemoryLimit)},
	} {
		if s := getenv(v.key); s != "" {
			if err := v.set(s); err != nil {
				return Config{}, fmt.Errorf("%s=%q: %w", v.key, s, err)
			}
		}
	}
	if c.Port != 0 && c.Port == c.HealthPort {
		return Config{}, fmt.Errorf("PORT and HEALTH_PORT are both %d: liveness needs a listener of its own", c.Port)
	}
	return c, nil
}

// The bounds zdgen's timing model puts on these settings (zdgen new refuses
// answers outside them). The service runs with values outside them, since
// tests and experiments need such values, but says so: the Deployment's
// grace period was derived from the generated values.
const (
	maxDrainDelay      = 5 * time.Minute
	maxShutdownTimeout = time.Hour
	maxWorkMax         = time.Hour
)

// Warnings lists each setting that breaks the timing model, naming the
// variable and what goes wrong; main logs them at startup.
func (c Config) Warnings() []string {
	var w []string
	if c.ShutdownTimeout < c.WorkMax {
		w = append(w, fmt.Sprintf("SHUTDOWN_TIMEOUT=%s is below WORK_MAX=%s: work the service accepts can be cut off at shutdown", c.ShutdownTimeout, c.WorkMax))
	}
	if c.DrainDelay > maxDrainDelay {
		w = append(w, fmt.Sprintf("DRAIN_DELAY=%s is above %s: a terminating pod keeps serving that long, and the kubelet kills it at the end of the grace period", c.DrainDelay, maxDrainDelay))
	}
	if c.ShutdownTimeout > maxShutdownTimeout {
		w = append(w, fmt.Sprintf("SHUTDOWN_TIMEOUT=%s is above %s: the kubelet kills the pod at the end of the grace period first", c.ShutdownTimeout, maxShutdownTimeout))
	}
	if c.WorkMax > maxWorkMax {
		w = append(w, fmt.Sprintf("WORK_MAX=%s is above %s, the longest work zdgen plans a shutdown for", c.WorkMax, maxWorkMax))
	}
	return w
}

func portVar(p *int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("want a port number 0-65535")
		}
		*p = n
		return nil
	}
}

func bytesVar(n *int64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("want a number of bytes, as the downward API gives limits.memory (divisor 1)")
		}
		*n = v
		return nil
	}
}

func durationVar(d *time.Duration) func(string) error {
	return func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return fmt.Errorf("want a non-negative duration like 5s")
		}
		*d = v
		return nil
	}
}
