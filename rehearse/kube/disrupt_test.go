package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	listersv1 "k8s.io/client-go/listers/core/v1"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/rehearse"
)

func drainOptions(rounds int) Options {
	o := options()
	o.Disrupt, o.Rollouts = DisruptDrain, rounds
	return o
}

// refuseEvictions makes the API server refuse the next n evictions with
// 429, as it does while the PodDisruptionBudget allows no disruption (n
// < 0: every one).
func (f *fakeCluster) refuseEvictions(n int) {
	var mu sync.Mutex
	f.cs.PrependReactor("create", "pods/eviction", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if n == 0 {
			return false, nil, nil
		}
		n--
		err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: "DisruptionBudget", Message: "The disruption budget greeter needs 2 healthy pods and has 2 currently"})
		return true, nil, err
	})
}

// schedulable says whether the node takes pods, and fails the test if it
// still carries the rehearsal's cordon mark.
func (f *fakeCluster) schedulable(name string) bool {
	f.t.Helper()
	n, err := f.cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, ok := n.Annotations[cordonedFor]; ok {
		f.t.Errorf("node %s still carries the mark %s", name, cordonedFor)
	}
	return !n.Spec.Unschedulable
}

func (f *fakeCluster) loadPod() *corev1.Pod {
	f.t.Helper()
	pods, err := f.cs.CoreV1().Pods("zdgen-rehearse-test").List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + loadJobName})
	if err != nil || len(pods.Items) != 1 {
		f.t.Fatalf("the load client's pods: %v (%v)", pods, err)
	}
	return &pods.Items[0]
}

func kinds(events []rehearse.Event) map[string]int {
	m := map[string]int{}
	for _, e := range events {
		m[e.Kind]++
	}
	return m
}

// TestDrain: two drains on three nodes. The first node is the first by
// name of those holding most pods (one each: node-a), chosen before the
// load client starts, which is kept off it by its hostname label (and
// goes to node-b). Its pod is evicted, not restarted, and replaced on
// node-b, which then holds most pods; but the second drain chooses among
// the nodes but the load client's: node-c. Each node is cordoned, and
// uncordoned after; the JSON result carries each drain's node,
// evictions, 429s and duration.
func TestDrain(t *testing.T) {
	f := newFake(t)
	f.addNodes("node-a", "node-b", "node-c")
	res, err := f.run(context.Background(), drainOptions(2))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() || f.restarts != 0 || len(res.Rollouts) != 0 {
		t.Errorf("passed %v (%v), %d restarts, %d rollouts; want a pass with no rollout", res.Passed(), res.Problems, f.restarts, len(res.Rollouts))
	}
	aff := f.job.Spec.Template.Spec.Affinity
	if aff == nil || aff.NodeAffinity == nil || aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatalf("the load Job has no required node affinity: %+v", aff)
	}
	want := corev1.NodeSelectorRequirement{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"host-node-a"}}
	if terms := aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(terms) != 1 || len(terms[0].MatchExpressions) != 1 ||
		fmt.Sprint(terms[0].MatchExpressions[0]) != fmt.Sprint(want) {
		t.Errorf("the load Job's node affinity is %+v, want %+v", terms, want)
	}
	if n := f.loadPod().Spec.NodeName; n != "node-b" {
		t.Fatalf("the load client runs on %q; the stand-in's scheduler should have chosen node-b", n)
	}
	d := res.Disruption
	if d == nil || d.Kind != DisruptDrain || len(d.Rounds) != 2 {
		t.Fatalf("disruption %+v, want 2 drains", d)
	}
	if d.Rounds[0].Node != "node-a" || d.Rounds[1].Node != "node-c" {
		t.Errorf("drained %s then %s with the load client on node-b; want node-a, then node-c", d.Rounds[0].Node, d.Rounds[1].Node)
	}
	evicted := 0
	for _, r := range d.Rounds {
		if r.Evictions == 0 || r.TooManyRequests != 0 || r.DurationNs <= 0 || r.StartNs <= res.LoadStartNs {
			t.Errorf("drain %+v: want evictions, no 429, a duration, under load", r)
		}
		evicted += r.Evictions
	}
	if evicted != len(f.evicted) {
		t.Errorf("%d evictions recorded, %d made", evicted, len(f.evicted))
	}
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		if !f.schedulable(n) {
			t.Errorf("node %s left cordoned", n)
		}
	}
	k := kinds(res.Events)
	if k[rehearse.EvCordon] != 2 || k[rehearse.EvUncordon] != 2 || k[rehearse.EvEvicted] != evicted || k[rehearse.EvGone] != evicted || k[rehearse.EvDisruptDone] != 2 {
		t.Errorf("events %v; want 2 cordons and uncordons, %d evictions and pods gone", k, evicted)
	}
	var js struct {
		Disruption struct {
			Kind   string
			Rounds []map[string]any
		}
	}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, &js); err != nil || js.Disruption.Kind != "drain" || len(js.Disruption.Rounds) != 2 {
		t.Fatalf("JSON result: %s (%v)", b, err)
	}
	for _, key := range []string{"node", "startNs", "durationNs", "evictions", "tooManyRequests"} {
		if _, ok := js.Disruption.Rounds[0][key]; !ok {
			t.Errorf("the JSON result's drain has no %q: %v", key, js.Disruption.Rounds[0])
		}
	}
	f.namespaceGone("zdgen-rehearse-test")
}

