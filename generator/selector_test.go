package generator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/zdgen/zdgen/generator/overlay"
	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/kustomize"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Kubernetes versions the wide matrix targets: each switch of form (exec
// preStop and exec gRPC probes on 1.23; native gRPC probes from 1.24; native
// sleep preStop from 1.30), the edges of each range, the default and the
// newest supported.
var matrixVersions = []string{"1.23", "1.24", "1.29", "1.30", "1.34", "1.35", "1.37"}

// wideMatrix is every protocol x base image kind x replica count (32 answer
// sets), with the Kubernetes versions and the preStop forms dealt round
// them in turn, followed by the hand-picked sets of matrix (other names,
// ports, a custom image, no propagation lag). TestWideMatrixCoversEveryForm
// checks that every form is reached.
func wideMatrix() [][]string {
	var out [][]string
	i := 0
	for _, protocol := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
		for _, image := range spec.BaseImageChoices {
			for _, replicas := range []int{1, 2, 3, 10} {
				kv := []string{"protocol=" + protocol, "base-image=" + image, fmt.Sprintf("replicas=%d", replicas),
					"k8s-version=" + matrixVersions[i%len(matrixVersions)]}
				switch i % 3 {
				case 1:
					kv = append(kv, "prestop=exec")
				case 2:
					kv = append(kv, "prestop=none", "drain-delay=7s") // drain >= the 5 s lag
				}
				out = append(out, kv)
				i++
			}
		}
	}
	return append(out, matrix...)
}

// manifests are a generated tree's Kubernetes objects, decoded strictly.
type manifests struct {
	plan       *spec.Plan
	deployment appsv1.Deployment
	service    corev1.Service
	policy     networkingv1.NetworkPolicy
	pdb        *policyv1.PodDisruptionBudget          // nil with one replica
	monitor    *serviceMonitor                        // nil without service-monitor
	hpa        *autoscalingv2.HorizontalPodAutoscaler // nil without autoscale
	route      *route                                 // nil unless expose gateway
	ingress    *networkingv1.Ingress                  // nil unless expose ingress
}

// route is the part of a Gateway API HTTPRoute or GRPCRoute that zdgen
// writes (the two share it), for the backend checks; like serviceMonitor
// it rejects any field it does not know, and test/schema decodes the
// routes strictly with the Gateway API's own types.
type route struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ParentRefs []struct {
			Name string `json:"name"`
		} `json:"parentRefs"`
		Rules []struct {
			BackendRefs []struct {
				Name string `json:"name"`
				Port int32  `json:"port"`
			} `json:"backendRefs"`
		} `json:"rules"`
	} `json:"spec"`
}

// serviceMonitor is the part of a Prometheus Operator ServiceMonitor that
// zdgen writes. zdgen does not depend on the operator's Go types: the strict
// decode into those, against their whole schema, is test/schema's; this
// one is for the selector checks, and rejects any field it does not know.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func decodeManifests(t *testing.T, kv []string) manifests {
	t.Helper()
	p, files := renderSet(t, kv...)
	return decodeBuilt(t, p, files)
}

// decodeBuilt decodes the objects kustomize builds from a rendered tree's
// deploy/k8s, as kubectl apply -k applies them (an overlay's components
// included), each strictly into its type.
func decodeBuilt(t *testing.T, p *spec.Plan, files map[string][]byte) manifests {
	t.Helper()
	fsys := fstest.MapFS{}
	for path, b := range files {
		fsys[path] = &fstest.MapFile{Data: b}
	}
	objs, err := kustomize.BuildObjects(fsys, "deploy/k8s")
	if err != nil {
		t.Fatal(err)
	}
	m := manifests{plan: p}
	for _, o := range objs {
		switch o.Kind {
		case "Deployment":
			strict(t, o.YAML, &m.deployment)
		case "Service":
			strict(t, o.YAML, &m.service)
		case "NetworkPolicy":
			strict(t, o.YAML, &m.policy)
		case "PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			strict(t, o.YAML, m.pdb)
		case "ServiceMonitor":
			m.monitor = &serviceMonitor{}
			strict(t, o.YAML, m.monitor)
		case "HTTPRoute", "GRPCRoute":
			m.route = &route{}
			strict(t, o.YAML, m.route)
		case "Ingress":
			m.ingress = &networkingv1.Ingress{}
			strict(t, o.YAML, m.ingress)
		case "HorizontalPodAutoscaler":
			m.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
			strict(t, o.YAML, m.hpa)
		default:
			t.Fatalf("%s: a kind the checks do not know", o.ID())
		}
	}
	return m
}

