// Package spec says what a service is: the answers a person gives and the
// field table that reads and checks them, the plan that derives every
// number the service and its manifests use (the timing model, each number
// with the rule it came from), the termination budget, and the lock
// (.zdgen.yaml) that records the answers and the generated files' checksums.
//
// It does no I/O, no rendering and no printing: the renderer, the rehearsal
// and the command line all read the same spec.
package spec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Protocols a service can speak.
const (
	ProtocolHTTP = "http"
	ProtocolGRPC = "grpc"
)

// Tracing exporters. "none" links no tracing code at all.
const (
	TracingNone = "none"
	TracingOTLP = "otlp" // OTLP over HTTP/protobuf, configured by OTEL_* variables
)

// CI workflows generated for the repository. "none" generates none.
const (
	CIGitHub = "github" // .github/workflows/ci.yaml for GitHub Actions
	CINone   = "none"
)

// PreStop forms. "auto" lets the plan choose by Kubernetes version.
const (
	PreStopAuto  = "auto"
	PreStopSleep = "sleep" // lifecycle.preStop.sleep (Kubernetes >= 1.30)
	PreStopExec  = "exec"  // the service's own binary: ["/NAME", "sleep", "5s"]
	PreStopNone  = "none"  // no hook; the service drains in-process only
)

// Answers are what a person chose. Everything else is derived from them by
// Plan. The JSON names are the ones used everywhere a person types a key:
// flags (--base-image), config files (base-image:), `zdgen upgrade --set`.
type Answers struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"` // one line of free text: README, image label, annotations
	Module      string `json:"module"`
	Protocol    string `json:"protocol"`
	BaseImage   string `json:"base-image"`
	Replicas    int    `json:"replicas"`
	K8sVersion  string `json:"k8s-version"`
	Port        int    `json:"port"`
	HealthPort  int    `json:"health-port"`
	PreStop     string `json:"prestop"`

	// Autoscale is "off" or "MIN-MAX": a HorizontalPodAutoscaler then
	// owns the pod count, and Replicas is kept but unused.
	Autoscale string `json:"autoscale"`

	// Telemetry. Metrics are on unless turned off; traces are exported
	// only when asked, to an OTLP collector named by the standard OTEL_*
	// environment variables.
	Metrics        bool   `json:"metrics"`
	ServiceMonitor bool   `json:"service-monitor"` // a Prometheus Operator ServiceMonitor (needs metrics)
	Tracing        string `json:"tracing"`         // none or otlp

	// Expose adds what brings traffic from outside the cluster: none, a
	// Gateway API route, or an Ingress. Its front's lag is the
	// propagation lag's default.
	Expose string `json:"expose"`

	// CI is the pipeline generated for the repository: github (a GitHub
	// Actions workflow) or none.
	CI string `json:"ci"`

	// The timing model's inputs (docs/timing-model.md).
	PropagationLag Duration `json:"propagation-lag"` // L: how long routers take to stop sending to a terminating pod
	MaxRequest     Duration `json:"max-request"`     // R: the longest request the service must finish
	StartupTime    Duration `json:"startup-time"`    // S: the longest the service may take to become ready
	DrainDelay     Duration `json:"drain-delay"`     // in-process drain after SIGTERM, answering with Connection: close
	// TraceFlush bounds the last step of the shutdown, the export of the
	// spans still buffered (tracing otlp only; 0 otherwise).
	TraceFlush Duration `json:"trace-flush-timeout,omitempty"`

	// Optional overrides of derived numbers; zero means "derive it". An
	// override that breaks a rule is rejected, naming the rule.
	ShutdownTimeout Duration `json:"shutdown-timeout,omitempty"`
	GracePeriod     Duration `json:"grace-period,omitempty"`
}

// Duration is a time.Duration written as "5s" in YAML and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Seconds returns the whole seconds in d (the timing inputs are validated to
// be whole seconds, because Kubernetes counts in seconds).
func (d Duration) Seconds() int { return int(time.Duration(d) / time.Second) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the Go duration syntax ("5s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "5s" (or a bare number of seconds, for hand-written
// config files).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("want a duration like \"5s\": %w", err)
		}
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return Duration(time.Duration(n) * time.Second), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration like \"5s\" or \"1m\", got %q", Clip(s))
	}
	return Duration(v), nil
}

// Base image shorthands and the references they stand for. Each is pinned
// to a tag so that builds are reproducible.
var baseImages = map[string]string{
	"distroless":  "gcr.io/distroless/static-debian12:nonroot",
	"scratch":     "scratch",
	"alpine":      "alpine:3.22",
	"debian-slim": "debian:bookworm-slim",
}

// BaseImageChoices lists the shorthands in the order prompts offer them.
var BaseImageChoices = []string{"distroless", "scratch", "alpine", "debian-slim"}

// Kubernetes versions zdgen knows. The newest is the one whose API types
// zdgen is built against; the default is the oldest minor the Kubernetes
// project still supports, so the manifests apply to every supported cluster.
const (
	MinK8sMinor     = 23
	MaxK8sMinor     = 37
	DefaultK8sMinor = 35
)

// Defaults returns the answers zdgen proposes for a service called name.
// Fields that depend on other answers (drain delay on the preStop form) are
// filled by Complete.
func Defaults(name string) Answers {
	return Answers{
		Name:           name,
		Module:         DefaultModule(name),
		Protocol:       ProtocolHTTP,
		BaseImage:      "distroless",
		Autoscale:      AutoscaleOff,
		Replicas:       3,
		K8sVersion:     fmt.Sprintf("1.%d", DefaultK8sMinor),
		Port:           8080,
		HealthPort:     8081,
		PreStop:        PreStopAuto,
		Metrics:        true,
		Tracing:        TracingNone,
		CI:             CIGitHub,
		Expose:         ExposeNone,
		PropagationLag: DefaultLag(ExposeNone),
		MaxRequest:     Duration(10 * time.Second),
		StartupTime:    Duration(10 * time.Second),
		DrainDelay:     Duration(2 * time.Second),
	}
}

// DefaultModule is the Go module path proposed for a service.
func DefaultModule(name string) string { return "example.com/" + name }
