package generator

import (
	"bytes"
	"fmt"
	"go/format"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/render"
	"github.com/zdgen/zdgen/generator/spec"
	"golang.org/x/mod/modfile"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// matrix is a spread of answer sets that exercises every branch of the
// templates: each base image kind, one and many replicas, each preStop form,
// metrics off, a ServiceMonitor and tracing for each protocol, each expose
// front for each protocol, and autoscaling. Other tests pick sets by index:
// append, do not insert.
var matrix = [][]string{
	nil,
	{"base-image=scratch", "replicas=1", "k8s-version=1.29"},
	{"base-image=alpine", "replicas=10", "prestop=none", "drain-delay=7s"},
	{"base-image=debian-slim", "replicas=2", "propagation-lag=0s", "k8s-version=1.25"},
	{"base-image=cgr.dev/chainguard/static:latest-glibc", "prestop=exec", "port=9000", "health-port=9001", "name=orders-api", "module=github.com/acme/orders-api"},
	{"protocol=grpc"},
	{"protocol=grpc", "name=orders-api", "module=github.com/acme/orders-api", "replicas=1", "k8s-version=1.23", "base-image=scratch", "port=9000", "health-port=9001"},
	{"protocol=grpc", "replicas=6", "k8s-version=1.24", "prestop=none", "drain-delay=6s"},
	{"metrics=false", "replicas=1"},
	{"service-monitor=true", "tracing=otlp"},
	{"protocol=grpc", "metrics=false", "tracing=otlp", "trace-flush-timeout=5s", "k8s-version=1.23"},
	{"protocol=grpc", "service-monitor=true", "name=orders-api", "module=github.com/acme/orders-api", "port=9000", "health-port=9001"},
	{"protocol=grpc", "metrics=false"},
	{"ci=none", "protocol=grpc", "replicas=1"},
	// expose: a route and an Ingress for each protocol, at the front's
	// default lag and at a chosen one.
	{"expose=gateway"},
	{"protocol=grpc", "expose=gateway", "name=orders-api", "module=github.com/acme/orders-api", "port=9000", "health-port=9001"},
	{"expose=ingress", "k8s-version=1.29"},
	{"protocol=grpc", "expose=ingress", "propagation-lag=20s", "replicas=1"},
	// Autoscaling: from one pod (no budget), and from two for gRPC with a
	// replicas answer the autoscaler overrides.
	{"autoscale=1-10"},
	{"protocol=grpc", "autoscale=2-6", "replicas=5"},
}

func renderSet(t *testing.T, kv ...string) (*spec.Plan, map[string][]byte) {
	t.Helper()
	a, err := set(t, kv...)
	if err != nil {
		t.Fatalf("%v: %v", kv, err)
	}
	p, files, err := Generate(a)
	if err != nil {
		t.Fatalf("%v: %v", kv, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Content
	}
	return p, out
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, kv := range matrix {
		a, _ := set(t, kv...)
		_, first, err := Generate(a)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			_, again, _ := Generate(a)
			if len(again) != len(first) {
				t.Fatalf("%v: %d files, then %d", kv, len(first), len(again))
			}
			for j := range first {
				if first[j].Path != again[j].Path || !bytes.Equal(first[j].Content, again[j].Content) {
					t.Fatalf("%v: %s differs between renders", kv, first[j].Path)
				}
			}
		}
	}
}

func TestRenderedFilesAreClean(t *testing.T) {
	for _, kv := range matrix {
		_, files := renderSet(t, kv...)
		for name, b := range files {
			if bytes.Contains(b, []byte("<no value>")) || bytes.Contains(b, []byte("[[")) {
				t.Errorf("%v: %s has template residue", kv, name)
			}
			if !bytes.HasSuffix(b, []byte("\n")) || bytes.HasSuffix(b, []byte("\n\n")) {
				t.Errorf("%v: %s does not end in exactly one newline", kv, name)
			}
			for i, line := range strings.Split(string(b), "\n") {
				if strings.TrimRight(line, " \t") != line {
					t.Errorf("%v: %s:%d has trailing white space", kv, name, i+1)
				}
			}
			switch path.Ext(name) {
			case ".go":
				if formatted, err := format.Source(b); err != nil || !bytes.Equal(formatted, b) {
					t.Errorf("%v: %s is not gofmt-clean (%v)", kv, name, err)
				}
			case ".yaml":
				var v any
				if err := yaml.Unmarshal(b, &v); err != nil {
					t.Errorf("%v: %s is not valid YAML: %v", kv, name, err)
				}
			}
		}
	}
}

// minorOf is the plan's target Kubernetes minor version, as a number.
func minorOf(t *testing.T, p *spec.Plan) int {
	t.Helper()
	minor, err := spec.K8sMinor(p.Answers.K8sVersion)
	if err != nil {
		t.Fatal(err)
	}
	return minor
}

// probeAsks reports whether a probe's handler is the one the plan chose.
func probeAsks(h corev1.ProbeHandler, want spec.ProbeCheck) bool {
	switch {
	case want.HTTPPath != "":
		return h.HTTPGet != nil && h.HTTPGet.Path == want.HTTPPath && h.HTTPGet.Port.StrVal == want.HTTPPort && h.GRPC == nil && h.Exec == nil
	case want.GRPCPort != 0:
		return h.GRPC != nil && h.GRPC.Port == int32(want.GRPCPort) && *h.GRPC.Service == want.Service && h.HTTPGet == nil && h.Exec == nil
	}
	return h.Exec != nil && strings.Join(h.Exec.Command, " ") == strings.Join(want.Exec, " ") && h.HTTPGet == nil && h.GRPC == nil
}

// strict decodes YAML into a Kubernetes type, rejecting unknown fields.
func strict(t *testing.T, b []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%T: %v", into, err)
	}
}

