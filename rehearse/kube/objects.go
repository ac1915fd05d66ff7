package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/zdgen/zdgen/rehearse"
	"github.com/zdgen/zdgen/workload"
)

func validNamespace(name string) string {
	return strings.Join(validation.IsDNS1123Label(name), "; ")
}

// leftOut are the kinds a repository may list that the cluster rehearsal
// does not apply. A ServiceMonitor: scraping plays no part in a rollout,
// and the cluster may not have the Prometheus Operator's CRDs. The routes
// and the Ingress of expose gateway or ingress: the load client calls the
// Service from inside the cluster, the cluster may have no Gateway API
// CRDs nor a controller for them (a rehearsal node has neither), and where
// it has one, applying them would open the rehearsal's pods to the outside.
// The lag of the front they stand for still drives the rehearsal: it is
// the answers' propagation lag.
var leftOut = map[string]bool{"ServiceMonitor": true, "HTTPRoute": true, "GRPCRoute": true, "Ingress": true}

// applied is what the rehearsal applies: the repository's objects, as its
// kustomization lists them, in namespace ns.
type applied struct {
	objs       []runtime.Object
	deployment *appsv1.Deployment
	service    *corev1.Service
	budget     *policyv1.PodDisruptionBudget // nil without one
}

// objects copies the repository's objects into namespace ns, with the
// service's image (and pull policy, replicas) set, and in a naive run its
// protections taken away, as `zdgen rehearse --naive` does: no preStop
// hook, DRAIN_DELAY=0.
func objects(w *workload.Workload, o Options, ns string) (*applied, error) {
	a := &applied{}
	for _, m := range w.Manifests {
		if m.Err != nil {
			return nil, m.Err
		}
		if m.Object == nil && leftOut[m.Kind] {
			continue
		}
		if m.Kind == "HorizontalPodAutoscaler" {
			// Left out, and the Deployment given the autoscaler's
			// minReplicas (the Workload's count) instead: the rehearsal
			// measures a rollout of a known number of pods, and its own
			// load would make an autoscaler add pods in the middle of
			// it, on a cluster with a metrics server; without one (a
			// bare node) the autoscaler only reports that it cannot
			// read metrics. The smallest size is also where the surge
			// and the budget are tightest.
			if m.Err != nil {
				return nil, m.Err
			}
			continue
		}
		if m.Object == nil {
			return nil, &rehearse.InputError{Err: fmt.Errorf("kustomization.yaml lists %s, a %s: the cluster rehearsal applies Deployment, Service, PodDisruptionBudget and NetworkPolicy objects (and leaves ServiceMonitor and HorizontalPodAutoscaler out)", m.Path, m.Kind)}
		}
		obj := m.Object.DeepCopyObject()
		meta, err := metaOf(obj)
		if err != nil {
			return nil, err
		}
		meta.Namespace = ns // the rehearsal's own, whatever the manifest says
		if meta.Labels == nil {
			meta.Labels = map[string]string{}
		}
		meta.Labels["app.kubernetes.io/managed-by"] = ManagedBy
		switch obj := obj.(type) {
		case *appsv1.Deployment:
			a.deployment = obj
			prepareDeployment(obj, w, o)
		case *corev1.Service:
			if a.service == nil {
				a.service = obj
			}
		case *policyv1.PodDisruptionBudget:
			a.budget = obj
		}
		a.objs = append(a.objs, obj)
	}
	if a.deployment == nil {
		return nil, &rehearse.InputError{Err: fmt.Errorf("deploy/k8s/kustomization.yaml lists no Deployment")}
	}
	if a.service == nil {
		return nil, &rehearse.InputError{Err: fmt.Errorf("deploy/k8s/kustomization.yaml lists no Service: the load client calls the Deployment through one")}
	}
	if a.service.Spec.ClusterIP == corev1.ClusterIPNone || len(a.service.Spec.Ports) == 0 {
		return nil, &rehearse.InputError{Err: fmt.Errorf("service %s: the load client calls a ClusterIP Service with a port; this one is headless or has none", a.service.Name)}
	}
	return a, nil
}

func metaOf(obj runtime.Object) (*metav1.ObjectMeta, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.ObjectMeta, nil
	case *corev1.Service:
		return &o.ObjectMeta, nil
	case *policyv1.PodDisruptionBudget:
		return &o.ObjectMeta, nil
	case *networkingv1.NetworkPolicy:
		return &o.ObjectMeta, nil
	}
	return nil, fmt.Errorf("cannot apply a %T", obj)
}

func prepareDeployment(d *appsv1.Deployment, w *workload.Workload, o Options) {
	d.Spec.Replicas = ptrTo(int32(w.Replicas))
	c := &d.Spec.Template.Spec.Containers[0]
	c.Image = o.Image
	if o.PullPolicy != "" {
		c.ImagePullPolicy = corev1.PullPolicy(o.PullPolicy)
	}
	if o.Naive {
		c.Lifecycle = nil
		set := false
		for i := range c.Env {
			if c.Env[i].Name == "DRAIN_DELAY" {
				c.Env[i].Value, set = "0s", true
			}
		}
		if !set {
			c.Env = append(c.Env, corev1.EnvVar{Name: "DRAIN_DELAY", Value: "0s"})
		}
	}
}

// apply server-side applies obj with zdgen as its field manager.
func apply(ctx context.Context, c *cluster, obj runtime.Object) error {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	delete(u, "status")
	if m, ok := u["metadata"].(map[string]any); ok {
		delete(m, "creationTimestamp")
	}
	body, err := json.Marshal(u)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: ptrTo(true)}
	meta, err := metaOf(obj)
	if err != nil {
		return err
	}
	ns, name := meta.Namespace, meta.Name
	switch obj.(type) {
	case *appsv1.Deployment:
		_, err = c.client.AppsV1().Deployments(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
	case *corev1.Service:
		_, err = c.client.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
	case *policyv1.PodDisruptionBudget:
		_, err = c.client.PolicyV1().PodDisruptionBudgets(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
	case *networkingv1.NetworkPolicy:
		_, err = c.client.NetworkingV1().NetworkPolicies(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
	}
	if err != nil {
		return fmt.Errorf("applying %s %s: %w", strings.TrimPrefix(fmt.Sprintf("%T", obj), "*"), name, err)
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }
