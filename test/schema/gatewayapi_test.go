package schema

import (
	"bytes"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// route.yaml (expose gateway) decodes strictly (unknown fields rejected)
// into the Gateway API's own types, v1: an HTTPRoute for HTTP, a GRPCRoute
// for gRPC. The API server zdgen's tests run has no Gateway API CRDs, so
// this is the check of the routes' schema. Each route has a parentRef
// placeholder, and its backendRefs are the generated Service and its port
// (by number, as backendRefs take it). Without expose gateway there is no
// route.
func TestRoutesMatchTheGatewayAPITypes(t *testing.T) {
	routes := 0
	for _, given := range answerSets {
		files := render(t, given)
		var svc corev1.Service
		if err := yaml.UnmarshalStrict(files["deploy/k8s/service.yaml"], &svc); err != nil {
			t.Fatalf("%v: service.yaml: %v", given, err)
		}
		b, ok := files["deploy/k8s/route.yaml"]
		if ok != (given["expose"] == "gateway") {
			t.Fatalf("%v: route.yaml generated: %v", given, ok)
		}
		if !ok {
			continue
		}
		routes++
		var (
			meta     gatewayv1.HTTPRoute // for TypeMeta alone
			parents  []gatewayv1.ParentReference
			backends []gatewayv1.BackendRef
			hosts    []gatewayv1.Hostname
		)
		if err := yaml.Unmarshal(b, &meta); err != nil {
			t.Fatalf("%v: route.yaml: %v", given, err)
		}
		wantKind := "HTTPRoute"
		if given["protocol"] == "grpc" {
			wantKind = "GRPCRoute"
		}
		if meta.APIVersion != gatewayv1.GroupVersion.String() || meta.Kind != wantKind {
			t.Errorf("%v: %s %s, want %s %s", given, meta.APIVersion, meta.Kind, gatewayv1.GroupVersion, wantKind)
		}
		switch meta.Kind {
		case "HTTPRoute":
			var r gatewayv1.HTTPRoute
			if err := yaml.UnmarshalStrict(b, &r); err != nil {
				t.Fatalf("%v: route.yaml: %v", given, err)
			}
			parents, hosts = r.Spec.ParentRefs, r.Spec.Hostnames
			for _, rule := range r.Spec.Rules {
				for _, br := range rule.BackendRefs {
					backends = append(backends, br.BackendRef)
				}
			}
		case "GRPCRoute":
			var r gatewayv1.GRPCRoute
			if err := yaml.UnmarshalStrict(b, &r); err != nil {
				t.Fatalf("%v: route.yaml: %v", given, err)
			}
			parents, hosts = r.Spec.ParentRefs, r.Spec.Hostnames
			for _, rule := range r.Spec.Rules {
				for _, br := range rule.BackendRefs {
					backends = append(backends, br.BackendRef)
				}
			}
		default:
			t.Fatalf("%v: route.yaml is a %s", given, meta.Kind)
		}
		if len(parents) != 1 || parents[0].Name == "" {
			t.Errorf("%v: parentRefs %+v, want one placeholder for the owner's Gateway", given, parents)
		}
		if len(hosts) != 0 {
			t.Errorf("%v: hostnames %v: zdgen cannot know them; they are left to the owner", given, hosts)
		}
		if len(backends) != 1 {
			t.Fatalf("%v: %d backendRefs, want 1", given, len(backends))
		}
		br := backends[0]
		if (br.Kind != nil && *br.Kind != "Service") || (br.Group != nil && *br.Group != "") || br.Namespace != nil {
			t.Errorf("%v: backendRef %+v is not a Service of the route's namespace", given, br)
		}
		if string(br.Name) != svc.Name || br.Port == nil || int32(*br.Port) != svc.Spec.Ports[0].Port {
			t.Errorf("%v: backendRef %s:%v, want the Service %s:%d", given, br.Name, br.Port, svc.Name, svc.Spec.Ports[0].Port)
		}
	}
	// The decode is strict: a misspelt field is refused, not dropped.
	b := render(t, map[string]string{"name": "routed", "expose": "gateway"})["deploy/k8s/route.yaml"]
	if err := yaml.UnmarshalStrict(bytes.Replace(b, []byte("backendRefs:"), []byte("backendRef:"), 1), &gatewayv1.HTTPRoute{}); err == nil {
		t.Error("a route with backendRef (misspelt) decoded")
	}
	if routes < 2 {
		t.Errorf("%d answer sets make a route, want one per protocol at least", routes)
	}
}