// The manifests decode strictly into k8s.io/api types and carry the plan's
// numbers where Kubernetes reads them.
func TestManifestsFollowThePlan(t *testing.T) {
	for _, kv := range matrix {
		p, files := renderSet(t, kv...)
		name := p.Answers.Name
		var d appsv1.Deployment
		strict(t, files["deploy/k8s/deployment.yaml"], &d)
		pod := d.Spec.Template.Spec
		c := pod.Containers[0]
		checks := map[string]bool{
			// With an autoscaler the Deployment leaves the count to it.
			"replicas": (p.Autoscale == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == int32(p.Replicas)) ||
				(p.Autoscale != nil && d.Spec.Replicas == nil),
			"maxUnavailable 0":       *d.Spec.Strategy.RollingUpdate.MaxUnavailable == intstr.FromInt32(0),
			"maxSurge":               *d.Spec.Strategy.RollingUpdate.MaxSurge == intstr.FromInt32(int32(p.MaxSurge)),
			"grace period":           *pod.TerminationGracePeriodSeconds == int64(p.GracePeriodSeconds),
			"no service account":     !*pod.AutomountServiceAccountToken,
			"non-root":               *c.SecurityContext.RunAsNonRoot && *c.SecurityContext.RunAsUser == int64(p.Image.UID),
			"read-only root":         *c.SecurityContext.ReadOnlyRootFilesystem,
			"no escalation":          !*c.SecurityContext.AllowPrivilegeEscalation,
			"drop ALL":               len(c.SecurityContext.Capabilities.Drop) == 1 && c.SecurityContext.Capabilities.Drop[0] == "ALL",
			"seccomp":                pod.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault,
			"limits":                 !c.Resources.Limits.Memory().IsZero() && !c.Resources.Limits.Cpu().IsZero(),
			"readiness timing":       c.ReadinessProbe.PeriodSeconds == int32(p.Readiness.PeriodSeconds) && c.ReadinessProbe.FailureThreshold == int32(p.Readiness.FailureThreshold),
			"liveness timing":        c.LivenessProbe.PeriodSeconds == int32(p.Liveness.PeriodSeconds) && c.LivenessProbe.FailureThreshold == int32(p.Liveness.FailureThreshold),
			"readiness asks":         probeAsks(c.ReadinessProbe.ProbeHandler, p.Checks.Readiness),
			"liveness asks":          probeAsks(c.LivenessProbe.ProbeHandler, p.Checks.Liveness),
			"startup asks":           probeAsks(c.StartupProbe.ProbeHandler, p.Checks.Startup),
			"startup window":         c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold >= int32(p.Answers.StartupTime.Seconds()),
			"pod labels match":       d.Spec.Selector.MatchLabels["app.kubernetes.io/name"] == name && d.Spec.Template.Labels["app.kubernetes.io/name"] == name,
			"spread when replicas>1": (pod.Affinity != nil) == (p.Replicas > 1 || p.Autoscale != nil),
		}
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		checks["env DRAIN_DELAY"] = env["DRAIN_DELAY"] == fmt.Sprintf("%ds", p.DrainDelaySeconds)
		// The service's soft memory limit follows the container's limit.
		checks["env MEMORY_LIMIT from limits.memory, in bytes"] = slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			ref := e.ValueFrom
			return e.Name == "MEMORY_LIMIT" && ref != nil && ref.ResourceFieldRef != nil && ref.ResourceFieldRef.Resource == "limits.memory" &&
				ref.ResourceFieldRef.ContainerName == "" && ref.ResourceFieldRef.Divisor.Value() == 1
		})
		checks["env SHUTDOWN_TIMEOUT"] = env["SHUTDOWN_TIMEOUT"] == fmt.Sprintf("%ds", p.ShutdownTimeoutSeconds)
		switch {
		case p.Proto == nil:
			checks["HTTP probes: readiness on /readyz, liveness on the health port"] = c.ReadinessProbe.HTTPGet.Path == "/readyz" &&
				c.LivenessProbe.HTTPGet.Path == "/livez" && c.LivenessProbe.HTTPGet.Port.StrVal == "health"
		case p.Checks.Readiness.GRPCPort != 0:
			checks["native gRPC probes from 1.24, numeric ports"] = minorOf(t, p) >= spec.NativeGRPCMinor &&
				c.ReadinessProbe.GRPC.Port == int32(p.Answers.Port) && *c.ReadinessProbe.GRPC.Service == spec.ReadinessService &&
				c.LivenessProbe.GRPC.Port == int32(p.Answers.HealthPort) && *c.LivenessProbe.GRPC.Service == spec.LivenessService
		default:
			checks["exec gRPC probes before 1.24, run by the service's binary"] = minorOf(t, p) < spec.NativeGRPCMinor &&
				c.ReadinessProbe.Exec.Command[0] == p.Image.BinaryPath && c.ReadinessProbe.Exec.Command[1] == "probe"
		}
		switch p.PreStop.Form {
		case spec.PreStopSleep:
			checks["preStop sleep"] = c.Lifecycle.PreStop.Sleep.Seconds == int64(p.PreStop.Seconds)
		case spec.PreStopExec:
			// The hook runs the binary the Dockerfile installs.
			checks["preStop exec"] = c.Lifecycle.PreStop.Exec.Command[0] == p.Image.BinaryPath &&
				bytes.Contains(files["Dockerfile"], []byte(" "+p.Image.BinaryPath+"\n"))
		case spec.PreStopNone:
			checks["no preStop"] = c.Lifecycle == nil
		}
		for what, ok := range checks {
			if !ok {
				t.Errorf("%v: deployment: %s", kv, what)
			}
		}

		var svc corev1.Service
		strict(t, files["deploy/k8s/service.yaml"], &svc)
		if svc.Spec.Selector["app.kubernetes.io/name"] != name || svc.Spec.Ports[0].TargetPort.StrVal != c.Ports[0].Name {
			t.Errorf("%v: the Service does not select the pods' labels and port", kv)
		}
		if p.Proto != nil && (svc.Spec.Ports[0].Name != "grpc" || *svc.Spec.Ports[0].AppProtocol != "kubernetes.io/h2c") {
			t.Errorf("%v: a gRPC Service port must be named grpc and declare HTTP/2 (h2c): %+v", kv, svc.Spec.Ports[0])
		}
		var np networkingv1.NetworkPolicy
		strict(t, files["deploy/k8s/networkpolicy.yaml"], &np)
		if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != name {
			t.Errorf("%v: the NetworkPolicy does not select the pods", kv)
		}
		pdbYAML, hasPDB := files["deploy/k8s/pdb.yaml"]
		if hasPDB != (p.Replicas > 1) {
			t.Errorf("%v: PodDisruptionBudget present = %v with %d replicas", kv, hasPDB, p.Replicas)
		}
		checkHPA(t, kv, p, files)
		if hasPDB {
			var pdb policyv1.PodDisruptionBudget
			strict(t, pdbYAML, &pdb)
			if pdb.Spec.MaxUnavailable.IntValue() != p.PDBMaxUnavailable || pdb.Spec.MinAvailable != nil || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != name {
				t.Errorf("%v: PodDisruptionBudget %+v", kv, pdb.Spec)
			}
			// AlwaysAllow where the target version has the field (GA in
			// 1.31); older targets get the API's default by leaving it out.
			policy := pdb.Spec.UnhealthyPodEvictionPolicy
			if want := p.PDBUnhealthyPodEvictionPolicy; (want == "") != (policy == nil) || (policy != nil && string(*policy) != want) {
				t.Errorf("%v: PodDisruptionBudget unhealthyPodEvictionPolicy %v, want %q", kv, policy, want)
			}
			if (p.PDBUnhealthyPodEvictionPolicy == string(policyv1.AlwaysAllow)) != (minorOf(t, p) >= 31) {
				t.Errorf("%v: unhealthyPodEvictionPolicy %q on Kubernetes %s", kv, p.PDBUnhealthyPodEvictionPolicy, p.Answers.K8sVersion)
			}
		}
		// The kustomization lists exactly the manifests present, and is the
		// only list of them: skaffold and make lint render it.
		for m := range files {
			if dir, base := path.Split(m); dir == "deploy/k8s/" && base != "kustomization.yaml" {
				if !bytes.Contains(files["deploy/k8s/kustomization.yaml"], []byte("  - "+base+"\n")) {
					t.Errorf("%v: the kustomization does not list %s", kv, base)
				}
				for _, other := range []string{"skaffold.yaml", "Makefile"} {
					if bytes.Contains(files[other], []byte(base)) {
						t.Errorf("%v: %s names %s: a second list of the manifests, to keep in step with the kustomization", kv, other, base)
					}
				}
			}
		}
		if bytes.Contains(files["deploy/k8s/kustomization.yaml"], []byte("pdb.yaml")) != hasPDB {
			t.Errorf("%v: the kustomization and the PodDisruptionBudget disagree", kv)
		}
	}
}

