package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// clusterResult is the part of `zdgen rehearse --cluster --json` the test
// reads.
type clusterResult struct {
	Passed bool `json:"passed"`
	Load   struct {
		Total   int           `json:"total"`
		Failed  int           `json:"failed"`
		Elapsed time.Duration `json:"elapsedNs"`
	} `json:"load"`
	Rollouts []struct {
		DurationNs time.Duration `json:"durationNs"`
	} `json:"rollouts"`
	Disruption *struct {
		Kind   string `json:"kind"`
		Rounds []struct {
			Node            string        `json:"node"`
			DurationNs      time.Duration `json:"durationNs"`
			Evictions       int           `json:"evictions"`
			TooManyRequests int           `json:"tooManyRequests"`
		} `json:"rounds"`
	} `json:"disruption"`
	Problems []string `json:"problems"`
	Cluster  struct {
		Namespace string `json:"namespace"`
	} `json:"cluster"`
}

// rehearseCluster runs `zdgen rehearse --cluster` on the node and returns
// its exit code, stdout and stderr, and how long it took.
func rehearseCluster(t *testing.T, n *node, svc *service, args ...string) (int, []byte, string, time.Duration) {
	t.Helper()
	checkGuard(t, n) // nothing may leave the machine: checked before every load
	all := append([]string{"rehearse", "--cluster", svc.dir, "--kubeconfig", n.kubeconfig}, args...)
	cmd := exec.Command(zdgen, all...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("zdgen %s: %v", strings.Join(all, " "), err)
		}
		code = ee.ExitCode()
	}
	// The end of the progress output: the verdict and its figures.
	lines := strings.Split(strings.TrimRight(errOut.String(), "\n"), "\n")
	t.Logf("zdgen %s: exit %d in %s\n%s", strings.Join(all, " "), code, took.Round(time.Second), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	return code, out.Bytes(), errOut.String(), took
}

// namespaceGone fails the test if ns is still there.
func namespaceGone(t *testing.T, n *node, ns string) {
	t.Helper()
	_, err := n.client.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s is still there after the rehearsal (get: %v)", ns, err)
	}
}

