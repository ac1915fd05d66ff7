package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// envInt reads a whole number from the environment, or def.
func envInt(t *testing.T, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a whole number >= 1", key, v)
	}
	return n
}

// TestNodeRollouts is the rolling-update test on real components, for each
// protocol, on every node of the cluster: the replicas spread one per
// node; rolling restarts under constant load through the Service's
// ClusterIP, from a Job in the cluster on one node and from another node
// itself, each client at ZDGEN_NODE_RATE requests a second (500) over 50
// connections, must lose nothing, while every node's rules are read to
// measure how long each kube-proxy takes to drop a terminating pod; so must
// a pod deletion and a pair of evictions, and two nodes drained with
// kubectl one after the other; a container killed with SIGKILL
// costs what an abrupt crash costs (reported) and is restarted; a node
// whose link is cut costs what the node lifecycle's grace period costs
// (reported, HTTP only, with ZDGEN_NODE_LOSS set); and the same rollouts with the protections
// removed must lose requests, or the test could not fail.
func TestNodeRollouts(t *testing.T) {
	requireNode(t)
	rate := envInt(t, "ZDGEN_NODE_RATE", 500)
	rollouts := envInt(t, "ZDGEN_NODE_ROLLOUTS", 10)
	const conns = 50
	for _, p := range []struct{ protocol, name string }{{"http", "greeter"}, {"grpc", "worker"}} {
		t.Run(p.protocol, func(t *testing.T) {
			svc := generate(t, p.name, p.protocol)
			res := &rolloutResult{Protocol: p.protocol, Rate: rate, Rollouts: rollouts}
			defer recordRollouts(res)

			d := deploy(t, svc, "rollouts-"+p.protocol, false)
			res.Spread = checkSpread(t, d)
			// The rollout limit: preStop + drain + shutdown per old pod, a
			// startup and a readiness window per new one, for each of the
			// batches maxSurge allows, with room for a busy machine.
			limit := 2 * time.Minute

			t.Run("rollouts", func(t *testing.T) {
				l := startLoad(t, d, rate, conns)
				probe := startLagProbe(t, d)
				for i := range rollouts {
					took := d.rollout(t, limit)
					res.RolloutSeconds = append(res.RolloutSeconds, took.Seconds())
					t.Logf("rollout %d of %d: %.1fs (ended %s)", i+1, rollouts, took.Seconds(), time.Now().Format("15:04:05.0"))
				}
				d.waitAvailable(t, limit) // the last old pods gone, the load still on
				time.Sleep(2 * time.Second)
				inCluster, onNode := l.stop(t)
				res.Lag = probe.result(t)
				checkLag(t, res.Lag)
				res.Protected = []report{inCluster, onNode}
				if f := failures(inCluster, onNode); f != "" {
					t.Errorf("requests failed during %d rollouts: %s", rollouts, f)
				}
			})

			t.Run("delete-and-evict", func(t *testing.T) {
				l := startLoad(t, d, rate, conns)
				terminate(t, d, 0) // the default grace period; checks the timing too
				d.waitAvailable(t, limit)
				evictPair(t, d)
				d.waitAvailable(t, limit)
				time.Sleep(2 * time.Second)
				inCluster, onNode := l.stop(t)
				res.Faults = []report{inCluster, onNode}
				if f := failures(inCluster, onNode); f != "" {
					t.Errorf("requests failed through a pod deletion and an eviction: %s", f)
				}
			})

			t.Run("kill-9", func(t *testing.T) {
				l := startLoad(t, d, rate, conns)
				killContainer(t, d)
				time.Sleep(3 * time.Second)
				inCluster, onNode := l.stop(t)
				res.Killed = []report{inCluster, onNode}
				t.Logf("a container killed with SIGKILL cost %d requests in the cluster and %d on the node (no preStop, no drain: an abrupt crash)",
					inCluster.Failed, onNode.Failed)
			})

			t.Run("drain", func(t *testing.T) {
				if len(d.n.nodes) < 2 {
					t.Skip("one node: nowhere to drain to")
				}
				// A node drained, then (on three nodes) a second one, each
				// back in service before the next is drained: what a
				// cluster upgrade does to every node in turn.
				l := startLoad(t, d, rate, conns)
				nodes := d.drainable(t)
				for _, name := range nodes[:min(2, len(nodes))] {
					res.Drains = append(res.Drains, d.drain(t, name, limit))
				}
				time.Sleep(2 * time.Second)
				inCluster, onNode := l.stop(t)
				res.Drained = []report{inCluster, onNode}
				if f := failures(inCluster, onNode); f != "" {
					t.Errorf("requests failed through %d node drains: %s", len(res.Drains), f)
				}
			})

			// Measured once (a node cut off costs the same whatever the
			// protocol), by bench/node.sh: a measurement, not a claim, it
			// spends a minute waiting for the node lifecycle's grace
			// period, which CI's time budget does not have.
			if p.protocol == "http" && os.Getenv("ZDGEN_NODE_LOSS") != "" {
				t.Run("node-lost", func(t *testing.T) {
					if len(d.n.nodes) < 3 {
						t.Skip("fewer than three nodes: none to cut but the load client's")
					}
					// The drains left the pods where they could go: a pod of
					// the service is moved onto the node to cut, if need be.
					target := d.cuttable(t)
					d.settle(t)
					l := startLoad(t, d, rate, conns)
					loss := d.loseNode(t, target)
					inCluster, onNode := l.stop(t)
					loss.Lost, loss.Total = inCluster.Failed+onNode.Failed, inCluster.Total+onNode.Total
					res.NodeLost = &loss
					t.Logf("%s", loss)
					if loss.Lost == 0 {
						t.Errorf("a node cut off under load lost no request: the test did not cut it")
					}
				})
			}

			t.Run("naive", func(t *testing.T) {
				d.apply(t, true)
				d.waitAvailable(t, limit)
				d.settle(t)
				l := startLoad(t, d, rate, conns)
				for range 2 {
					d.rollout(t, limit)
				}
				d.waitAvailable(t, limit)
				time.Sleep(2 * time.Second)
				inCluster, onNode := l.stop(t)
				res.Naive = []report{inCluster, onNode}
				if inCluster.Failed+onNode.Failed == 0 {
					t.Errorf("2 rollouts without preStop and drain lost no request: the test cannot tell protected from unprotected")
				}
			})
		})
	}
}