// The wide matrix reaches every value of every dimension and every form
// the Kubernetes version or the answers choose, so that the checks run on
// it (here and in TestAPIServer) cover them all.
func TestWideMatrixCoversEveryForm(t *testing.T) {
	seen := map[string]bool{}
	for _, kv := range wideMatrix() {
		m := decodeManifests(t, kv)
		p, c := m.plan, m.deployment.Spec.Template.Spec.Containers[0]
		seen["protocol "+p.Answers.Protocol] = true
		seen["image "+p.Image.Kind] = true
		seen[fmt.Sprintf("replicas %d", p.Answers.Replicas)] = true
		seen["k8s "+p.Answers.K8sVersion] = true
		seen["preStop "+p.PreStop.Form] = true
		seen[fmt.Sprintf("pdb %v", m.pdb != nil)] = true
		seen[fmt.Sprintf("metrics %v", p.Answers.Metrics)] = true
		seen[fmt.Sprintf("service-monitor %v", m.monitor != nil)] = true
		seen[fmt.Sprintf("hpa %v", m.hpa != nil)] = true
		seen["tracing "+p.Answers.Tracing+" "+p.Answers.Protocol] = true
		seen["expose "+p.Answers.Expose+" "+p.Answers.Protocol] = true
		switch h := c.ReadinessProbe.ProbeHandler; {
		case h.HTTPGet != nil:
			seen["probe httpGet"] = true
		case h.GRPC != nil:
			seen["probe grpc"] = true
		case h.Exec != nil:
			seen["probe exec"] = true
		}
	}
	want := []string{"protocol http", "protocol grpc", "image custom", "replicas 1", "replicas 2", "replicas 3", "replicas 10",
		"preStop sleep", "preStop exec", "preStop none", "pdb true", "pdb false", "probe httpGet", "probe grpc", "probe exec",
		"metrics true", "metrics false", "service-monitor true", "service-monitor false", "hpa true", "hpa false",
		"tracing none http", "tracing otlp http", "tracing none grpc", "tracing otlp grpc",
		"expose none http", "expose gateway http", "expose ingress http", "expose none grpc", "expose gateway grpc", "expose ingress grpc"}
	for _, image := range spec.BaseImageChoices {
		want = append(want, "image "+image)
	}
	for _, v := range matrixVersions {
		want = append(want, "k8s "+v)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("the wide matrix never reaches %s", w)
		}
	}
}

// selects reports what is wrong with sel as a selector of pods labelled
// podLabels: an empty selector is wrong too, because in a
// PodDisruptionBudget or a NetworkPolicy it selects every pod of the
// namespace, and a Service with none gets no endpoints at all.
func selects(sel labels.Selector, podLabels map[string]string) error {
	if sel.Empty() {
		return fmt.Errorf("empty selector")
	}
	if !sel.Matches(labels.Set(podLabels)) {
		return fmt.Errorf("%q does not select pods labelled %v", sel, podLabels)
	}
	return nil
}