// TestNodeRehearseCluster runs `zdgen rehearse --cluster` against the real
// cluster: two rollouts at 500 requests a second of the gRPC example pass
// with no failed request; so does a node drain of either example (--disrupt drain: the node
// with the most of the service's pods cordoned, its pods evicted, the node
// uncordoned); --naive with two drains fails with failed requests; an
// image the nodes do not have ends with exit 2 naming the kubelet's reason
// within a minute (HTTP only). Each run's namespace is gone afterwards, and no node is
// left cordoned. The gRPC service is
// autoscaled (2-4) behind a gateway route: its Deployment has no replicas,
// so the rehearsal runs minReplicas pods, and leaves the autoscaler and
// the route out (the node has neither a metrics server nor a gateway),
// with the gateway's 10 s propagation lag in its preStop. It is generated
// with an organisation overlay (testdata/platform-overlay: labels and
// annotations on every object, a patch raising the container's memory
// limit), so the rehearsal applies the objects as kustomize builds them;
// the pods the protected run starts must carry all three.
func TestNodeRehearseCluster(t *testing.T) {
	n := requireNode(t)
	const rate = 500
	for _, p := range []struct {
		protocol, name string
		flags          []string
	}{{"http", "greeter", nil}, {"grpc", "worker", []string{"--autoscale", "2-4", "--expose", "gateway", "--overlay", platformOverlay(t)}}} {
		t.Run(p.protocol, func(t *testing.T) {
			svc := generate(t, p.name, p.protocol, p.flags...)
			images := []string{"--image", svc.image, "--load-image", svc.loadImage}
			load := []string{"--rate", "500", "--conns", "50", "--rollouts", "2", "--json"}

			// The rollout rehearsal on the overlaid, autoscaled service;
			// both services are drained below.
			if p.protocol == "grpc" {
				t.Run("protected", func(t *testing.T) {
					ns := "rehearse-cluster-" + p.protocol
					overlaid := slices.Contains(p.flags, "--overlay")
					var pods func() []corev1.Pod
					if overlaid {
						pods = watchPods(t, n, ns)
					}
					code, out, errOut, _ := rehearseCluster(t, n, svc, append(append(images, load...), "--namespace", ns)...)
					if overlaid {
						overlayReachedPods(t, pods(), p.name)
					}
					var res clusterResult
					if err := json.Unmarshal(out, &res); err != nil {
						t.Fatalf("exit %d, no JSON result: %v\n%s\n%s", code, err, out, errOut)
					}
					if code != 0 || !res.Passed || res.Load.Failed != 0 || len(res.Problems) > 0 {
						t.Errorf("exit %d, passed %v, %d of %d failed, problems %q; want exit 0 and nothing failed", code, res.Passed, res.Load.Failed, res.Load.Total, res.Problems)
					}
					if got := float64(res.Load.Total) / res.Load.Elapsed.Seconds(); got < 0.9*rate {
						t.Errorf("%.0f requests/s, want about %d", got, rate)
					}
					t.Logf("protected: %d requests, %d failed, %d rollouts", res.Load.Total, res.Load.Failed, len(res.Rollouts))
					if len(res.Rollouts) != 2 || res.Cluster.Namespace != ns {
						t.Errorf("%d rollouts in namespace %q; want 2 in %s", len(res.Rollouts), res.Cluster.Namespace, ns)
					}
					namespaceGone(t, n, ns)
				})
			}

			t.Run("drain", func(t *testing.T) {
				ns := "rehearse-cluster-drain-" + p.protocol
				code, out, errOut, _ := rehearseCluster(t, n, svc, append(append(images, "--rate", "500", "--conns", "50", "--json"),
					"--disrupt", "drain", "--rollouts", "1", "--namespace", ns)...)
				var res clusterResult
				if err := json.Unmarshal(out, &res); err != nil {
					t.Fatalf("exit %d, no JSON result: %v\n%s\n%s", code, err, out, errOut)
				}
				if code != 0 || !res.Passed || res.Load.Failed != 0 || len(res.Problems) > 0 {
					t.Errorf("exit %d, passed %v, %d of %d failed, problems %q; want exit 0 and nothing failed", code, res.Passed, res.Load.Failed, res.Load.Total, res.Problems)
				}
				if res.Disruption == nil || res.Disruption.Kind != "drain" || len(res.Disruption.Rounds) != 1 {
					t.Fatalf("disruption %+v; want one drain", res.Disruption)
				}
				r := res.Disruption.Rounds[0]
				t.Logf("drain: %d requests, %d failed; node %s drained in %s, %d evictions, %d refused with 429",
					res.Load.Total, res.Load.Failed, r.Node, r.DurationNs.Round(100*time.Millisecond), r.Evictions, r.TooManyRequests)
				if r.Node == "" || r.Evictions < 1 {
					t.Errorf("drained %q with %d evictions; want a node and at least one eviction", r.Node, r.Evictions)
				}
				namespaceGone(t, n, ns)
				noneCordoned(t, n)
			})

			t.Run("naive-drain", func(t *testing.T) {
				ns := "rehearse-cluster-naive-" + p.protocol
				// Twice the protected runs' rate: two naive drains of the
				// HTTP service lost as few as 4 requests at 500/s, too
				// close to none for a test that must see some.
				code, out, errOut, _ := rehearseCluster(t, n, svc, append(append(images, "--rate", "1000", "--conns", "100", "--json"),
					"--naive", "--disrupt", "drain", "--rollouts", "2", "--namespace", ns)...)
				var res clusterResult
				if err := json.Unmarshal(out, &res); err != nil {
					t.Fatalf("exit %d, no JSON result: %v\n%s\n%s", code, err, out, errOut)
				}
				t.Logf("naive, two drains: %d requests, %d failed", res.Load.Total, res.Load.Failed)
				if code != 1 || res.Load.Failed == 0 {
					t.Errorf("--naive --disrupt drain: exit %d with %d of %d failed; want exit 1 with failed requests", code, res.Load.Failed, res.Load.Total)
				}
				namespaceGone(t, n, ns)
				noneCordoned(t, n)
			})

			// The pull failure is the kubelet's, whatever the protocol.
			if p.protocol == "http" {
				t.Run("missing-image", func(t *testing.T) {
					ns := "rehearse-cluster-noimage-" + p.protocol
					missing := "localhost/zdgen-node-test/does-not-exist:0"
					code, _, errOut, took := rehearseCluster(t, n, svc, "--image", missing, "--load-image", svc.loadImage,
						"--pull-policy", "Never", "--namespace", ns)
					if code != 2 || !strings.Contains(errOut, "ErrImageNeverPull") || !strings.Contains(errOut, missing) {
						t.Errorf("an image the node does not have: exit %d, %q; want 2 naming ErrImageNeverPull and the image", code, errOut)
					}
					// The verdict, and the namespace's deletion (its pods never
					// started), within a minute.
					if took > 60*time.Second {
						t.Errorf("took %s; want the image problem reported within a minute", took.Round(time.Second))
					}
					namespaceGone(t, n, ns)
				})
			}
		})
	}
}

