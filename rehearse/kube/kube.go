// Package kube rehearses on a real Kubernetes cluster: it applies a
// generated repository's own deploy/k8s manifests into a namespace of its
// own, runs the repository's load-test client in the cluster as a Job
// against the Service, restarts the Deployment N times under that load as
// `kubectl rollout restart` does (or drains a node of its pods as
// `kubectl drain` does, or evicts each pod), and judges the run as a
// local rehearsal does: every request succeeded, and no pod was killed at
// its grace deadline or restarted.
//
// The manifests and the timing model are package workload's, the option
// checks, the results and the report page package rehearse's; this
// package adds the cluster.
package kube

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/zdgen/zdgen/rehearse"
	"github.com/zdgen/zdgen/workload"
)

// FieldManager owns the fields zdgen applies (server-side apply).
const FieldManager = "zdgen"

// ManagedBy labels what the rehearsal creates.
const ManagedBy = "zdgen-rehearse"

// Options say where and how to rehearse. The embedded rehearse.Options
// are validated as any rehearsal's (Validate), without a local
// rehearsal's open-file limit; Lag must be nil (the cluster has its own).
type Options struct {
	rehearse.Options
	Kubeconfig string // "": KUBECONFIG, then ~/.kube/config, as kubectl
	Context    string // "": the kubeconfig's current context
	Namespace  string // the namespace to create; "": zdgen-rehearse-<random>
	Image      string // the service's image
	LoadImage  string // the load-test client's image (the Dockerfile's loadtest stage)
	PullPolicy string // "": the Deployment's; Always, IfNotPresent or Never
	Keep       bool   // leave the namespace in place
	// Disrupt is how the pods are disrupted, Rollouts times:
	// DisruptRollout (also ""), DisruptDrain or DisruptEvict.
	Disrupt string
}

// The ways a rehearsal on a cluster disrupts the service's pods under
// load (zdgen rehearse --disrupt).
const (
	// DisruptRollout restarts the Deployment as kubectl rollout restart.
	DisruptRollout = "rollout"
	// DisruptDrain drains the node holding most of the pods as kubectl
	// drain does, touching no other workload: cordon, evict the pods
	// there, wait for their replacements elsewhere, uncordon.
	DisruptDrain = "drain"
	// DisruptEvict evicts every pod in turn, each replacement waited for.
	DisruptEvict = "evict"
)

// Disruptions are Options.Disrupt's values, for the flag's completion.
var Disruptions = []string{DisruptRollout, DisruptDrain, DisruptEvict}

// check validates what needs no repository and no cluster.
func (o *Options) check() error {
	var problems []string
	if err := o.Validate(false); err != nil {
		problems = append(problems, err.Error())
	}
	if o.Lag != nil {
		problems = append(problems, "--lag: a cluster rehearsal runs with the cluster's own endpoint propagation; leave it out")
	}
	if o.Image == "" {
		problems = append(problems, "--image: required: the service's image, as the cluster's nodes can pull it")
	}
	if o.LoadImage == "" {
		problems = append(problems, "--load-image: required: the load-test client's image (docker build --target loadtest), as the nodes can pull it")
	}
	for _, ref := range []struct{ flag, v string }{{"--image", o.Image}, {"--load-image", o.LoadImage}} {
		if ref.v != "" && strings.ContainsAny(ref.v, " \t\n") {
			problems = append(problems, fmt.Sprintf("%s %q: an image reference has no spaces", ref.flag, ref.v))
		}
	}
	switch corev1.PullPolicy(o.PullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		problems = append(problems, fmt.Sprintf("--pull-policy %q: want Always, IfNotPresent or Never", o.PullPolicy))
	}
	switch o.Disrupt {
	case "", DisruptRollout, DisruptDrain, DisruptEvict:
	default:
		problems = append(problems, fmt.Sprintf("--disrupt %q: want rollout, drain or evict", o.Disrupt))
	}
	if o.Namespace != "" {
		if errs := validNamespace(o.Namespace); errs != "" {
			problems = append(problems, fmt.Sprintf("--namespace %q: %s", o.Namespace, errs))
		}
	}
	if len(problems) > 0 {
		return &rehearse.InputError{Err: errors.New(strings.Join(problems, "\n"))}
	}
	return nil
}

