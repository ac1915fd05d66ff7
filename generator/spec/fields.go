package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/distribution/reference"
	"golang.org/x/mod/module"
	"k8s.io/apimachinery/pkg/util/validation"
)

// InputError is a bad answer: the field it belongs to and the rule it broke.
// The command line turns it into exit code 2.
type InputError struct {
	Field string // the answer's key, as in --field and config files
	Value string
	Rule  string
}

func (e *InputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", Clip(e.Field), e.Rule)
	}
	return fmt.Sprintf("%s: %q: %s", Clip(e.Field), Clip(e.Value), e.Rule)
}

// maxEcho is how many characters of a value an error message repeats:
// the length of the longest answer zdgen accepts (a description), so
// that every value zdgen could take is repeated whole, and a value of
// a megabyte does not make a message of one.
const maxEcho = MaxDescription

// Clip returns s as an error message repeats a value someone gave (an
// answer, a key, an overlay's rule or default, a template's message):
// whole when it is at most maxEcho characters, else its first maxEcho
// and how long it is. The start is enough to recognise it.
func Clip(s string) string {
	n := 0
	for i := range s {
		if n == maxEcho {
			return fmt.Sprintf("%s... (%d bytes)", s[:i], len(s))
		}
		n++
	}
	return s
}

// Field is one answer as a person types it: its key, how to ask for it, its
// default (which may depend on answers given before it) and how to parse and
// check it. Flags, config files, prompts and `upgrade --set` all go through
// the same table, so they cannot disagree.
type Field struct {
	Key     string
	Prompt  string
	Help    string
	Choices []string // offered as a list; other values are still accepted where Set allows
	Default func(a *Answers) string
	Get     func(a *Answers) string
	Set     func(a *Answers, v string) error // parses and checks this field alone
	// Bool fields take true or false; a flag given alone (--metrics) means
	// true.
	Bool bool
	// Applies, when set, says whether the field means anything given the
	// answers before it; a field that does not apply is not asked and
	// keeps its default (trace-flush-timeout without tracing).
	Applies func(a *Answers) bool
	// FollowsDefault marks a field whose default follows other answers
	// (propagation-lag follows expose): a recorded value equal to the
	// default it had is still "the default", and moves with them (see
	// Carried).
	FollowsDefault bool
}

// Carried is the value field f proposes when answers a are made again from
// recorded ones (`zdgen upgrade`): the recorded value, unless f follows its
// default and the recorded value was that default, in which case it is
// the default the answers before it give now. Turning expose to gateway
// moves a propagation lag left at 5 s (the default without a front) to
// the gateway's 10 s, as a new service gets; a lag someone chose stays.
func (f Field) Carried(a, recorded *Answers) string {
	v := f.Get(recorded)
	if f.FollowsDefault && v == f.Default(recorded) {
		return f.Default(a)
	}
	return v
}

