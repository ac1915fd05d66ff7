package spec

import (
	"fmt"
	"time"
)

// Plan is everything that follows from the answers: each number the
// service, its manifests and its README use. Templates print these values;
// they compute nothing.
type Plan struct {
	Answers Answers `json:"answers"`

	Toolchain Toolchain `json:"toolchain"`
	Image     Image     `json:"image"`
	PreStop   PreStop   `json:"preStop"`
	Readiness Probe     `json:"readiness"`
	Liveness  Probe     `json:"liveness"`
	Startup   Probe     `json:"startup"`
	Checks    Checks    `json:"checks"` // what each probe asks
	Service   Service   `json:"service"`
	Proto     *Proto    `json:"proto,omitempty"` // gRPC only
	Front     *Front    `json:"front,omitempty"` // expose gateway or ingress only
	// Overlay is the organisation overlay the service is generated with;
	// nil without one.
	Overlay *Overlay `json:"overlay,omitempty"`
	// ModuleSet names the generated go.mod's dependency set: the protocol,
	// then "-metrics" and "-otlp" for what the answers add (e.g.
	// "http-metrics"). "http" alone needs nothing but the standard library.
	ModuleSet string `json:"moduleSet"`

	DrainDelaySeconds      int `json:"drainDelaySeconds"`      // in-process, after SIGTERM
	ShutdownTimeoutSeconds int `json:"shutdownTimeoutSeconds"` // Shutdown's deadline, then Close
	TraceFlushSeconds      int `json:"traceFlushSeconds"`      // the final span export's bound; 0 without tracing
	MarginSeconds          int `json:"marginSeconds"`
	GracePeriodSeconds     int `json:"terminationGracePeriodSeconds"`
	MaxSurge               int `json:"maxSurge"`
	MaxUnavailable         int `json:"maxUnavailable"`
	PDBMaxUnavailable      int `json:"pdbMaxUnavailable"` // 0: no PodDisruptionBudget (one replica)
	// PDBUnhealthyPodEvictionPolicy is the budget's
	// unhealthyPodEvictionPolicy: AlwaysAllow where the target Kubernetes
	// version has the field (GA in 1.31), so a pod that is not ready
	// never holds a node drain up; "" leaves it out (the API's default,
	// IfHealthyBudget), and without a budget.
	PDBUnhealthyPodEvictionPolicy string `json:"pdbUnhealthyPodEvictionPolicy,omitempty"`
	WorkMaxSeconds                int    `json:"workMaxSeconds"` // cap on /work?ms= or Work's duration_ms
	// MaxConnectionAgeSeconds (gRPC) makes clients reconnect, and so
	// rebalance onto new pods; the grace after it is WorkMaxSeconds.
	MaxConnectionAgeSeconds int `json:"maxConnectionAgeSeconds,omitempty"`

	// Replicas is the pod count maxSurge and the budget are derived from:
	// the replicas answer, or with autoscale its MIN, the size the
	// autoscaler may shrink to.
	Replicas int `json:"replicas"`
	// Autoscale is the HorizontalPodAutoscaler's numbers; nil when
	// autoscale is off.
	Autoscale *Autoscale `json:"autoscale,omitempty"`

	// Derived lists every number above with the rule behind it, in the
	// order the generated README's table shows them.
	Derived []Derived `json:"derived"`
}

// Autoscale is the HorizontalPodAutoscaler: its bounds, the CPU it aims
// at, and how fast it may remove pods.
type Autoscale struct {
	Min int `json:"minReplicas"`
	Max int `json:"maxReplicas"`
	// CPUUtilization is the average CPU use the autoscaler keeps the pods
	// at, in percent of the container's request.
	CPUUtilization int `json:"cpuUtilization"`
	// Scale-down: the autoscaler acts on the highest recommendation of
	// the last StabilizationSeconds, and removes at most Pods pods per
	// PeriodSeconds.
	ScaleDownStabilizationSeconds int `json:"scaleDownStabilizationSeconds"`
	ScaleDownPods                 int `json:"scaleDownPods"`
	ScaleDownPeriodSeconds        int `json:"scaleDownPeriodSeconds"`
}

