package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/zdgen/zdgen/rehearse"
)

// watcher turns the namespace's pods and events into the rehearsal's
// timeline: lanes from the real pod phases and readiness, and a problem
// for every container killed at its grace deadline, exited with an error
// or restarted.
type watcher struct {
	tl       *rehearse.Timeline
	selector labels.Selector // the Deployment's pods
	pods     listersv1.PodLister
	ns       string

	mu   sync.Mutex
	seen map[string]*podSeen
}

type podSeen struct {
	started, ready, terminating, exited bool
	restarts                            int32
}

// watch starts informers on the namespace's pods and events and returns
// once they have listed what is there. They stop with ctx.
func watch(ctx context.Context, c *cluster, ns string, selector labels.Selector, tl *rehearse.Timeline) (*watcher, error) {
	f := informers.NewSharedInformerFactoryWithOptions(c.client, 0, informers.WithNamespace(ns))
	w := &watcher{tl: tl, selector: selector, ns: ns, seen: map[string]*podSeen{}}
	pi := f.Core().V1().Pods()
	w.pods = pi.Lister()
	if _, err := pi.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(obj, false) },
		UpdateFunc: func(_, obj any) { w.observe(obj, false) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			w.observe(obj, true)
		},
	}); err != nil {
		return nil, err
	}
	ei := f.Core().V1().Events().Informer()
	if _, err := ei.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.event(obj) },
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(*corev1.Event)
			n, ok2 := obj.(*corev1.Event)
			if ok1 && ok2 && o.Count != n.Count {
				w.event(obj) // a repeated event
			}
		},
	}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for typ, ok := range f.WaitForCacheSync(sctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("watching %v in namespace %s: not listed within 30s", typ, ns)
		}
	}
	return w, nil
}

func (w *watcher) event(obj any) {
	e, ok := obj.(*corev1.Event)
	if !ok {
		return
	}
	pod := ""
	if e.InvolvedObject.Kind == "Pod" {
		pod = e.InvolvedObject.Name
	}
	detail := fmt.Sprintf("%s %s: %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, strings.TrimSpace(e.Message))
	if pod != "" {
		detail = fmt.Sprintf("%s: %s", e.Reason, strings.TrimSpace(e.Message))
	}
	if e.Type == corev1.EventTypeWarning {
		detail = "warning: " + detail
	}
	w.tl.Add(pod, rehearse.EvKube, detail)
}

// observe records what changed in a pod of the Deployment.
func (w *watcher) observe(obj any, gone bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok || !w.selector.Matches(labels.Set(p.Labels)) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen[p.Name]
	if s == nil {
		s = &podSeen{}
		w.seen[p.Name] = s
		w.tl.Add(p.Name, rehearse.EvCreated, "pod created")
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Started != nil && *cs.Started && !s.started {
			s.started = true
			w.tl.Add(p.Name, rehearse.EvStarted, "container "+cs.Name+" started (startup probe passed)")
		}
		if cs.RestartCount > s.restarts {
			s.restarts = cs.RestartCount
			last := ""
			if t := cs.LastTerminationState.Terminated; t != nil {
				last = fmt.Sprintf(": it had %s", exitText(t))
			}
			w.tl.Add(p.Name, rehearse.EvProblem, fmt.Sprintf("container %s restarted (restart %d)%s", cs.Name, cs.RestartCount, last))
		}
	}
	if ready := podReady(p); ready != s.ready {
		s.ready = ready
		switch {
		case ready:
			w.tl.Add(p.Name, rehearse.EvReady, "Ready: the pod joins the Service's endpoints")
		case p.DeletionTimestamp != nil:
			w.tl.Add(p.Name, rehearse.EvUnready, "not Ready while terminating")
		default:
			w.tl.Add(p.Name, rehearse.EvUnready, "not Ready: the readiness probe failed")
		}
	}
	if p.DeletionTimestamp != nil && !s.terminating {
		s.terminating = true
		grace := ""
		if g := p.DeletionGracePeriodSeconds; g != nil {
			grace = fmt.Sprintf(" (grace %ds)", *g)
		}
		w.tl.Add(p.Name, rehearse.EvTerminating, "deleted: endpoints removal and preStop start"+grace)
	}
	for _, cs := range p.Status.ContainerStatuses {
		t := cs.State.Terminated
		if t == nil || s.exited {
			continue
		}
		s.exited = true
		w.tl.Add(p.Name, rehearse.EvExited, "container "+cs.Name+" "+exitText(t))
		switch {
		case killed(t):
			w.tl.Add(p.Name, rehearse.EvProblem, fmt.Sprintf("container %s killed at its grace deadline (%s): work still running was cut off", cs.Name, exitText(t)))
		case t.ExitCode != 0:
			w.tl.Add(p.Name, rehearse.EvProblem, fmt.Sprintf("container %s %s", cs.Name, exitText(t)))
		}
	}
	if gone {
		if !s.exited {
			s.exited = true
			w.tl.Add(p.Name, rehearse.EvExited, "pod gone")
		}
	}
}

// killed says whether a container ended by SIGKILL: the kubelet's at the
// end of terminationGracePeriodSeconds (exit 137, reason Error), or the
// kernel's when it ran out of memory.
func killed(t *corev1.ContainerStateTerminated) bool {
	return t.ExitCode == 137 || t.Signal == 9 || t.Reason == "OOMKilled"
}

func exitText(t *corev1.ContainerStateTerminated) string {
	s := fmt.Sprintf("exited with code %d", t.ExitCode)
	if t.Reason != "" {
		s += " (" + t.Reason + ")"
	}
	return s
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// counts says how many of the Deployment's pods are in each state.
func (w *watcher) counts() (ready, starting, terminating int) {
	pods, _ := w.pods.Pods(w.ns).List(w.selector)
	for _, p := range pods {
		switch {
		case p.DeletionTimestamp != nil:
			terminating++
		case podReady(p):
			ready++
		default:
			starting++
		}
	}
	return
}

// pullReasons are the kubelet's reasons for a container that cannot start
// because of its image or its configuration: waiting longer cannot help.
var pullReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true,
	"InvalidImageName": true, "ImageInspectError": true, "RegistryUnavailable": true,
	"CreateContainerConfigError": true, "CreateContainerError": true,
}

// stuck returns an input error naming the kubelet's reason when a pod
// matching sel cannot start its container (an image the node cannot
// pull), and an error when its container keeps crashing.
func (w *watcher) stuck(sel labels.Selector, what string) error {
	pods, _ := w.pods.Pods(w.ns).List(sel)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			wt := cs.State.Waiting
			if wt == nil {
				continue
			}
			if pullReasons[wt.Reason] {
				return &rehearse.InputError{Err: fmt.Errorf("%s cannot start: pod %s: %s: %s (image %s)", what, p.Name, wt.Reason, strings.TrimSpace(wt.Message), cs.Image)}
			}
			if wt.Reason == "CrashLoopBackOff" {
				return fmt.Errorf("%s keeps crashing: pod %s: %s: %s", what, p.Name, wt.Reason, strings.TrimSpace(wt.Message))
			}
		}
	}
	return nil
}

// waiting describes why pods matching sel are not running, for a
// timeout's message.
func (w *watcher) waiting(sel labels.Selector) string {
	pods, _ := w.pods.Pods(w.ns).List(sel)
	var parts []string
	for _, p := range pods {
		why := string(p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
				why = cs.State.Waiting.Reason
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				why = "unschedulable: " + c.Message
			}
		}
		parts = append(parts, p.Name+" "+why)
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "no pods"
	}
	return strings.Join(parts, ", ")
}
