package kube

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/zdgen/zdgen/rehearse"
)

// permission is one verb on one resource the rehearsal uses.
type permission struct {
	verb, group, resource, subresource string
	namespaced                         bool
}

func (p permission) String() string {
	r := p.resource
	if p.group != "" {
		r += "." + p.group
	}
	if p.subresource != "" {
		r += "/" + p.subresource
	}
	return p.verb + " " + r
}

// permissions lists what the rehearsal does, in the order it does it,
// disrupting the pods as disrupt says. Namespaced ones are asked for in
// the namespace it will create, where no RoleBinding can exist yet: they
// must come from a ClusterRoleBinding.
func permissions(a *applied, disrupt string) []permission {
	ps := []permission{
		{verb: "create", resource: "namespaces"},
		{verb: "get", resource: "namespaces"},
		{verb: "delete", resource: "namespaces"},
	}
	seen := map[string]bool{}
	for _, obj := range a.objs {
		var group, resource string
		switch obj.(type) {
		case *appsv1.Deployment:
			group, resource = "apps", "deployments"
		case *corev1.Service:
			group, resource = "", "services"
		case *policyv1.PodDisruptionBudget:
			group, resource = "policy", "poddisruptionbudgets"
		case *networkingv1.NetworkPolicy:
			group, resource = "networking.k8s.io", "networkpolicies"
		}
		if seen[resource] {
			continue
		}
		seen[resource] = true
		ps = append(ps, permission{verb: "patch", group: group, resource: resource, namespaced: true})
		if resource == "deployments" || resource == "services" {
			ps = append(ps, permission{verb: "get", group: group, resource: resource, namespaced: true})
		}
	}
	if disrupt == DisruptDrain {
		// Nodes are cluster-scoped: listed to choose one, then cordoned
		// and uncordoned.
		ps = append(ps,
			permission{verb: "list", resource: "nodes"},
			permission{verb: "get", resource: "nodes"},
			permission{verb: "patch", resource: "nodes"})
	}
	if disrupt == DisruptDrain || disrupt == DisruptEvict {
		ps = append(ps, permission{verb: "create", resource: "pods", subresource: "eviction", namespaced: true})
	}
	return append(ps,
		permission{verb: "create", group: "batch", resource: "jobs", namespaced: true},
		permission{verb: "delete", group: "batch", resource: "jobs", namespaced: true},
		permission{verb: "get", resource: "pods", namespaced: true},
		permission{verb: "list", resource: "pods", namespaced: true},
		permission{verb: "watch", resource: "pods", namespaced: true},
		permission{verb: "get", resource: "pods", subresource: "log", namespaced: true},
		permission{verb: "list", resource: "events", namespaced: true},
		permission{verb: "watch", resource: "events", namespaced: true},
	)
}

// checkAccess asks the API server (SelfSubjectAccessReview) whether the
// kubeconfig's user may do each thing the rehearsal will, before it does
// any, and names the first it may not: an input error.
func checkAccess(ctx context.Context, c *cluster, ns string, ps []permission) error {
	for _, p := range ps {
		attrs := &authorizationv1.ResourceAttributes{Verb: p.verb, Group: p.group, Resource: p.resource, Subresource: p.subresource}
		where := "cluster-wide"
		if p.namespaced {
			attrs.Namespace = ns
			where = "in namespace " + ns
		}
		r, err := c.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}},
			metav1.CreateOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &rehearse.InputError{Err: fmt.Errorf("checking permissions (%s): %w", p, err)}
		}
		if !r.Status.Allowed {
			why := ""
			if r.Status.Reason != "" {
				why = ": " + r.Status.Reason
			}
			return &rehearse.InputError{Err: fmt.Errorf("missing permission: the rehearsal needs to %s %s, and the cluster denies it%s (see zdgen rehearse --help for the full list)", p, where, why)}
		}
	}
	return nil
}
