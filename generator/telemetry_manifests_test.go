package generator

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// The manifests carry what the telemetry answers ask for, and nothing of
// what they leave out: with metrics, the scrape annotations name the
// health port and the NetworkPolicy admits Prometheus to it; with a
// ServiceMonitor, the Service names that port "metrics"; with tracing, the
// flush timeout the grace period counts and the OTEL_* variables the SDK
// reads, the resource attributes built from the downward API.
func TestManifestsCarryTheTelemetryAnswers(t *testing.T) {
	for _, kv := range wideMatrix() {
		m := decodeManifests(t, kv)
		p, a := m.plan, m.plan.Answers
		c := m.deployment.Spec.Template.Spec.Containers[0]
		problems := []string{}
		fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

		// Metrics: /metrics on the health port, which the scrape
		// annotations name by number (Prometheus's convention).
		ann := m.deployment.Spec.Template.Annotations
		want := map[string]string{}
		if a.Metrics {
			want = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": strconv.Itoa(a.HealthPort), "prometheus.io/path": "/metrics"}
		}
		for k, v := range ann {
			if strings.HasPrefix(k, "prometheus.io/") && want[k] != v {
				fail("pod annotation %s=%q, want %q", k, v, want[k])
			}
		}
		for k, v := range want {
			if ann[k] != v {
				fail("pod annotation %s=%q, want %q", k, ann[k], v)
			}
		}
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
			return cp.Name == "health" && cp.ContainerPort == int32(a.HealthPort)
		}) {
			fail("no container port health = %d", a.HealthPort)
		}
		if err := healthPortPolicy(m.policy, a.Metrics); err != nil {
			fail("NetworkPolicy: %v", err)
		}

		// ServiceMonitor: the Service's second port, the health listener.
		var metricsPort *corev1.ServicePort
		for i, sp := range m.service.Spec.Ports {
			if sp.Name == "metrics" {
				metricsPort = &m.service.Spec.Ports[i]
			}
		}
		switch {
		case (metricsPort != nil) != a.ServiceMonitor || (m.monitor != nil) != a.ServiceMonitor:
			fail("service-monitor %v, but a Service port metrics: %v and a ServiceMonitor: %v", a.ServiceMonitor, metricsPort != nil, m.monitor != nil)
		case metricsPort != nil && (metricsPort.Port != int32(a.HealthPort) || metricsPort.TargetPort.StrVal != "health"):
			fail("Service port metrics %d -> %s, want %d -> health", metricsPort.Port, metricsPort.TargetPort.String(), a.HealthPort)
		case m.monitor != nil && (len(m.monitor.Spec.Endpoints) != 1 || m.monitor.Spec.Endpoints[0].Path != "/metrics"):
			fail("ServiceMonitor endpoints %+v, want one, path /metrics", m.monitor.Spec.Endpoints)
		}
		if m.service.Spec.Ports[0].Name != p.Service.PortName {
			fail("the Service's first port is %s, not the service port %s the load client and callers use", m.service.Spec.Ports[0].Name, p.Service.PortName)
		}

		// Tracing.
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
		}
		if a.Tracing == "otlp" {
			for name, value := range map[string]string{
				"TRACE_FLUSH_TIMEOUT":         fmt.Sprintf("%ds", p.TraceFlushSeconds),
				"OTEL_SERVICE_NAME":           a.Name,
				"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
				"OTEL_TRACES_SAMPLER":         "parentbased_traceidratio",
				"OTEL_TRACES_SAMPLER_ARG":     "0.1",
			} {
				if env[name].Value != value {
					fail("env %s=%q, want %q", name, env[name].Value, value)
				}
			}
			if !strings.HasPrefix(env["OTEL_EXPORTER_OTLP_ENDPOINT"].Value, "http://") {
				fail("env OTEL_EXPORTER_OTLP_ENDPOINT=%q, want an http:// address (OTLP/HTTP)", env["OTEL_EXPORTER_OTLP_ENDPOINT"].Value)
			}
			if err := resourceAttributes(c.Env); err != nil {
				fail("OTEL_RESOURCE_ATTRIBUTES: %v", err)
			}
		} else {
			for _, e := range c.Env {
				// The pod's name and namespace (the downward API's fieldRef)
				// are for the spans alone.
				if e.Name == "TRACE_FLUSH_TIMEOUT" || strings.HasPrefix(e.Name, "OTEL_") || (e.ValueFrom != nil && e.ValueFrom.FieldRef != nil) {
					fail("tracing none, but env %s", e.Name)
				}
			}
		}
		for _, what := range problems {
			t.Errorf("%v: %s", kv, what)
		}
	}
}