// Derived is one number of the plan and the rule that produced it.
type Derived struct {
	Key   string `json:"key"`   // where it lands, e.g. "terminationGracePeriodSeconds"
	Value string `json:"value"` // as written in the manifests
	Rule  string `json:"rule"`  // why, in one sentence
	// Since is the template release that added the row, "" for one as
	// old as the table: the templates of an earlier release, which an
	// upgrade renders as its merge base, leave it out.
	Since string `json:"-"`
}

// derivedSince names the rows added to the table after it was first
// written, each with the template release that added it. A row that a new
// answer brings (autoscale, expose, tracing) needs no entry: no earlier
// release renders that answer.
var derivedSince = map[string]string{
	"PodDisruptionBudget unhealthyPodEvictionPolicy": "0.8.0",
}

// Toolchain is the Go the generated repository builds with.
type Toolchain struct {
	GoDirective  string `json:"goDirective"`  // the oldest Go that builds the service's own code: go.mod's go line, unless a dependency needs a newer one
	BuilderImage string `json:"builderImage"` // the Dockerfile's build stage
}

// Toolchains by protocol. HTTP services need nothing newer than the older
// of the two Go releases the Go team supports; grpc-go v1.85 needs 1.26.
// Releases before 0.5.0 wrote GoDirective as go.mod's go line, so it must
// not change; go mod tidy raises the go line of a dependency set that needs
// a newer Go (client_golang v1.25 does), and go.mod.tmpl records that.
var toolchains = map[string]Toolchain{
	ProtocolHTTP: {GoDirective: "1.25.0", BuilderImage: "golang:1.26"},
	ProtocolGRPC: {GoDirective: "1.26.0", BuilderImage: "golang:1.26"},
}

// Service is how the Kubernetes Service exposes the pods.
type Service struct {
	Port        int    `json:"port"`        // the Service's port
	PortName    string `json:"portName"`    // the container port's name: http or grpc
	AppProtocol string `json:"appProtocol"` // tells meshes and gateways what the port speaks
}

// Checks are what the startup, readiness and liveness probes ask.
type Checks struct {
	Startup   ProbeCheck `json:"startup"`
	Readiness ProbeCheck `json:"readiness"`
	Liveness  ProbeCheck `json:"liveness"`
}

// ProbeCheck is one probe's handler: exactly one of an HTTP GET, a native gRPC
// health check, or a command.
type ProbeCheck struct {
	HTTPPath string   `json:"httpPath,omitempty"`
	HTTPPort string   `json:"httpPort,omitempty"` // a named container port
	GRPCPort int      `json:"grpcPort,omitempty"` // a number: gRPC probes take no port names
	Service  string   `json:"service,omitempty"`  // the gRPC health service name
	Exec     []string `json:"exec,omitempty"`
}

// Image is the container base image and what the Dockerfile needs to know
// about it.
type Image struct {
	Ref        string `json:"ref"`
	Kind       string `json:"kind"`       // distroless, scratch, alpine, debian-slim or custom
	CopyCerts  bool   `json:"copyCerts"`  // scratch has no CA bundle: copy the builder's
	UID        int    `json:"uid"`        // numeric, so runAsNonRoot can verify it
	BinaryPath string `json:"binaryPath"` // where the service binary lives in the image
}

// PreStop is the hook that holds SIGTERM back while routers catch up.
type PreStop struct {
	Form    string   `json:"form"` // sleep, exec or none
	Seconds int      `json:"seconds"`
	Command []string `json:"command,omitempty"` // for exec
	Why     string   `json:"why"`
}

// Probe is one Kubernetes probe's timing.
type Probe struct {
	PeriodSeconds    int `json:"periodSeconds"`
	FailureThreshold int `json:"failureThreshold"`
	TimeoutSeconds   int `json:"timeoutSeconds"`
}

