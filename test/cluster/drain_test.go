package cluster

import (
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podNodes counts the deployment's ready, not terminating pods per node.
func (d *deployment) podNodes(t *testing.T) map[string]int {
	t.Helper()
	count := map[string]int{}
	for _, p := range d.ready(t) {
		count[p.Spec.NodeName]++
	}
	return count
}

// checkSpread fails the test unless the replicas run on as many nodes as
// they can: the generated anti-affinity prefers one replica per node.
func checkSpread(t *testing.T, d *deployment) map[string]int {
	t.Helper()
	on := d.podNodes(t)
	replicas := 0
	for _, c := range on {
		replicas += c
	}
	want := min(replicas, len(d.n.nodes))
	t.Logf("%d replicas on %d nodes: %v", replicas, len(on), on)
	if len(on) != want {
		t.Errorf("%d replicas run on %d nodes of %d (%v): the anti-affinity should spread them over %d", replicas, len(on), len(d.n.nodes), on, want)
	}
	return on
}

// drainable lists the nodes a test may drain or cut: every node but the
// one the in-cluster load client runs on, those holding the most of the
// deployment's pods first.
func (d *deployment) drainable(t *testing.T) []string {
	t.Helper()
	on := d.podNodes(t)
	var names []string
	for _, cn := range d.n.nodes {
		if cn.Name != d.n.jobNode().Name {
			names = append(names, cn.Name)
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return on[names[i]] > on[names[j]] })
	return names
}

// drainResult is what one `kubectl drain` took.
type drainResult struct {
	Node     string  `json:"node"`
	Pods     int     `json:"pods"` // the deployment's pods it evicted
	Seconds  float64 `json:"seconds"`
	Refusals int     `json:"refusals"` // evictions the PodDisruptionBudget refused (429), retried
}

// drain drains a node as an operator would, with kubectl: it cordons the
// node and evicts its pods through the Eviction API, retrying every
// eviction the PodDisruptionBudget refuses, until they are gone; then,
// once the deployment is available again (its replacements ready on the
// other nodes), it uncordons the node. The node is uncordoned whatever
// happens.
func (d *deployment) drain(t *testing.T, name string, limit time.Duration) drainResult {
	t.Helper()
	res := drainResult{Node: name, Pods: d.podNodes(t)[name]}
	t.Cleanup(func() { d.uncordon(t, name) })
	start := time.Now()
	cmd := exec.Command(d.n.kubectl, "drain", name, "--ignore-daemonsets", "--delete-emptydir-data",
		"--timeout", limit.String())
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+d.n.kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		d.describe(t)
		t.Fatalf("kubectl drain %s: %v\n%s", name, err, out.String())
	}
	res.Seconds = time.Since(start).Seconds()
	// kubectl reports each refusal it retries.
	res.Refusals = strings.Count(out.String(), "would violate the pod's disruption budget")
	for _, p := range d.pods(t) {
		if p.Spec.NodeName == name && p.DeletionTimestamp == nil {
			t.Errorf("pod %s is still on the drained node %s", p.Name, name)
		}
	}
	d.waitAvailable(t, limit)
	d.uncordon(t, name)
	t.Logf("drained %s (%d of the service's pods) in %.1fs; the budget refused %d evictions, retried",
		name, res.Pods, res.Seconds, res.Refusals)
	return res
}

// uncordon makes the node schedulable again, if it is not.
func (d *deployment) uncordon(t *testing.T, name string) {
	t.Helper()
	n, err := d.n.client.CoreV1().Nodes().Get(ctx(t), name, metav1.GetOptions{})
	if err != nil {
		t.Errorf("node %s: %v", name, err)
		return
	}
	if n.Spec.Unschedulable {
		d.n.kubectlRun(t, "", "uncordon", name)
	}
}