// healthPortPolicy says what is wrong with how the NetworkPolicy admits
// the health port. Without metrics it serves liveness alone and is open
// as the service port is. With metrics it serves /metrics, and only
// namespaces named monitoring may reach it: a rule open to every source
// that lists it would undo that.
func healthPortPolicy(np networkingv1.NetworkPolicy, metrics bool) error {
	open, monitoring := false, false
	for _, rule := range np.Spec.Ingress {
		if !slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port != nil && p.Port.StrVal == "health" }) {
			continue
		}
		if len(rule.From) == 0 {
			open = true
		}
		for _, peer := range rule.From {
			if peer.PodSelector == nil && peer.IPBlock == nil && peer.NamespaceSelector != nil &&
				len(peer.NamespaceSelector.MatchLabels) == 1 && peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "monitoring" {
				monitoring = true
			}
		}
	}
	switch {
	case metrics && open:
		return fmt.Errorf("the health port, which serves /metrics, is open to every source")
	case metrics && !monitoring:
		return fmt.Errorf("the health port, which serves /metrics, is not admitted from the monitoring namespace")
	case !metrics && !open:
		return fmt.Errorf("the health port is not open as it was before metrics")
	}
	return nil
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// resourceAttributes checks that OTEL_RESOURCE_ATTRIBUTES names the pod
// and its namespace through variables the kubelet expands: a $(VAR)
// reference is expanded only when VAR is defined earlier in the list, and
// these two come from the downward API.
func resourceAttributes(env []corev1.EnvVar) error {
	fields := map[string]string{}
	for _, e := range env {
		if e.Name != "OTEL_RESOURCE_ATTRIBUTES" {
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
			}
			continue
		}
		attrs := map[string]string{}
		for _, kv := range strings.Split(e.Value, ",") {
			k, v, _ := strings.Cut(kv, "=")
			ref := envRef.FindStringSubmatch(v)
			if ref == nil || ref[0] != v {
				return fmt.Errorf("%s=%q is not a $(VAR) reference", k, v)
			}
			path, ok := fields[ref[1]]
			if !ok {
				return fmt.Errorf("%s refers to %s, which no downward-API variable before it defines", k, ref[1])
			}
			attrs[k] = path
		}
		if attrs["k8s.pod.name"] != "metadata.name" || attrs["k8s.namespace.name"] != "metadata.namespace" {
			return fmt.Errorf("%q: want k8s.pod.name from metadata.name and k8s.namespace.name from metadata.namespace", e.Value)
		}
		return nil
	}
	return fmt.Errorf("not set")
}

// The checks above can fail: a health port open to all with metrics, one
// closed without, and resource attributes that the kubelet would not
// expand are each caught.
func TestTelemetryChecksCatchMistakes(t *testing.T) {
	open := networkingv1.NetworkPolicy{}
	strict(t, []byte(`spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: svc}}
  ingress:
    - ports: [{port: http}, {port: health}]
`), &open)
	if healthPortPolicy(open, true) == nil {
		t.Error("a health port open to every source passed with metrics")
	}
	if err := healthPortPolicy(open, false); err != nil {
		t.Errorf("without metrics: %v", err)
	}
	other := networkingv1.NetworkPolicy{}
	strict(t, []byte(`spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: svc}}
  ingress:
    - ports: [{port: http}]
    - from: [{namespaceSelector: {matchLabels: {team: observability}}}]
      ports: [{port: health}]
`), &other)
	if healthPortPolicy(other, true) == nil || healthPortPolicy(other, false) == nil {
		t.Error("a health port admitted from another namespace passed")
	}

	downward := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	attrs := corev1.EnvVar{Name: "OTEL_RESOURCE_ATTRIBUTES", Value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)"}
	if err := resourceAttributes([]corev1.EnvVar{downward("POD_NAME", "metadata.name"), downward("POD_NAMESPACE", "metadata.namespace"), attrs}); err != nil {
		t.Errorf("the right order failed: %v", err)
	}
	for name, env := range map[string][]corev1.EnvVar{
		"defined after":  {downward("POD_NAME", "metadata.name"), attrs, downward("POD_NAMESPACE", "metadata.namespace")},
		"wrong field":    {downward("POD_NAME", "metadata.uid"), downward("POD_NAMESPACE", "metadata.namespace"), attrs},
		"literal":        {{Name: "OTEL_RESOURCE_ATTRIBUTES", Value: "k8s.pod.name=svc-0,k8s.namespace.name=default"}},
		"not set at all": {downward("POD_NAME", "metadata.name")},
	} {
		if resourceAttributes(env) == nil {
			t.Errorf("%s: passed", name)
		}
	}
}
