package workload

import (
	"fmt"
	"strings"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	corev1 "k8s.io/api/core/v1"
)

// Check applies the timing model's rules to the manifests as they are now
// (an owner may have edited them since generation, an overlay's
// components may change them), so a rehearsal never "passes" a rollout
// whose numbers are wrong only under other timing, and zdgen never writes
// manifests that break a rule its answers are held to. lag is the
// endpoint propagation lag the rehearsal runs with.
//
// The rules are the plan's (spec.NewPlan): the grace period covers the
// shutdown sequence; the preStop hook and the drain cover the lag; the
// shutdown timeout covers the longest request the service accepts
// (WORK_MAX); each step stays within the answers' bounds, beyond which the
// service warns at startup; the liveness probe acts later than readiness
// and asks the health port, which answers until exit; the startup probe
// gives a start the answers' startup time; a native sleep hook needs the
// Kubernetes the answers target; and maxUnavailable is 0.
func (w *Workload) Check(lag time.Duration) error {
	t := w.Termination
	t.Lag = lag
	var problems []string
	if err := t.CheckGrace(w.Grace); err != nil {
		problems = append(problems, fmt.Sprintf("terminationGracePeriodSeconds %s is too short: it %s", w.Grace, err))
	}
	if err := t.CheckLag(); err != nil {
		problems = append(problems, err.Error())
	}
	if w.Shutdown < w.WorkMax {
		problems = append(problems, fmt.Sprintf(
			"SHUTDOWN_TIMEOUT %s is below WORK_MAX %s, the longest request the service accepts: must be >= it, or work in flight is cut off at shutdown", w.Shutdown, w.WorkMax))
	}
	for _, b := range []struct {
		name     string
		v, bound time.Duration
		why      string
	}{
		{"DRAIN_DELAY", w.Drain, spec.MaxDrainDelay, "a terminating pod would keep serving that long"},
		{"SHUTDOWN_TIMEOUT", w.Shutdown, spec.MaxShutdownTimeout, "the longest shutdown the timing model plans"},
		{"WORK_MAX", w.WorkMax, spec.MaxRequestBound, "the longest work the timing model plans a shutdown for"},
		{"TRACE_FLUSH_TIMEOUT", w.Flush, spec.MaxTraceFlush, "a collector that does not answer would hold the exit that long"},
	} {
		if b.v > b.bound {
			problems = append(problems, fmt.Sprintf("%s %s is above %s: %s", b.name, b.v, b.bound, b.why))
		}
	}
	problems = append(problems, w.checkProbes()...)
	if err := w.checkSleep(); err != nil {
		problems = append(problems, err.Error())
	}
	if w.MaxUnavailable > 0 {
		problems = append(problems, fmt.Sprintf(
			"maxUnavailable %d: must be 0, so that an old pod goes only after its replacement is ready", w.MaxUnavailable))
	}
	if len(problems) > 0 {
		return w.built(inputErrorf("%s breaks the timing model:\n  - %s", w.deployment(), strings.Join(problems, "\n  - ")))
	}
	return nil
}

// window is how long a probe takes to act on a pod that stopped
// answering: its period times its failure threshold, Kubernetes' defaults
// (10 s, 3) for what is unset; with initial the initial delay too.
func window(p *corev1.Probe, initial bool) time.Duration {
	period, failures := p.PeriodSeconds, p.FailureThreshold
	if period == 0 {
		period = 10
	}
	if failures == 0 {
		failures = 3
	}
	n := period * failures
	if initial {
		n += p.InitialDelaySeconds
	}
	return time.Duration(n) * time.Second
}

// checkProbes holds the probes to the plan's rules: readiness takes a
// struggling pod out of rotation before liveness restarts it; liveness
// asks the health port, which answers until the process exits, not the
// service port, which closes as the drain ends; and a slow start gets the
// startup time the answers give before liveness may act.
func (w *Workload) checkProbes() []string {
	var problems []string
	c := w.Container
	if r, l := c.ReadinessProbe, c.LivenessProbe; r != nil && l != nil && window(l, false) <= window(r, false) {
		problems = append(problems, fmt.Sprintf(
			"livenessProbe acts after %s (periodSeconds x failureThreshold), readinessProbe after %s: liveness must act later (the plan's period is 3 x the readiness window), so that a struggling pod leaves rotation before it is restarted",
			window(l, false), window(r, false)))
	}
	if l := c.LivenessProbe; l != nil && w.healthPort != 0 {
		var port int32
		var err error
		switch h := l.ProbeHandler; {
		case h.HTTPGet != nil:
			port, err = w.ContainerPort(h.HTTPGet.Port)
		case h.GRPC != nil:
			port = h.GRPC.Port
		case h.TCPSocket != nil:
			port, err = w.ContainerPort(h.TCPSocket.Port)
		}
		if err == nil && port != 0 && port != w.healthPort {
			problems = append(problems, fmt.Sprintf(
				"livenessProbe asks port %d, not HEALTH_PORT %d: liveness must ask the health port, which answers until the process exits, not the service port, which closes when the drain ends", port, w.healthPort))
		}
	}
	// Without a startup probe, liveness acts from the start.
	first, name := c.StartupProbe, "startupProbe"
	if first == nil {
		first, name = c.LivenessProbe, "livenessProbe (there is no startupProbe)"
	}
	if s := w.Answers.StartupTime.D(); first != nil && window(first, true) < s {
		problems = append(problems, fmt.Sprintf(
			"%s gives a start %s (initialDelaySeconds + periodSeconds x failureThreshold), below .zdgen.yaml's startup-time %s: liveness may kill a start the service is allowed to take", name, window(first, true), s))
	}
	return problems
}

// checkSleep refuses a native sleep preStop hook below the Kubernetes
// version that has it: the API server of the cluster the answers target
// refuses the Deployment.
func (w *Workload) checkSleep() error {
	lc := w.Container.Lifecycle
	if lc == nil || lc.PreStop == nil || lc.PreStop.Sleep == nil {
		return nil
	}
	minor, err := spec.K8sMinor(w.Answers.K8sVersion)
	if err != nil || minor >= spec.NativeSleepMinor {
		return nil // a bad version is the lock's problem, reported by NewPlan
	}
	return fmt.Errorf("preStop sleep needs Kubernetes >= 1.%d, and .zdgen.yaml's k8s-version %s is older: its API server refuses the Deployment; use an exec hook that runs the service's own binary (%s sleep %s)",
		spec.NativeSleepMinor, w.Answers.K8sVersion, "/"+w.Answers.Name, w.PreStop)
}