// Fields lists every answer in the order prompts ask for them.
var Fields = []Field{
	{
		Key: "name", Prompt: "Service name",
		Help:    "a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most 63 characters",
		Default: func(a *Answers) string { return a.Name },
		Get:     func(a *Answers) string { return a.Name },
		Set: func(a *Answers, v string) error {
			if err := checkName(v); err != nil {
				return err
			}
			a.Name = v
			return nil
		},
	},
	{
		Key: "protocol", Prompt: "Protocol",
		Help:    "http: net/http with /work, /livez, /readyz; grpc: grpc-go with the standard health service",
		Choices: []string{ProtocolHTTP, ProtocolGRPC},
		Default: func(*Answers) string { return ProtocolHTTP },
		Get:     func(a *Answers) string { return a.Protocol },
		Set: func(a *Answers, v string) error {
			if v != ProtocolHTTP && v != ProtocolGRPC {
				return &InputError{"protocol", v, "must be http or grpc"}
			}
			a.Protocol = v
			return nil
		},
	},
	{
		Key: "base-image", Prompt: "Base image",
		Help:    "distroless (static, nonroot), scratch, alpine, debian-slim, or any image reference with a tag or digest",
		Choices: BaseImageChoices,
		Default: func(*Answers) string { return "distroless" },
		Get:     func(a *Answers) string { return a.BaseImage },
		Set: func(a *Answers, v string) error {
			if err := checkImage(v); err != nil {
				return err
			}
			a.BaseImage = v
			return nil
		},
	},
	{
		Key: "autoscale", Prompt: "Autoscale (off, or MIN-MAX pods)",
		Help:    fmt.Sprintf("off, or MIN-MAX (1 <= MIN < MAX <= %d): a HorizontalPodAutoscaler on CPU owns the pod count, the Deployment leaves replicas out, and the PodDisruptionBudget and maxSurge follow MIN", MaxReplicas),
		Default: func(*Answers) string { return AutoscaleOff },
		Get:     func(a *Answers) string { return a.Autoscale },
		Set: func(a *Answers, v string) error {
			v = strings.TrimSpace(v)
			if v == AutoscaleOff {
				a.Autoscale = v
				return nil
			}
			lo, hi, err := ParseAutoscale(v)
			if err != nil {
				return err
			}
			a.Autoscale = fmt.Sprintf("%d-%d", lo, hi)
			return nil
		},
	},
	{
		Key: "replicas", Prompt: "Replicas",
		Help:    "pods to run; more than one gets a PodDisruptionBudget and spreading over nodes",
		Default: func(*Answers) string { return "3" },
		Get:     func(a *Answers) string { return strconv.Itoa(a.Replicas) },
		Set:     intSetter("replicas", 1, MaxReplicas, "", func(a *Answers) *int { return &a.Replicas }),
		// With autoscale the autoscaler sets the count; the recorded
		// replicas stay in .zdgen.yaml and count again when autoscale
		// turns off.
		Applies: func(a *Answers) bool { return a.Autoscale == AutoscaleOff },
	},
	{
		Key: "module", Prompt: "Go module path",
		Help:    "the path in go.mod, e.g. github.com/acme/orders",
		Default: func(a *Answers) string { return DefaultModule(a.Name) },
		Get:     func(a *Answers) string { return a.Module },
		Set: func(a *Answers, v string) error {
			if err := module.CheckPath(v); err != nil {
				return &InputError{"module", v, "not a valid Go module path: " + strings.TrimPrefix(err.Error(), "malformed module path \""+v+"\": ")}
			}
			a.Module = v
			return nil
		},
	},
	{
		Key: "description", Prompt: "Description (optional)",
		Help:    "one line on what the service does; it goes into the README, the image labels and the manifests' annotations",
		Default: func(*Answers) string { return "" },
		Get:     func(a *Answers) string { return a.Description },
		Set: func(a *Answers, v string) error {
			d, err := checkDescription(v)
			if err != nil {
				return err
			}
			a.Description = d
			return nil
		},
	},
	{
		Key: "k8s-version", Prompt: "Target Kubernetes version",
		Help:    fmt.Sprintf("the oldest cluster version the manifests must run on (1.%d to 1.%d); it decides the preStop and probe forms", MinK8sMinor, MaxK8sMinor),
		Default: func(*Answers) string { return fmt.Sprintf("1.%d", DefaultK8sMinor) },
		Get:     func(a *Answers) string { return a.K8sVersion },
		Set: func(a *Answers, v string) error {
			minor, err := K8sMinor(v)
			if err != nil {
				return err
			}
			a.K8sVersion = fmt.Sprintf("1.%d", minor)
			return nil
		},
	},
	{
		Key: "port", Prompt: "Service port",
		Help:    "the port the service listens on (1024-65535: the container runs without privileges)",
		Default: func(*Answers) string { return "8080" },
		Get:     func(a *Answers) string { return strconv.Itoa(a.Port) },
		Set:     intSetter("port", 1024, 65535, "the container runs as non-root with every capability dropped, so it cannot bind a port below 1024", func(a *Answers) *int { return &a.Port }),
	},
	{
		Key: "health-port", Prompt: "Health port",
		Help: "a separate listener for /livez, so liveness answers until the process exits, whatever the drain does; 8082 by default when port is 8081",
		// 8081, or the port after the service's when that is 8081: a
		// default must pass the rule that the two differ.
		Default: func(a *Answers) string {
			if a.Port == defaultHealthPort {
				return strconv.Itoa(defaultHealthPort + 1)
			}
			return strconv.Itoa(defaultHealthPort)
		},
		Get: func(a *Answers) string { return strconv.Itoa(a.HealthPort) },
		Set: intSetter("health-port", 1024, 65535, "the container runs as non-root with every capability dropped, so it cannot bind a port below 1024", func(a *Answers) *int { return &a.HealthPort }),
	},
	{
		Key: "metrics", Prompt: "Prometheus metrics",
		Help:    "serve /metrics on the health port: requests, latency, in-flight, the shutdown's phase and drain counters, Go runtime and process",
		Choices: []string{"true", "false"}, Bool: true,
		Default: func(*Answers) string { return "true" },
		Get:     func(a *Answers) string { return strconv.FormatBool(a.Metrics) },
		Set:     boolSetter("metrics", func(a *Answers) *bool { return &a.Metrics }),
	},
	{
		Key: "service-monitor", Prompt: "Prometheus Operator ServiceMonitor",
		Help:    "add a ServiceMonitor that scrapes /metrics (needs the Prometheus Operator's CRDs in the cluster, and metrics)",
		Choices: []string{"false", "true"}, Bool: true,
		Default: func(*Answers) string { return "false" },
		Get:     func(a *Answers) string { return strconv.FormatBool(a.ServiceMonitor) },
		Set: func(a *Answers, v string) error {
			if err := boolSetter("service-monitor", func(a *Answers) *bool { return &a.ServiceMonitor })(a, v); err != nil {
				return err
			}
			if a.ServiceMonitor && !a.Metrics {
				return &InputError{"service-monitor", v, "needs metrics: a ServiceMonitor scrapes /metrics, which metrics=false leaves out"}
			}
			return nil
		},
		Applies: func(a *Answers) bool { return a.Metrics },
	},
	{
		Key: "tracing", Prompt: "Tracing",
		Help:    "none, or otlp: OpenTelemetry traces exported over OTLP/HTTP to the collector OTEL_EXPORTER_OTLP_ENDPOINT names, flushed as the shutdown's last step",
		Choices: []string{TracingNone, TracingOTLP},
		Default: func(*Answers) string { return TracingNone },
		Get:     func(a *Answers) string { return a.Tracing },
		Set: func(a *Answers, v string) error {
			if v != TracingNone && v != TracingOTLP {
				return &InputError{"tracing", v, "must be none or otlp"}
			}
			a.Tracing = v
			// The flush timeout follows: its default when tracing turns
			// on, nothing when it is off.
			switch {
			case v == TracingNone:
				a.TraceFlush = 0
			case a.TraceFlush == 0:
				a.TraceFlush = Duration(defaultTraceFlush)
			}
			return nil
		},
	},
	{
		Key: "expose", Prompt: "Expose outside the cluster",
		Help:    "none; gateway: a Gateway API HTTPRoute (http) or GRPCRoute (grpc) you attach to your Gateway; ingress: a networking/v1 Ingress. Each raises the propagation lag's default to what its load balancer needs",
		Choices: []string{ExposeNone, ExposeGateway, ExposeIngress},
		Default: func(*Answers) string { return ExposeNone },
		Get:     func(a *Answers) string { return a.Expose },
		Set: func(a *Answers, v string) error {
			if err := checkExpose(v); err != nil {
				return err
			}
			followFront(a, v)
			a.Expose = v
			return nil
		},
	},
	{
		Key: "ci", Prompt: "CI workflow",
		Help:    "github: .github/workflows/ci.yaml runs build, vet, tests, golangci-lint, gosec, kube-score, zdgen upgrade --check and zdgen rehearse on every push and pull request; none: no workflow",
		Choices: []string{CIGitHub, CINone},
		Default: func(*Answers) string { return CIGitHub },
		Get:     func(a *Answers) string { return a.CI },
		Set: func(a *Answers, v string) error {
			if v != CIGitHub && v != CINone {
				return &InputError{"ci", v, "must be github or none"}
			}
			a.CI = v
			return nil
		},
	},
	{
		Key: "propagation-lag", Prompt: "Endpoint propagation lag",
		// The defaults and their sources: frontLags (expose.go).
		Help:           "how long routers (kube-proxy, a Gateway's or an Ingress's load balancer) keep sending to a terminating pod; the default follows expose: 5s for kube-proxy alone; 10s behind a gateway (a cloud load balancer's health checks: 2 x 5s, Google Cloud's defaults, https://cloud.google.com/compute/docs/reference/rest/v1/healthChecks); 30s behind an ingress (2 x 15s, the AWS Load Balancer Controller's defaults, https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/)",
		Default:        func(a *Answers) string { return DefaultLag(a.Expose).String() },
		Get:            func(a *Answers) string { return a.PropagationLag.String() },
		Set:            durationSetter("propagation-lag", 0, 5*time.Minute, func(a *Answers) *Duration { return &a.PropagationLag }),
		FollowsDefault: true,
	},
	{
		Key: "max-request", Prompt: "Longest request",
		Help:    "the longest a request may take; in-flight requests get this long to finish at shutdown, and /work is capped at it",
		Default: func(*Answers) string { return "10s" },
		Get:     func(a *Answers) string { return a.MaxRequest.String() },
		Set:     durationSetter("max-request", time.Second, MaxRequestBound, func(a *Answers) *Duration { return &a.MaxRequest }),
	},
	{
		Key: "startup-time", Prompt: "Longest startup",
		Help:    "the longest the service may take to become ready; the startup probe waits this long before liveness takes over",
		Default: func(*Answers) string { return "10s" },
		Get:     func(a *Answers) string { return a.StartupTime.String() },
		Set:     durationSetter("startup-time", time.Second, time.Hour, func(a *Answers) *Duration { return &a.StartupTime }),
	},
	{
		Key: "prestop", Prompt: "preStop hook",
		Help:    "auto (native sleep on Kubernetes >= 1.30, else the service's own binary), sleep, exec, or none (drain in-process only)",
		Choices: []string{PreStopAuto, PreStopSleep, PreStopExec, PreStopNone},
		Default: func(*Answers) string { return PreStopAuto },
		Get:     func(a *Answers) string { return a.PreStop },
		Set: func(a *Answers, v string) error {
			switch v {
			case PreStopAuto, PreStopSleep, PreStopExec, PreStopNone:
				a.PreStop = v
				return nil
			}
			return &InputError{"prestop", v, "must be auto, sleep, exec or none"}
		},
	},
	{
		Key: "drain-delay", Prompt: "In-process drain delay",
		Help: "how long after SIGTERM the service keeps serving, answering with Connection: close so keep-alive clients re-dial elsewhere",
		Default: func(a *Answers) string {
			if a.PreStop == PreStopNone {
				// Without a hook the whole router lag is waited in-process.
				return (a.PropagationLag + Duration(drainAfterLag)).String()
			}
			return "2s"
		},
		Get:            func(a *Answers) string { return a.DrainDelay.String() },
		Set:            durationSetter("drain-delay", 0, MaxDrainDelay, func(a *Answers) *Duration { return &a.DrainDelay }),
		FollowsDefault: true,
	},
	{
		Key: "trace-flush-timeout", Prompt: "Trace flush timeout",
		Help: "tracing otlp: how long the last step of the shutdown may spend exporting buffered spans; it is added to the grace period, and a collector that does not answer costs no more than this",
		Default: func(a *Answers) string {
			if a.Tracing == TracingOTLP {
				return defaultTraceFlush.String()
			}
			return "0s"
		},
		Get: func(a *Answers) string { return a.TraceFlush.String() },
		Set: func(a *Answers, v string) error {
			d, err := parseDuration(v)
			if err != nil {
				return &InputError{"trace-flush-timeout", v, err.Error()}
			}
			if a.Tracing != TracingOTLP {
				if d != 0 {
					return &InputError{"trace-flush-timeout", v, "applies only with tracing otlp"}
				}
				a.TraceFlush = 0
				return nil
			}
			if err := checkDuration("trace-flush-timeout", d, time.Second, MaxTraceFlush); err != nil {
				return err
			}
			a.TraceFlush = d
			return nil
		},
		Applies: func(a *Answers) bool { return a.Tracing == TracingOTLP },
	},
	{
		Key: "shutdown-timeout", Prompt: "Shutdown timeout",
		Help:    "how long in-flight requests get after the drain; derived from max-request unless set",
		Default: func(*Answers) string { return "0s" },
		Get:     func(a *Answers) string { return a.ShutdownTimeout.String() },
		Set:     durationSetter("shutdown-timeout", 0, MaxShutdownTimeout, func(a *Answers) *Duration { return &a.ShutdownTimeout }),
	},
	{
		Key: "grace-period", Prompt: "terminationGracePeriodSeconds",
		Help:    "derived from preStop + drain + shutdown timeout + trace flush + margin unless set",
		Default: func(*Answers) string { return "0s" },
		Get:     func(a *Answers) string { return a.GracePeriod.String() },
		Set:     durationSetter("grace-period", 0, 2*time.Hour, func(a *Answers) *Duration { return &a.GracePeriod }),
	},
}

