package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/rehearse"
)

const example = "../../examples/http-greeter"

// fakeCluster is a fake clientset with a stand-in for the controllers and
// the kubelet: the Service gets a ClusterIP, the Deployment's pods run and
// become ready, each restart replaces them (bumping the generation as the
// API server does), the load Job's pod runs, and deleting the Job ends its
// log with a report. An eviction deletes the pod, and the stand-in
// replaces it; pods are placed on the test's nodes, if it made any, as a
// scheduler would: on the schedulable node the pod's node affinity
// allows with the fewest pods like it (the Deployment's anti-affinity),
// the first by name on a tie.
type fakeCluster struct {
	t  *testing.T
	cs *fake.Clientset
	c  *cluster

	mu        sync.Mutex
	restarts  int
	applied   []k8stesting.PatchActionImpl
	job       *batchv1.Job
	failed    int    // the report's failed requests
	exitCode  int32  // old pods' containers exit with this
	waiting   string // pods wait with this reason instead of running
	stall     bool   // restarts never complete
	deny      func(*authorizationv1.ResourceAttributes) bool
	onJob     func() // called when the Job is created
	logW      *io.PipeWriter
	logR      *io.PipeReader
	nsDeletes int
	dir       string   // the repository rehearsed; example unless set
	evicted   []string // the pods evicted, in order
}

func newFake(t *testing.T) *fakeCluster {
	f := &fakeCluster{t: t, cs: fake.NewClientset()}
	f.logR, f.logW = io.Pipe()
	f.c = &cluster{client: f.cs, context: "fake", poll: 5 * time.Millisecond, pullWait: 5 * time.Second, noPause: true, evictRetry: 5 * time.Millisecond,
		logs: func(ctx context.Context, ns, pod string) (io.ReadCloser, error) { return f.logR, nil }}
	f.cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		f.mu.Lock()
		deny := f.deny
		f.mu.Unlock()
		r.Status.Allowed = deny == nil || !deny(r.Spec.ResourceAttributes)
		if !r.Status.Allowed {
			r.Status.Reason = "no RBAC policy matched"
		}
		return true, r, nil
	})
	f.cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if p.PatchType == types.ApplyPatchType {
			f.mu.Lock()
			f.applied = append(f.applied, p)
			f.mu.Unlock()
			return false, nil, nil
		}
		// A restart: patch, then bump the generation as the API server does.
		handled, obj, err := k8stesting.ObjectReaction(f.cs.Tracker())(a)
		if err != nil {
			return handled, obj, err
		}
		d := obj.(*appsv1.Deployment)
		d.Generation++
		if err := f.cs.Tracker().Update(appsv1.SchemeGroupVersion.WithResource("deployments"), d, d.Namespace); err != nil {
			return true, nil, err
		}
		f.mu.Lock()
		f.restarts++
		f.mu.Unlock()
		return true, d, nil
	})
	for _, res := range []string{"services", "poddisruptionbudgets", "networkpolicies"} {
		f.cs.PrependReactor("patch", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
			f.mu.Lock()
			f.applied = append(f.applied, a.(k8stesting.PatchActionImpl))
			f.mu.Unlock()
			return false, nil, nil
		})
	}
	f.cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		f.mu.Lock()
		f.job = a.(k8stesting.CreateAction).GetObject().(*batchv1.Job).DeepCopy()
		on := f.onJob
		f.mu.Unlock()
		if on != nil {
			on()
		}
		return false, nil, nil
	})
	f.cs.PrependReactor("delete", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		f.mu.Lock()
		failed := f.failed
		f.mu.Unlock()
		go func() {
			// The client's report, as its pod prints it after SIGTERM.
			rep := fmt.Sprintf(`{"start":"2026-01-02T03:04:05Z","total":1000,"ok":%d,"failed":%d,"codes":{"200":%d},"connectionErrors":{},"latency":{"p50Ns":1000000,"p99Ns":2000000,"maxNs":3000000},"perSecond":[{"ok":500,"failed":0}]}`,
				1000-failed, failed, 1000-failed)
			_, _ = io.WriteString(f.logW, "loadtest: stopping\n"+rep+"\n")
			_ = f.logW.Close()
		}()
		return false, nil, nil
	})
	f.cs.PrependReactor("delete", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		f.mu.Lock()
		f.nsDeletes++
		f.mu.Unlock()
		return false, nil, nil
	})
	f.cs.PrependReactor("create", "pods/eviction", func(a k8stesting.Action) (bool, runtime.Object, error) {
		// The pod stops and is gone at once; the Deployment counts one
		// replica fewer until the stand-in replaces it. A reactor runs
		// under the clientset's lock: it uses the tracker.
		ns, name := a.GetNamespace(), a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction).Name
		p, err := f.cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), ns, name)
		if err != nil {
			return true, nil, err
		}
		f.stop(p.(*corev1.Pod))
		f.mu.Lock()
		f.evicted = append(f.evicted, name)
		f.mu.Unlock()
		gvr := appsv1.SchemeGroupVersion.WithResource("deployments")
		deps, err := f.cs.Tracker().List(gvr, appsv1.SchemeGroupVersion.WithKind("Deployment"), ns)
		if err != nil {
			return true, nil, err
		}
		for _, d := range deps.(*appsv1.DeploymentList).Items {
			d.Status.AvailableReplicas--
			_ = f.cs.Tracker().Update(gvr, &d, ns)
		}
		return true, nil, nil
	})
	return f
}