// noneCordoned fails the test if a node is left unschedulable.
func noneCordoned(t *testing.T, n *node) {
	t.Helper()
	list, err := n.client.CoreV1().Nodes().List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range list.Items {
		if nd.Spec.Unschedulable {
			t.Errorf("node %s is left cordoned", nd.Name)
		}
	}
}

// platformOverlay is the node tests' organisation overlay, by absolute
// path (zdgen runs in another directory).
func platformOverlay(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "platform-overlay"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// watchPods lists the pods of namespace ns every 250 ms until the returned
// function is called, which returns every pod seen (the last state of
// each), so that a test can judge the pods a rehearsal ran after it has
// deleted them.
func watchPods(t *testing.T, n *node, ns string) func() []corev1.Pod {
	t.Helper()
	c, cancel := context.WithCancel(ctx(t))
	var (
		mu   sync.Mutex
		seen = map[string]corev1.Pod{}
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if list, err := n.client.CoreV1().Pods(ns).List(c, metav1.ListOptions{}); err == nil {
				mu.Lock()
				for _, p := range list.Items {
					seen[p.Name] = p
				}
				mu.Unlock()
			}
			select {
			case <-c.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() []corev1.Pod {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		var pods []corev1.Pod
		for _, p := range seen {
			pods = append(pods, p)
		}
		return pods
	}
}

// overlayReachedPods fails the test unless the pods of the service name
// whose containers the kubelet started carried what
// testdata/platform-overlay's component adds: its label and annotation,
// and the memory limit its patch sets on the service's container. This is
// the component as the rehearsal applied it, not as a file says it.
func overlayReachedPods(t *testing.T, pods []corev1.Pod, name string) {
	t.Helper()
	want := resource.MustParse("192Mi")
	var service, wrong int
	for _, p := range pods {
		if p.Labels["app.kubernetes.io/name"] != name || len(p.Spec.Containers) == 0 || !kubeletRan(p) {
			continue
		}
		service++
		c := p.Spec.Containers[0]
		limit := c.Resources.Limits[corev1.ResourceMemory]
		if p.Labels["platform.example/team"] != "node-tests" || p.Annotations["platform.example/owner"] != "zdgen" || limit.Cmp(want) != 0 {
			wrong++
			t.Errorf("pod %s: label platform.example/team %q, annotation platform.example/owner %q, container %s memory limit %s; want node-tests, zdgen and %s from the overlay's component",
				p.Name, p.Labels["platform.example/team"], p.Annotations["platform.example/owner"], c.Name, limit.String(), want.String())
		}
	}
	if service == 0 {
		t.Errorf("saw no started pod labelled app.kubernetes.io/name=%s among %d; want the rehearsal's pods", name, len(pods))
		return
	}
	if wrong > 0 {
		return
	}
	t.Logf("%d started pods of %s carried the overlay's label, annotation and memory limit", service, name)
}

// kubeletRan reports whether the kubelet created one of p's containers:
// its status then carries the container runtime's ID.
func kubeletRan(p corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.ContainerID != "" {
			return true
		}
	}
	return false
}