// ExplainDefault turns a default that Set rejected into an error about
// the answer the default was made from: the module path proposed for the
// name v1 (example.com/v1) is not one Go accepts, but the person typed a
// name, not a module path.
func ExplainDefault(f Field, a *Answers, err error) error {
	var ie *InputError
	if f.Key == "module" && errors.As(err, &ie) && ie.Value == DefaultModule(a.Name) {
		return &InputError{"name", a.Name, fmt.Sprintf("makes the default module path %s, which Go does not accept (%s); give a module path (--module), or choose another name", ie.Value, strings.TrimPrefix(ie.Rule, "not a valid Go module path: "))}
	}
	return err
}

// MaxReplicas bounds the replica count and the autoscaler's MAX: beyond
// it a hand-tuned Deployment is the better tool.
const MaxReplicas = 100

// AutoscaleOff is the autoscale answer that generates no autoscaler.
const AutoscaleOff = "off"

// ParseAutoscale reads an autoscale answer other than off: "MIN-MAX", two
// whole numbers with 1 <= MIN < MAX <= MaxReplicas. MIN equal to MAX is
// refused: such an autoscaler never scales, yet it takes the count out
// of the Deployment and needs a metrics server; replicas says the same
// plainly.
func ParseAutoscale(v string) (lo, hi int, err error) {
	bad := func(rule string) (int, int, error) { return 0, 0, &InputError{"autoscale", v, rule} }
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return bad("want off, or MIN-MAX pods such as 2-10 (a fixed count is replicas)")
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return bad("want off, or MIN-MAX pods such as 2-10: both whole numbers")
	case lo < 1 || hi > MaxReplicas:
		return bad(fmt.Sprintf("MIN and MAX must be 1 to %d", MaxReplicas))
	case lo > hi:
		return bad("MIN must not exceed MAX")
	case lo == hi:
		return bad(fmt.Sprintf("MIN equals MAX: such an autoscaler never scales; give replicas=%d and autoscale=off", lo))
	}
	return lo, hi, nil
}

