package spec

import (
	"fmt"
	"time"
)

// Fronts: what brings traffic from outside the cluster to the Service.
const (
	ExposeNone    = "none"    // callers inside the cluster, through the Service
	ExposeGateway = "gateway" // a Gateway API HTTPRoute (http) or GRPCRoute (grpc)
	ExposeIngress = "ingress" // a networking.k8s.io/v1 Ingress
)

// frontLag is how long a front keeps sending to a terminating pod, by
// default: the propagation lag L the preStop hook waits out.
type frontLag struct {
	lag    time.Duration
	why    string // where the number comes from, in one sentence
	source string // the documentation that states it
}

// frontLags are the propagation lag's defaults, one per front.
//
// A load balancer in front of the cluster learns that a pod terminates
// from its controller, which watches the EndpointSlices and reprograms
// the balancer through a cloud API (seconds, not bounded by any document),
// and at the latest from its own health checks, which take a pod out
// after unhealthy-threshold failed checks, one interval apart. The
// defaults are that bound for the health checks' documented defaults:
//
//   - gateway, 10 s: GKE's Gateway (and Ingress) controller programs a
//     Google Cloud load balancer whose health checks default to
//     checkIntervalSec 5 and unhealthyThreshold 2
//     (https://cloud.google.com/compute/docs/reference/rest/v1/healthChecks).
//     In-cluster Gateway implementations (Envoy Gateway, Istio, Cilium)
//     learn endpoints by watch and need less: lower the lag for them.
//   - ingress, 30 s: the AWS Load Balancer Controller's ALB checks a target
//     every 15 s (healthcheck-interval-seconds) and takes it out after 2
//     failures (unhealthy-threshold-count)
//     (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/).
//     ingress-nginx, which watches the EndpointSlices itself, needs less.
//   - none, 5 s: kube-proxy watches the EndpointSlices itself; 5 s is
//     what zdgen has always proposed for it.
var frontLags = map[string]frontLag{
	ExposeNone: {5 * time.Second, "kube-proxy, which watches the EndpointSlices itself, is the only router", ""},
	ExposeGateway: {10 * time.Second,
		"a cloud Gateway's load balancer takes a pod out at the latest after its health checks fail twice, 5 s apart (Google Cloud health checks' defaults checkIntervalSec 5, unhealthyThreshold 2, which GKE's Gateway uses)",
		"https://cloud.google.com/compute/docs/reference/rest/v1/healthChecks"},
	ExposeIngress: {30 * time.Second,
		"a cloud Ingress's load balancer takes a pod out at the latest after its health checks fail twice, 15 s apart (the AWS Load Balancer Controller's defaults healthcheck-interval-seconds 15, unhealthy-threshold-count 2)",
		"https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/"},
}

// DefaultLag is the propagation lag's default behind a front.
func DefaultLag(expose string) Duration {
	if l, ok := frontLags[expose]; ok {
		return Duration(l.lag)
	}
	return Duration(frontLags[ExposeNone].lag)
}

// Front is what the plan adds for an exposed service: the route or
// Ingress, and the lag its front adds.
type Front struct {
	Expose string `json:"expose"` // gateway or ingress
	Kind   string `json:"kind"`   // HTTPRoute, GRPCRoute or Ingress
	File   string `json:"file"`   // in deploy/k8s: route.yaml or ingress.yaml
	// DefaultLagSeconds is the propagation lag's default behind this
	// front; LagRule says where it comes from, LagSource documents it.
	DefaultLagSeconds int    `json:"defaultLagSeconds"`
	LagRule           string `json:"lagRule"`
	LagSource         string `json:"lagSource"`
}

func planFront(a Answers) *Front {
	l, ok := frontLags[a.Expose]
	if !ok || a.Expose == ExposeNone {
		return nil
	}
	f := &Front{Expose: a.Expose, Kind: "Ingress", File: "ingress.yaml", DefaultLagSeconds: int(l.lag / time.Second), LagRule: l.why, LagSource: l.source}
	if a.Expose == ExposeGateway {
		f.Kind, f.File = "HTTPRoute", "route.yaml"
		if a.Protocol == ProtocolGRPC {
			f.Kind = "GRPCRoute"
		}
	}
	return f
}

// followFront moves the answers whose default follows the front from the
// old front's default to the new one's, as tracing moves the flush
// timeout: a propagation lag left at the default stays the default, and so
// does a drain delay that covers it without a hook (prestop none). A value
// someone chose stays. Answers being built field by field (no front yet)
// take the defaults of their own fields.
func followFront(a *Answers, expose string) {
	if a.Expose == "" || a.Expose == expose {
		return
	}
	was, is := DefaultLag(a.Expose), DefaultLag(expose)
	if a.PropagationLag != was {
		return
	}
	a.PropagationLag = is
	if a.PreStop == PreStopNone && a.DrainDelay == was+Duration(drainAfterLag) {
		a.DrainDelay = is + Duration(drainAfterLag)
	}
}

func checkExpose(v string) error {
	if _, ok := frontLags[v]; !ok {
		return &InputError{"expose", v, "must be none, gateway or ingress"}
	}
	return nil
}

// lagText describes the propagation lag for the derived table: the
// front's default and its source, or that the owner chose another value.
func (f *Front) lagText(lag Duration) string {
	if lag.Seconds() == f.DefaultLagSeconds {
		return fmt.Sprintf("the default behind %s: %s (%s); set propagation-lag to what your %s's controller needs", f.article(), f.LagRule, f.LagSource, f.controller())
	}
	return fmt.Sprintf("chosen; the default behind %s is %ds: %s (%s)", f.article(), f.DefaultLagSeconds, f.LagRule, f.LagSource)
}

func (f *Front) article() string {
	if f.Expose == ExposeIngress {
		return "an Ingress"
	}
	return "a Gateway"
}

func (f *Front) controller() string {
	if f.Expose == ExposeIngress {
		return "Ingress"
	}
	return "Gateway"
}
