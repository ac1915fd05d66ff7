package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/rehearse"
	"github.com/zdgen/zdgen/workload"
)

// loadJobName is the load client's Job, in the rehearsal's namespace.
const loadJobName = "zdgen-loadtest"

// loadJob is the repository's load-test client running in the cluster
// until its Job is deleted; its log, followed, ends with its report.
type loadJob struct {
	c       *cluster
	ns, pod string
	node    string // where its pod runs: never a node to drain
	log     chan logResult
	deleted bool
}

type logResult struct {
	out []byte
	err error
}

// loadGrace is the load client's pod's grace period: after SIGTERM it
// waits for its calls in flight (at most its 15 s call timeout), then
// reports.
const loadGrace = 45

// startLoad starts the load client as a Job calling the Service's
// ClusterIP (no DNS needed), its pod kept off the node avoid (unless
// nil), and returns once its pod runs and its log is followed. An image
// the node cannot pull is an input error.
func startLoad(ctx context.Context, c *cluster, wat *watcher, a *applied, w *workload.Workload, o Options, avoid *corev1.Node) (*loadJob, error) {
	ns := wat.ns
	var svc *corev1.Service
	// The API server allocates the cluster IP as it creates the Service;
	// a short wait covers whatever does it later.
	for end := time.Now().Add(30 * time.Second); ; {
		var err error
		svc, err = c.client.CoreV1().Services(ns).Get(ctx, a.service.Name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("service %s: %w", a.service.Name, err)
		}
		if svc.Spec.ClusterIP != "" || time.Now().After(end) {
			break
		}
		if err := c.sleep(ctx); err != nil {
			return nil, err
		}
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone || len(svc.Spec.Ports) == 0 {
		return nil, fmt.Errorf("service %s has no cluster IP and port to call (clusterIP %q)", svc.Name, svc.Spec.ClusterIP)
	}
	addr := net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(svc.Spec.Ports[0].Port)))
	job := loadJobSpec(ns, addr, a, w, o)
	if avoid != nil {
		job.Spec.Template.Spec.Affinity = keepOff(avoid)
	}
	// Returned from here on, also on an interruption that may have come
	// after the server created the Job: the cleanup deletes it.
	l := &loadJob{c: c, ns: ns, log: make(chan logResult, 1)}
	if _, err := c.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
		if ctx.Err() != nil {
			return l, ctx.Err()
		}
		return nil, fmt.Errorf("creating the load client's Job: %w", err)
	}
	sel := labels.SelectorFromSet(job.Spec.Template.Labels)
	end := time.Now().Add(c.pullWait)
	for l.pod == "" {
		pods, _ := wat.pods.Pods(ns).List(sel)
		for _, p := range pods {
			switch p.Status.Phase {
			case corev1.PodRunning:
				l.pod, l.node = p.Name, p.Spec.NodeName
			case corev1.PodFailed, corev1.PodSucceeded:
				return l, fmt.Errorf("the load client's pod %s ended before the rollouts or drains: %s", p.Name, terminated(p))
			}
		}
		if l.pod != "" {
			break
		}
		if err := wat.stuck(sel, "the load client"); err != nil {
			return l, err
		}
		if time.Now().After(end) {
			return l, fmt.Errorf("the load client's pod is not running after %s: %s", c.pullWait, wat.waiting(sel))
		}
		if err := c.sleep(ctx); err != nil {
			return l, err
		}
	}
	stream, err := c.logs(ctx, ns, l.pod)
	if err != nil {
		if ctx.Err() != nil {
			return l, ctx.Err()
		}
		return l, fmt.Errorf("following the load client's log: %w", err)
	}
	go func() {
		defer stream.Close()
		out, err := io.ReadAll(io.LimitReader(stream, maxLog))
		l.log <- logResult{out, err}
	}()
	return l, nil
}

func terminated(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("%s: %s", exitText(t), t.Message)
		}
	}
	return string(p.Status.Phase)
}

