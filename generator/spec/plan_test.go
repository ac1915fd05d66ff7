package spec

import (
	"reflect"
	"strings"
	"testing"
)

func plan(t *testing.T, kv ...string) *Plan {
	t.Helper()
	a, err := set(t, kv...)
	if err != nil {
		t.Fatalf("%v: %v", kv, err)
	}
	p, err := NewPlan(a)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Each row is one rule of the timing model (docs/timing-model.md).
func TestPlanRules(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    []string
		check func(p *Plan) bool
	}{
		{"grace = preStop + drain + shutdown + margin (defaults: 5+2+10+5)", nil,
			func(p *Plan) bool { return p.GracePeriodSeconds == 22 }},
		{"grace follows every input", []string{"propagation-lag=20s", "drain-delay=3s", "max-request=60s"},
			func(p *Plan) bool { return p.GracePeriodSeconds == 20+3+60+5 }},
		{"an explicit longer grace is kept", []string{"grace-period=160s"},
			func(p *Plan) bool { return p.GracePeriodSeconds == 160 }},
		{"preStop sleeps for the propagation lag", []string{"propagation-lag=20s"},
			func(p *Plan) bool { return p.PreStop.Seconds == 20 }},
		{"shutdown timeout = longest request", []string{"max-request=45s"},
			func(p *Plan) bool { return p.ShutdownTimeoutSeconds == 45 && p.WorkMaxSeconds == 45 }},
		{"an explicit longer shutdown timeout is kept", []string{"shutdown-timeout=30s"},
			func(p *Plan) bool { return p.ShutdownTimeoutSeconds == 30 && p.GracePeriodSeconds == 5+2+30+5 }},
		{"tracing adds the flush bound to the grace period (5+2+10+2+5)", []string{"tracing=otlp"},
			func(p *Plan) bool { return p.TraceFlushSeconds == 2 && p.GracePeriodSeconds == 24 }},
		{"...at the flush timeout given", []string{"tracing=otlp", "trace-flush-timeout=7s"},
			func(p *Plan) bool { return p.TraceFlushSeconds == 7 && p.GracePeriodSeconds == 29 }},
		{"no tracing, no flush", []string{"metrics=false"},
			func(p *Plan) bool { return p.TraceFlushSeconds == 0 && p.GracePeriodSeconds == 22 }},
		{"the dependency set follows protocol, metrics and tracing", []string{"protocol=grpc", "metrics=false", "tracing=otlp"},
			func(p *Plan) bool { return p.ModuleSet == "grpc-otlp" }},
		{"native preStop sleep from 1.30", []string{"k8s-version=1.30"},
			func(p *Plan) bool { return p.PreStop.Form == PreStopSleep }},
		{"own-binary exec preStop before 1.30, on any image", []string{"k8s-version=1.29", "base-image=scratch"},
			func(p *Plan) bool {
				return p.PreStop.Form == PreStopExec && reflect.DeepEqual(p.PreStop.Command, []string{"/svc", "sleep", "5s"})
			}},
		{"no preStop without a lag", []string{"propagation-lag=0s"},
			func(p *Plan) bool { return p.PreStop.Form == PreStopNone && p.PreStop.Seconds == 0 }},
		{"prestop none: the in-process drain carries the lag", []string{"prestop=none", "drain-delay=7s"},
			func(p *Plan) bool { return p.PreStop.Seconds == 0 && p.GracePeriodSeconds == 7+10+5 }},
		{"readiness window 4s; liveness period = 3 x readiness window", nil,
			func(p *Plan) bool {
				return p.Readiness.Window() == 4 && p.Liveness.PeriodSeconds == 3*p.Readiness.Window()
			}},
		{"liveness never shares readiness thresholds", nil,
			func(p *Plan) bool { return p.Liveness != p.Readiness }},
		{"startup window >= startup time", []string{"startup-time=45s"},
			func(p *Plan) bool { return p.Startup.Window() >= 45 }},
		{"maxUnavailable 0, maxSurge 1 for one replica, no PDB", []string{"replicas=1"},
			func(p *Plan) bool { return p.MaxUnavailable == 0 && p.MaxSurge == 1 && p.PDBMaxUnavailable == 0 }},
		{"3 replicas: surge 1, PDB maxUnavailable 1", []string{"replicas=3"},
			func(p *Plan) bool { return p.MaxSurge == 1 && p.PDBMaxUnavailable == 1 }},
		{"10 replicas: surge 3 (25 % up), PDB 2 (keeps 75 %)", []string{"replicas=10"},
			func(p *Plan) bool { return p.MaxSurge == 3 && p.PDBMaxUnavailable == 2 }},
		{"a budget lets unhealthy pods go where the field is GA (1.31)", []string{"replicas=3", "k8s-version=1.31"},
			func(p *Plan) bool { return p.PDBUnhealthyPodEvictionPolicy == "AlwaysAllow" }},
		{"...and is left to the cluster's default before it", []string{"replicas=3", "k8s-version=1.30"},
			func(p *Plan) bool { return p.PDBMaxUnavailable == 1 && p.PDBUnhealthyPodEvictionPolicy == "" }},
		{"...and says nothing without a budget", []string{"replicas=1", "k8s-version=1.35"},
			func(p *Plan) bool { return p.PDBUnhealthyPodEvictionPolicy == "" }},
		{"autoscale off: the replicas answer is the count, no autoscaler", []string{"replicas=5"},
			func(p *Plan) bool { return p.Replicas == 5 && p.Autoscale == nil }},
		{"autoscale: the count is MIN, whatever replicas says", []string{"replicas=10", "autoscale=2-8"},
			func(p *Plan) bool { return p.Replicas == 2 && p.Autoscale.Min == 2 && p.Autoscale.Max == 8 }},
		{"autoscale 1-10: surge 1, no PDB, scale down one pod per grace period", []string{"autoscale=1-10"},
			func(p *Plan) bool {
				return p.MaxSurge == 1 && p.PDBMaxUnavailable == 0 && p.Autoscale.ScaleDownPods == 1 && p.Autoscale.ScaleDownPeriodSeconds == 22
			}},
		{"autoscale 8-20: surge 2 and PDB 2 from MIN; scale down by the PDB's allowance", []string{"autoscale=8-20"},
			func(p *Plan) bool {
				return p.MaxSurge == 2 && p.PDBMaxUnavailable == 2 && p.Autoscale.ScaleDownPods == 2
			}},
		{"autoscale: the scale-down period follows the grace period", []string{"autoscale=2-6", "max-request=60s"},
			func(p *Plan) bool {
				return p.Autoscale.ScaleDownPeriodSeconds == p.GracePeriodSeconds && p.GracePeriodSeconds == 5+2+60+5
			}},
		{"autoscale: a grace period beyond the API's 1800 s caps the period", []string{"autoscale=2-6", "grace-period=2000s"},
			func(p *Plan) bool { return p.Autoscale.ScaleDownPeriodSeconds == 1800 }},
		{"autoscale: CPU target 70 %, five minutes' stabilization", []string{"autoscale=2-6"},
			func(p *Plan) bool {
				return p.Autoscale.CPUUtilization == 70 && p.Autoscale.ScaleDownStabilizationSeconds == 300
			}},
		{"scratch needs the CA bundle copied", []string{"base-image=scratch"},
			func(p *Plan) bool { return p.Image.CopyCerts && p.Image.Ref == "scratch" }},
		{"a shorthand expands to a pinned reference", nil,
			func(p *Plan) bool { return p.Image.Ref == "gcr.io/distroless/static-debian12:nonroot" }},
		{"a custom reference is kept as given", []string{"base-image=cgr.dev/chainguard/static:latest-glibc"},
			func(p *Plan) bool {
				return p.Image.Ref == "cgr.dev/chainguard/static:latest-glibc" && p.Image.Kind == "custom"
			}},
	} {
		if p := plan(t, c.in...); !c.check(p) {
			t.Errorf("%s: plan %+v", c.name, p)
		}
	}
}