func labelSelector(t *testing.T, ls *metav1.LabelSelector) labels.Selector {
	t.Helper()
	if ls == nil {
		return labels.Nothing()
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// Everything that finds the pods by label finds them: the Deployment's own
// selector (the API server checks that one too), the Service (else it has
// no endpoints and every request fails), the PodDisruptionBudget (else
// node drains may evict every replica at once), the NetworkPolicy and the
// pod anti-affinity that spreads replicas over nodes. The ServiceMonitor
// finds the Service by its labels and scrapes a port the Service names
// (else Prometheus finds no target and says nothing). The
// HorizontalPodAutoscaler names the Deployment as its target (else it
// scales nothing). The API server checks none but the first, and
// kube-score only some.
func TestSelectorsSelectThePods(t *testing.T) {
	for _, kv := range wideMatrix() {
		checkSelectors(t, kv, decodeManifests(t, kv))
	}
	// With the example overlay's components: labels on every object and
	// its pod template (not on selectors), a sidecar patched in.
	for _, kv := range [][]string{{"protocol=http"}, {"protocol=grpc", "autoscale=2-5", "service-monitor=true", "expose=gateway"}, {"expose=ingress", "replicas=1"}} {
		p, files := renderOverlaid(t, kv...)
		m := decodeBuilt(t, p, files)
		if m.deployment.Spec.Template.Labels["acme.example/cost-center"] == "" || len(m.deployment.Spec.Template.Spec.InitContainers) != 1 {
			t.Fatalf("%v: the overlay's components are not in the built Deployment", kv)
		}
		checkSelectors(t, append([]string{"overlay=acme"}, kv...), m)
	}
}

// renderOverlaid renders the answers kv (on the overlay's defaults) with
// the example overlay.
func renderOverlaid(t *testing.T, kv ...string) (*spec.Plan, map[string][]byte) {
	t.Helper()
	ov, err := overlay.Load("../examples/overlay/acme")
	if err != nil {
		t.Fatal(err)
	}
	applied, err := overlay.Apply(ov, "", "../acme")
	if err != nil {
		t.Fatal(err)
	}
	given := overlay.WithName(ov.Defaults(), "svc")
	given["name"] = "svc"
	for _, pair := range kv {
		k, v, _ := strings.Cut(pair, "=")
		given[k] = v
	}
	a, err := spec.Resolve(given)
	if err != nil {
		t.Fatal(err)
	}
	p, files, err := Compose(context.Background(), Service{Answers: a, Overlay: applied})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Content
	}
	return p, out
}

// checkSelectors checks that every selector of m selects the pods it
// means to, and every reference names what it means to.
func checkSelectors(t *testing.T, kv []string, m manifests) {
	t.Helper()
	{
		pod := m.deployment.Spec.Template.Labels
		checks := map[string]error{
			"Deployment":    selects(labelSelector(t, m.deployment.Spec.Selector), pod),
			"Service":       selects(labels.SelectorFromSet(m.service.Spec.Selector), pod),
			"NetworkPolicy": selects(labelSelector(t, &m.policy.Spec.PodSelector), pod),
		}
		if m.pdb != nil {
			checks["PodDisruptionBudget"] = selects(labelSelector(t, m.pdb.Spec.Selector), pod)
		}
		if a := m.deployment.Spec.Template.Spec.Affinity; a != nil {
			for i, term := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
				checks[fmt.Sprintf("pod anti-affinity term %d", i)] = selects(labelSelector(t, term.PodAffinityTerm.LabelSelector), pod)
			}
		}
		if m.monitor != nil {
			checks["ServiceMonitor"] = selects(labelSelector(t, &m.monitor.Spec.Selector), m.service.Labels)
		}
		for what, err := range checks {
			if err != nil {
				t.Errorf("%v: the %s selector: %v", kv, what, err)
			}
		}
		if m.hpa != nil {
			if err := scales(m.hpa.Spec.ScaleTargetRef, &m.deployment); err != nil {
				t.Errorf("%v: the HorizontalPodAutoscaler: %v", kv, err)
			}
		}
		// The Service sends traffic to ports the container declares.
		for _, sp := range m.service.Spec.Ports {
			target := sp.TargetPort.StrVal
			if !slices.ContainsFunc(m.deployment.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool { return p.Name == target }) {
				t.Errorf("%v: the Service's port %s targets %q, not a container port", kv, sp.Name, target)
			}
		}
		for _, err := range frontBackends(m) {
			t.Errorf("%v: %v", kv, err)
		}
		if m.monitor == nil {
			return
		}
		if len(m.monitor.Spec.Endpoints) == 0 {
			t.Errorf("%v: the ServiceMonitor scrapes no endpoint", kv)
		}
		for _, e := range m.monitor.Spec.Endpoints {
			if !slices.ContainsFunc(m.service.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }) {
				t.Errorf("%v: the ServiceMonitor scrapes port %q, which the Service does not name", kv, e.Port)
			}
		}
	}
}

// frontBackends checks that the route's backendRefs and the Ingress's
// backends name the Service and one of its ports (a route by number, as
// the Gateway API asks; an Ingress by name or number), and that the front
// the answers ask for is there: else the Gateway or the controller routes
// to nothing and answers 5xx, which neither the API server nor kube-score
// sees for a route.
func frontBackends(m manifests) []error {
	var errs []error
	kind := ""
	if f := m.plan.Front; f != nil {
		kind = f.Kind
	}
	svc := m.service
	hasPort := func(name string, number int32) bool {
		return slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
			return (name != "" && p.Name == name) || (number != 0 && p.Port == number)
		})
	}
	switch {
	case m.route != nil:
		if m.route.Kind != kind {
			errs = append(errs, fmt.Errorf("a %s, want a route only with expose gateway (%q)", m.route.Kind, kind))
		}
		if len(m.route.Spec.ParentRefs) == 0 {
			errs = append(errs, fmt.Errorf("the %s has no parentRefs placeholder", m.route.Kind))
		}
		n := 0
		for _, r := range m.route.Spec.Rules {
			for _, b := range r.BackendRefs {
				n++
				if b.Name != svc.Name || !hasPort("", b.Port) {
					errs = append(errs, fmt.Errorf("the %s's backendRef %s:%d is not the Service %s and one of its ports", m.route.Kind, b.Name, b.Port, svc.Name))
				}
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("the %s has no backendRefs", m.route.Kind))
		}
	case m.ingress != nil:
		if kind != "Ingress" {
			errs = append(errs, fmt.Errorf("an Ingress, want one only with expose ingress (%q)", kind))
		}
		n := 0
		for _, r := range m.ingress.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				n++
				b := p.Backend.Service
				if b == nil || b.Name != svc.Name || !hasPort(b.Port.Name, b.Port.Number) {
					errs = append(errs, fmt.Errorf("the Ingress's backend %+v is not the Service %s and one of its ports", p.Backend, svc.Name))
				}
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("the Ingress has no backends"))
		}
	case kind != "":
		errs = append(errs, fmt.Errorf("expose asks for a %s, and the tree has none", kind))
	}
	return errs
}

