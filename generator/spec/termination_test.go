package spec

import (
	"strings"
	"testing"
	"time"
)

func TestTerminationRules(t *testing.T) {
	s := time.Second
	term := Termination{Lag: 5 * s, PreStop: 5 * s, Drain: 2 * s, Shutdown: 78 * s, Margin: 5 * s}
	if got := term.GraceNeeded(); got != 90*s {
		t.Fatalf("GraceNeeded = %v, want 90s", got)
	}
	if err := term.CheckGrace(90 * s); err != nil {
		t.Errorf("grace 90s = need: %v", err)
	}
	// Seconds as Kubernetes writes them, so the sum reads like the manifest.
	if err := term.CheckGrace(89 * s); err == nil || !strings.Contains(err.Error(), "shutdown timeout 78s + margin 5s = 90s") {
		t.Errorf("grace 89s: %v, want the sum in seconds", err)
	}
	if err := term.CheckLag(); err != nil {
		t.Errorf("preStop 5s + drain 2s against L 5s: %v", err)
	}
	// With tracing, the final span export is the last planned step.
	traced := term
	traced.Flush = 3 * s
	if err := traced.CheckGrace(92 * s); err == nil || !strings.Contains(err.Error(), "shutdown timeout 78s + trace flush 3s + margin 5s = 93s") {
		t.Errorf("grace 92s with a 3s flush: %v, want the flush in the sum", err)
	}
	term.PreStop = 0 // prestop none: the drain alone must cover L
	if err := term.CheckLag(); err == nil || !strings.Contains(err.Error(), "preStop 0s + drain 2s must cover the propagation lag (preStop + drain >= L = 5s)") {
		t.Errorf("no hook, drain 2s, L 5s: %v", err)
	}
	term.Drain = 5500 * time.Millisecond // an owner's edit: not whole seconds
	if err := term.CheckLag(); err != nil {
		t.Errorf("drain 5.5s against L 5s: %v", err)
	}
}
