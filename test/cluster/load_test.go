package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zdgen/zdgen/rehearse"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// report is the load client's JSON report, as the rehearsal reads it.
type report struct {
	rehearse.LoadReport
}

// failedSeconds lists the seconds (as wall-clock times) in which requests
// failed, with their counts: to line failures up with the rollouts.
func (r report) failedSeconds() string {
	var b strings.Builder
	for i, s := range r.PerSecond {
		if s.Failed > 0 {
			fmt.Fprintf(&b, "%s:%d ", r.Start.Add(time.Duration(i)*time.Second).Format("15:04:05"), s.Failed)
		}
	}
	return b.String()
}

func (r report) String() string {
	return fmt.Sprintf("%d requests, %d failed (codes %v, connection errors %v), %.0f/s, p50 %s p99 %s max %s",
		r.Total, r.Failed, r.Codes, r.Errors, float64(r.Total)/r.Elapsed.Seconds(),
		r.Latency.P50.Round(100*time.Microsecond), r.Latency.P99.Round(100*time.Microsecond), r.Latency.Max.Round(time.Millisecond))
}

// parseReport reads the JSON report from the load client's output (a pod's
// log may carry other lines before it).
func parseReport(out []byte) (report, error) {
	var r report
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return r, fmt.Errorf("no JSON report in the load client's output:\n%s", out)
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&r); err != nil {
		return r, fmt.Errorf("the load client's report: %v\n%s", err, out)
	}
	if r.Start.IsZero() || r.Total == 0 {
		return r, fmt.Errorf("the load client's report has no start or no requests:\n%s", out)
	}
	return r, nil
}

// loadArgs are the load client's arguments to call the Service at rate
// over conns connections until stopped, with a 10 ms Work per request.
func loadArgs(svc *service, addr string, rate, conns int) []string {
	args := []string{"-qps", fmt.Sprint(rate), "-c", fmt.Sprint(conns), "-duration", "0", "-json"}
	if svc.protocol == "grpc" {
		return append(args, "-addr", addr, "-ms", "10")
	}
	return append(args, "-url", "http://"+addr+"/work?ms=10")
}

// load is the generated load client running against the Service's
// ClusterIP twice, from two nodes: inside the cluster as a Job (from the
// image's loadtest stage) on the job node, and on the first node itself
// (kube-proxy's OUTPUT rules translate the ClusterIP there too). On the
// three-node cluster the two go through different kube-proxies, one in
// each mode.
type load struct {
	d       *deployment
	job     string
	jobLog  chan []byte
	node    *exec.Cmd
	nodeOut *bytes.Buffer
}

// startLoad starts both clients at rate each and returns once both send.
func startLoad(t *testing.T, d *deployment, rate, conns int) *load {
	t.Helper()
	checkGuard(t, d.n) // nothing may leave the machine: checked before every load
	ip, port := d.service(t)
	addr := fmt.Sprintf("%s:%d", ip, port)
	l := &load{d: d, job: "loadtest-" + fmt.Sprint(time.Now().UnixNano()%1e6), jobLog: make(chan []byte, 1)}
	jobNode := d.n.jobNode().Name

	// In the cluster.
	noToken := false
	backoff := int32(0)
	nonRoot := true
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: l.job},
		Spec: batchv1.JobSpec{
			BackoffLimit: &backoff,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"job": l.job}},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: &noToken,
					SecurityContext:              &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot},
					// The tests drain and cut other nodes than this one.
					NodeSelector: map[string]string{corev1.LabelHostname: jobNode},
					Containers: []corev1.Container{{
						Name:            "loadtest",
						Image:           d.svc.loadImage,
						ImagePullPolicy: corev1.PullNever,
						Args:            loadArgs(d.svc, addr, rate, conns),
					}},
				},
			},
		},
	}
	if _, err := d.n.client.BatchV1().Jobs(d.ns).Create(ctx(t), job, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the load Job: %v", err)
	}
	pod := l.waitJobPod(t)
	stream, err := d.n.client.CoreV1().Pods(d.ns).GetLogs(pod, &corev1.PodLogOptions{Follow: true}).Stream(ctx(t))
	if err != nil {
		t.Fatalf("following the load Job's log: %v", err)
	}
	go func() { l.jobLog <- readAll(stream) }()

	// On the node.
	l.nodeOut = new(bytes.Buffer)
	l.node = exec.Command(d.svc.loadBin, loadArgs(d.svc, addr, rate, conns)...)
	l.node.Env = append(os.Environ(), "NO_PROXY=*", "HTTP_PROXY=", "HTTPS_PROXY=")
	l.node.Stdout = l.nodeOut
	l.node.Stderr = os.Stderr
	if err := l.node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.node.Process.Kill() })
	time.Sleep(2 * time.Second) // both under way before anything changes
	return l
}