// stop ends the pod's container (with the exit code the test set) and
// deletes the pod.
func (f *fakeCluster) stop(p *corev1.Pod) {
	f.mu.Lock()
	exit := f.exitCode
	f.mu.Unlock()
	p = p.DeepCopy()
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: map[bool]string{true: "Completed", false: "Error"}[exit == 0]}}
	gvr := corev1.SchemeGroupVersion.WithResource("pods")
	_ = f.cs.Tracker().Update(gvr, p, p.Namespace)
	_ = f.cs.Tracker().Delete(gvr, p.Namespace, p.Name)
}

// addNodes makes nodes, each labelled with a hostname other than its
// name, as a cloud's nodes can be.
func (f *fakeCluster) addNodes(names ...string) {
	f.t.Helper()
	for _, name := range names {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: "host-" + name}}}
		if _, err := f.cs.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// create places the pod, as the scheduler would, and creates it.
func (f *fakeCluster) create(ctx context.Context, p *corev1.Pod, affinity *corev1.Affinity) {
	nodes, _ := f.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	pods, _ := f.cs.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{})
	held := map[string]int{}
	for _, q := range pods.Items {
		if labels.SelectorFromSet(p.Labels).Matches(labels.Set(q.Labels)) {
			held[q.Spec.NodeName]++
		}
	}
	var avoid []string // the only affinity the rehearsal sets: NotIn hostnames
	if affinity != nil {
		avoid = affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values
	}
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable || slices.Contains(avoid, n.Labels[corev1.LabelHostname]) {
			continue
		}
		if p.Spec.NodeName == "" || held[n.Name] < held[p.Spec.NodeName] || held[n.Name] == held[p.Spec.NodeName] && n.Name < p.Spec.NodeName {
			p.Spec.NodeName = n.Name
		}
	}
	_, _ = f.cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
}

// controllers is the stand-in's loop.
func (f *fakeCluster) controllers(ctx context.Context) {
	seq := 0
	for ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
		nss, err := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, n := range nss.Items {
			ns := n.Name
			svcs, _ := f.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			for _, s := range svcs.Items {
				if s.Spec.ClusterIP == "" {
					s.Spec.ClusterIP = "10.96.0.10"
					_, _ = f.cs.CoreV1().Services(ns).Update(ctx, &s, metav1.UpdateOptions{})
				}
			}
			deps, _ := f.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			for _, d := range deps.Items {
				f.mu.Lock()
				stall, waiting := f.stall && d.Generation > 0, f.waiting
				f.mu.Unlock()
				sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
				old, _ := f.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
				newPod := func() *corev1.Pod {
					seq++
					return pod(ns, fmt.Sprintf("%s-%d", d.Name, seq), d.Spec.Template.Labels, d.Spec.Template.Spec.Containers[0].Image, waiting)
				}
				rolledOut := d.Status.Replicas > 0 && d.Status.ObservedGeneration >= d.Generation
				if rolledOut {
					// Evicted pods are replaced, as the ReplicaSet
					// controller does.
					for range int(*d.Spec.Replicas) - len(old.Items) {
						f.create(ctx, newPod(), nil)
					}
				}
				if complete(&d) && d.Status.ObservedGeneration >= d.Generation {
					continue
				}
				if stall {
					continue
				}
				if waiting != "" && len(old.Items) > 0 {
					continue
				}
				if !rolledOut {
					for _, p := range old.Items {
						f.stop(&p)
					}
					for range *d.Spec.Replicas {
						f.create(ctx, newPod(), nil)
					}
				}
				if waiting != "" {
					continue
				}
				r := *d.Spec.Replicas
				d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: r, UpdatedReplicas: r, ReadyReplicas: r, AvailableReplicas: r,
					Conditions: []appsv1.DeploymentCondition{
						{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
						{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
					}}
				_, _ = f.cs.AppsV1().Deployments(ns).UpdateStatus(ctx, &d, metav1.UpdateOptions{})
			}
			f.mu.Lock()
			job := f.job
			f.mu.Unlock()
			if job != nil && job.Namespace == ns {
				jobPods, _ := f.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(job.Spec.Template.Labels).String()})
				if len(jobPods.Items) == 0 {
					img := job.Spec.Template.Spec.Containers[0].Image
					f.create(ctx, pod(ns, job.Name+"-x", job.Spec.Template.Labels, img, map[bool]string{true: "ErrImagePull"}[strings.Contains(img, "missing")]), job.Spec.Template.Spec.Affinity)
				}
			}
		}
	}
}

