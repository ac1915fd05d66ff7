package kube

import (
	"context"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/zdgen/zdgen/generator/spec"
)

// TestAPIServerApplies runs against a real API server (test/apiserver/run.sh
// go test -run TestAPIServer ./rehearse/kube; it skips without one): the
// permission checks pass for an administrator and name what an unknown
// user lacks; the namespace is created, and refused once it exists; the
// objects are server-side applied (twice: apply is idempotent) with zdgen
// as their manager and the image set; a restart bumps the Deployment's
// generation; the load Job passes the server's validation. The example
// generated with an organisation overlay is applied with the overlay's
// components, as kustomize builds them.
func TestAPIServerApplies(t *testing.T) {
	kubeconfig := os.Getenv("ZDGEN_KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("no API server: test/apiserver/run.sh starts one")
	}
	for _, ex := range []string{example, "../../examples/grpc-worker", "../../examples/overlay/payments"} {
		t.Run(ex[strings.LastIndex(ex, "/")+1:], func(t *testing.T) { apiServerApplies(t, kubeconfig, ex) })
	}
}

func apiServerApplies(t *testing.T, kubeconfig, dir string) {
	ctx := context.Background()
	o := options()
	o.Kubeconfig, o.Namespace = kubeconfig, randomName()
	w, err := load(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	a, err := objects(w, o, o.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	// A drain's permissions are the most: every other disruption's and
	// the nodes'.
	if err := checkAccess(ctx, c, o.Namespace, permissions(a, DisruptDrain)); err != nil {
		t.Fatalf("an administrator: %v", err)
	}
	cfg, name, err := restConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "zdgen-nobody"}
	nobody, err := connectConfig(ctx, cfg, name)
	if err != nil {
		t.Fatal(err)
	}
	err = checkAccess(ctx, nobody, o.Namespace, permissions(a, DisruptDrain))
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "create namespaces cluster-wide") {
		t.Errorf("a user with no permission: %v", err)
	}
	t.Logf("a user with no permission: %v", err)

	if err := createNamespace(ctx, c, o.Namespace); err != nil {
		t.Fatal(err)
	}
	defer c.client.CoreV1().Namespaces().Delete(context.Background(), o.Namespace, metav1.DeleteOptions{})
	if err := createNamespace(ctx, c, o.Namespace); !spec.IsInputError(err) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("the namespace again: %v", err)
	}
	for range 2 {
		for _, obj := range a.objs {
			if err := apply(ctx, c, obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	d, err := c.client.AppsV1().Deployments(o.Namespace).Get(ctx, a.deployment.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	managers := map[string]string{}
	for _, m := range d.ManagedFields {
		managers[m.Manager] = string(m.Operation)
	}
	if managers[FieldManager] != "Apply" || d.Spec.Template.Spec.Containers[0].Image != o.Image || d.Generation != 1 {
		t.Errorf("deployment managers %v, image %s, generation %d; want applied by %s with %s, generation 1", managers, d.Spec.Template.Spec.Containers[0].Image, d.Generation, FieldManager, o.Image)
	}
	// What is applied is what kustomize builds: an overlay's components
	// (the example's labels and log-shipping sidecar) included.
	built := w.Deployment.Spec.Template
	for k, v := range built.Labels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the applied pod template lacks the built label %s=%s", k, v)
		}
	}
	if len(d.Spec.Template.Spec.InitContainers) != len(built.Spec.InitContainers) {
		t.Errorf("%d init containers applied, %d built", len(d.Spec.Template.Spec.InitContainers), len(built.Spec.InitContainers))
	}
	if strings.HasSuffix(dir, "payments") && (len(built.Spec.InitContainers) != 1 || built.Labels["acme.example/cost-center"] == "") {
		t.Errorf("the overlay's sidecar and labels are not in the built Deployment: %+v", built)
	}
	if err := restart(ctx, c, o.Namespace, a.deployment.Name); err != nil {
		t.Fatal(err)
	}
	d, err = c.client.AppsV1().Deployments(o.Namespace).Get(ctx, a.deployment.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 2 || d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("after a restart: generation %d, annotations %v", d.Generation, d.Spec.Template.Annotations)
	}
	job := loadJobSpec(o.Namespace, "10.96.0.10:80", a, w, o)
	if _, err := c.client.BatchV1().Jobs(o.Namespace).Create(ctx, job, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the load Job: %v", err)
	}
}