// Window is how long the probe takes to act: period x failureThreshold.
func (p Probe) Window() int { return p.PeriodSeconds * p.FailureThreshold }

// Fixed parts of the timing model.
const (
	readinessPeriod  = 2 // s: a started pod joins the endpoints within 2 s
	readinessFailure = 2 // two misses, not one: a single slow answer is not an outage
	livenessFailure  = 3
	startupPeriod    = 1     // s: poll fast so a new pod is ready (and the rollout moves on) soon after it can serve
	probeTimeout     = 1     // s: health handlers do no I/O
	marginSeconds    = 5     // s: between the last planned step and SIGKILL, for process exit and log flush
	NativeSleepMinor = 30    // native sleep preStop: beta and on by default from 1.30
	NativeGRPCMinor  = 24    // native gRPC probes: beta and on by default from 1.24
	maxConnectionAge = 30    // s: gRPC clients reconnect (and rebalance) about this often
	nativeUID        = 65532 // distroless's nonroot user; used for every image so runAsUser is the same everywhere

	// A PodDisruptionBudget's unhealthyPodEvictionPolicy: alpha in 1.26,
	// beta and on by default from 1.27, GA in 1.31. zdgen sets it where
	// it is GA, so no cluster of the target version can lack it.
	unhealthyEvictionMinor = 31

	// The autoscaler aims at 70 % of the CPU request: a node drain that
	// takes out a quarter of the pods (the PodDisruptionBudget's share
	// from four pods up) moves their load onto the rest, at 70 / 0.75 =
	// 93 % of the request, still below it, while new pods start.
	autoscaleCPU = 70
	// Kubernetes' own default, written out: a dip in load shorter than
	// five minutes removes no pod, so a bursty service is not drained and
	// restarted over and over.
	scaleDownStabilization = 300
	maxHPAPeriod           = 1800 // s: the API's limit on a scaling policy's periodSeconds
)