// pod is a running, ready pod, or one waiting with reason.
func pod(ns, name string, lbls map[string]string, image, waiting string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}
	started := true
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Image: image, Ready: true, Started: &started, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	if waiting != "" {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = nil
		p.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "c", Image: image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting, Message: "failed to pull image \"" + image + "\": not found"}}}
	}
	return p
}

func options() Options {
	return Options{Options: rehearse.Options{Rate: 500, Conns: 50, Rollouts: 2, WorkMS: 10},
		Namespace: "zdgen-rehearse-test", Image: "greeter:test", LoadImage: "greeter-loadtest:test"}
}

func (f *fakeCluster) run(ctx context.Context, o Options) (*rehearse.Result, error) {
	f.t.Helper()
	dir := example
	if f.dir != "" {
		dir = f.dir
	}
	w, err := load(dir, o)
	if err != nil {
		f.t.Fatal(err)
	}
	// The stand-in starts once the test has set it up.
	cctx, stop := context.WithCancel(context.Background())
	defer stop()
	go f.controllers(cctx)
	return run(ctx, f.c, w, o)
}

func (f *fakeCluster) namespaceGone(ns string) {
	f.t.Helper()
	_, err := f.cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		f.t.Errorf("namespace %s still there after the rehearsal (get: %v)", ns, err)
	}
}

func TestRunAppliesRollsAndCleansUp(t *testing.T) {
	f := newFake(t)
	o := options()
	res, err := f.run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Errorf("a rehearsal with no failed request and no problem did not pass: %v", res.Problems)
	}
	f.mu.Lock()
	restarts, applied, job := f.restarts, f.applied, f.job
	f.mu.Unlock()
	if restarts != o.Rollouts || len(res.Rollouts) != o.Rollouts {
		t.Errorf("%d restarts, %d rollouts recorded; want %d", restarts, len(res.Rollouts), o.Rollouts)
	}
	if len(applied) != 4 {
		t.Errorf("%d objects applied, want the kustomization's 4", len(applied))
	}
	for _, p := range applied {
		if p.PatchType != types.ApplyPatchType || p.PatchOptions.FieldManager != FieldManager || p.Namespace != o.Namespace {
			t.Errorf("%s %s applied with patch type %s, field manager %q, namespace %q; want server-side apply by %q in %s",
				p.Resource.Resource, p.Name, p.PatchType, p.PatchOptions.FieldManager, p.Namespace, FieldManager, o.Namespace)
		}
		if p.Resource.Resource == "deployments" && !strings.Contains(string(p.Patch), `"image":"greeter:test"`) {
			t.Errorf("the Deployment applied without --image: %s", p.Patch)
		}
	}
	if job == nil {
		t.Fatal("no load Job")
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "-url http://10.96.0.10:80/work?ms=10") || !strings.Contains(args, "-qps 500 -c 50 -duration 0 -json") {
		t.Errorf("the load Job's args do not call the Service's ClusterIP at the rate: %s", args)
	}
	if img := job.Spec.Template.Spec.Containers[0].Image; img != o.LoadImage {
		t.Errorf("load Job image %s, want %s", img, o.LoadImage)
	}
	if res.Load.Total != 1000 || res.Cluster == nil || res.Cluster.Namespace != o.Namespace {
		t.Errorf("result: load %+v, cluster %+v", res.Load, res.Cluster)
	}
	kinds := map[string]int{}
	for _, e := range res.Events {
		if e.Pod != "" {
			kinds[e.Kind]++
		}
	}
	// 3 replicas, replaced twice: 9 pods created and ready, 6 gone.
	if kinds[rehearse.EvCreated] != 9 || kinds[rehearse.EvReady] != 9 || kinds[rehearse.EvExited] < 6 {
		t.Errorf("pod lanes from the watch: %v; want 9 created, 9 ready, at least 6 exited", kinds)
	}
	f.namespaceGone(o.Namespace)
}