// FieldByKey finds a field by its key.
func FieldByKey(key string) (Field, bool) {
	for _, f := range Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// AppliesTo reports whether the field means anything given answers a (see
// Field.Applies).
func (f Field) AppliesTo(a *Answers) bool { return f.Applies == nil || f.Applies(a) }

// Optional reports whether a field may be left out even without --yes:
// overrides whose zero value means "derive it", and free text.
func (f Field) Optional() bool { return f.Override() || f.Key == "description" }

// Override reports whether a field overrides a number the plan derives.
// Prompts do not ask for these: the derived value is the answer unless a
// flag or config file says otherwise.
func (f Field) Override() bool { return f.Key == "shutdown-timeout" || f.Key == "grace-period" }

// MaxDescription bounds the description: it is a line, not a document.
const MaxDescription = 200

// checkDescription folds white space (newlines included) into single
// spaces, so that the text is one line wherever it lands, and rejects what
// no file should carry: control characters, and the bidirectional controls
// that make source display differently from what it is ("Trojan Source"). Quotes, colons, '#', '{{' and the like are fine:
// each file's template escapes them for its own language.
func checkDescription(v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", &InputError{"description", "", "must be UTF-8 text"}
	}
	for i, r := range []rune(v) {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return "", &InputError{"description", v, "must not contain control characters"}
		}
		if unicode.Is(unicode.Bidi_Control, r) {
			return "", &InputError{"description", "", fmt.Sprintf("must not contain Unicode bidirectional control characters (U+%04X at character %d): they make text display in an order other than it reads, in the Go, YAML and Dockerfile it is copied into", r, i+1)}
		}
	}
	d := strings.Join(strings.Fields(v), " ")
	if n := utf8.RuneCountInString(d); n > MaxDescription {
		return "", &InputError{"description", d, fmt.Sprintf("is %d characters; at most %d (one line on what the service does)", n, MaxDescription)}
	}
	return d, nil
}

