package kube

import (
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/repotest"
)

// A repository generated with expose lists a route or an Ingress: the
// cluster rehearsal applies everything else and leaves it out (see
// leftOut), as it does a ServiceMonitor.
func TestObjectsLeaveTheFrontOut(t *testing.T) {
	for _, c := range []struct{ protocol, expose, kind string }{
		{spec.ProtocolHTTP, spec.ExposeGateway, "HTTPRoute"},
		{spec.ProtocolGRPC, spec.ExposeGateway, "GRPCRoute"},
		{spec.ProtocolHTTP, spec.ExposeIngress, "Ingress"},
		{spec.ProtocolGRPC, spec.ExposeIngress, "Ingress"},
	} {
		dir := repotest.Dir(t, map[string]string{"name": "greeter", "protocol": c.protocol, "expose": c.expose})
		o := options()
		w, err := load(dir, o)
		if err != nil {
			t.Fatalf("%s %s: %v", c.protocol, c.expose, err)
		}
		got, err := objects(w, o, o.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		listed := false
		for _, m := range w.Manifests {
			listed = listed || m.Kind == c.kind
		}
		if !listed || len(got.objs) != len(w.Manifests)-1 {
			t.Errorf("%s %s: %s listed %v; %d objects applied of %d listed, want all but the %s", c.protocol, c.expose, c.kind, listed, len(got.objs), len(w.Manifests), c.kind)
		}
		for _, obj := range got.objs {
			if kind := obj.GetObjectKind().GroupVersionKind().Kind; kind == c.kind {
				t.Errorf("%s %s: the %s is applied", c.protocol, c.expose, kind)
			}
		}
	}
}