// NewPlan derives every number from validated field values and checks the
// rules that tie them together. Errors are *InputError naming the rule.
func NewPlan(a Answers) (*Plan, error) {
	minor, err := K8sMinor(a.K8sVersion)
	if err != nil {
		return nil, err
	}
	p := &Plan{Answers: a, MarginSeconds: marginSeconds, Toolchain: toolchains[a.Protocol]}
	p.Image = planImage(a)
	p.ModuleSet = moduleSet(a)
	if p.PreStop, err = planPreStop(a, minor, p.Image.BinaryPath); err != nil {
		return nil, err
	}
	R := a.MaxRequest.Seconds()

	// Drain: the hook covers the router lag; the in-process delay lets each
	// keep-alive client see one Connection: close and re-dial. Without a
	// hook the in-process delay must cover the lag itself.
	p.DrainDelaySeconds = a.DrainDelay.Seconds()
	t := Termination{Lag: a.PropagationLag.D(), PreStop: seconds(p.PreStop.Seconds), Drain: a.DrainDelay.D(), Margin: seconds(marginSeconds)}
	if err := t.CheckLag(); err != nil { // a hook lasts L, so only prestop none can fail
		return nil, &InputError{"drain-delay", a.DrainDelay.String(), err.Error()}
	}

	p.ShutdownTimeoutSeconds = R
	if a.ShutdownTimeout != 0 {
		p.ShutdownTimeoutSeconds = a.ShutdownTimeout.Seconds()
		if p.ShutdownTimeoutSeconds < R {
			return nil, &InputError{"shutdown-timeout", a.ShutdownTimeout.String(), fmt.Sprintf("must be >= max-request (%ds): a shorter deadline cuts off requests the service promised to finish", R)}
		}
	}
	p.WorkMaxSeconds = R

	t.Shutdown = seconds(p.ShutdownTimeoutSeconds)
	if a.Tracing == TracingOTLP {
		p.TraceFlushSeconds = a.TraceFlush.Seconds()
		t.Flush = seconds(p.TraceFlushSeconds)
	}
	p.GracePeriodSeconds = int(t.GraceNeeded() / time.Second)
	if a.GracePeriod != 0 {
		p.GracePeriodSeconds = a.GracePeriod.Seconds()
		if err := t.CheckGrace(a.GracePeriod.D()); err != nil {
			return nil, &InputError{"grace-period", a.GracePeriod.String(), err.Error()}
		}
	}

	p.Readiness = Probe{PeriodSeconds: readinessPeriod, FailureThreshold: readinessFailure, TimeoutSeconds: probeTimeout}
	// Liveness period = 3 x the readiness failure window, so a
	// struggling pod is taken out of rotation long before it is restarted.
	p.Liveness = Probe{PeriodSeconds: 3 * p.Readiness.Window(), FailureThreshold: livenessFailure, TimeoutSeconds: probeTimeout}
	p.Startup = Probe{PeriodSeconds: startupPeriod, FailureThreshold: ceilDiv(a.StartupTime.Seconds(), startupPeriod), TimeoutSeconds: probeTimeout}

	p.Service, p.Checks = planService(a, minor, p.Image.BinaryPath)
	p.Front = planFront(a)
	if a.Protocol == ProtocolGRPC {
		proto, err := planProto(a)
		if err != nil {
			return nil, err
		}
		p.Proto = &proto
		p.MaxConnectionAgeSeconds = maxConnectionAge
	}

	p.Replicas = a.Replicas
	if a.Autoscale != AutoscaleOff {
		lo, hi, err := ParseAutoscale(a.Autoscale)
		if err != nil {
			return nil, err
		}
		p.Replicas = lo
		p.Autoscale = &Autoscale{Min: lo, Max: hi, CPUUtilization: autoscaleCPU, ScaleDownStabilizationSeconds: scaleDownStabilization}
	}
	// From the smallest count the pods may have: the budget and the surge
	// hold at the autoscaler's MIN, and are conservative above it.
	p.MaxUnavailable = 0
	p.MaxSurge = max(1, ceilDiv(p.Replicas, 4))
	if p.Replicas > 1 {
		p.PDBMaxUnavailable = max(1, p.Replicas/4)
		if minor >= unhealthyEvictionMinor {
			p.PDBUnhealthyPodEvictionPolicy = "AlwaysAllow"
		}
	}
	if as := p.Autoscale; as != nil {
		// Scale-down removes no more pods at once than the budget lets a
		// drain take (one without a budget), and waits a grace period
		// before the next, by when the removed pods have exited.
		as.ScaleDownPods = max(1, p.PDBMaxUnavailable)
		as.ScaleDownPeriodSeconds = min(p.GracePeriodSeconds, maxHPAPeriod)
	}
	p.Derived = p.derive()
	return p, nil
}

// Health service names the gRPC service answers, one per probe question.
const (
	ReadinessService = "readiness"
	LivenessService  = "liveness"
)

func planService(a Answers, minor int, binary string) (Service, Checks) {
	if a.Protocol == ProtocolHTTP {
		return Service{Port: 80, PortName: "http", AppProtocol: "http"}, Checks{
			Startup:   ProbeCheck{HTTPPath: "/readyz", HTTPPort: "http"},
			Readiness: ProbeCheck{HTTPPath: "/readyz", HTTPPort: "http"},
			Liveness:  ProbeCheck{HTTPPath: "/livez", HTTPPort: "health"},
		}
	}
	// Cleartext HTTP/2, as Kubernetes names it for gateways and meshes.
	svc := Service{Port: a.Port, PortName: "grpc", AppProtocol: "kubernetes.io/h2c"}
	grpcCheck := func(port int, service string) ProbeCheck {
		if minor >= NativeGRPCMinor {
			return ProbeCheck{GRPCPort: port, Service: service}
		}
		// Older clusters: the service's own binary is the health client.
		return ProbeCheck{Exec: []string{binary, "probe", "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-service", service}}
	}
	return svc, Checks{
		Startup:   grpcCheck(a.Port, ReadinessService),
		Readiness: grpcCheck(a.Port, ReadinessService),
		Liveness:  grpcCheck(a.HealthPort, LivenessService),
	}
}

