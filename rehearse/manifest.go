// Package rehearse proves that a generated service deploys with zero
// downtime, without a cluster: it runs the service as real processes on
// 127.0.0.1 and rolls them the way Kubernetes would, under load, behind a
// stand-in for the Service that lags like kube-proxy.
//
// Every timing comes from the repository's own deploy/k8s manifests, as
// kustomize builds them (with the components an overlay adds), read into
// k8s.io/api types: replicas (a HorizontalPodAutoscaler's
// minReplicas when the Deployment leaves them to it), maxSurge and
// maxUnavailable, the three
// probes with their periods and thresholds, the preStop hook and
// terminationGracePeriodSeconds. The answers in .zdgen.yaml give what the
// manifests cannot: the endpoint propagation lag and the binary's name.
package rehearse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/kustomize"
	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// InputError is a repository the rehearsal cannot run: a missing or
// malformed manifest, or manifests that break a rule of the timing model.
// The command exits 2 on it, as zdgen does on bad answers.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// IsInputError reports whether err means the repository, not the run, is
// at fault.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// Workload is what the rehearsal needs to know about a repository.
type Workload struct {
	Dir        string
	Answers    spec.Answers // from .zdgen.yaml
	Deployment *appsv1.Deployment
	Container  corev1.Container // the service's container

	Replicas       int
	MaxSurge       int // resolved against Replicas, as the deployment controller does
	MaxUnavailable int
	MinReady       time.Duration
	Progress       time.Duration // progressDeadlineSeconds
	Grace          time.Duration // terminationGracePeriodSeconds
	WorkMax        time.Duration // WORK_MAX: the service refuses longer work

	// Manifests are the objects kustomize builds from deploy/k8s, in the
	// kustomization's order, for a rehearsal that applies them to a
	// cluster.
	Manifests []Manifest

	// Image is what the Dockerfile's final stage holds, read when an exec
	// hook or probe must be judged against it; nil otherwise.
	Image *Image
	// fsys is the repository as Load or CheckTree read it: the
	// Dockerfile comes from there.
	fsys fs.FS
	// commands are the exec hook's and probes' commands as the rehearsal
	// runs them, keyed by commandKey.
	commands map[string]execCommand

	// envDefaults are the service's own values for the variables the
	// container may leave unset: the plan's, from the recorded answers.
	envDefaults map[string]time.Duration

	// The shutdown sequence as the manifests set it: PreStop from the
	// hook, Drain and Shutdown from DRAIN_DELAY and SHUTDOWN_TIMEOUT (the
	// service's defaults when unset), the timing model's Margin; Lag is
	// the rehearsal's, given to Check.
	spec.Termination
}

// Manifest is one object the kustomization builds: a Deployment (the
// Workload's), Service, PodDisruptionBudget, NetworkPolicy or
// HorizontalPodAutoscaler decoded
// strictly into its k8s.io/api type. A kind outside these has a nil
// Object; Err is a decoding error, which only a rehearsal that applies the
// object reports (a local one reads only the Deployment, and the
// autoscaler when the Deployment leaves the count to it).
type Manifest struct {
	Path   string // the file kustomization.yaml lists it in, else Kind/name (an object a component or generator adds, or renames)
	Kind   string
	Object runtime.Object
	Err    error
}

// k8sDir is where a generated repository keeps its kustomization.
const k8sDir = "deploy/k8s"

// Load reads the repository at dir: .zdgen.yaml for the answers, and the
// objects `kubectl kustomize deploy/k8s` builds (its resources with its
// components' patches and labels), each decoded strictly into its
// k8s.io/api type. It only reads dir.
func Load(dir string) (*Workload, error) {
	w, err := load(os.DirFS(dir), dir)
	if err != nil {
		return nil, err
	}
	w.Dir = dir
	return w, nil
}

// CheckTree judges a whole repository held in fsys (.zdgen.yaml, the
// Dockerfile, deploy/k8s and what its kustomization uses) as a rehearsal
// judges its manifests before it runs anything, so that a tree can be
// refused before it is written: the manifests as kustomize builds them,
// decoded strictly, the exec hook's and probes' commands judged against
// the image the Dockerfile builds, and the timing model's rules
// (Workload.Check) at the propagation lag the recorded answers give, as
// `zdgen rehearse` runs without --lag. Its errors are *InputError.
func CheckTree(fsys fs.FS) error {
	w, err := load(fsys, ".")
	if err != nil {
		return err
	}
	return w.Check(w.Answers.PropagationLag.D())
}

// load reads the repository in fsys; name is how messages call it.
func load(fsys fs.FS, name string) (*Workload, error) {
	lockBytes, err := fs.ReadFile(fsys, spec.LockPath)
	if err != nil {
		return nil, inputErrorf("%s is not a zdgen repository: %w", name, err)
	}
	lock, err := spec.ParseLock(lockBytes)
	if err != nil {
		return nil, &InputError{err}
	}
	w := &Workload{Answers: lock.Answers, fsys: fsys}
	plan, err := spec.NewPlan(lock.Answers)
	if err != nil {
		return nil, inputErrorf("%s: %w", spec.LockPath, err)
	}
	w.Margin = time.Duration(plan.MarginSeconds) * time.Second
	w.envDefaults = plan.EnvDefaults()

	objs, err := kustomize.BuildObjects(fsys, k8sDir)
	if err != nil {
		return nil, &InputError{err}
	}
	paths := listedPaths(fsys)
	for _, o := range objs {
		m := Manifest{Path: paths[o.ID()], Kind: o.Kind}
		if m.Path == "" {
			m.Path = o.ID()
		}
		if o.Kind != "Deployment" {
			// Service, PodDisruptionBudget, NetworkPolicy: the proxy stands
			// in for the Service; a cluster rehearsal applies them. A
			// HorizontalPodAutoscaler gives the count when the Deployment
			// leaves it out.
			switch o.Kind {
			case "Service":
				m.Object = &corev1.Service{}
			case "PodDisruptionBudget":
				m.Object = &policyv1.PodDisruptionBudget{}
			case "NetworkPolicy":
				m.Object = &networkingv1.NetworkPolicy{}
			case "HorizontalPodAutoscaler":
				m.Object = &autoscalingv2.HorizontalPodAutoscaler{}
			}
			if m.Object != nil {
				m.Err = decode(m.Path, o.YAML, m.Object)
			}
			w.Manifests = append(w.Manifests, m)
			continue
		}
		if w.Deployment != nil {
			return nil, inputErrorf("%s: a second Deployment; the rehearsal rolls one", m.Path)
		}
		w.Deployment = &appsv1.Deployment{}
		if err := decode(m.Path, o.YAML, w.Deployment); err != nil {
			return nil, err
		}
		m.Object = w.Deployment
		w.Manifests = append(w.Manifests, m)
	}
	if w.Deployment == nil {
		return nil, inputErrorf("deploy/k8s/kustomization.yaml lists no Deployment")
	}
	if err := w.resolve(); err != nil {
		return nil, &InputError{err}
	}
	if err := w.judgeCommands(); err != nil {
		return nil, err
	}
	return w, nil
}

// decode decodes one built object strictly; name is how messages call it.
func decode(name string, b []byte, into any) error {
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		return inputErrorf("%s: %w", name, err)
	}
	return nil
}

// listedPaths maps each object that deploy/k8s/kustomization.yaml's
// resources hold, as Kind/name, to the file that holds it, so that
// messages name the file an owner edits. It is a best effort: what it
// cannot read, kustomize has already judged.
func listedPaths(fsys fs.FS) map[string]string {
	paths := map[string]string{}
	b, err := fs.ReadFile(fsys, k8sDir+"/kustomization.yaml")
	if err != nil {
		return paths
	}
	var kust struct {
		Resources []string `json:"resources"`
	}
	if yaml.Unmarshal(b, &kust) != nil {
		return paths
	}
	for _, res := range kust.Resources {
		b, err := fs.ReadFile(fsys, path.Join(k8sDir, res))
		if err != nil {
			continue // a directory (a base) or a URL
		}
		dec := yamlv3.NewDecoder(bytes.NewReader(b))
		for {
			var meta struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if dec.Decode(&meta) != nil {
				break
			}
			if id := meta.Kind + "/" + meta.Metadata.Name; paths[id] == "" {
				paths[id] = res
			}
		}
	}
	return paths
}

// resolve turns the Deployment into the numbers the rehearsal runs on,
// with Kubernetes' defaults where a field is unset.
func (w *Workload) resolve() error {
	d := w.Deployment
	spec := d.Spec.Template.Spec
	// The rehearsal runs the service's one container. Init containers, a
	// native sidecar among them (restartPolicy Always, as an overlay's
	// log shipper), are not run locally: they play no part in how the
	// service drains, and a cluster rehearsal applies and runs them as
	// the built Deployment has them.
	if len(spec.Containers) != 1 {
		return fmt.Errorf("deployment.yaml: %d containers; the rehearsal runs one", len(spec.Containers))
	}
	w.Container = spec.Containers[0]
	w.Replicas = 1
	if d.Spec.Replicas != nil {
		w.Replicas = int(*d.Spec.Replicas)
	} else if hpa, err := w.autoscaler(); err != nil {
		return err
	} else if hpa != nil && hpa.Spec.MinReplicas != nil {
		// The autoscaler owns the count: the rehearsal runs the fewest
		// pods it keeps, where the surge and the budget are tightest.
		w.Replicas = int(*hpa.Spec.MinReplicas)
	}
	if d.Spec.Strategy.Type != "" && d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		return fmt.Errorf("deployment.yaml: strategy %s; the rehearsal proves rolling updates", d.Spec.Strategy.Type)
	}
	if err := w.setReplicas(w.Replicas); err != nil {
		return err
	}
	w.MinReady = time.Duration(d.Spec.MinReadySeconds) * time.Second
	w.Progress = 600 * time.Second
	if d.Spec.ProgressDeadlineSeconds != nil {
		w.Progress = time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	}
	w.Grace = 30 * time.Second
	if spec.TerminationGracePeriodSeconds != nil {
		w.Grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	if lc := w.Container.Lifecycle; lc != nil && lc.PreStop != nil {
		ps := lc.PreStop
		switch {
		case ps.Sleep != nil:
			w.PreStop = time.Duration(ps.Sleep.Seconds) * time.Second
		}
		// An exec hook's length is what its command does in the image:
		// judgeCommands sets it.
	}
	var err error
	if w.Drain, err = w.envDuration("DRAIN_DELAY"); err != nil {
		return err
	}
	if w.Shutdown, err = w.envDuration("SHUTDOWN_TIMEOUT"); err != nil {
		return err
	}
	if w.WorkMax, err = w.envDuration("WORK_MAX"); err != nil {
		return err
	}
	// With tracing, the last step of the shutdown: the final span export.
	if w.Flush, err = w.envDuration("TRACE_FLUSH_TIMEOUT"); err != nil {
		return err
	}
	for _, name := range []string{"PORT", "HEALTH_PORT"} {
		v, ok := w.env(name)
		if !ok {
			return fmt.Errorf("deployment.yaml: the container sets no %s; the rehearsal moves each pod to free ports through it", name)
		}
		if _, err := w.containerPort(intstr.Parse(v)); err != nil {
			return fmt.Errorf("deployment.yaml: %s=%s: %w", name, v, err)
		}
	}
	for _, e := range w.Container.Env {
		if e.ValueFrom != nil {
			if _, err := w.valueFrom(e.ValueFrom, ""); err != nil {
				return fmt.Errorf("deployment.yaml: env %s %w", e.Name, err)
			}
		}
	}
	return nil
}

// autoscaler is the HorizontalPodAutoscaler the kustomization lists for
// the Deployment (its scaleTargetRef names it), decoded strictly; nil
// when there is none.
func (w *Workload) autoscaler() (*autoscalingv2.HorizontalPodAutoscaler, error) {
	d := w.Deployment
	for _, m := range w.Manifests {
		if m.Kind != "HorizontalPodAutoscaler" {
			continue
		}
		if m.Err != nil {
			return nil, m.Err
		}
		hpa := m.Object.(*autoscalingv2.HorizontalPodAutoscaler)
		ref := hpa.Spec.ScaleTargetRef
		if ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && ref.Name == d.Name {
			return hpa, nil
		}
	}
	return nil, nil
}

// valueFrom is the value the kubelet gives a variable from src in a pod
// named pod, for the sources a local rehearsal can answer: the downward
// API's metadata.name and metadata.namespace (tracing names the pod in its
// spans with them) and the container's own resources (the service sizes
// its memory limit from limits.memory). Any other source, a ConfigMap, a
// Secret or a field of the node, only a cluster can resolve: the error,
// which follows the variable's name, says so.
func (w *Workload) valueFrom(src *corev1.EnvVarSource, pod string) (string, error) {
	unresolvable := fmt.Errorf("uses valueFrom, which a rehearsal cannot resolve (it resolves the pod's name and namespace, and the container's resources)")
	if src.ConfigMapKeyRef != nil || src.SecretKeyRef != nil || (src.FieldRef != nil) == (src.ResourceFieldRef != nil) {
		return "", unresolvable
	}
	if f := src.FieldRef; f != nil {
		switch f.FieldPath {
		case "metadata.name":
			return pod, nil
		case "metadata.namespace":
			return localNamespace, nil
		}
		return "", unresolvable
	}
	return w.resourceValue(src.ResourceFieldRef)
}