// reservedNames would collide with directories the generated repo has.
var reservedNames = map[string]bool{"loadtest": true, "internal": true, "deploy": true}

func checkName(v string) error {
	if v == "" {
		return &InputError{"name", v, "is required"}
	}
	// DNS-1035, not just DNS-1123: a Service name must start with a letter
	// (and so must Go and protobuf package names derived from it).
	if errs := validation.IsDNS1035Label(v); len(errs) > 0 {
		return &InputError{"name", v, "must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters): it names the Deployment, the Service and the binary"}
	}
	if reservedNames[v] {
		return &InputError{"name", v, "is reserved: the generated repository already has a directory of that name"}
	}
	return nil
}

func checkImage(v string) error {
	if _, ok := baseImages[v]; ok {
		return nil
	}
	if v == "" {
		return &InputError{"base-image", v, "is required"}
	}
	named, err := reference.ParseNormalizedNamed(v)
	if err != nil {
		return &InputError{"base-image", v, "not a valid image reference: " + err.Error()}
	}
	if reference.IsNameOnly(named) {
		return &InputError{"base-image", v, "needs a tag or digest (e.g. " + Clip(v) + ":1.0) so that builds are reproducible"}
	}
	if t, ok := named.(reference.Tagged); ok && t.Tag() == "latest" {
		return &InputError{"base-image", v, "the tag latest moves under you; pin a version tag or digest so that builds are reproducible"}
	}
	return nil
}