func moduleSet(a Answers) string {
	s := a.Protocol
	if a.Metrics {
		s += "-metrics"
	}
	if a.Tracing == TracingOTLP {
		s += "-otlp"
	}
	return s
}

func planImage(a Answers) Image {
	img := Image{Ref: a.BaseImage, Kind: "custom", UID: nativeUID, BinaryPath: "/" + a.Name}
	if ref, ok := baseImages[a.BaseImage]; ok {
		img.Ref, img.Kind = ref, a.BaseImage
	}
	img.CopyCerts = img.Kind == "scratch"
	return img
}

func planPreStop(a Answers, minor int, binary string) (PreStop, error) {
	L := a.PropagationLag.Seconds()
	form := a.PreStop
	if form == PreStopAuto {
		switch {
		case L == 0:
			form = PreStopNone
		case minor >= NativeSleepMinor:
			form = PreStopSleep
		default:
			form = PreStopExec
		}
	}
	if form != PreStopNone && L == 0 {
		return PreStop{}, &InputError{"prestop", a.PreStop, "a preStop hook needs propagation-lag >= 1s (a 0 s sleep is rejected by Kubernetes before 1.33); use prestop none"}
	}
	switch form {
	case PreStopSleep:
		if minor < NativeSleepMinor {
			return PreStop{}, &InputError{"prestop", a.PreStop, fmt.Sprintf("lifecycle.preStop.sleep needs Kubernetes >= 1.%d (beta, on by default); the target is %s: use exec, which runs the service's own binary", NativeSleepMinor, a.K8sVersion)}
		}
		return PreStop{Form: form, Seconds: L, Why: fmt.Sprintf("Native sleep action: needs no binary in the image (Kubernetes >= 1.%d)", NativeSleepMinor)}, nil
	case PreStopExec:
		return PreStop{Form: form, Seconds: L, Command: []string{binary, "sleep", fmt.Sprintf("%ds", L)},
			Why: "Runs the service's own binary, which every image has (distroless and scratch have no sleep)"}, nil
	default:
		return PreStop{Form: PreStopNone, Why: "No hook: the in-process drain covers the propagation lag"}, nil
	}
}