// TestDrainRetriesRefusedEvictions: evictions the budget refuses (429)
// are asked again until accepted, and counted; two nodes are enough for
// one drain, naive or not.
func TestDrainRetriesRefusedEvictions(t *testing.T) {
	for _, naive := range []bool{false, true} {
		f := newFake(t)
		f.addNodes("node-a", "node-b")
		f.refuseEvictions(3)
		o := drainOptions(1)
		o.Naive = naive
		res, err := f.run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Passed() || res.Disruption == nil || len(res.Disruption.Rounds) != 1 {
			t.Fatalf("naive %v: passed %v (%v), disruption %+v", naive, res.Passed(), res.Problems, res.Disruption)
		}
		r := res.Disruption.Rounds[0]
		if r.TooManyRequests != 3 || r.Evictions != 2 {
			t.Errorf("naive %v: drain %+v; want 3 refusals counted and node-a's 2 pods evicted", naive, r)
		}
		refused := 0
		for _, e := range res.Events {
			if e.Kind == rehearse.EvEvictRefused {
				refused++
				if !strings.Contains(e.Detail, "The disruption budget greeter needs 2 healthy pods") {
					t.Errorf("a refusal says %q, not the budget's words", e.Detail)
				}
			}
		}
		if refused != 3 || !f.schedulable("node-a") {
			t.Errorf("naive %v: %d refusals in the timeline, want 3; node-a schedulable %v", naive, refused, f.schedulable("node-a"))
		}
	}
}

// TestDrainBlockedByBudget: a budget that never allows the eviction ends
// the drain at the rollout limit with an error naming it, and the node
// is uncordoned.
func TestDrainBlockedByBudget(t *testing.T) {
	f := newFake(t)
	f.addNodes("node-a", "node-b")
	f.refuseEvictions(-1)
	f.c.rolloutLimit = 50 * time.Millisecond
	_, err := f.run(context.Background(), drainOptions(1))
	if err == nil || spec.IsInputError(err) || !strings.Contains(err.Error(), "drain 1 of 1: pod greeter-") ||
		!strings.Contains(err.Error(), "not evicted within 50ms (the rollout limit): refused") || !strings.Contains(err.Error(), "by the PodDisruptionBudget greeter") {
		t.Fatalf("a budget that never allows: got %v", err)
	}
	if !f.schedulable("node-a") {
		t.Error("node-a left cordoned")
	}
	f.namespaceGone("zdgen-rehearse-test")
}