// loadJobSpec is the load client's Job: calling addr at the rate, run
// once (no retries), with the restricted Pod Security profile's settings.
func loadJobSpec(ns, addr string, a *applied, w *workload.Workload, o Options) *batchv1.Job {
	args := []string{"-qps", strconv.FormatFloat(o.Rate, 'f', -1, 64), "-c", strconv.Itoa(o.Conns), "-duration", "0", "-json"}
	if w.Answers.Protocol == spec.ProtocolGRPC {
		args = append(args, "-addr", addr, "-ms", strconv.Itoa(o.WorkMS))
	} else {
		args = append(args, "-url", fmt.Sprintf("http://%s/work?ms=%d", addr, o.WorkMS))
	}
	pull := a.deployment.Spec.Template.Spec.Containers[0].ImagePullPolicy
	podLabels := map[string]string{"app.kubernetes.io/name": loadJobName, "app.kubernetes.io/managed-by": ManagedBy}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: loadJobName, Namespace: ns, Labels: podLabels},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptrTo(int32(0)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					AutomountServiceAccountToken:  ptrTo(false),
					TerminationGracePeriodSeconds: ptrTo(int64(loadGrace)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptrTo(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            "loadtest",
						Image:           o.LoadImage,
						ImagePullPolicy: pull,
						Args:            args,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptrTo(false),
							ReadOnlyRootFilesystem:   ptrTo(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	return job
}

// keepOff is a node affinity that keeps a pod off the node: by its
// kubernetes.io/hostname label, which the kubelet sets, or by its name on
// a node without one.
func keepOff(node *corev1.Node) *corev1.Affinity {
	var term corev1.NodeSelectorTerm
	if host, ok := node.Labels[corev1.LabelHostname]; ok {
		term.MatchExpressions = []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpNotIn, Values: []string{host}}}
	} else {
		term.MatchFields = []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{node.Name}}}
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}},
	}}
}

// stop deletes the Job: its pod gets SIGTERM, the client waits for its
// calls in flight and prints its report, and the followed log ends.
func (l *loadJob) stop(ctx context.Context) (*rehearse.LoadReport, error) {
	select {
	case r := <-l.log:
		return nil, fmt.Errorf("the load client stopped before the rehearsal's end: %v\n%s", r.err, tail(r.out))
	default:
	}
	if err := l.delete(ctx); err != nil {
		return nil, err
	}
	var r logResult
	t := time.NewTimer(loadGrace*time.Second + 30*time.Second)
	defer t.Stop()
	select {
	case r = <-l.log:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("the load client's log did not end within %ds of its Job's deletion", loadGrace+30)
	}
	rep, err := parseReport(r.out)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// delete deletes the Job and, in the background, its pod.
func (l *loadJob) delete(ctx context.Context) error {
	if l.deleted {
		return nil
	}
	bg := metav1.DeletePropagationBackground
	err := l.c.client.BatchV1().Jobs(l.ns).Delete(ctx, loadJobName, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("deleting the load client's Job: %w", err)
	}
	l.deleted = true
	return nil
}

// parseReport finds the load client's JSON report in its log: the first
// line that starts a JSON object with a start time and requests.
func parseReport(out []byte) (*rehearse.LoadReport, error) {
	for off := 0; off < len(out); {
		line := out[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")) {
			var rep rehearse.LoadReport
			if err := json.NewDecoder(bytes.NewReader(out[off:])).Decode(&rep); err == nil && !rep.Start.IsZero() {
				return &rep, nil
			}
		}
		off += len(line)
	}
	return nil, fmt.Errorf("no report in the load client's log:\n%s", tail(out))
}

// tail is the end of a log, for a message.
func tail(b []byte) string {
	const most = 2000
	if len(b) > most {
		b = b[len(b)-most:]
	}
	return string(bytes.TrimSpace(b))
}