// checkHPA: with autoscale, a HorizontalPodAutoscaler carries the plan's
// bounds, CPU target and scale-down policy, the policy removing no more
// pods than the budget allows per grace period; without, there is none.
func checkHPA(t *testing.T, kv []string, p *spec.Plan, files map[string][]byte) {
	t.Helper()
	b, ok := files["deploy/k8s/hpa.yaml"]
	if ok != (p.Autoscale != nil) {
		t.Errorf("%v: HorizontalPodAutoscaler present = %v with autoscale %s", kv, ok, p.Answers.Autoscale)
	}
	if !ok {
		return
	}
	as := p.Autoscale
	var h autoscalingv2.HorizontalPodAutoscaler
	strict(t, b, &h)
	cpu := h.Spec.Metrics[0].Resource
	down := h.Spec.Behavior.ScaleDown
	checks := map[string]bool{
		"minReplicas = MIN = the plan's count":                               *h.Spec.MinReplicas == int32(as.Min) && as.Min == p.Replicas,
		"maxReplicas = MAX":                                                  h.Spec.MaxReplicas == int32(as.Max),
		"one CPU utilization metric":                                         len(h.Spec.Metrics) == 1 && cpu.Name == corev1.ResourceCPU && cpu.Target.Type == autoscalingv2.UtilizationMetricType && *cpu.Target.AverageUtilization == int32(as.CPUUtilization),
		"scale-down stabilization":                                           *down.StabilizationWindowSeconds == int32(as.ScaleDownStabilizationSeconds),
		"one Pods policy":                                                    len(down.Policies) == 1 && down.Policies[0].Type == autoscalingv2.PodsScalingPolicy,
		"removes at most the budget's allowance (1 without one)":             down.Policies[0].Value == int32(max(1, p.PDBMaxUnavailable)),
		"a period no shorter than the grace period, within the API's 1800 s": down.Policies[0].PeriodSeconds == int32(min(p.GracePeriodSeconds, 1800)),
		"scale-up left to Kubernetes' defaults":                              h.Spec.Behavior.ScaleUp == nil,
		"listed in the kustomization":                                        bytes.Contains(files["deploy/k8s/kustomization.yaml"], []byte("  - hpa.yaml\n")),
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%v: HorizontalPodAutoscaler: %s", kv, what)
		}
	}
}

