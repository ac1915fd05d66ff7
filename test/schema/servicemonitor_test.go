package schema

import (
	"regexp"
	"slices"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// monitoringDuration is the pattern the operator's CustomResourceDefinition
// puts on monitoringv1.Duration (its +kubebuilder:validation:Pattern): the
// Go type is a plain string, so a strict decode alone would let "15 s" by.
var monitoringDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

// servicemonitor.yaml decodes strictly (unknown fields rejected) into the
// Prometheus Operator's own API types, selects the generated Service by its
// labels and scrapes /metrics on a port that Service names, the health
// port. Without service-monitor there is no such file, nor a metrics port.
func TestServiceMonitorMatchesTheOperatorsTypes(t *testing.T) {
	for _, given := range answerSets {
		files := render(t, given)
		var svc corev1.Service
		if err := yaml.UnmarshalStrict(files["deploy/k8s/service.yaml"], &svc); err != nil {
			t.Fatalf("%v: service.yaml: %v", given, err)
		}
		b, ok := files["deploy/k8s/servicemonitor.yaml"]
		if ok != (given["service-monitor"] == "true") {
			t.Fatalf("%v: servicemonitor.yaml generated: %v", given, ok)
		}
		if !ok {
			if slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "metrics" }) {
				t.Errorf("%v: a metrics port on the Service without a ServiceMonitor", given)
			}
			continue
		}
		var sm monitoringv1.ServiceMonitor
		if err := yaml.UnmarshalStrict(b, &sm); err != nil {
			t.Fatalf("%v: servicemonitor.yaml: %v", given, err)
		}
		if sm.APIVersion != monitoringv1.SchemeGroupVersion.String() || sm.Kind != monitoringv1.ServiceMonitorsKind {
			t.Errorf("%v: %s %s, want %s %s", given, sm.APIVersion, sm.Kind, monitoringv1.SchemeGroupVersion, monitoringv1.ServiceMonitorsKind)
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("%v: selector %v (%v) does not select the Service labelled %v", given, sel, err, svc.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 {
			t.Fatalf("%v: %d endpoints, want 1", given, len(sm.Spec.Endpoints))
		}
		e := sm.Spec.Endpoints[0]
		i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port })
		switch {
		case i < 0:
			t.Errorf("%v: the endpoint scrapes port %q, which the Service does not name", given, e.Port)
		case svc.Spec.Ports[i].TargetPort.StrVal != "health":
			t.Errorf("%v: port %s targets %s; /metrics is served on the health port", given, e.Port, svc.Spec.Ports[i].TargetPort.String())
		}
		if e.Path != "/metrics" || e.Interval == "" || !monitoringDuration.MatchString(string(e.Interval)) {
			t.Errorf("%v: endpoint path %q interval %q", given, e.Path, e.Interval)
		}
	}
}