// evictPair asks the Eviction API to evict two ready pods at once: the
// PodDisruptionBudget allows one disruption, so exactly one is granted and
// the other refused with 429 Too Many Requests.
func evictPair(t *testing.T, d *deployment) {
	t.Helper()
	start := time.Now()
	for {
		pdb, err := d.n.client.PolicyV1().PodDisruptionBudgets(d.ns).Get(ctx(t), d.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pdb.Status.ObservedGeneration >= pdb.Generation && pdb.Status.DisruptionsAllowed == 1 {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("the PodDisruptionBudget does not allow one disruption: %+v", pdb.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ready := d.ready(t)
	if len(ready) < 2 {
		t.Fatalf("%d ready pods, want at least 2 to evict", len(ready))
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = d.n.client.PolicyV1().Evictions(d.ns).Evict(ctx(t), &policyv1.Eviction{
				ObjectMeta: metav1.ObjectMeta{Name: ready[i].Name, Namespace: d.ns},
			})
		})
	}
	wg.Wait()
	granted, refused := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			granted++
		case apierrors.IsTooManyRequests(err):
			refused++
			t.Logf("eviction of %s refused: %v", ready[i].Name, err)
		default:
			t.Errorf("eviction of %s: %v", ready[i].Name, err)
		}
	}
	if granted != 1 || refused != 1 {
		t.Errorf("two concurrent evictions: %d granted, %d refused with 429; want 1 and 1", granted, refused)
	}
}

// killContainer kills one ready pod's service process with SIGKILL, as a
// crash would, and waits for the kubelet to restart the container and for
// the pod to be ready again.
func killContainer(t *testing.T, d *deployment) {
	t.Helper()
	pod := d.ready(t)[0]
	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	// The containerd of the pod's node knows the container.
	sock := d.n.byName(t, pod.Spec.NodeName).Containerd
	out, err := exec.Command("ctr", "--address", sock, "-n", "k8s.io", "tasks", "ls").Output()
	if err != nil {
		t.Fatalf("ctr tasks ls: %v", err)
	}
	pid := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == id {
			pid, _ = strconv.Atoi(f[1])
		}
	}
	if pid <= 1 {
		t.Fatalf("no process for container %s of pod %s in:\n%s", id, pod.Name, out)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	t.Logf("killed pod %s's service (pid %d) with SIGKILL", pod.Name, pid)
	start := time.Now()
	for {
		p, err := d.n.client.CoreV1().Pods(d.ns).Get(ctx(t), pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount >= 1 && podReady(p) {
			if term := cs.LastTerminationState.Terminated; term == nil || term.ExitCode != 137 {
				t.Errorf("the killed container's last state is %+v, want exit code 137", cs.LastTerminationState)
			}
			t.Logf("the kubelet restarted it; ready again %.1fs after the kill", time.Since(start).Seconds())
			return
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("pod %s not restarted and ready within 2 minutes: %+v", pod.Name, cs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rolloutResult is one protocol's figures, for the benchmark script.
type rolloutResult struct {
	Protocol       string    `json:"protocol"`
	Rate           int       `json:"ratePerClient"`
	Rollouts       int       `json:"rollouts"`
	RolloutSeconds []float64 `json:"rolloutSeconds"`
	Protected      []report  `json:"protected"` // in the cluster, on the node
	Faults         []report  `json:"faults"`
	Killed         []report  `json:"killed"`
	Naive          []report  `json:"naive"`

	Spread   map[string]int `json:"spread"` // replicas per node after the first rollout
	Lag      []nodeLag      `json:"lag"`
	Drains   []drainResult  `json:"drains"` // one after the other, under one load
	Drained  []report       `json:"drained"`
	NodeLost *nodeLoss      `json:"nodeLost,omitempty"`
}

func (r *rolloutResult) String() string {
	return fmt.Sprintf("%s at %d/s per client: %d rollouts", r.Protocol, r.Rate, r.Rollouts)
}
