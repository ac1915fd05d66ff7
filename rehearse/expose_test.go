package rehearse

import (
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/repotest"
)

// A repository generated with expose lists an HTTPRoute, a GRPCRoute or an
// Ingress. The loopback rehearsal has no gateway to exercise them: it
// accepts them unread, and the front's lag still drives it, through the
// answers' propagation lag and the preStop hook that waits it out.
func TestLoadAcceptsTheFronts(t *testing.T) {
	for _, c := range []struct {
		protocol, expose, kind string
		lag                    time.Duration
	}{
		{spec.ProtocolHTTP, spec.ExposeGateway, "HTTPRoute", 10 * time.Second},
		{spec.ProtocolGRPC, spec.ExposeGateway, "GRPCRoute", 10 * time.Second},
		{spec.ProtocolHTTP, spec.ExposeIngress, "Ingress", 30 * time.Second},
		{spec.ProtocolGRPC, spec.ExposeIngress, "Ingress", 30 * time.Second},
	} {
		dir := repotest.Dir(t, map[string]string{"name": "greeter", "protocol": c.protocol, "expose": c.expose})
		w, lag, err := LoadFor(dir, Options{})
		if err != nil {
			t.Fatalf("%s %s: %v", c.protocol, c.expose, err)
		}
		found := false
		for _, m := range w.Manifests {
			if m.Kind == c.kind {
				found = m.Object == nil && m.Err == nil
			}
		}
		if !found {
			t.Errorf("%s %s: no %s among the manifests, unread: %+v", c.protocol, c.expose, c.kind, w.Manifests)
		}
		if lag != c.lag || w.PreStop != c.lag {
			t.Errorf("%s %s: lag %s, preStop %s; want the front's %s for both", c.protocol, c.expose, lag, w.PreStop, c.lag)
		}
	}
}