// K8sMinor parses "1.35", "v1.35" or "1.35.2" and checks it is a version
// zdgen knows.
func K8sMinor(v string) (int, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.Split(s, ".")
	bad := &InputError{"k8s-version", v, fmt.Sprintf("want a Kubernetes version like 1.%d", DefaultK8sMinor)}
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "1" {
		return 0, bad
	}
	for _, p := range parts[1:] {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return 0, bad
		}
	}
	minor, _ := strconv.Atoi(parts[1])
	if minor < MinK8sMinor || minor > MaxK8sMinor {
		return 0, &InputError{"k8s-version", v, fmt.Sprintf("zdgen supports Kubernetes 1.%d to 1.%d", MinK8sMinor, MaxK8sMinor)}
	}
	return minor, nil
}

func intSetter(key string, lo, hi int, why string, field func(*Answers) *int) func(*Answers, string) error {
	return func(a *Answers, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return &InputError{key, v, "must be a whole number"}
		}
		if n < lo || n > hi {
			rule := fmt.Sprintf("must be %d to %d", lo, hi)
			if why != "" {
				rule += ": " + why
			}
			return &InputError{key, v, rule}
		}
		*field(a) = n
		return nil
	}
}

// drainAfterLag is what the drain delay adds to the propagation lag
// without a hook (prestop none): the lag is waited in-process, then each
// keep-alive client gets its Connection: close.
const drainAfterLag = 2 * time.Second