func TestFailedRequestsFail(t *testing.T) {
	f := newFake(t)
	f.failed = 7
	res, err := f.run(context.Background(), options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed() || res.Load.Failed != 7 {
		t.Errorf("7 failed requests: passed %v, failed %d", res.Passed(), res.Load.Failed)
	}
}

func TestKilledAtGraceDeadlineFails(t *testing.T) {
	f := newFake(t)
	f.exitCode = 137
	res, err := f.run(context.Background(), options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed() || len(res.Problems) == 0 || !strings.Contains(res.Problems[0], "killed at its grace deadline") {
		t.Errorf("containers exiting 137 (SIGKILL): passed %v, problems %q", res.Passed(), res.Problems)
	}
}

func TestMissingPermissionIsNamed(t *testing.T) {
	f := newFake(t)
	f.deny = func(a *authorizationv1.ResourceAttributes) bool {
		return a.Resource == "pods" && a.Subresource == "log"
	}
	_, err := f.run(context.Background(), options())
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "get pods/log in namespace zdgen-rehearse-test") {
		t.Fatalf("denied pods/log: got %v; want an input error naming get pods/log", err)
	}
	nss, _ := f.cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if len(nss.Items) != 0 {
		t.Errorf("a namespace was created before the permissions were known: %v", nss.Items)
	}
}

func TestImagePullFailureIsAnInputError(t *testing.T) {
	f := newFake(t)
	f.waiting = "ErrImagePull"
	_, err := f.run(context.Background(), options())
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "ErrImagePull") || !strings.Contains(err.Error(), "greeter:test") {
		t.Fatalf("pods waiting with ErrImagePull: got %v; want an input error naming the reason and image", err)
	}
	f.namespaceGone("zdgen-rehearse-test")
}

func TestLoadImagePullFailureIsAnInputError(t *testing.T) {
	f := newFake(t)
	o := options()
	o.LoadImage = "missing/loadtest:nope"
	_, err := f.run(context.Background(), o)
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "the load client cannot start") || !strings.Contains(err.Error(), "ErrImagePull") {
		t.Fatalf("load image not pullable: got %v", err)
	}
	f.namespaceGone(o.Namespace)
}

func TestRolloutTimeout(t *testing.T) {
	f := newFake(t)
	f.stall = true
	f.c.rolloutLimit = 50 * time.Millisecond
	_, err := f.run(context.Background(), options())
	if err == nil || spec.IsInputError(err) || !strings.Contains(err.Error(), "rollout 1: deployment greeter not rolled out within 50ms") {
		t.Fatalf("a rollout that never completes: got %v", err)
	}
	f.namespaceGone("zdgen-rehearse-test")
}