func TestLockRecordsAnswersAndChecksums(t *testing.T) {
	a, _ := set(t, "replicas=5")
	_, files, err := Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	var lockFile spec.File
	sums := map[string]string{}
	for _, f := range files {
		if f.Path == spec.LockPath {
			lockFile = f
			continue
		}
		sums[f.Path] = f.Sum()
	}
	l, err := spec.ParseLock(lockFile.Content)
	if err != nil {
		t.Fatal(err)
	}
	if l.Answers != a || l.Version != render.Version {
		t.Errorf("lock answers %+v version %s", l.Answers, l.Version)
	}
	if len(l.Files) != len(sums) {
		t.Errorf("lock lists %d files, %d generated", len(l.Files), len(sums))
	}
	for _, lf := range l.Files {
		if sums[lf.Path] != lf.SHA256 {
			t.Errorf("%s: lock checksum does not match", lf.Path)
		}
		if (lf.Owner == spec.OwnerUser) != (lf.Path == "internal/server/handlers.go") {
			t.Errorf("%s: owner %s", lf.Path, lf.Owner)
		}
	}
	_, grpcFiles := renderSet(t, "protocol=grpc")
	gl, err := spec.ParseLock(grpcFiles[spec.LockPath])
	if err != nil || gl.Tools["protoc-gen-go"] != spec.ProtocGenGoVersion || gl.Tools["protoc-gen-go-grpc"] != spec.ProtocGenGoGRPCVersion {
		t.Errorf("a gRPC lock records tools %v (%v)", gl.Tools, err)
	}
	if _, err := spec.ParseLock([]byte("answers: {}\nbogus: 1\n")); err == nil {
		t.Error("a lock with an unknown key was accepted")
	}
}

