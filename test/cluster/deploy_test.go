package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// deployment is a service applied into a namespace of its own.
type deployment struct {
	n    *node
	svc  *service
	ns   string
	name string // the Deployment's and Service's name
}

// naivePatch takes away what the manifests and the service do for zero
// downtime, as `zdgen rehearse --naive` does: no preStop hook, and no
// in-process drain, so the service stops accepting at SIGTERM while
// kube-proxy still sends it new connections.
const naivePatch = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  template:
    spec:
      containers:
        - name: %[1]s
          lifecycle: null
          env:
            - name: DRAIN_DELAY
              value: "0s"
`

// deploy applies the service's deploy/k8s with `kubectl apply -k` into a
// new namespace, with only the image reference set (and, when naive, the
// protections removed), and waits for the Deployment to be available.
func deploy(t *testing.T, svc *service, ns string, naive bool) *deployment {
	t.Helper()
	n := requireNode(t)
	d := &deployment{n: n, svc: svc, ns: ns, name: svc.name}
	_, err := n.client.CoreV1().Namespaces().Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"zdgen.test/node": "true"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	t.Cleanup(func() { d.deleteNamespace(t) })
	d.apply(t, naive)
	d.waitAvailable(t, 3*time.Minute)
	d.settle(t)
	return d
}

// propagationLag is the generated services' default propagation lag: how
// long the timing model allows an endpoint change to reach every proxy.
const propagationLag = 5 * time.Second

// settle waits until the Service's EndpointSlices list every replica as
// ready, then for the propagation lag, so that kube-proxy has programmed
// the Service before load starts: a Deployment is available as soon as its
// pods are ready, before the proxies know of them, and a client that
// started then would be refused for want of endpoints (not a rollout's
// fault).
func (d *deployment) settle(t *testing.T) {
	t.Helper()
	dep := d.get(t)
	want := 1
	if dep.Spec.Replicas != nil {
		want = int(*dep.Spec.Replicas)
	}
	start := time.Now()
	for {
		slices, err := d.n.client.DiscoveryV1().EndpointSlices(d.ns).List(ctx(t), metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=" + d.name,
		})
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				}
			}
		}
		if ready == want {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("the Service %s lists %d ready endpoints, want %d", d.name, ready, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(propagationLag)
}

// apply applies deploy/k8s through a kustomization beside it that sets the
// image (and, when naive, patches the protections away).
func (d *deployment) apply(t *testing.T, naive bool) {
	t.Helper()
	variant := "protected"
	if naive {
		variant = "naive"
	}
	overlay := filepath.Join(d.svc.dir, ".node", variant)
	if err := os.MkdirAll(overlay, 0o755); err != nil {
		t.Fatal(err)
	}
	newName, newTag, _ := strings.Cut(d.svc.image, ":")
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../deploy/k8s\nimages:\n  - name: %s\n    newName: %s\n    newTag: %s\n", d.svc.name, newName, newTag)
	if naive {
		k += "patches:\n  - path: naive.yaml\n"
		if err := os.WriteFile(filepath.Join(overlay, "naive.yaml"), fmt.Appendf(nil, naivePatch, d.name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	d.n.kubectlRun(t, d.svc.dir, "apply", "-n", d.ns, "-k", overlay)
}

func (d *deployment) deleteNamespace(t *testing.T) {
	if os.Getenv("ZDGEN_NODE_KEEP") != "" {
		return
	}
	err := d.n.client.CoreV1().Namespaces().Delete(ctx(t), d.ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting namespace %s: %v", d.ns, err)
	}
}

func (d *deployment) get(t *testing.T) *appsv1.Deployment {
	t.Helper()
	dep, err := d.n.client.AppsV1().Deployments(d.ns).Get(ctx(t), d.name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting deployment %s/%s: %v", d.ns, d.name, err)
	}
	return dep
}

// complete says whether a rollout is complete as `kubectl rollout status`
// judges it: the controller has seen the latest spec, every replica is
// updated and available, and no old replica is left.
func complete(dep *appsv1.Deployment) bool {
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	s := dep.Status
	return s.ObservedGeneration >= dep.Generation && s.UpdatedReplicas == want &&
		s.Replicas == want && s.AvailableReplicas == want && s.UnavailableReplicas == 0
}

// waitAvailable waits for the rollout in progress to complete and for no
// pod of the Deployment to be left terminating.
func (d *deployment) waitAvailable(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		dep := d.get(t)
		if complete(dep) && len(d.terminating(t)) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			d.describe(t)
			t.Fatalf("deployment %s/%s not available within %s: %+v", d.ns, d.name, limit, dep.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rollout restarts the Deployment as `kubectl rollout restart` does (a
// changed pod-template annotation) and waits for the rollout to complete,
// not for the old pods to finish terminating: rollouts follow each other
// as a pipeline's would. It returns the rollout's duration.
func (d *deployment) rollout(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`,
		start.Format(time.RFC3339Nano))
	_, err := d.n.client.AppsV1().Deployments(d.ns).Patch(ctx(t), d.name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("restarting %s: %v", d.name, err)
	}
	for {
		dep := d.get(t)
		if dep.Generation > 0 && complete(dep) && dep.Status.ObservedGeneration >= dep.Generation {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			d.describe(t)
			t.Fatalf("rollout of %s not complete within %s: %+v", d.name, limit, dep.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pods lists the Deployment's pods, terminating ones included.
func (d *deployment) pods(t *testing.T) []corev1.Pod {
	t.Helper()
	dep := d.get(t)
	list, err := d.n.client.CoreV1().Pods(d.ns).List(ctx(t), metav1.ListOptions{
		LabelSelector: labels.Set(dep.Spec.Selector.MatchLabels).String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func (d *deployment) terminating(t *testing.T) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range d.pods(t) {
		if p.DeletionTimestamp != nil {
			out = append(out, p)
		}
	}
	return out
}

// ready lists the pods that are Ready and not terminating.
func (d *deployment) ready(t *testing.T) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range d.pods(t) {
		if p.DeletionTimestamp == nil && podReady(&p) {
			out = append(out, p)
		}
	}
	return out
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// service returns the ClusterIP and port of the Service.
func (d *deployment) service(t *testing.T) (string, int32) {
	t.Helper()
	s, err := d.n.client.CoreV1().Services(d.ns).Get(ctx(t), d.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.ClusterIP, s.Spec.Ports[0].Port
}

// events lists the namespace's events, oldest first, as text.
func (d *deployment) events(t *testing.T) []corev1.Event {
	t.Helper()
	list, err := d.n.client.CoreV1().Events(d.ns).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// describe logs the state of the namespace, after a failure.
func (d *deployment) describe(t *testing.T) {
	t.Helper()
	for _, p := range d.pods(t) {
		t.Logf("pod %s: phase %s ready %v deleting %v %+v", p.Name, p.Status.Phase, podReady(&p), p.DeletionTimestamp != nil, p.Status.ContainerStatuses)
	}
	for _, e := range d.events(t) {
		t.Logf("event %s %s/%s: %s %s", e.LastTimestamp.Format(time.TimeOnly), e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
}