// jobNode is the node the in-cluster load client runs on: the second
// node, if there is one, so that the two clients enter through different
// nodes' rules. Tests that drain or cut a node leave this one alone.
func (n *node) jobNode() clusterNode {
	if len(n.nodes) > 1 {
		return n.nodes[1]
	}
	return n.nodes[0]
}

// waitJobPod waits for the Job's pod to run and returns its name.
func (l *load) waitJobPod(t *testing.T) string {
	t.Helper()
	start := time.Now()
	for {
		list, err := l.d.n.client.CoreV1().Pods(l.d.ns).List(ctx(t), metav1.ListOptions{LabelSelector: "job=" + l.job})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			switch p.Status.Phase {
			case corev1.PodRunning:
				return p.Name
			case corev1.PodFailed, corev1.PodSucceeded:
				t.Fatalf("the load Job's pod ended before the load began: %+v", p.Status)
			}
			for _, c := range p.Status.ContainerStatuses {
				if w := c.State.Waiting; w != nil && w.Reason != "ContainerCreating" {
					t.Fatalf("the load Job's pod cannot start: %s: %s", w.Reason, w.Message)
				}
			}
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("the load Job's pod not running within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop ends both clients (SIGINT on the node; deleting the Job, whose pod
// gets SIGTERM, in the cluster: each then waits for its requests in flight
// and reports) and returns the two reports: cluster, node.
func (l *load) stop(t *testing.T) (inCluster, onNode report) {
	t.Helper()
	_ = l.node.Process.Signal(syscall.SIGINT)
	bg := metav1.DeletePropagationBackground
	if err := l.d.n.client.BatchV1().Jobs(l.d.ns).Delete(ctx(t), l.job, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatalf("deleting the load Job: %v", err)
	}
	// Exit 1 means a request failed: the report says which.
	if err := l.node.Wait(); err != nil && l.node.ProcessState.ExitCode() != 1 {
		t.Fatalf("the load client on the node: %v", err)
	}
	var err error
	if onNode, err = parseReport(l.nodeOut.Bytes()); err != nil {
		t.Fatalf("on the node: %v", err)
	}
	select {
	case out := <-l.jobLog:
		if inCluster, err = parseReport(out); err != nil {
			t.Fatalf("in the cluster: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("the load Job's log did not end within a minute of its deletion")
	}
	t.Logf("load in the cluster: %s", inCluster)
	t.Logf("load on the node:    %s", onNode)
	return inCluster, onNode
}

// failures describes the failed requests of reports, or "" if none failed.
func failures(reports ...report) string {
	var b strings.Builder
	for _, r := range reports {
		if r.Failed > 0 {
			fmt.Fprintf(&b, "%d of %d failed (codes %v, connection errors %v, first: %s; by second: %s); ", r.Failed, r.Total, r.Codes, r.Errors, r.FirstError, r.failedSeconds())
		}
	}
	return b.String()
}

// The load client's report is read from a pod's log, which may carry other
// lines first; runs without a node.
func TestParseReport(t *testing.T) {
	out := []byte("a line from the runtime\n" +
		`{"start":"2026-12-02T07:00:00Z","elapsedNs":2000000000,"total":1000,"ok":998,"failed":2,` +
		`"codes":{"200":998},"connectionErrors":{"refused":2},"perSecond":[{"ok":500},{"ok":498,"failed":2}]}` + "\n")
	r, err := parseReport(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 1000 || r.Failed != 2 || r.Errors["refused"] != 2 || len(r.PerSecond) != 2 {
		t.Errorf("read %+v", r.LoadReport)
	}
	if got := r.failedSeconds(); got != "07:00:01:2 " {
		t.Errorf("failed seconds %q, want 07:00:01:2", got)
	}
	if _, err := parseReport([]byte("no report\n")); err == nil {
		t.Error("output without a report was accepted")
	}
}