// A gRPC service has no /readyz, /livez or Connection header: its files must
// describe what it does (the health service, GOAWAY), not the HTTP service's
// behaviour.
func TestGRPCFilesDescribeGRPC(t *testing.T) {
	for _, kv := range matrix {
		p, files := renderSet(t, kv...)
		if p.Proto == nil {
			continue
		}
		for name, b := range files {
			if name == spec.LockPath {
				continue
			}
			for i, line := range strings.Split(string(b), "\n") {
				for _, http := range []string{"/readyz", "/livez", "Connection: close"} {
					if strings.Contains(line, http) {
						t.Errorf("%v: %s:%d describes HTTP behaviour (%s): %s", kv, name, i+1, http, strings.TrimSpace(line))
					}
				}
			}
		}
	}
}

// Every kubectl command the README and Makefile give works for every name
// zdgen accepts, the longest included: `kubectl run POD` names a pod and
// labels it run=POD, and a label value is at most 63 characters.
func TestKubectlCommandsTakeTheLongestName(t *testing.T) {
	longest := "orders-" + strings.Repeat("x", 55) + "9"
	if len(longest) != 63 {
		t.Fatalf("test name is %d characters", len(longest))
	}
	for _, protocol := range []string{"http", "grpc"} {
		_, files := renderSet(t, "protocol="+protocol, "name="+longest, "module=example.com/"+longest)
		runs := 0
		for _, name := range []string{"README.md", "Makefile"} {
			for i, line := range strings.Split(string(files[name]), "\n") {
				_, rest, ok := strings.Cut(line, "kubectl run ")
				if !ok {
					continue
				}
				runs++
				pod := strings.Fields(rest)[0]
				for _, msg := range append(validation.IsDNS1123Label(pod), validation.IsValidLabelValue(pod)...) {
					t.Errorf("%s: %s:%d: kubectl run %s: %s", protocol, name, i+1, pod, msg)
				}
			}
		}
		if runs == 0 {
			t.Errorf("%s: no kubectl run command found to check", protocol)
		}
	}
}

// The README's prose follows the answers: one replica is "1 replica", and
// the preStop command it names is the one the Deployment runs.
func TestReadmeProseFollowsTheAnswers(t *testing.T) {
	plural := regexp.MustCompile(`\b1 replicas\b`)
	for _, kv := range [][]string{
		{"replicas=1", "propagation-lag=7s", "prestop=exec"},
		{"protocol=grpc", "replicas=1", "propagation-lag=7s", "prestop=sleep"},
		{"replicas=3", "propagation-lag=7s", "prestop=none", "drain-delay=9s"},
	} {
		p, files := renderSet(t, kv...)
		readme := string(files["README.md"])
		for _, line := range strings.Split(readme, "\n") {
			// The maxSurge rule's formula, "ceil(1 replicas / 4)", is
			// plan.go's text, which the frozen releases' READMEs render
			// too: changing it would change what they rebuild.
			if m := plural.FindString(line); m != "" && !strings.HasPrefix(line, "| `maxSurge` |") {
				t.Errorf("%v: README says %q: %s", kv, m, line)
			}
		}
		hook := "`" + p.Answers.Name + " sleep 7s`"
		if strings.Contains(readme, "sleep 5s") || strings.Contains(readme, hook) != (p.PreStop.Form == spec.PreStopExec) {
			t.Errorf("%v: the README's preStop command is not the Deployment's (%s %v):\n%s", kv, p.PreStop.Form, p.PreStop.Command, readme)
		}
	}
}