// defaultHealthPort is the health listener's port unless the service
// itself listens there.
const defaultHealthPort = 8081

// defaultTraceFlush bounds the final span export: a collector in the
// cluster answers in milliseconds, and a batch of spans is small.
const defaultTraceFlush = 2 * time.Second

func boolSetter(key string, field func(*Answers) *bool) func(*Answers, string) error {
	return func(a *Answers, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return &InputError{key, v, "must be true or false"}
		}
		*field(a) = b
		return nil
	}
}

func durationSetter(key string, lo, hi time.Duration, field func(*Answers) *Duration) func(*Answers, string) error {
	return func(a *Answers, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return &InputError{key, v, err.Error()}
		}
		if err := checkDuration(key, d, lo, hi); err != nil {
			return err
		}
		*field(a) = d
		return nil
	}
}

func checkDuration(key string, d Duration, lo, hi time.Duration) error {
	switch {
	case d.D()%time.Second != 0:
		return &InputError{key, d.String(), "must be a whole number of seconds: Kubernetes counts these in seconds"}
	case d.D() < lo || d.D() > hi:
		return &InputError{key, d.String(), fmt.Sprintf("must be %s to %s", lo, hi)}
	}
	return nil
}

// Check validates a complete set of answers field by field, then the rules
// that tie fields together (ports, and the timing model via NewPlan). It
// returns the first problem found, as an *InputError.
func Check(a Answers) error {
	if err := CheckFields(a); err != nil {
		return err
	}
	_, err := NewPlan(a)
	return err
}

// CheckFields validates each answer by its field and the ports against each
// other: Check short of the timing model, for callers that plan next anyway.
func CheckFields(a Answers) error {
	for _, f := range Fields {
		scratch := a
		if err := f.Set(&scratch, f.Get(&a)); err != nil {
			return err
		}
	}
	if a.Port == a.HealthPort {
		return errPortsEqual(a.HealthPort)
	}
	return nil
}

// BadInput marks a bad answer as bad input (IsInputError).
func (*InputError) BadInput() {}

// IsInputError reports whether err, or an error it wraps, is bad input
// rather than a failure: a bad answer (*InputError), or any other kind
// that says so with a method BadInput(): a repository zdgen cannot take,
// a lock or repository an upgrade refuses, a bad command line. The
// command exits 2 on them, whatever their kind: a new kind needs the
// method, not a change of the command.
func IsInputError(err error) bool {
	var bad interface{ BadInput() }
	return errors.As(err, &bad)
}

// BadInput marks err as bad input, its message unchanged: what someone
// gave (a flag's value, an overlay, a repository) is wrong, not zdgen.
func BadInput(err error) error { return &badInput{err} }

type badInput struct{ err error }

func (e *badInput) Error() string { return e.err.Error() }
func (e *badInput) Unwrap() error { return e.err }
func (e *badInput) BadInput()     {}

func errPortsEqual(port int) error {
	return &InputError{"health-port", strconv.Itoa(port), "must differ from port: liveness needs its own listener so it keeps answering while the service port drains"}
}