// TestDrainAlwaysUncordons: the node is uncordoned after an error and
// after an interruption, with --keep or not.
func TestDrainAlwaysUncordons(t *testing.T) {
	for _, keep := range []bool{false, true} {
		for _, interrupt := range []bool{false, true} {
			f := newFake(t)
			f.addNodes("node-a", "node-b")
			ctx, cancel := context.WithCancel(context.Background())
			f.cs.PrependReactor("create", "pods/eviction", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if interrupt {
					cancel()
					return true, nil, context.Canceled
				}
				return true, nil, apierrors.NewInternalError(errors.New("etcd is away"))
			})
			o := drainOptions(1)
			o.Keep = keep
			_, err := f.run(ctx, o)
			cancel()
			switch {
			case interrupt && !errors.Is(err, context.Canceled):
				t.Errorf("keep %v, interrupted: got %v, want context.Canceled", keep, err)
			case !interrupt && (err == nil || !strings.Contains(err.Error(), "evicting pod greeter-") || !strings.Contains(err.Error(), "etcd is away")):
				t.Errorf("keep %v, eviction failing: got %v", keep, err)
			}
			if !f.schedulable("node-a") {
				t.Errorf("keep %v, interrupted %v: node-a left cordoned", keep, interrupt)
			}
		}
	}
}

// TestInterruptedCordon: Ctrl-C as the rehearsal cordons a node. If the
// API server applied the cordon before the answer was lost, the cleanup
// uncordons the node; if someone else cordoned it instead, the node is
// left as it is. A node someone else cordoned beforehand is never chosen
// nor touched.
func TestInterruptedCordon(t *testing.T) {
	for _, applied := range []bool{true, false} {
		f := newFake(t)
		f.addNodes("node-a", "node-b", "node-c")
		// Through the tracker: a reactor runs under the clientset's lock.
		cordon := func(name string) {
			gvr := corev1.SchemeGroupVersion.WithResource("nodes")
			n, err := f.cs.Tracker().Get(gvr, "", name)
			if err != nil {
				t.Error(err)
				return
			}
			n.(*corev1.Node).Spec.Unschedulable = true
			if err := f.cs.Tracker().Update(gvr, n, ""); err != nil {
				t.Error(err)
			}
		}
		cordon("node-c")
		ctx, cancel := context.WithCancel(context.Background())
		f.cs.PrependReactor("patch", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
			p := a.(k8stesting.PatchActionImpl)
			if !strings.Contains(string(p.Patch), `"unschedulable":true`) {
				return false, nil, nil
			}
			if applied {
				if _, _, err := k8stesting.ObjectReaction(f.cs.Tracker())(a); err != nil {
					t.Error(err)
				}
			} else {
				cordon(p.Name) // someone else
			}
			cancel()
			return true, nil, context.Canceled
		})
		_, err := f.run(ctx, drainOptions(1))
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if got := f.schedulable("node-a"); got != applied {
			t.Errorf("cordon applied %v: node-a schedulable %v afterwards, want %v", applied, got, applied)
		}
		if f.schedulable("node-c") {
			t.Error("node-c, which someone else cordoned, was uncordoned")
		}
		pods, _ := f.cs.CoreV1().Pods("zdgen-rehearse-test").List(context.Background(), metav1.ListOptions{})
		for _, p := range pods.Items {
			if p.Spec.NodeName == "node-c" {
				t.Errorf("pod %s placed on the cordoned node-c", p.Name)
			}
		}
	}
}

