package kube

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/internal/repotest"
	"github.com/zdgen/zdgen/rehearse"
	appsv1 "k8s.io/api/apps/v1"
)

// A whole cluster rehearsal of an autoscaled service, on the stand-in:
// the Deployment is applied with the autoscaler's minReplicas, the
// autoscaler is not applied, and every revision runs that many pods.
func TestRunAutoscaledAtMinReplicas(t *testing.T) {
	f := newFake(t)
	f.dir = repotest.Dir(t, map[string]string{"name": "greeter", "autoscale": "2-6"})
	o := options()
	res, err := f.run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() || res.Replicas != 2 {
		t.Errorf("passed %v (%v), replicas %d; want a pass at 2", res.Passed(), res.Problems, res.Replicas)
	}
	f.mu.Lock()
	applied := f.applied
	f.mu.Unlock()
	var resources []string
	for _, p := range applied {
		resources = append(resources, p.Resource.Resource)
		if p.Resource.Resource == "deployments" && !strings.Contains(string(p.Patch), `"replicas":2`) {
			t.Errorf("the Deployment applied without the autoscaler's minReplicas: %s", p.Patch)
		}
	}
	if len(applied) != 4 || slices.Contains(resources, "horizontalpodautoscalers") {
		t.Errorf("applied %v; want the Deployment, Service, NetworkPolicy and PodDisruptionBudget only", resources)
	}
	created := 0
	for _, e := range res.Events {
		if e.Pod != "" && e.Kind == rehearse.EvCreated {
			created++
		}
	}
	// 2 pods, replaced twice.
	if created != 6 {
		t.Errorf("%d pods created, want 6", created)
	}
}

// With autoscale the cluster rehearsal applies everything but the
// HorizontalPodAutoscaler, and gives the Deployment, which leaves its
// count to the autoscaler, the autoscaler's minReplicas: the rehearsal's
// own load must not scale the pods mid-rollout. An autoscaler that does
// not decode strictly is still refused.
func TestObjectsLeaveTheAutoscalerOut(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "greeter", "autoscale": "2-6"})
	o := options()
	w, err := load(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := objects(w, o, o.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, m := range w.Manifests {
		kinds[m.Kind] = true
	}
	if !kinds["HorizontalPodAutoscaler"] || len(got.objs) != len(w.Manifests)-1 {
		t.Errorf("%d objects applied of %d listed (%v), want all but the HorizontalPodAutoscaler", len(got.objs), len(w.Manifests), kinds)
	}
	for _, obj := range got.objs {
		if d, ok := obj.(*appsv1.Deployment); ok && (d.Spec.Replicas == nil || *d.Spec.Replicas != 2) {
			t.Errorf("the Deployment applied with replicas %v, want the autoscaler's minReplicas 2", d.Spec.Replicas)
		}
	}

	hpa := filepath.Join(dir, "deploy", "k8s", "hpa.yaml")
	b, err := os.ReadFile(hpa)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hpa, []byte(strings.Replace(string(b), "  maxReplicas: 6\n", "  maxReplicas: 6\n  maxReplica: 7\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(dir, o); err == nil || !strings.Contains(err.Error(), "maxReplica") {
		t.Errorf("an autoscaler with an unknown field: %v, want it refused naming the field", err)
	}
}