// Whatever the inputs, the plan keeps the invariants Kubernetes and the
// timing model demand.
func TestPlanInvariants(t *testing.T) {
	for _, lag := range []string{"0s", "1s", "5s", "60s"} {
		for _, req := range []string{"1s", "10s", "300s"} {
			for _, k8s := range []string{"1.25", "1.29", "1.30", "1.37"} {
				for _, n := range []string{"1", "2", "7", "100"} {
					p := plan(t, "propagation-lag="+lag, "max-request="+req, "k8s-version="+k8s, "replicas="+n)
					name := strings.Join([]string{lag, req, k8s, n}, "/")
					if p.PreStop.Form != PreStopNone && (p.PreStop.Seconds < 1 || p.PreStop.Seconds > p.GracePeriodSeconds) {
						t.Errorf("%s: preStop %ds outside 1..grace %ds", name, p.PreStop.Seconds, p.GracePeriodSeconds)
					}
					if p.PreStop.Seconds+p.DrainDelaySeconds < p.Answers.PropagationLag.Seconds() {
						t.Errorf("%s: preStop + drain < L", name)
					}
					if p.GracePeriodSeconds < p.PreStop.Seconds+p.DrainDelaySeconds+p.ShutdownTimeoutSeconds+1 {
						t.Errorf("%s: grace %d leaves no margin", name, p.GracePeriodSeconds)
					}
					if p.MaxSurge < 1 || p.MaxUnavailable != 0 {
						t.Errorf("%s: surge %d, unavailable %d", name, p.MaxSurge, p.MaxUnavailable)
					}
					if p.PDBMaxUnavailable >= p.Answers.Replicas && p.Answers.Replicas > 1 {
						t.Errorf("%s: PDB lets every pod go", name)
					}
				}
			}
		}
	}
}

