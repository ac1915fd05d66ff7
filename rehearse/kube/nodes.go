package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/zdgen/zdgen/rehearse"
)

// cordonedFor marks a node the rehearsal cordoned, with its namespace as
// the value: the cleanup uncordons a node only when it carries the mark
// of this rehearsal, also after an interruption that left unknown
// whether the cordon reached the API server, and never a node someone
// else cordoned.
const cordonedFor = "zdgen-rehearse/cordoned-for"

// drainable lists, by name, the nodes the Deployment's pods could be
// scheduled on: not cordoned, and with no NoSchedule or NoExecute taint
// its pod template does not tolerate. A drain chooses among them, and
// needs another for the pods to go to.
func drainable(ctx context.Context, c *cluster, a *applied) ([]corev1.Node, error) {
	list, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("listing the nodes: %w", err)
	}
	tolerations := a.deployment.Spec.Template.Spec.Tolerations
	var nodes []corev1.Node
	for _, n := range list.Items {
		if takesPods(&n, tolerations) {
			nodes = append(nodes, n)
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

func takesPods(n *corev1.Node, tolerations []corev1.Toleration) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, taint := range n.Spec.Taints {
		if taint.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerated := false
		for _, t := range tolerations {
			// The zero logger discards; it logs only for the Lt and Gt
			// operators, which are off here as in a default scheduler.
			if t.ToleratesTaint(klog.Logger{}, &taint, false) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return false
		}
	}
	return true
}

// checkNodes refuses a drain the cluster cannot make, before anything is
// created: with one node that can take the pods, their replacements
// would have nowhere to go. With two, only one drain can: the load client
// runs on the one not drained, so a second drain could only pick the
// first node again, which the first drain left without a pod.
func checkNodes(ctx context.Context, c *cluster, a *applied, drains int) error {
	nodes, err := drainable(ctx, c, a)
	if err != nil {
		return err
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	switch {
	case len(nodes) < 2:
		return &rehearse.InputError{Err: fmt.Errorf("--disrupt drain: the cluster has %d node(s) the service's pods can be scheduled on (%s; cordoned ones and untolerated taints left out): draining one leaves its pods nowhere to go; use --disrupt evict or rollout, or a cluster with two nodes or more",
			len(nodes), strings.Join(names, ", "))}
	case len(nodes) == 2 && drains > 1:
		return &rehearse.InputError{Err: fmt.Errorf("--disrupt drain --rollouts %d: with two nodes the service's pods can be scheduled on (%s), only one drain moves pods: the load client runs on the node not drained, and the first drain leaves every pod there; use --rollouts 1, or a cluster with three nodes or more",
			drains, strings.Join(names, ", "))}
	}
	return nil
}

// chooseNode is the node to drain: of nodes, not except (the load
// client's), the one holding most of pods, the first by name on a tie;
// nil when none holds any.
func chooseNode(nodes []corev1.Node, pods []*corev1.Pod, except string) *corev1.Node {
	held := map[string]int{}
	for _, p := range pods {
		held[p.Spec.NodeName]++
	}
	var best *corev1.Node
	for i := range nodes {
		n := &nodes[i]
		if n.Name == except || held[n.Name] == 0 {
			continue
		}
		if best == nil || held[n.Name] > held[best.Name] || held[n.Name] == held[best.Name] && n.Name < best.Name {
			best = n
		}
	}
	return best
}

// pickWait bounds how long pickNode waits for the watch to see the
// service's pods on a node: its cache follows the API server by
// milliseconds, more on a loaded machine, and the Deployment can be
// available before the cache holds its pods.
const pickWait = 10 * time.Second

// pickNode chooses the node to drain now, by the pods the watch sees.
func (r *rehearsal) pickNode(ctx context.Context, except string) (*corev1.Node, error) {
	nodes, err := drainable(ctx, r.c, r.a)
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(r.c.poll)
	defer tick.Stop()
	deadline := time.Now().Add(pickWait)
	for {
		pods, _ := r.wat.pods.Pods(r.ns).List(r.sel)
		if n := chooseNode(nodes, pods, except); n != nil {
			return n, nil
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	besides := ""
	if except != "" {
		besides = " besides the load client's (" + except + ")"
	}
	return nil, fmt.Errorf("no node to drain: no node the pods can be scheduled on%s holds one (%s)", besides, r.wat.waiting(r.sel))
}

// cordon marks the node unschedulable, as kubectl cordon does, and with
// this rehearsal's mark. The patch names the node's resourceVersion, so
// the API server refuses it if the node changed since it was read: read
// again, a node still schedulable is cordoned, one someone else cordoned
// meanwhile is left alone, never taken over.
func (r *rehearsal) cordon(ctx context.Context, name string) error {
	nodes := r.c.client.CoreV1().Nodes()
	for attempt := 1; ; attempt++ {
		n, err := nodes.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("node %s: %w", name, err)
		}
		if n.Spec.Unschedulable {
			return fmt.Errorf("node %s was cordoned by someone else as the rehearsal was about to drain it; it is left as it is", name)
		}
		patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"annotations":{%q:%q}},"spec":{"unschedulable":true}}`, n.ResourceVersion, cordonedFor, r.ns)
		// From here on the cleanup looks at the node: an interruption
		// may come after the API server applied the patch.
		r.cordoned = name
		_, err = nodes.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager})
		switch {
		case err == nil:
			r.tl.Add("", rehearse.EvCordon, "node "+name+" cordoned (spec.unschedulable): no new pod is scheduled there")
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		r.cordoned = ""
		if !apierrors.IsConflict(err) || attempt == 3 {
			return fmt.Errorf("cordoning node %s: %w", name, err)
		}
	}
}

// uncordon makes the node the rehearsal cordoned schedulable again and
// takes the mark off; a node without this rehearsal's mark (its cordon
// never reached the API server) is left as it is.
func (r *rehearsal) uncordon(ctx context.Context) error {
	if r.cordoned == "" {
		return nil
	}
	name := r.cordoned
	nodes := r.c.client.CoreV1().Nodes()
	n, err := nodes.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		r.cordoned = ""
		return nil
	case err != nil:
		return fmt.Errorf("uncordoning node %s: %w", name, err)
	case n.Annotations[cordonedFor] != r.ns:
		r.cordoned = ""
		return nil
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}},"spec":{"unschedulable":false}}`, cordonedFor)
	if _, err := nodes.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("uncordoning node %s: %w", name, err)
	}
	r.cordoned = ""
	r.tl.Add("", rehearse.EvUncordon, "node "+name+" uncordoned: it takes pods again")
	return nil
}