// frontBackends can fail: a backend naming another Service or a port the
// Service lacks, and a front missing, are caught.
func TestFrontBackendsCatchesMismatches(t *testing.T) {
	for _, c := range []struct {
		kv    []string
		spoil func(*manifests)
		want  string
	}{
		{[]string{"expose=gateway"}, func(m *manifests) { m.route.Spec.Rules[0].BackendRefs[0].Name = "other" }, "is not the Service"},
		{[]string{"expose=gateway"}, func(m *manifests) { m.route.Spec.Rules[0].BackendRefs[0].Port = 8080 }, "is not the Service"},
		{[]string{"expose=gateway"}, func(m *manifests) { m.route = nil }, "the tree has none"},
		{[]string{"expose=ingress"}, func(m *manifests) {
			m.ingress.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "health"
		}, "is not the Service"},
		{[]string{"expose=ingress", "protocol=grpc"}, func(m *manifests) {
			m.ingress.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "other"
		}, "is not the Service"},
		{nil, func(m *manifests) { m.ingress = &networkingv1.Ingress{} }, "want one only with expose ingress"},
	} {
		m := decodeManifests(t, c.kv)
		if errs := frontBackends(m); len(errs) != 0 {
			t.Fatalf("%v as generated: %v", c.kv, errs)
		}
		c.spoil(&m)
		errs := frontBackends(m)
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), c.want) {
			t.Errorf("%v broken: %v, want %q", c.kv, errs, c.want)
		}
	}
}

// scales reports what is wrong with ref as the HorizontalPodAutoscaler's
// target of d: a wrong kind, group/version or name scales nothing (the
// autoscaler reports FailedGetScale, and the Deployment keeps whatever
// count it has), and the API server accepts all three.
func scales(ref autoscalingv2.CrossVersionObjectReference, d *appsv1.Deployment) error {
	want := autoscalingv2.CrossVersionObjectReference{APIVersion: d.APIVersion, Kind: d.Kind, Name: d.Name}
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" {
		return fmt.Errorf("the Deployment reads as %s %s", d.APIVersion, d.Kind)
	}
	if ref != want {
		return fmt.Errorf("scaleTargetRef %+v, not the Deployment %+v", ref, want)
	}
	return nil
}

// scales can fail: a target of another kind, version or name is caught.
func TestScalesCatchesMismatches(t *testing.T) {
	d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Name: "svc"}}
	for _, ref := range []autoscalingv2.CrossVersionObjectReference{
		{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "svc"},
		{APIVersion: "extensions/v1beta1", Kind: "Deployment", Name: "svc"},
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "other"},
		{},
	} {
		if scales(ref, d) == nil {
			t.Errorf("%+v passed as the target of Deployment svc", ref)
		}
	}
	if err := scales(autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "svc"}, d); err != nil {
		t.Errorf("the right target failed: %v", err)
	}
}

// selects can fail: a selector that asks for a label the pods lack, or
// none at all, is caught.
func TestSelectsCatchesMismatches(t *testing.T) {
	pod := map[string]string{"app.kubernetes.io/name": "svc", "app.kubernetes.io/component": "server"}
	for _, sel := range []labels.Selector{
		labels.SelectorFromSet(labels.Set{"app.kubernetes.io/name": "other"}),
		labels.SelectorFromSet(labels.Set{"app.kubernetes.io/name": "svc", "tier": "web"}),
		labels.SelectorFromSet(nil),
		labels.Nothing(),
	} {
		if selects(sel, pod) == nil {
			t.Errorf("%q passed as a selector of %v", sel, pod)
		}
	}
	if err := selects(labels.SelectorFromSet(labels.Set{"app.kubernetes.io/name": "svc"}), pod); err != nil {
		t.Errorf("a matching selector failed: %v", err)
	}
}