func TestProgressDeadlineExceeded(t *testing.T) {
	f := newFake(t)
	f.stall = true
	f.cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		_, obj, err := k8stesting.ObjectReaction(f.cs.Tracker())(a)
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment)
		if d.Generation > 0 { // after the first restart
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
				Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "greeter-2" has timed out progressing.`}}
		}
		return true, d, nil
	})
	_, err := f.run(context.Background(), options())
	if err == nil || !strings.Contains(err.Error(), "has timed out progressing") {
		t.Fatalf("ProgressDeadlineExceeded: got %v", err)
	}
}

func TestInterruptDeletesNamespace(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onJob = cancel // Ctrl-C while the load starts
	_, err := f.run(ctx, options())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted: got %v, want context.Canceled (exit 130)", err)
	}
	f.namespaceGone("zdgen-rehearse-test")
	if _, err := f.cs.BatchV1().Jobs("zdgen-rehearse-test").Get(context.Background(), loadJobName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the load Job survived the interruption: %v", err)
	}
}

func TestKeepLeavesNamespaceButStopsLoad(t *testing.T) {
	f := newFake(t)
	o := options()
	o.Keep = true
	if _, err := f.run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cs.CoreV1().Namespaces().Get(context.Background(), o.Namespace, metav1.GetOptions{}); err != nil {
		t.Errorf("--keep: namespace gone: %v", err)
	}
	if f.nsDeletes != 0 {
		t.Errorf("--keep: namespace deleted %d times", f.nsDeletes)
	}
	if _, err := f.cs.BatchV1().Jobs(o.Namespace).Get(context.Background(), loadJobName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("--keep: the load Job is left running: %v", err)
	}
}

func TestExistingNamespaceIsNotTouched(t *testing.T) {
	f := newFake(t)
	o := options()
	if _, err := f.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.run(context.Background(), o)
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("existing namespace: got %v", err)
	}
	if f.nsDeletes != 0 {
		t.Errorf("the user's namespace was deleted")
	}
}

func TestNaiveRemovesProtections(t *testing.T) {
	f := newFake(t)
	o := options()
	o.Naive = true
	res, err := f.run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	for _, p := range f.applied {
		if p.Resource.Resource == "deployments" {
			if err := json.Unmarshal(p.Patch, &d); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	drain := ""
	for _, e := range c.Env {
		if e.Name == "DRAIN_DELAY" {
			drain = e.Value
		}
	}
	if c.Lifecycle != nil || drain != "0s" || res.PreStopNs != 0 || res.DrainNs != 0 {
		t.Errorf("--naive applied lifecycle %+v, DRAIN_DELAY %q; result preStop %s drain %s", c.Lifecycle, drain, res.PreStopNs, res.DrainNs)
	}
}

func TestOptionsAreCheckedFirst(t *testing.T) {
	o := options()
	o.Image, o.Rate, o.PullPolicy, o.Namespace, o.Disrupt = "", -1, "Sometimes", "Not_A_Name", "reboot"
	lag := time.Second
	o.Lag = &lag
	_, err := Run(context.Background(), example, o)
	if !spec.IsInputError(err) {
		t.Fatalf("bad options: got %v, want an input error", err)
	}
	for _, want := range []string{"--rate -1", "--image: required", "--pull-policy \"Sometimes\"", "--namespace \"Not_A_Name\"", "--lag", "--disrupt \"reboot\": want rollout, drain or evict"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s:\n%v", want, err)
		}
	}
}

func TestWatcherJudgesContainers(t *testing.T) {
	tl := rehearse.NewTimeline(nil)
	w := &watcher{tl: tl, selector: labels.SelectorFromSet(map[string]string{"app": "x"}), seen: map[string]*podSeen{}}
	lbl := map[string]string{"app": "x"}
	term := func(name string, code int32, reason string, restarts int32) *corev1.Pod {
		p := pod("ns", name, lbl, "img", "")
		p.Status.ContainerStatuses[0].RestartCount = restarts
		if code >= 0 {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
		}
		return p
	}
	w.observe(term("clean", 0, "Completed", 0), true)
	if p := tl.Problems(); len(p) != 0 {
		t.Errorf("a clean exit is a problem: %q", p)
	}
	w.observe(term("killed", 137, "Error", 0), true)
	w.observe(term("restarted", -1, "", 1), false)
	w.observe(pod("ns", "other", map[string]string{"app": "loadtest"}, "img", ""), false)
	p := strings.Join(tl.Problems(), "\n")
	if !strings.Contains(p, "killed: container c killed at its grace deadline (exited with code 137 (Error))") ||
		!strings.Contains(p, "restarted: container c restarted (restart 1)") || strings.Contains(p, "other") {
		t.Errorf("problems:\n%s", p)
	}
}

func TestNamespaceLeftBehindFails(t *testing.T) {
	f := newFake(t)
	f.cs.PrependReactor("delete", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("namespaces"), "zdgen-rehearse-test", errors.New("denied"))
	})
	res, err := f.run(context.Background(), options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed() || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "kubectl delete namespace zdgen-rehearse-test") {
		t.Errorf("a namespace that could not be deleted: passed %v, problems %q; want a problem saying how to delete it", res.Passed(), res.Problems)
	}
}

// TestInterruptWhileCreatingNamespace: the server created the namespace,
// but Ctrl-C came before the answer: the namespace is deleted all the same.
func TestInterruptWhileCreatingNamespace(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.cs.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject()
		if err := f.cs.Tracker().Add(obj); err != nil {
			return true, nil, err
		}
		cancel()
		return true, nil, context.Canceled
	})
	_, err := f.run(ctx, options())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	f.namespaceGone("zdgen-rehearse-test")
}

// TestKeepInterruptedWhileCreatingJob: with --keep, a Job the server
// created as Ctrl-C came is deleted all the same.
func TestKeepInterruptedWhileCreatingJob(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if err := f.cs.Tracker().Add(a.(k8stesting.CreateAction).GetObject()); err != nil {
			return true, nil, err
		}
		cancel()
		return true, nil, context.Canceled
	})
	o := options()
	o.Keep = true
	if _, err := f.run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := f.cs.BatchV1().Jobs(o.Namespace).Get(context.Background(), loadJobName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the load Job survived: %v", err)
	}
}