// The README table and --json list every derived number with its rule.
func TestDerivedNamesEveryNumber(t *testing.T) {
	p := plan(t)
	keys := map[string]string{}
	for _, d := range p.Derived {
		if d.Rule == "" || d.Value == "" {
			t.Errorf("%s: empty value or rule", d.Key)
		}
		keys[d.Key] = d.Value
	}
	for key, want := range map[string]string{
		"terminationGracePeriodSeconds": "22", "maxSurge": "1", "maxUnavailable": "0",
		"preStop (sleep)": "5s", "DRAIN_DELAY": "2s", "SHUTDOWN_TIMEOUT": "10s",
		"PodDisruptionBudget maxUnavailable":             "1",
		"PodDisruptionBudget unhealthyPodEvictionPolicy": "AlwaysAllow",
		"readinessProbe": "period 2s, failureThreshold 2, timeout 1s",
		"livenessProbe":  "period 12s, failureThreshold 3, timeout 1s",
		"startupProbe":   "period 1s, failureThreshold 10, timeout 1s",
	} {
		if keys[key] != want {
			t.Errorf("derived %q = %q, want %q", key, keys[key], want)
		}
	}
}

// With autoscale the table names the autoscaler's numbers and says the
// Deployment's replicas are left out; without it, none of those rows.
func TestDerivedAutoscaleRows(t *testing.T) {
	keys := func(p *Plan) map[string]string {
		m := map[string]string{}
		for _, d := range p.Derived {
			if d.Rule == "" || d.Value == "" {
				t.Errorf("%s: empty value or rule", d.Key)
			}
			m[d.Key] = d.Value
		}
		return m
	}
	on := keys(plan(t, "autoscale=4-12"))
	for key, want := range map[string]string{
		"minReplicas": "4", "maxReplicas": "12", "replicas": "left out",
		"target CPU utilization":                         "70 %",
		"scaleDown stabilizationWindowSeconds":           "300",
		"scaleDown policy":                               "1 pod per 22s",
		"maxSurge":                                       "1",
		"PodDisruptionBudget maxUnavailable":             "1",
		"PodDisruptionBudget unhealthyPodEvictionPolicy": "AlwaysAllow",
	} {
		if on[key] != want {
			t.Errorf("autoscale 4-12: derived %q = %q, want %q", key, on[key], want)
		}
	}
	if got := keys(plan(t, "autoscale=8-20"))["scaleDown policy"]; got != "2 pods per 22s" {
		t.Errorf("autoscale 8-20: scaleDown policy %q, want 2 pods per 22s", got)
	}
	off := keys(plan(t))
	for _, key := range []string{"minReplicas", "maxReplicas", "scaleDown policy", "replicas"} {
		if _, ok := off[key]; ok {
			t.Errorf("autoscale off: derived has %q", key)
		}
	}
}