// TestDrainNeedsNodes: a drain with nowhere for the pods to go, or a
// second drain that could only choose an empty node, is refused before
// anything is created. Cordoned nodes and nodes with a taint the pods do
// not tolerate do not count.
func TestDrainNeedsNodes(t *testing.T) {
	for _, tc := range []struct {
		rounds int
		want   string
	}{
		{1, "--disrupt drain: the cluster has 1 node(s) the service's pods can be scheduled on (node-a;"},
		{2, "--disrupt drain --rollouts 2: with two nodes the service's pods can be scheduled on (node-a, node-b), only one drain moves pods"},
	} {
		f := newFake(t)
		f.addNodes("node-a", "cordoned", "tainted")
		if tc.rounds == 2 {
			f.addNodes("node-b")
		}
		ctx := context.Background()
		n, _ := f.cs.CoreV1().Nodes().Get(ctx, "cordoned", metav1.GetOptions{})
		n.Spec.Unschedulable = true
		_, _ = f.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		n, _ = f.cs.CoreV1().Nodes().Get(ctx, "tainted", metav1.GetOptions{})
		n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
		_, _ = f.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		_, err := f.run(ctx, drainOptions(tc.rounds))
		if !spec.IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v; want an input error saying %q", err, tc.want)
		}
		if nss, _ := f.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); len(nss.Items) != 0 {
			t.Errorf("a namespace was created before the drain was refused")
		}
	}
}

func TestChooseNode(t *testing.T) {
	nodes := []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}, {ObjectMeta: metav1.ObjectMeta{Name: "c"}}}
	on := func(names ...string) []*corev1.Pod {
		var pods []*corev1.Pod
		for _, n := range names {
			pods = append(pods, &corev1.Pod{Spec: corev1.PodSpec{NodeName: n}})
		}
		return pods
	}
	for _, tc := range []struct {
		pods   []*corev1.Pod
		except string
		want   string
	}{
		{on("a", "b", "b", "c"), "", "b"},      // most pods
		{on("c", "b", "c", "b"), "", "b"},      // a tie: the first by name
		{on("a", "b", "b", "c"), "b", "a"},     // not the load client's
		{on("b", "b", "gone"), "b", ""},        // no other node holds a pod
		{on("x", "x", "x", "a"), "", "a"},      // x cannot take pods: not listed
		{nil, "", ""},                          // no pods at all
		{on("c", "c", "a", "a"), "a", "c"},     // the most but the load client's
		{on("a", "c", "c", "b", "b"), "", "b"}, // a tie among several
	} {
		got := ""
		if n := chooseNode(nodes, tc.pods, tc.except); n != nil {
			got = n.Name
		}
		if got != tc.want {
			t.Errorf("pods on %v, except %q: chose %q, want %q", tc.pods, tc.except, got, tc.want)
		}
	}
}

func TestTakesPods(t *testing.T) {
	noSchedule := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		node        corev1.Node
		tolerations []corev1.Toleration
		want        bool
	}{
		{corev1.Node{}, nil, true},
		{corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}}, nil, false},
		{corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{noSchedule}}}, nil, false},
		{corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}}}}, nil, false},
		{corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectPreferNoSchedule}}}}, nil, true},
		{corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{noSchedule}}}, []corev1.Toleration{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}, true},
		{corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{noSchedule}}}, []corev1.Toleration{{Key: "dedicated", Value: "tpu"}}, false},
		{corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{noSchedule}}}, []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, true},
	} {
		if got := takesPods(&tc.node, tc.tolerations); got != tc.want {
			t.Errorf("node %+v with tolerations %+v: takes pods %v, want %v", tc.node.Spec, tc.tolerations, got, tc.want)
		}
	}
}