func (p *Plan) derive() []Derived {
	a := p.Answers
	d := []Derived{}
	add := func(key string, value any, rule string) {
		d = append(d, Derived{Key: key, Value: fmt.Sprint(value), Rule: rule, Since: derivedSince[key]})
	}
	if p.Front != nil {
		// The lag is an answer, not a derived number; behind a front its
		// default is, and the preStop and grace period below follow it.
		add("propagation lag L", a.PropagationLag.String(), p.Front.lagText(a.PropagationLag))
	}
	if p.PreStop.Form != PreStopNone {
		add("preStop ("+p.PreStop.Form+")", fmt.Sprintf("%ds", p.PreStop.Seconds), fmt.Sprintf("= propagation lag L (%s): SIGTERM waits until routers have stopped sending here. %s", a.PropagationLag, p.PreStop.Why))
	} else {
		add("preStop", "none", p.PreStop.Why)
	}
	if p.Proto != nil {
		add("DRAIN_DELAY", fmt.Sprintf("%ds", p.DrainDelaySeconds), "after SIGTERM: readiness answers NOT_SERVING and the calls routers still send are served, before GracefulStop sends GOAWAY")
	} else {
		add("DRAIN_DELAY", fmt.Sprintf("%ds", p.DrainDelaySeconds), "after SIGTERM: /readyz answers 503 and every response carries Connection: close, so keep-alive clients re-dial onto live pods")
	}
	add("SHUTDOWN_TIMEOUT", fmt.Sprintf("%ds", p.ShutdownTimeoutSeconds), fmt.Sprintf(">= longest request R (%s): work in flight finishes; then the stragglers are closed", a.MaxRequest))
	add("WORK_MAX", fmt.Sprintf("%ds", p.WorkMaxSeconds), "= R: no piece of work outlasts the shutdown timeout")
	if p.MaxConnectionAgeSeconds > 0 {
		add("MAX_CONNECTION_AGE", fmt.Sprintf("%ds", p.MaxConnectionAgeSeconds), "clients reconnect about this often (±10 %), so HTTP/2 connections rebalance onto new pods behind a ClusterIP; the grace after it is WORK_MAX, so no call is cut")
	}
	if p.TraceFlushSeconds > 0 {
		add("TRACE_FLUSH_TIMEOUT", fmt.Sprintf("%ds", p.TraceFlushSeconds), "the shutdown's last step: spans still buffered are exported, or dropped when the collector does not answer in time, so a slow collector never delays the exit by more than this")
		add("terminationGracePeriodSeconds", p.GracePeriodSeconds, fmt.Sprintf(">= preStop %ds + drain %ds + shutdown timeout %ds + trace flush %ds + margin %ds: SIGKILL never lands on planned work", p.PreStop.Seconds, p.DrainDelaySeconds, p.ShutdownTimeoutSeconds, p.TraceFlushSeconds, p.MarginSeconds))
	} else {
		add("terminationGracePeriodSeconds", p.GracePeriodSeconds, fmt.Sprintf(">= preStop %ds + drain %ds + shutdown timeout %ds + margin %ds: SIGKILL never lands on planned work", p.PreStop.Seconds, p.DrainDelaySeconds, p.ShutdownTimeoutSeconds, p.MarginSeconds))
	}
	add("readinessProbe", probeText(p.Readiness), fmt.Sprintf("fails within %ds of a problem; gates traffic to new pods", p.Readiness.Window()))
	add("livenessProbe", probeText(p.Liveness), fmt.Sprintf("period = 3 x readiness window (%ds), so a pod leaves rotation long before it is restarted; served on the health port, so it passes until exit", p.Readiness.Window()))
	add("startupProbe", probeText(p.Startup), fmt.Sprintf("window %ds >= startup time S (%s): liveness cannot kill a slow start", p.Startup.Window(), a.StartupTime))
	add("maxUnavailable", p.MaxUnavailable, "0: an old pod goes only after its replacement is ready")
	if p.Autoscale != nil {
		p.deriveAutoscale(add)
		return d
	}
	add("maxSurge", p.MaxSurge, fmt.Sprintf("max(1, ceil(%d replicas / 4)): 25 %% extra pods during a rollout, at least one", p.Replicas))
	if p.PDBMaxUnavailable > 0 {
		add("PodDisruptionBudget maxUnavailable", p.PDBMaxUnavailable, fmt.Sprintf("max(1, floor(%d / 4)): node drains keep at least 75 %% of the replicas serving", p.Replicas))
		p.deriveUnhealthyEviction(add)
	} else {
		add("PodDisruptionBudget", "none", "one replica: a budget would either block node drains forever or protect nothing")
	}
	return d
}

// deriveUnhealthyEviction adds the budget's unhealthyPodEvictionPolicy
// row: set where the target version has the field, and why; otherwise
// what the default means for a node drain.
func (p *Plan) deriveUnhealthyEviction(add func(key string, value any, rule string)) {
	if p.PDBUnhealthyPodEvictionPolicy != "" {
		add("PodDisruptionBudget unhealthyPodEvictionPolicy", p.PDBUnhealthyPodEvictionPolicy, fmt.Sprintf("a pod that is not ready (crash-looping, say) may always be evicted: it serves nothing the budget protects, so it never blocks a node drain (GA from Kubernetes 1.%d)", unhealthyEvictionMinor))
		return
	}
	add("PodDisruptionBudget unhealthyPodEvictionPolicy", "not set", fmt.Sprintf("GA from Kubernetes 1.%d, after the target %s; the default (IfHealthyBudget) evicts a pod that is not ready only while enough others are healthy, so crash-looping pods can hold a node drain up: set AlwaysAllow if every cluster is 1.27 or newer (beta, on by default there)", unhealthyEvictionMinor, p.Answers.K8sVersion))
}