// Run rehearses on the cluster the kubeconfig names. Like rehearse.Run it
// returns an *rehearse.InputError when nothing could be rehearsed for a
// reason the user must fix (bad options or manifests, an unreachable
// cluster, a missing permission, an image the node cannot pull), an error
// when the rehearsal could not run to its end (ctx's error when it was
// cancelled; the namespace is deleted first), and a Result otherwise.
func Run(ctx context.Context, dir string, o Options) (*rehearse.Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	w, err := load(dir, o)
	if err != nil {
		return nil, err
	}
	c, err := connect(ctx, o)
	if err != nil {
		return nil, err
	}
	return run(ctx, c, w, o)
}

// load reads and judges the repository as a local rehearsal does, and
// prepares the objects to apply.
func load(dir string, o Options) (*workload.Workload, error) {
	// o.Lag is nil (check): the answers' propagation lag.
	w, _, err := rehearse.LoadFor(dir, o.Options)
	if err != nil {
		return nil, err
	}
	if _, err := objects(w, o, "check"); err != nil {
		return nil, err
	}
	return w, nil
}

// cluster is what the rehearsal talks to: a clientset (a fake one in
// tests), and how to read a pod's log.
type cluster struct {
	client  kubernetes.Interface
	context string
	server  string
	logs    func(ctx context.Context, ns, pod string) (io.ReadCloser, error)
	// poll is how often waits look again; tests shorten it.
	poll time.Duration
	// pullWait bounds the wait for a pod's image: a pod still waiting
	// for it this long is reported as the kubelet's reason says.
	pullWait time.Duration
	noPause  bool // tests: no quiet periods
	// rolloutLimit replaces the limit derived from the plan (tests).
	rolloutLimit time.Duration
	// evictRetry is how long an eviction the PodDisruptionBudget refused
	// waits before it is asked again: 5 s, as kubectl drain; tests
	// shorten it.
	evictRetry time.Duration
}

// connect loads the kubeconfig as kubectl does (--kubeconfig, else
// KUBECONFIG, else ~/.kube/config; --context; exec credential plugins)
// and makes sure the API server answers.
func connect(ctx context.Context, o Options) (*cluster, error) {
	cfg, name, err := restConfig(o)
	if err != nil {
		return nil, err
	}
	return connectConfig(ctx, cfg, name)
}

// restConfig loads the kubeconfig and returns the client configuration
// and the context's name.
func restConfig(o Options) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	// Non-interactive: a credential plugin that wants a terminal fails
	// rather than waiting for input that cannot come.
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", &rehearse.InputError{Err: fmt.Errorf("kubeconfig: %w", err)}
	}
	name := o.Context
	if raw, err := cc.RawConfig(); err == nil && name == "" {
		name = raw.CurrentContext
	}
	return cfg, name, nil
}

func connectConfig(ctx context.Context, cfg *rest.Config, name string) (*cluster, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "zdgen-rehearse"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, &rehearse.InputError{Err: fmt.Errorf("kubeconfig: %w", err)}
	}
	c := &cluster{client: client, context: name, server: cfg.Host, poll: 250 * time.Millisecond, pullWait: 60 * time.Second, evictRetry: 5 * time.Second}
	c.logs = func(ctx context.Context, ns, pod string) (io.ReadCloser, error) {
		limit := int64(maxLog)
		return client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Follow: true, LimitBytes: &limit}).Stream(ctx)
	}
	vctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := client.Discovery().RESTClient().Get().AbsPath("/version").Do(vctx).Error(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &rehearse.InputError{Err: fmt.Errorf("cannot reach the cluster at %s (context %q): %w", cfg.Host, name, err)}
	}
	return c, nil
}

// maxLog bounds what is read of the load client's log: its report is a
// few hundred bytes plus about 100 a second of load.
const maxLog = 16 << 20

// randomName is a namespace name of the rehearsal's own.
func randomName() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "zdgen-rehearse-" + string(b)
}