// TestEvictEach: --disrupt evict evicts every pod in turn, each gone and
// replaced before the next, with no node cordoned and no node permission
// asked for.
func TestEvictEach(t *testing.T) {
	f := newFake(t)
	f.deny = func(a *authorizationv1.ResourceAttributes) bool { return a.Resource == "nodes" }
	f.refuseEvictions(1)
	o := options()
	o.Disrupt = DisruptEvict
	res, err := f.run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() || f.restarts != 0 {
		t.Errorf("passed %v (%v), %d restarts", res.Passed(), res.Problems, f.restarts)
	}
	d := res.Disruption
	if d == nil || d.Kind != DisruptEvict || len(d.Rounds) != o.Rollouts {
		t.Fatalf("disruption %+v, want %d passes of evictions", d, o.Rollouts)
	}
	if r := d.Rounds[0]; r.Node != "" || r.Evictions != 3 || r.TooManyRequests != 1 || d.Rounds[1].Evictions != 3 {
		t.Errorf("passes %+v; want each of the 3 pods evicted each time, the 429 counted", d.Rounds)
	}
	// One at a time: each evicted pod is gone, and the Deployment whole
	// again, before the next eviction.
	var order []string
	for _, e := range res.Events {
		switch e.Kind {
		case rehearse.EvEvicted, rehearse.EvGone:
			order = append(order, e.Kind+" "+e.Pod)
		case rehearse.EvCordon:
			t.Errorf("a node was cordoned: %s", e.Detail)
		}
	}
	for i := 0; i+1 < len(order); i += 2 {
		ev, gone := strings.TrimPrefix(order[i], "evicted "), strings.TrimPrefix(order[i+1], "gone ")
		if ev != gone || ev == order[i] || gone == order[i+1] {
			t.Errorf("evictions not one at a time: %q", order)
			break
		}
	}
	if len(order) != 12 {
		t.Errorf("%d evictions and pods gone in the timeline, want 12: %q", len(order), order)
	}
}

// TestDisruptionPermissionsAreNamed: a drain needs the nodes (cluster
// scope) and evictions, evict only evictions; a missing one is named
// before anything is created. Rollouts need neither.
func TestDisruptionPermissionsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		disrupt string
		deny    func(*authorizationv1.ResourceAttributes) bool
		want    string
	}{
		{DisruptDrain, func(a *authorizationv1.ResourceAttributes) bool { return a.Resource == "nodes" && a.Verb == "patch" }, "needs to patch nodes cluster-wide"},
		{DisruptDrain, func(a *authorizationv1.ResourceAttributes) bool { return a.Resource == "nodes" && a.Verb == "list" }, "needs to list nodes cluster-wide"},
		{DisruptEvict, func(a *authorizationv1.ResourceAttributes) bool { return a.Subresource == "eviction" }, "needs to create pods/eviction in namespace zdgen-rehearse-test"},
		{DisruptRollout, func(a *authorizationv1.ResourceAttributes) bool {
			return a.Subresource == "eviction" || a.Resource == "nodes"
		}, ""},
	} {
		f := newFake(t)
		f.addNodes("node-a", "node-b")
		f.deny = tc.deny
		o := drainOptions(1)
		o.Disrupt = tc.disrupt
		_, err := f.run(context.Background(), o)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s without the nodes and evictions: %v", tc.disrupt, err)
			}
			continue
		}
		if !spec.IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v; want an input error: %s", tc.disrupt, err, tc.want)
		}
		if nss, _ := f.cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); len(nss.Items) != 0 {
			t.Errorf("%s: a namespace was created before the permissions were known", tc.disrupt)
		}
	}
}

// TestPickNodeWaitsForTheWatch: the Deployment can be available before
// the watch's cache holds its pods (more so on a loaded machine); the
// choice of the node to drain waits for them, and for Ctrl-C.
func TestPickNodeWaitsForTheWatch(t *testing.T) {
	f := newFake(t)
	f.addNodes("node-a", "node-b")
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	r := &rehearsal{c: f.c, ns: "ns", sel: labels.Everything(), a: &applied{deployment: &appsv1.Deployment{}},
		wat: &watcher{pods: listersv1.NewPodLister(pods), ns: "ns"}}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = pods.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "greeter-1", Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "node-b"}})
	}()
	n, err := r.pickNode(context.Background(), "")
	if err != nil || n.Name != "node-b" {
		t.Fatalf("got %v, %v; want node-b once the watch sees its pod", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := r.pickNode(ctx, "node-b"); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted while no other node holds a pod: %v, want context.Canceled", err)
	}
}
