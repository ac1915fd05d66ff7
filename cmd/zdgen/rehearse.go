package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/rehearse"
	"github.com/zdgen/zdgen/rehearse/kube"
)

type rehearseOptions struct {
	rate     float64
	conns    int
	rollouts int
	replicas int
	lag      time.Duration
	lagSet   bool // else the answers' propagation-lag
	workMS   int
	naive    bool
	report   string
	json     bool
	cluster  clusterFlags
}

// errRehearsalFailed makes the command exit 1 after it has printed why.
var errRehearsalFailed = errors.New("rehearsal failed")

// errRehearsalInterrupted is a rehearsal stopped by Ctrl-C or SIGTERM
// (exit 130): said as such, whichever step it cut short. Its processes,
// or its namespace on a cluster, are gone by then (--keep aside); it
// writes nothing in the repository.
var errRehearsalInterrupted = errors.New("interrupted")

func newRehearseCmd(e env) *cobra.Command {
	var o rehearseOptions
	cmd := &cobra.Command{
		Use:   "rehearse [DIR]",
		Short: "Prove zero downtime: rolling updates of the service on 127.0.0.1 under load",
		Long: `Rehearse rolling updates of a generated service (DIR, default .) without a
cluster. zdgen builds the service and its load-test client, runs the
Deployment's replicas (a HorizontalPodAutoscaler's minReplicas when the
Deployment leaves the count to it) as processes on 127.0.0.1, and rolls them as
Kubernetes would, with the numbers in deploy/k8s: maxSurge and
maxUnavailable, the startup, readiness and liveness probes, the preStop
hook and terminationGracePeriodSeconds. A TCP proxy stands in for the
Service and, like kube-proxy, learns of endpoint changes only after the
propagation lag. The load-test client sends --rate requests a second over
--conns keep-alive connections through it, for --rollouts rollouts.

--naive runs the same rehearsal with the protections off (no preStop hook,
DRAIN_DELAY=0, so keep-alive connections are not closed politely), to show
what they buy.

--cluster runs the same rehearsal on a real cluster (the kubeconfig's, as
kubectl finds it; --kubeconfig, --context): zdgen applies deploy/k8s
(server-side, field manager zdgen; a HorizontalPodAutoscaler is left
out and the Deployment runs its minReplicas, so that the rehearsal's own
load cannot scale the pods mid-rollout) into a namespace of its own with the
service image --image, runs the load client (--load-image, the
Dockerfile's loadtest stage) as a Job calling the Service's ClusterIP,
restarts the Deployment --rollouts times as kubectl rollout restart does,
each waited for by its conditions, and deletes the namespace at the end,
also on Ctrl-C (--keep leaves it). It checks its permissions first
(SelfSubjectAccessReview): create, get and delete namespaces; patch and
get deployments and services; patch poddisruptionbudgets and
networkpolicies; create and delete jobs; get, list and watch pods; get
pods/log; list and watch events. An image the node cannot pull ends it
with the kubelet's reason (ErrImagePull, ErrImageNeverPull, ...).

--disrupt says how the pods are disrupted under load, --rollouts times:
rollout, the restarts above; drain, what kubectl drain does to the
service, no other workload touched: it cordons the node holding most of
its pods (ties: by name; the load client is kept off it, and later
drains choose among the nodes but the load client's), evicts the pods
there through the Eviction API (a 429 from the PodDisruptionBudget asked
again every 5 s, and counted), waits until they are gone and the
Deployment is available again, and uncordons the node, always, also on
an error, Ctrl-C or with --keep; evict, every pod evicted in turn, each
waited for, no node cordoned. A drain needs two nodes the pods can be
scheduled on, and three for a second drain. Both need to create
pods/eviction; drain also to list, get and patch nodes (cluster-wide).
--json has each drain's node, evictions, 429s and duration under
"disruption".

Flags are checked before anything is built: --rate a finite number above
0, --conns within this process's open-file limit, --work-ms up to the
service's WORK_MAX, --report in a directory that exists.

Exit codes: 0 every request succeeded; 1 a request failed, or a pod was
killed at its grace deadline or restarted; 2 nothing was rehearsed: bad
usage, manifests that break the timing model (the message names the rule)
or run a command their image cannot, a repository that does not build, no
go toolchain; with --cluster also an unreachable cluster, a missing
permission (named), an image the node cannot pull, a drain with too few
nodes; 130 interrupted. With --json the result's "passed" field
says the same as exit 0.`,
		Example: `  # In a generated repository:
  zdgen rehearse

  # 500 requests a second over 50 connections, three rollouts, with a chart:
  zdgen rehearse ./orders --rate 500 --conns 50 --rollouts 3 --report rehearsal.html

  # What the protections buy: the same load with them off (fails):
  zdgen rehearse --naive

  # On your staging cluster, with images its nodes can pull:
  zdgen rehearse --cluster --context staging \
    --image registry.example.com/orders:v1.2.0 --load-image registry.example.com/orders-loadtest:v1.2.0

  # The same, draining a node of the service's pods instead of rolling them:
  zdgen rehearse --cluster --disrupt drain --rollouts 1 --context staging \
    --image registry.example.com/orders:v1.2.0 --load-image registry.example.com/orders-loadtest:v1.2.0`,
		Args: atMostOne("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.lagSet = cmd.Flags().Changed("lag")
			if err := o.cluster.unused(cmd); err != nil {
				return err
			}
			return runRehearse(cmd, e, dirArg(args), o)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.rate, "rate", 500, "requests per second, in total")
	f.IntVar(&o.conns, "conns", 50, "keep-alive connections")
	f.IntVar(&o.rollouts, "rollouts", 3, "rolling updates under load (with --disrupt drain or evict: drains, or passes of evictions)")
	f.IntVar(&o.replicas, "replicas", 0, "replicas (default: the Deployment's, or its autoscaler's minReplicas)")
	f.DurationVar(&o.lag, "lag", 0, "endpoint propagation lag of the Service stand-in (default: the answers' propagation-lag)")
	f.IntVar(&o.workMS, "work-ms", 10, "how long each request works, in milliseconds")
	f.BoolVar(&o.naive, "naive", false, "turn the protections off (no preStop, no drain delay): shows what they buy")
	f.StringVar(&o.report, "report", "", "write a self-contained HTML report (a chart of the run) to this file")
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
	addClusterFlags(cmd, &o.cluster)
	return cmd
}

// runRehearse runs the rehearsal; rehearse.Run validates the options
// (exit 2) before anything is built or run.
func runRehearse(cmd *cobra.Command, e env, dir string, o rehearseOptions) error {
	var lag *time.Duration
	if o.lagSet {
		lag = &o.lag
	}
	progress := newProgress(e.stderr)
	defer progress.done()
	ro := rehearse.Options{
		Rate: o.rate, Conns: o.conns, Rollouts: o.rollouts, Replicas: o.replicas, Lag: lag, WorkMS: o.workMS, Naive: o.naive,
		Report: o.report, Watch: progress.event, Status: progress.status,
	}
	var res *rehearse.Result
	var err error
	if o.cluster.on {
		// kube.Run validates the options (exit 2) before it touches the
		// cluster, and deletes its namespace before it returns, also when
		// interrupted.
		res, err = kube.Run(cmd.Context(), dir, o.cluster.options(ro))
	} else {
		res, err = rehearse.Run(cmd.Context(), dir, ro)
	}
	progress.done()
	return finishRehearsal(cmd, res, err, o)
}

// finishRehearsal writes what a rehearsal found, local or on a cluster:
// the report page, JSON or text, and the verdict as the exit code.
func finishRehearsal(cmd *cobra.Command, res *rehearse.Result, err error, o rehearseOptions) error {
	switch {
	case err == nil:
	case spec.IsInputError(err):
		return usageError{err} // found before anything ran, interrupted or not
	case cmd.Context().Err() != nil:
		return errRehearsalInterrupted
	default:
		return err
	}
	if o.report != "" {
		if err := rehearse.WriteReport(o.report, res); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		writeRehearsal(out, res, o.report)
	}
	if !res.Passed() {
		return errRehearsalFailed
	}
	return nil
}

func writeRehearsal(w io.Writer, r *rehearse.Result, report string) {
	mode := "protected"
	if r.Naive {
		mode = "naive: no preStop, no drain delay"
	}
	fmt.Fprintf(w, "%s (%s), %s: %d replicas, maxSurge %d, lag %s, grace %s\n", r.Service, r.Protocol, mode, r.Replicas, r.MaxSurge, r.LagNs, r.GraceNs)
	l := r.Load
	if d := r.Disruption; d != nil {
		writeDisruption(w, r, d)
	} else {
		fmt.Fprintf(w, "load: %g requests/s over %d connections, %d rollouts\n", r.Rate, r.Conns, len(r.Rollouts))
		for _, ro := range r.Rollouts {
			fmt.Fprintf(w, "  rollout to revision %d: %s\n", ro.Revision, ro.DurationNs.Round(10*time.Millisecond))
		}
	}
	fmt.Fprintf(w, "requests: %d, ok %d, failed %d\n", l.Total, l.OK, l.Failed)
	if l.Failed > 0 {
		fmt.Fprintf(w, "  by code: %s\n", counts(l.Codes, func(k string) bool { return k != "200" && k != "OK" }))
		if len(l.Errors) > 0 {
			fmt.Fprintf(w, "  connection errors: %s\n", counts(l.Errors, nil))
		}
		fmt.Fprintf(w, "  first: %s\n", l.FirstError)
	}
	fmt.Fprintf(w, "latency: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n", ms(l.Latency.P50), ms(l.Latency.P90), ms(l.Latency.P99), ms(l.Latency.P999), ms(l.Latency.Max))
	if c := r.Cluster; c != nil {
		kept := "deleted"
		if c.Kept {
			kept = "kept"
		}
		fmt.Fprintf(w, "cluster: context %q, namespace %s (%s), image %s, load client %s\n", c.Context, c.Namespace, kept, c.Image, c.LoadImage)
	} else {
		fmt.Fprintf(w, "proxy: %d connections, %d sent to a pod no longer listening, %d with no endpoint\n", r.Proxy.Accepted, r.Proxy.DialFailed, r.Proxy.NoEndpoints)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	if report != "" {
		fmt.Fprintf(w, "report: %s\n", report)
	}
	switch {
	case r.Passed():
		fmt.Fprintln(w, "RESULT: PASS (no request failed)")
	case r.Naive:
		fmt.Fprintf(w, "RESULT: FAIL (%d failed requests with the protections off: this is what they buy)\n", l.Failed)
	default:
		fmt.Fprintf(w, "RESULT: FAIL (%d failed requests, %d problems)\n", l.Failed, len(r.Problems))
	}
}

// writeDisruption says what a cluster rehearsal did instead of rollouts:
// each drain (its node) or pass of evictions, with its evictions and the
// ones the PodDisruptionBudget refused first.
func writeDisruption(w io.Writer, r *rehearse.Result, d *rehearse.Disruption) {
	name, names := "eviction pass", "eviction passes"
	if d.Kind == kube.DisruptDrain {
		name, names = "drain", "drains"
	}
	fmt.Fprintf(w, "load: %g requests/s over %d connections, %d %s\n", r.Rate, r.Conns, len(d.Rounds), names)
	for i, round := range d.Rounds {
		of := ""
		if round.Node != "" {
			of = " of node " + round.Node
		}
		fmt.Fprintf(w, "  %s %d%s: %s; evictions %d, refused (429) and asked again %d\n",
			name, i+1, of, round.DurationNs.Round(10*time.Millisecond), round.Evictions, round.TooManyRequests)
	}
}

func counts(m map[string]int, keep func(string) bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if keep == nil || keep(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// progress shows a rehearsal as it runs: on a terminal, one status line
// rewritten in place with the pod events scrolling above it; elsewhere
// (CI logs, pipes) one plain timestamped line per event.
type progress struct {
	w        io.Writer
	tty      bool
	width    int // the terminal's columns: a longer status line would wrap and not be rewritten
	mu       sync.Mutex
	line     string // the status line now shown (terminal only)
	finished bool
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{w: w}
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width < 20 {
		width = 80
	}
	return &progress{w: w, tty: true, width: width}
}

func (p *progress) event(ev rehearse.Event) {
	if ev.Kind == rehearse.EvLog && !strings.Contains(ev.Detail, "shutdown: not ready") && !strings.Contains(ev.Detail, "complete") {
		return // the service's other shutdown lines are in the report
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	text := fmt.Sprintf("%7.2fs %-16s %-12s %s", ev.At.Seconds(), ev.Pod, ev.Kind, ev.Detail)
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n%s", strings.TrimRight(text, " "), p.line)
		return
	}
	fmt.Fprintln(p.w, strings.TrimRight(text, " "))
}

func (p *progress) status(s rehearse.Status) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	if s.Namespace != "" {
		p.line = fmt.Sprintf("%6.1fs  %s  pods: %d ready, %d starting, %d terminating  namespace %s",
			s.Elapsed.Seconds(), s.Phase, s.Ready, s.Starting, s.Terminating, s.Namespace)
	} else {
		p.line = fmt.Sprintf("%6.1fs  %s  pods: %d ready, %d starting, %d terminating  proxy: %d connections, %d misrouted",
			s.Elapsed.Seconds(), s.Phase, s.Ready, s.Starting, s.Terminating, s.ProxyConns, s.ProxyFailed)
	}
	if len(p.line) >= p.width {
		p.line = p.line[:p.width-1]
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", p.line)
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && !p.finished && p.line != "" {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	p.finished = true
}
