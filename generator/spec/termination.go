package spec

import (
	"fmt"
	"time"
)

// Termination is a pod's shutdown as the kubelet runs it: the grace clock
// starts when the preStop hook does (while the pod's endpoint is being
// removed), SIGTERM follows the hook, the service keeps serving for the
// drain delay and then finishes in-flight work within its shutdown
// timeout; last, with tracing, it exports the spans still buffered within
// the trace flush timeout. NewPlan derives the manifests' numbers with these rules; zdgen
// rehearse checks a repository's manifests, perhaps edited since, with the
// same ones.
type Termination struct {
	Lag      time.Duration // endpoint propagation lag L: routers send to the pod this long after deletion
	PreStop  time.Duration // how long the preStop hook holds SIGTERM back; 0 without one
	Drain    time.Duration // in-process drain delay after SIGTERM
	Shutdown time.Duration // the shutdown deadline for in-flight work
	Flush    time.Duration // the bound on the final span export; 0 without tracing
	Margin   time.Duration // slack before SIGKILL
}

// The longest each setting of the shutdown may be: the answers' bounds
// (zdgen new refuses answers beyond them), beyond which the generated
// service warns at startup, and zdgen's checks of the manifests refuse.
const (
	MaxDrainDelay      = 5 * time.Minute // drain-delay, DRAIN_DELAY
	MaxShutdownTimeout = time.Hour       // shutdown-timeout, SHUTDOWN_TIMEOUT
	MaxRequestBound    = time.Hour       // max-request, WORK_MAX
	MaxTraceFlush      = time.Minute     // trace-flush-timeout, TRACE_FLUSH_TIMEOUT
)

// GraceNeeded is the shortest terminationGracePeriodSeconds under which
// SIGKILL never lands on planned work.
func (t Termination) GraceNeeded() time.Duration {
	return t.PreStop + t.Drain + t.Shutdown + t.Flush + t.Margin
}

// CheckGrace says, with the numbers, why grace is too short; nil if it is
// long enough.
func (t Termination) CheckGrace(grace time.Duration) error {
	if need := t.GraceNeeded(); grace < need {
		flush := ""
		if t.Flush > 0 {
			flush = " + trace flush " + secs(t.Flush)
		}
		return fmt.Errorf("must be >= preStop %s + drain %s + shutdown timeout %s%s + margin %s = %s: the grace clock starts before preStop and SIGKILL ends whatever is still running",
			secs(t.PreStop), secs(t.Drain), secs(t.Shutdown), flush, secs(t.Margin), secs(need))
	}
	return nil
}

// CheckLag says why the pod would stop listening while routers still send
// to it: the preStop hook and the in-process drain together must last the
// propagation lag. nil if they do.
func (t Termination) CheckLag() error {
	if t.PreStop+t.Drain < t.Lag {
		return fmt.Errorf("preStop %s + drain %s must cover the propagation lag (preStop + drain >= L = %s), or routers still send to a pod that has stopped listening",
			secs(t.PreStop), secs(t.Drain), secs(t.Lag))
	}
	return nil
}

// secs writes whole seconds as Kubernetes does ("90s", not "1m30s").
func secs(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