// cuttable returns a node that may be cut off (one with a link of its own,
// not the load client's) holding at least one of the deployment's pods:
// if none does, it deletes a pod on the most loaded node until the
// anti-affinity places a replacement there.
func (d *deployment) cuttable(t *testing.T) string {
	t.Helper()
	var target string
	for _, name := range d.drainable(t) {
		if d.n.byName(t, name).Veth != "" {
			target = name
			break
		}
	}
	if target == "" {
		t.Fatalf("no node but the load client's has a link of its own to cut")
	}
	for range 3 {
		on := d.podNodes(t)
		if on[target] > 0 {
			return target
		}
		busiest := ""
		for name, c := range on {
			if busiest == "" || c > on[busiest] || c == on[busiest] && name < busiest {
				busiest = name
			}
		}
		for _, p := range d.ready(t) {
			if p.Spec.NodeName == busiest {
				if err := d.n.client.CoreV1().Pods(d.ns).Delete(ctx(t), p.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		d.waitAvailable(t, 3*time.Minute)
	}
	t.Fatalf("no pod of the service would move to %s: %v", target, d.podNodes(t))
	return ""
}

// nodeLoss is what losing a node's network under load cost.
type nodeLoss struct {
	Node            string  `json:"node"`
	Pods            int     `json:"pods"`
	NotReadySeconds float64 `json:"notReadySeconds"` // until the node was marked not Ready
	RoutedSeconds   float64 `json:"routedSeconds"`   // until no other node routed to its pods
	Lost            int     `json:"lostRequests"`
	Total           int     `json:"requests"`
}

// loseNode cuts a node's link (the machine's end of its veth) under the
// load that l sends, measures how long the Service keeps routing to the
// node's pods from the other nodes, then restores the link and waits for
// the node and the deployment to recover.
func (d *deployment) loseNode(t *testing.T, name string) nodeLoss {
	t.Helper()
	cn := d.n.byName(t, name)
	if cn.Veth == "" {
		t.Fatalf("%s has no veth of its own to cut", name)
	}
	res := nodeLoss{Node: name}
	var lost []string
	for _, p := range d.ready(t) {
		if p.Spec.NodeName == name {
			lost = append(lost, p.Status.PodIP)
		}
	}
	res.Pods = len(lost)
	if len(lost) == 0 {
		t.Fatalf("no pod of the service on %s to lose", name)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if out, err := exec.Command("ip", "link", "set", cn.Veth, "up").CombinedOutput(); err != nil {
				t.Errorf("restoring %s's link: %v %s", name, err, out)
			}
		}
	}
	t.Cleanup(restore)
	start := time.Now()
	if out, err := exec.Command("ip", "link", "set", cn.Veth, "down").CombinedOutput(); err != nil {
		t.Fatalf("cutting %s's link: %v %s", name, err, out)
	}
	t.Logf("cut %s's link at %s; its pods: %v", name, start.Format("15:04:05.0"), lost)
	for res.RoutedSeconds == 0 {
		if res.NotReadySeconds == 0 && !nodeReady(t, d, name) {
			res.NotReadySeconds = time.Since(start).Seconds()
		}
		routed := false
		for _, other := range d.n.nodes {
			if other.Name == name {
				continue
			}
			ips, err := routedIPs(other, d.ns, d.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, ip := range lost {
				routed = routed || ips[ip]
			}
		}
		if !routed {
			res.RoutedSeconds = time.Since(start).Seconds()
		} else if time.Since(start) > 4*time.Minute {
			t.Fatalf("4 minutes after %s was cut, the other nodes still route to its pods", name)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("%s marked not Ready after %.1fs; no node routed to its pods after %.1fs", name, res.NotReadySeconds, res.RoutedSeconds)
	restore()
	for !nodeReady(t, d, name) {
		if time.Since(start) > 6*time.Minute {
			t.Fatalf("%s not Ready again within 6 minutes of the cut", name)
		}
		time.Sleep(500 * time.Millisecond)
	}
	d.waitAvailable(t, 3*time.Minute)
	d.settle(t)
	return res
}

func nodeReady(t *testing.T, d *deployment, name string) bool {
	t.Helper()
	n, err := d.n.client.CoreV1().Nodes().Get(ctx(t), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// String describes the loss for the test log.
func (l nodeLoss) String() string {
	return fmt.Sprintf("node %s lost with %d pods: %d of %d requests lost; not Ready after %.1fs, no longer routed to after %.1fs",
		l.Node, l.Pods, l.Lost, l.Total, l.NotReadySeconds, l.RoutedSeconds)
}