// resourceValue is a resourceFieldRef's value as the kubelet computes it:
// the container's request or limit of cpu, memory or ephemeral-storage,
// divided by the divisor (1 when unset) and rounded up; cpu in cores
// before the division, so that divisor 1m gives millicores.
func (w *Workload) resourceValue(ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" && ref.ContainerName != w.Container.Name {
		return "", fmt.Errorf("takes resourceFieldRef %s of container %q: the rehearsal runs %q alone", ref.Resource, ref.ContainerName, w.Container.Name)
	}
	kind, name, _ := strings.Cut(ref.Resource, ".")
	res := corev1.ResourceName(name)
	if (kind != "limits" && kind != "requests") || (res != corev1.ResourceCPU && res != corev1.ResourceMemory && res != corev1.ResourceEphemeralStorage) {
		return "", fmt.Errorf("takes resourceFieldRef %s: a rehearsal resolves the limits and requests of cpu, memory and ephemeral-storage", ref.Resource)
	}
	q, ok := w.Container.Resources.Limits[res]
	if kind == "requests" {
		// A request left out defaults to the limit, as the API server
		// sets it.
		if r, set := w.Container.Resources.Requests[res]; set {
			q, ok = r, true
		}
	}
	if !ok {
		// The kubelet would give the node's allocatable amount.
		return "", fmt.Errorf("takes resourceFieldRef %s, but the container sets no %s: in a cluster the node's allocatable amount stands in, which a rehearsal cannot know", ref.Resource, ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	n, d := q.Value(), divisor.Value()
	if res == corev1.ResourceCPU {
		n, d = q.MilliValue(), divisor.MilliValue()
	}
	if d <= 0 {
		return "", fmt.Errorf("takes resourceFieldRef %s with divisor %s", ref.Resource, divisor.String())
	}
	return strconv.FormatInt(int64(math.Ceil(float64(n)/float64(d))), 10), nil
}

// localNamespace is the namespace a local rehearsal's pods report through
// the downward API: the one kubectl applies deploy/k8s to by default.
const localNamespace = "default"

// resolveEnv is the container's environment as the kubelet gives it to a
// local pod named pod: the pod's name and namespace and the container's
// resources filled in from the downward API, $(VAR) references expanded.
func (w *Workload) resolveEnv(pod string) []corev1.EnvVar {
	defined := map[string]string{}
	var env []corev1.EnvVar
	for _, e := range w.Container.Env {
		v := expandEnv(e.Value, defined)
		if e.ValueFrom != nil {
			v, _ = w.valueFrom(e.ValueFrom, pod) // resolvable: Load checked
		}
		defined[e.Name] = v
		env = append(env, corev1.EnvVar{Name: e.Name, Value: v})
	}
	return env
}

// envRef is a $(VAR) reference in a variable's value, or the $$ that
// escapes one.
var envRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expandEnv expands v as the kubelet does: $(VAR) becomes the value of a
// variable defined earlier in the list, $$ becomes $, and a reference to
// anything else stays as written.
func expandEnv(v string, defined map[string]string) string {
	return envRef.ReplaceAllStringFunc(v, func(ref string) string {
		if ref == "$$" {
			return "$"
		}
		if val, ok := defined[ref[2:len(ref)-1]]; ok {
			return val
		}
		return ref
	})
}

// setReplicas sets the replica count and resolves maxSurge and
// maxUnavailable against it: percentages round up for surge and down for
// unavailable, as the deployment controller does.
func (w *Workload) setReplicas(n int) error {
	if n < 1 {
		return fmt.Errorf("replicas %d: the rehearsal needs at least one", n)
	}
	w.Replicas = n
	surge, unavailable := intstr.FromString("25%"), intstr.FromString("25%")
	if ru := w.Deployment.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			unavailable = *ru.MaxUnavailable
		}
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(&surge, n, true)
	if err != nil {
		return fmt.Errorf("maxSurge: %w", err)
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(&unavailable, n, false)
	if err != nil {
		return fmt.Errorf("maxUnavailable: %w", err)
	}
	if s == 0 && u == 0 {
		u = 1 // Kubernetes rejects 0/0 as written; after rounding it allows one unavailable
	}
	w.MaxSurge, w.MaxUnavailable = s, u
	return nil
}

// SetReplicas overrides the manifest's replica count (--replicas).
func (w *Workload) SetReplicas(n int) error {
	if err := w.setReplicas(n); err != nil {
		return &InputError{err}
	}
	return nil
}

func (w *Workload) env(name string) (string, bool) {
	for _, e := range w.Container.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// envDuration reads a duration the service takes from its environment; an
// unset or empty one is the service's default, as its config package reads
// it.
func (w *Workload) envDuration(name string) (time.Duration, error) {
	v, ok := w.env(name)
	if !ok || v == "" {
		return w.envDefaults[name], nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("deployment.yaml: %s=%q: %w", name, v, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("deployment.yaml: %s=%q: negative; the service refuses it and exits", name, v)
	}
	return d, nil
}

// containerPort resolves a probe's or variable's port (a number or a
// container port's name) to the container port number.
func (w *Workload) containerPort(p intstr.IntOrString) (int32, error) {
	for _, cp := range w.Container.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("port %s is not one of the container's ports", p.String())
}

// Check applies the timing model's rules to the manifests as they are now
// (an owner may have edited them since generation), so a rehearsal never
// "passes" a rollout whose numbers are wrong only under other timing. lag
// is the endpoint propagation lag the rehearsal runs with.
func (w *Workload) Check(lag time.Duration) error {
	t := w.Termination
	t.Lag = lag
	var problems []string
	if err := t.CheckGrace(w.Grace); err != nil {
		problems = append(problems, fmt.Sprintf("terminationGracePeriodSeconds %s is too short: it %s", w.Grace, err))
	}
	if err := t.CheckLag(); err != nil {
		problems = append(problems, err.Error())
	}
	if w.MaxUnavailable > 0 {
		problems = append(problems, fmt.Sprintf(
			"maxUnavailable %d: must be 0, so that an old pod goes only after its replacement is ready", w.MaxUnavailable))
	}
	if len(problems) > 0 {
		return inputErrorf("deploy/k8s/deployment.yaml breaks the timing model:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// execs lists the container's exec commands, each with what runs it, as
// the messages name them.
func (w *Workload) execs() (where []string, argvs [][]string) {
	ct := w.Container
	if lc := ct.Lifecycle; lc != nil && lc.PreStop != nil && lc.PreStop.Exec != nil {
		where, argvs = append(where, "preStop"), append(argvs, lc.PreStop.Exec.Command)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"startupProbe", ct.StartupProbe}, {"readinessProbe", ct.ReadinessProbe}, {"livenessProbe", ct.LivenessProbe}} {
		if p.probe != nil && p.probe.Exec != nil {
			where, argvs = append(where, p.name), append(argvs, p.probe.Exec.Command)
		}
	}
	return where, argvs
}

func commandKey(argv []string) string { return strings.Join(argv, "\x00") }

// judgeCommands reads the Dockerfile when the container has an exec hook
// or probe and judges each command against the image: in a cluster it
// runs there or nowhere. A command the image lacks, or one the rehearsal
// cannot tell about (a base image it does not model), is an input error
// naming the command and the image; nothing runs it on this machine.
func (w *Workload) judgeCommands() error {
	where, argvs := w.execs()
	if len(argvs) == 0 {
		return nil
	}
	img, err := loadImage(w.fsys)
	if err != nil {
		return inputErrorf("deploy/k8s/deployment.yaml runs commands in the image (%s), and the rehearsal judges them against the image the Dockerfile builds: %w", strings.Join(where, ", "), err)
	}
	w.Image = img
	w.commands = map[string]execCommand{}
	envPath, _ := w.env("PATH")
	var problems []string
	for i, argv := range argvs {
		ec, err := img.command(w.Answers.Name, argv, envPath)
		if err != nil {
			consequence := "in a cluster the probe always fails"
			if where[i] == "preStop" {
				consequence = "in a cluster the hook fails and SIGTERM comes at once"
			}
			var nm *notModelled
			if errors.As(err, &nm) {
				consequence = "the rehearsal does not run what it cannot judge"
				if p := img.servicePath(w.Answers.Name); p != "" {
					consequence += fmt.Sprintf("; the service's own binary (%s) runs in any image", p)
				}
			}
			cmd, _ := json.Marshal(argv)
			problems = append(problems, fmt.Sprintf("%s exec %s: %v; %s", where[i], cmd, err, consequence))
			continue
		}
		w.commands[commandKey(argv)] = ec
		if where[i] == "preStop" {
			w.PreStop = ec.preStop
		}
	}
	if len(problems) > 0 {
		return inputErrorf("deploy/k8s/deployment.yaml: exec commands the rehearsal cannot run as the image would:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// command is how the rehearsal runs argv "in the container".
func (w *Workload) command(argv []string) (execCommand, error) {
	if ec, ok := w.commands[commandKey(argv)]; ok {
		return ec, nil
	}
	if w.Image == nil {
		return execCommand{}, errors.New("not judged against the image")
	}
	envPath, _ := w.env("PATH")
	return w.Image.command(w.Answers.Name, argv, envPath)
}