// .zdgen.yaml's answers are read as --config reads them: values as
// written, parsed by each field, a bad one named with its rule.
func TestLockReadsAnswersAsConfigDoes(t *testing.T) {
	_, files, err := Generate(spec.Defaults("svc"))
	if err != nil {
		t.Fatal(err)
	}
	var lock string
	for _, f := range files {
		if f.Path == spec.LockPath {
			lock = string(f.Content)
		}
	}
	edit := func(old, new string) string {
		t.Helper()
		if !strings.Contains(lock, old) {
			t.Fatalf("the lock has no %q", old)
		}
		return strings.Replace(lock, old, new, 1)
	}
	l, err := spec.ParseLock([]byte(edit(`k8s-version: "1.35"`, "k8s-version: 1.30")))
	if err != nil || l.Answers.K8sVersion != "1.30" {
		t.Errorf("unquoted k8s-version 1.30: %q, %v", l.Answers.K8sVersion, err)
	}
	l, err = spec.ParseLock([]byte(edit("replicas: 3", `replicas: "4"`)))
	if err != nil || l.Answers.Replicas != 4 {
		t.Errorf(`replicas: "4": %d, %v`, l.Answers.Replicas, err)
	}
	for _, c := range []struct{ lock, want string }{
		{edit("replicas: 3", `replicas: "three"`), `replicas: "three": must be a whole number`},
		{edit("replicas: 3", "replicas: 3\n  replicas: 5"), "replicas: given twice"},
		{lock + "---\nanswers: {}\n", "more than one YAML document"},
		{edit("answers:", "answers:\n  colour: blue"), "colour: unknown answer"},
	} {
		_, err := spec.ParseLock([]byte(c.lock))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "JSON") {
			t.Errorf("got %v; want %q", err, c.want)
		}
	}
}

// The README's Dependencies section lists exactly the modules the
// generated go.mod requires directly, for every dependency set, and says
// "standard library alone" only when go.mod requires nothing.
func TestReadmeListsTheDirectRequirements(t *testing.T) {
	for _, kv := range moduleSets {
		_, files := renderSet(t, kv...)
		mf, err := modfile.Parse("go.mod", files["go.mod"], nil)
		if err != nil {
			t.Fatalf("%v: go.mod: %v", kv, err)
		}
		var want []string
		for _, r := range mf.Require {
			if !r.Indirect {
				want = append(want, r.Mod.Path)
			}
		}
		_, section, ok := strings.Cut(string(files["README.md"]), "\n## Dependencies\n")
		if !ok {
			t.Fatalf("%v: the README has no Dependencies section", kv)
		}
		section, _, _ = strings.Cut(section, "\n## ")
		var listed []string
		for _, line := range strings.Split(section, "\n") {
			if m, ok := strings.CutPrefix(line, "- `"); ok {
				listed = append(listed, strings.TrimSuffix(m, "`"))
			}
		}
		if !slices.Equal(listed, want) {
			t.Errorf("%v: the README lists %v; go.mod requires %v", kv, listed, want)
		}
		if strings.Contains(section, "standard library alone") != (len(want) == 0) {
			t.Errorf("%v: go.mod requires %v, and the README says:%s", kv, want, section)
		}
	}
}

// The CI workflow is generated exactly when ci is github, and each `make`
// it runs is a target of the generated Makefile, so the pipeline and the
// commands an owner runs by hand cannot drift apart.
func TestCIWorkflowFollowsTheAnswer(t *testing.T) {
	const workflow = ".github/workflows/ci.yaml"
	makeRun := regexp.MustCompile(`(?m)^\s*- run: make ([a-z-]+)$`)
	for _, kv := range matrix {
		p, files := renderSet(t, kv...)
		wf, ok := files[workflow]
		if ok != (p.Answers.CI == spec.CIGitHub) {
			t.Errorf("%v: ci %s, %s generated: %v", kv, p.Answers.CI, workflow, ok)
		}
		if !ok {
			continue
		}
		runs := makeRun.FindAllSubmatch(wf, -1)
		if len(runs) == 0 {
			t.Errorf("%v: the workflow runs no make target", kv)
		}
		for _, m := range runs {
			if !regexp.MustCompile(`(?m)^` + string(m[1]) + `:`).Match(files["Makefile"]) {
				t.Errorf("%v: the workflow runs make %s, which the Makefile does not have", kv, m[1])
			}
		}
	}
}
