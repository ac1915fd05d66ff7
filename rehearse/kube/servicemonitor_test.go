package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/internal/repotest"
)

// A repository generated with service-monitor lists a ServiceMonitor in
// its kustomization: the cluster rehearsal applies everything else and
// leaves it out (it plays no part in a rollout, and the cluster may lack
// the operator's CRDs), while another kind it does not know is still
// refused by name.
func TestObjectsLeaveTheServiceMonitorOut(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "greeter", "service-monitor": "true"})
	o := options()
	w, err := load(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := objects(w, o, o.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.objs) != 4 || len(w.Manifests) != 5 {
		t.Errorf("%d objects applied of %d listed, want 4 of 5 (all but the ServiceMonitor)", len(got.objs), len(w.Manifests))
	}

	sm := filepath.Join(dir, "deploy", "k8s", "servicemonitor.yaml")
	b, err := os.ReadFile(sm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sm, []byte(strings.Replace(string(b), "kind: ServiceMonitor", "kind: PodMonitor", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(dir, o); err == nil || !strings.Contains(err.Error(), "a PodMonitor") {
		t.Errorf("a PodMonitor in the kustomization: %v, want it refused by name", err)
	}
}