// deriveAutoscale adds the autoscaler's rows, and the surge and budget
// derived from its MIN.
func (p *Plan) deriveAutoscale(add func(key string, value any, rule string)) {
	as := p.Autoscale
	add("maxSurge", p.MaxSurge, fmt.Sprintf("max(1, ceil(minReplicas %d / 4)): 25 %% extra pods at the smallest size, at least one; fewer in proportion when the autoscaler has added pods, so a rollout is slower but never short of capacity", as.Min))
	if p.PDBMaxUnavailable > 0 {
		add("PodDisruptionBudget maxUnavailable", p.PDBMaxUnavailable, fmt.Sprintf("max(1, floor(minReplicas %d / 4)): node drains keep at least 75 %% of the smallest size serving", as.Min))
		p.deriveUnhealthyEviction(add)
	} else {
		add("PodDisruptionBudget", "none", "minReplicas 1: at the smallest size a budget would either block node drains forever or protect nothing")
	}
	add("replicas", "left out", "the autoscaler owns the count: a replicas field would reset it on every apply")
	add("minReplicas", as.Min, "the autoscale answer's MIN: the fewest pods, and the size the surge and the budget are derived from")
	add("maxReplicas", as.Max, fmt.Sprintf("the autoscale answer's MAX: leave quota and node room for %d + maxSurge %d pods during a rollout", as.Max, p.MaxSurge))
	add("target CPU utilization", fmt.Sprintf("%d %%", as.CPUUtilization), fmt.Sprintf("of the 100m request, averaged over the pods: a node drain taking a quarter of them (the budget's share from four pods up) leaves the rest at %d / 0.75 = %d %%, still below the request", as.CPUUtilization, as.CPUUtilization*100/75))
	add("scaleDown stabilizationWindowSeconds", as.ScaleDownStabilizationSeconds, "a pod goes only when five minutes of samples agree it is not needed: a dip in load does not drain and restart pods")
	period := fmt.Sprintf("= terminationGracePeriodSeconds %ds: a removed pod has exited before the next goes", p.GracePeriodSeconds)
	if as.ScaleDownPeriodSeconds < p.GracePeriodSeconds {
		period = fmt.Sprintf("the API's longest (%ds), shorter than terminationGracePeriodSeconds %ds: pods still draining may overlap", maxHPAPeriod, p.GracePeriodSeconds)
	}
	allowance := fmt.Sprintf("at most the PodDisruptionBudget's allowance (%d) draining at once", as.ScaleDownPods)
	if p.PDBMaxUnavailable == 0 {
		allowance = "one pod draining at a time (no budget at minReplicas 1)"
	}
	add("scaleDown policy", fmt.Sprintf("%d pod%s per %ds", as.ScaleDownPods, plural(as.ScaleDownPods), as.ScaleDownPeriodSeconds),
		fmt.Sprintf("%s; period %s", allowance, period))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func probeText(p Probe) string {
	return fmt.Sprintf("period %ds, failureThreshold %d, timeout %ds", p.PeriodSeconds, p.FailureThreshold, p.TimeoutSeconds)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Overlay is an organisation overlay as a service records it in
// .zdgen.yaml: which release of it, where it comes from and a checksum
// of its content, so that an upgrade rebuilds exactly what it generated.
type Overlay struct {
	Name    string `json:"name"`
	Version string `json:"version"` // the overlay's release, such as v1.4.0
	// Module is the overlay's Go module path: an upgrade fetches the
	// recorded version through the module proxy. Dir is a local
	// directory, relative to the repository (or absolute), read in place;
	// an overlay read from a directory that is a module records both.
	Module string `json:"module,omitempty"`
	Dir    string `json:"dir,omitempty"`
	// Sum is the h1: hash of the overlay's files, as go.sum records a
	// module's.
	Sum string `json:"sum"`
	// Components are the overlay's kustomize components, as the
	// kustomization lists them (overlay/NAME); not recorded in the lock,
	// which reads them again from the overlay.
	Components []string `json:"components,omitempty"`
}
