// Package workload reads and judges what a repository declares: the
// answers its .zdgen.yaml records, the objects its deploy/k8s
// kustomization builds, and the image its Dockerfile builds. It runs
// nothing and writes nothing.
//
// Every timing comes from the repository's own deploy/k8s manifests, as
// kustomize builds them (with the components an overlay adds), read into
// k8s.io/api types: replicas (a HorizontalPodAutoscaler's minReplicas
// when the Deployment leaves them to it), maxSurge and maxUnavailable, the
// three probes with their periods and thresholds, the preStop hook and
// terminationGracePeriodSeconds. The answers in .zdgen.yaml give what the
// manifests cannot: the endpoint propagation lag and the binary's name.
// The exec hook's and probes' commands are judged against the image the
// Dockerfile's final stage builds (ParseDockerfile, Image).
//
// The judgement is the timing model's rules (Workload.Check) and the
// selectors that must find the service's pods: zdgen new, upgrade and
// overlay check hold a tree to it before they write (CheckTree), and
// package rehearse, which runs the service, before it runs anything
// (Load, LoadJudged).
package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// InputError is a repository zdgen will not take: not a zdgen
// repository, half merged, a missing or malformed manifest, manifests that
// break a rule of the timing model, or commands the image cannot run. It
// is bad input (spec.IsInputError): the repository, not the run, is at
// fault, and the command exits 2 on it, as zdgen does on bad answers.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }
func (*InputError) BadInput()       {}

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// Workload is what a repository declares about its service, as zdgen
// judges it and a rehearsal runs it.
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
	commands map[string]Command

	// envDefaults are the service's own values for the variables the
	// container may leave unset: the plan's, from the recorded answers.
	envDefaults map[string]time.Duration

	// rehearsal says the workload is read for zdgen rehearse, whose
	// messages may speak of what the rehearsal runs; CheckTree's, read at
	// zdgen new, upgrade and overlay check, speak of zdgen's rules.
	rehearsal bool
	// components are the kustomize components deploy/k8s/kustomization.yaml
	// lists (an overlay's), as it lists them: with any, the objects are
	// named as kustomize builds them, not by the files they start in.
	components []string
	// healthPort is the container port HEALTH_PORT names: the liveness
	// probe's.
	healthPort int32

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
	Name   string
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
	fsys := os.DirFS(dir)
	if err := checkMarkers(fsys); err != nil {
		return nil, err
	}
	w, err := load(fsys, dir, true)
	if err != nil {
		return nil, err
	}
	w.Dir = dir
	return w, nil
}

// LoadJudged reads the repository at dir as Load does and holds the
// workload to judge: a rehearsal's own rules (the replicas it asks for,
// the timing model at its propagation lag). With the components of an
// overlay, a refusal of either names the component that brings it
// (ComponentsAtFault), as CheckTree's do.
func LoadJudged(dir string, judge func(*Workload) error) (*Workload, error) {
	fsys := os.DirFS(dir)
	if err := checkMarkers(fsys); err != nil {
		return nil, err
	}
	read := func(fsys fs.FS) (*Workload, error) {
		w, err := load(fsys, dir, true)
		if err != nil {
			return nil, err
		}
		return w, judge(w)
	}
	w, err := read(fsys)
	if err != nil {
		return nil, blame(fsys, err, func(fsys fs.FS) error {
			_, err := read(fsys)
			return err
		})
	}
	w.Dir = dir
	return w, nil
}

// Bounds on the conflict-marker scan: a generated repository's files are
// small, and a scan stops at what it has to say.
const (
	maxMarkerScan  = 16 << 20 // bytes read of one file
	maxMarkerLines = 10       // file:line places named
)

// checkMarkers refuses a repository with unresolved conflict markers
// (spec.ConflictMarkers, the lines zdgen upgrade refuses to merge into)
// in .zdgen.yaml, a file it records or a file below deploy/k8s, naming
// each file and line: a half-merged repository is no deployment to
// rehearse, and the YAML parser would only say where it lost its way.
// What is missing or not a regular file, the rest of Load reports.
func checkMarkers(fsys fs.FS) error {
	paths := []string{spec.LockPath}
	if b, err := readBounded(fsys, spec.LockPath); err == nil && len(spec.ConflictMarkers(b)) == 0 {
		if l, err := spec.ParseLock(b); err == nil {
			for _, f := range l.Files {
				paths = append(paths, f.Path)
			}
		}
	}
	_ = fs.WalkDir(fsys, k8sDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil // what cannot be walked, the build reports
	})
	seen := map[string]bool{}
	var found []string
	n := 0
	for _, p := range paths {
		if seen[p] || !fs.ValidPath(p) {
			continue
		}
		seen[p] = true
		b, err := readBounded(fsys, p)
		if err != nil {
			continue
		}
		for _, line := range spec.ConflictMarkers(b) {
			if n++; n <= maxMarkerLines {
				found = append(found, fmt.Sprintf("%s:%d", p, line))
			}
		}
	}
	if n > maxMarkerLines {
		found = append(found, fmt.Sprintf("and %d more", n-maxMarkerLines))
	}
	if n > 0 {
		return inputErrorf("unresolved conflict markers (<<<<<<<) at %s: the repository is half merged; resolve them and commit first", strings.Join(found, ", "))
	}
	return nil
}

// readBounded reads the regular file p of fsys, at most maxMarkerScan
// bytes of it; a FIFO or device is never opened.
func readBounded(fsys fs.FS, p string) ([]byte, error) {
	fi, err := fs.Stat(fsys, p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxMarkerScan))
}

// CheckTree judges a whole repository held in fsys (.zdgen.yaml, the
// Dockerfile, deploy/k8s and what its kustomization uses) as a rehearsal
// judges its manifests before it runs anything, so that a tree can be
// refused before it is written: the manifests as kustomize builds them,
// decoded strictly, the selectors that must find the service's pods
// (checkSelectors), the exec hook's and probes' commands judged against
// the image the Dockerfile builds, and the timing model's rules
// (Workload.Check) at the propagation lag the recorded answers give, as
// `zdgen rehearse` runs without --lag. Its errors are *InputError.
//
// Its messages speak of zdgen's rules, not of a rehearsal; with the
// components of an overlay they name each object as kustomize builds it
// and the component that brings the problem (ComponentsAtFault).
func CheckTree(fsys fs.FS) error {
	check := func(fsys fs.FS) error {
		w, err := load(fsys, ".", false)
		if err != nil {
			return err
		}
		return w.Check(w.Answers.PropagationLag.D())
	}
	if err := check(fsys); err != nil {
		return blame(fsys, err, check)
	}
	return nil
}

// load reads the repository in fsys; name is how messages call it, and
// rehearsal whether it is read for zdgen rehearse (Workload.rehearsal).
func load(fsys fs.FS, name string, rehearsal bool) (*Workload, error) {
	lockBytes, err := fs.ReadFile(fsys, spec.LockPath)
	if err != nil {
		return nil, inputErrorf("%s is not a zdgen repository: %w", name, err)
	}
	lock, err := spec.ParseLock(lockBytes)
	if err != nil {
		return nil, &InputError{err}
	}
	w := &Workload{Answers: lock.Answers, fsys: fsys, rehearsal: rehearsal}
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
	w.components = listedComponents(fsys)
	if err := w.read(objs, paths); err != nil {
		return nil, w.built(err)
	}
	return w, nil
}

// read decodes the built objects, then judges the Deployment, the
// selectors and the commands run in the image.
func (w *Workload) read(objs []kustomize.Object, paths map[string]string) error {
	for _, o := range objs {
		m := Manifest{Path: paths[o.ID()], Kind: o.Kind, Name: o.Name}
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
				m.Err = decode(w.where(m), o.YAML, m.Object)
			}
			w.Manifests = append(w.Manifests, m)
			continue
		}
		if w.Deployment != nil {
			if w.rehearsal {
				return inputErrorf("%s: a second Deployment; the rehearsal rolls one", w.where(m))
			}
			return inputErrorf("%s: a second Deployment; a zdgen repository deploys one service, and zdgen's rules judge its one Deployment", w.where(m))
		}
		w.Deployment = &appsv1.Deployment{}
		if err := decode(w.where(m), o.YAML, w.Deployment); err != nil {
			return err
		}
		m.Object = w.Deployment
		w.Manifests = append(w.Manifests, m)
	}
	if w.Deployment == nil {
		return inputErrorf("kustomize builds no Deployment from %s", k8sDir)
	}
	if err := w.resolve(); err != nil {
		return &InputError{err}
	}
	if err := w.checkSelectors(); err != nil {
		return err
	}
	return w.judgeCommands()
}

// where names an object in messages: its kind and name as kustomize
// builds it, and the file the kustomization lists it in, unless there is
// none or components may have changed what the file holds.
func (w *Workload) where(m Manifest) string {
	obj := m.Kind + " " + m.Name
	if len(w.components) == 0 && m.Path != m.Kind+"/"+m.Name {
		return obj + " (" + path.Join(k8sDir, m.Path) + ")"
	}
	return obj
}

// deployment names the Deployment in messages (see where).
func (w *Workload) deployment() string {
	for _, m := range w.Manifests {
		if m.Kind == "Deployment" { // read refuses a second one
			return w.where(m)
		}
	}
	return "the Deployment"
}

// built says of an error about the built objects, when the kustomization
// lists components, that the objects are named as kustomize builds them
// with those: the file an object starts in may not hold what is wrong.
func (w *Workload) built(err error) error {
	if err == nil || len(w.components) == 0 {
		return err
	}
	return &InputError{fmt.Errorf("%s, as kustomize builds it with the components %s: %w", k8sDir, andList(w.components), err)}
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
	dep := w.deployment()
	// The rehearsal runs the service's one container. Init containers, a
	// native sidecar among them (restartPolicy Always, as an overlay's
	// log shipper), are not run locally: they play no part in how the
	// service drains, and a cluster rehearsal applies and runs them as
	// the built Deployment has them.
	if len(spec.Containers) != 1 {
		if w.rehearsal {
			return fmt.Errorf("%s: %d containers; the rehearsal runs one", dep, len(spec.Containers))
		}
		// A second container gets SIGTERM with the service's: a helper
		// the service needs while it drains would stop under it.
		return fmt.Errorf("%s: %d containers: zdgen's timing model is the shutdown of one, the service's; run a helper as a native sidecar (an init container with restartPolicy: Always), which the kubelet stops only after the service has exited", dep, len(spec.Containers))
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
		if w.rehearsal {
			return fmt.Errorf("%s: strategy %s; the rehearsal proves rolling updates", dep, d.Spec.Strategy.Type)
		}
		return fmt.Errorf("%s: strategy %s stops the old pods before new ones start, an outage at every rollout; zero downtime needs RollingUpdate", dep, d.Spec.Strategy.Type)
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
			if w.rehearsal {
				return fmt.Errorf("%s: the container sets no %s; the rehearsal moves each pod to free ports through it", dep, name)
			}
			return fmt.Errorf("%s: the container sets no %s, which zdgen rehearse needs to run each pod on ports of its own", dep, name)
		}
		port, err := w.ContainerPort(intstr.Parse(v))
		if err != nil {
			return fmt.Errorf("%s: %s=%s: %w", dep, name, v, err)
		}
		if name == "HEALTH_PORT" {
			w.healthPort = port
		}
	}
	for _, e := range w.Container.Env {
		if e.ValueFrom != nil {
			if _, err := w.valueFrom(e.ValueFrom, ""); err != nil {
				return fmt.Errorf("%s: env %s %w", dep, e.Name, err)
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
	unresolvable := fmt.Errorf("uses valueFrom, which zdgen rehearse cannot resolve (it resolves the pod's name and namespace, and the container's resources)")
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
		return "", fmt.Errorf("takes resourceFieldRef %s of container %q: zdgen rehearse runs %q alone", ref.Resource, ref.ContainerName, w.Container.Name)
	}
	kind, name, _ := strings.Cut(ref.Resource, ".")
	res := corev1.ResourceName(name)
	if (kind != "limits" && kind != "requests") || (res != corev1.ResourceCPU && res != corev1.ResourceMemory && res != corev1.ResourceEphemeralStorage) {
		return "", fmt.Errorf("takes resourceFieldRef %s: zdgen rehearse resolves the limits and requests of cpu, memory and ephemeral-storage", ref.Resource)
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
		return "", fmt.Errorf("takes resourceFieldRef %s, but the container sets no %s: in a cluster the node's allocatable amount stands in, which zdgen rehearse cannot know", ref.Resource, ref.Resource)
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

// PodEnv is the container's environment as the kubelet gives it to a
// local pod named pod: the pod's name and namespace and the container's
// resources filled in from the downward API, $(VAR) references expanded.
func (w *Workload) PodEnv(pod string) []corev1.EnvVar {
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
		if w.rehearsal {
			return fmt.Errorf("replicas %d: the rehearsal needs at least one", n)
		}
		return fmt.Errorf("%s: replicas %d: no pod would serve", w.deployment(), n)
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
		return 0, fmt.Errorf("%s: %s=%q: %w", w.deployment(), name, v, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: %s=%q: negative; the service refuses it and exits", w.deployment(), name, v)
	}
	return d, nil
}

// ContainerPort resolves a probe's or variable's port (a number or a
// container port's name) to the container port number.
func (w *Workload) ContainerPort(p intstr.IntOrString) (int32, error) {
	for _, cp := range w.Container.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("port %s is not one of the container's ports", p.String())
}

// Check applies the timing model's rules to the manifests as they are now
// (an owner may have edited them since generation, an overlay's
// components may change them), so a rehearsal never "passes" a rollout
// whose numbers are wrong only under other timing, and zdgen never writes
// manifests that break a rule its answers are held to. lag is the
// endpoint propagation lag the rehearsal runs with.
//
// The rules are the plan's (spec.NewPlan): the grace period covers the
// shutdown sequence; the preStop hook and the drain cover the lag; the
// shutdown timeout covers the longest request the service accepts
// (WORK_MAX); each step stays within the answers' bounds, beyond which the
// service warns at startup; the liveness probe acts later than readiness
// and asks the health port, which answers until exit; the startup probe
// gives a start the answers' startup time; a native sleep hook needs the
// Kubernetes the answers target; and maxUnavailable is 0.
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
	if w.Shutdown < w.WorkMax {
		problems = append(problems, fmt.Sprintf(
			"SHUTDOWN_TIMEOUT %s is below WORK_MAX %s, the longest request the service accepts: must be >= it, or work in flight is cut off at shutdown", w.Shutdown, w.WorkMax))
	}
	for _, b := range []struct {
		name     string
		v, bound time.Duration
		why      string
	}{
		{"DRAIN_DELAY", w.Drain, spec.MaxDrainDelay, "a terminating pod would keep serving that long"},
		{"SHUTDOWN_TIMEOUT", w.Shutdown, spec.MaxShutdownTimeout, "the longest shutdown the timing model plans"},
		{"WORK_MAX", w.WorkMax, spec.MaxRequestBound, "the longest work the timing model plans a shutdown for"},
		{"TRACE_FLUSH_TIMEOUT", w.Flush, spec.MaxTraceFlush, "a collector that does not answer would hold the exit that long"},
	} {
		if b.v > b.bound {
			problems = append(problems, fmt.Sprintf("%s %s is above %s: %s", b.name, b.v, b.bound, b.why))
		}
	}
	problems = append(problems, w.checkProbes()...)
	if err := w.checkSleep(); err != nil {
		problems = append(problems, err.Error())
	}
	if w.MaxUnavailable > 0 {
		problems = append(problems, fmt.Sprintf(
			"maxUnavailable %d: must be 0, so that an old pod goes only after its replacement is ready", w.MaxUnavailable))
	}
	if len(problems) > 0 {
		return w.built(inputErrorf("%s breaks the timing model:\n  - %s", w.deployment(), strings.Join(problems, "\n  - ")))
	}
	return nil
}

// window is how long a probe takes to act on a pod that stopped
// answering: its period times its failure threshold, Kubernetes' defaults
// (10 s, 3) for what is unset; with initial the initial delay too.
func window(p *corev1.Probe, initial bool) time.Duration {
	period, failures := p.PeriodSeconds, p.FailureThreshold
	if period == 0 {
		period = 10
	}
	if failures == 0 {
		failures = 3
	}
	n := period * failures
	if initial {
		n += p.InitialDelaySeconds
	}
	return time.Duration(n) * time.Second
}

// checkProbes holds the probes to the plan's rules: readiness takes a
// struggling pod out of rotation before liveness restarts it; liveness
// asks the health port, which answers until the process exits, not the
// service port, which closes as the drain ends; and a slow start gets the
// startup time the answers give before liveness may act.
func (w *Workload) checkProbes() []string {
	var problems []string
	c := w.Container
	if r, l := c.ReadinessProbe, c.LivenessProbe; r != nil && l != nil && window(l, false) <= window(r, false) {
		problems = append(problems, fmt.Sprintf(
			"livenessProbe acts after %s (periodSeconds x failureThreshold), readinessProbe after %s: liveness must act later (the plan's period is 3 x the readiness window), so that a struggling pod leaves rotation before it is restarted",
			window(l, false), window(r, false)))
	}
	if l := c.LivenessProbe; l != nil && w.healthPort != 0 {
		var port int32
		var err error
		switch h := l.ProbeHandler; {
		case h.HTTPGet != nil:
			port, err = w.ContainerPort(h.HTTPGet.Port)
		case h.GRPC != nil:
			port = h.GRPC.Port
		case h.TCPSocket != nil:
			port, err = w.ContainerPort(h.TCPSocket.Port)
		}
		if err == nil && port != 0 && port != w.healthPort {
			problems = append(problems, fmt.Sprintf(
				"livenessProbe asks port %d, not HEALTH_PORT %d: liveness must ask the health port, which answers until the process exits, not the service port, which closes when the drain ends", port, w.healthPort))
		}
	}
	// Without a startup probe, liveness acts from the start.
	first, name := c.StartupProbe, "startupProbe"
	if first == nil {
		first, name = c.LivenessProbe, "livenessProbe (there is no startupProbe)"
	}
	if s := w.Answers.StartupTime.D(); first != nil && window(first, true) < s {
		problems = append(problems, fmt.Sprintf(
			"%s gives a start %s (initialDelaySeconds + periodSeconds x failureThreshold), below .zdgen.yaml's startup-time %s: liveness may kill a start the service is allowed to take", name, window(first, true), s))
	}
	return problems
}

// checkSleep refuses a native sleep preStop hook below the Kubernetes
// version that has it: the API server of the cluster the answers target
// refuses the Deployment.
func (w *Workload) checkSleep() error {
	lc := w.Container.Lifecycle
	if lc == nil || lc.PreStop == nil || lc.PreStop.Sleep == nil {
		return nil
	}
	minor, err := spec.K8sMinor(w.Answers.K8sVersion)
	if err != nil || minor >= spec.NativeSleepMinor {
		return nil // a bad version is the lock's problem, reported by NewPlan
	}
	return fmt.Errorf("preStop sleep needs Kubernetes >= 1.%d, and .zdgen.yaml's k8s-version %s is older: its API server refuses the Deployment; use an exec hook that runs the service's own binary (%s sleep %s)",
		spec.NativeSleepMinor, w.Answers.K8sVersion, "/"+w.Answers.Name, w.PreStop)
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
		if w.rehearsal {
			return inputErrorf("%s runs commands in the image (%s), and the rehearsal judges them against the image the Dockerfile builds: %w", w.deployment(), strings.Join(where, ", "), err)
		}
		return inputErrorf("%s runs commands in the image (%s), which zdgen judges against the image the Dockerfile builds: %w", w.deployment(), strings.Join(where, ", "), err)
	}
	w.Image = img
	w.commands = map[string]Command{}
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
				if !w.rehearsal {
					consequence = "zdgen rehearse does not run what zdgen cannot judge"
				}
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
			w.PreStop = ec.PreStop
		}
	}
	if len(problems) > 0 {
		if w.rehearsal {
			return inputErrorf("%s: exec commands the rehearsal cannot run as the image would:\n  - %s", w.deployment(), strings.Join(problems, "\n  - "))
		}
		return inputErrorf("%s: exec commands that would not run in the image, or that zdgen cannot judge:\n  - %s", w.deployment(), strings.Join(problems, "\n  - "))
	}
	return nil
}

// Command is how the rehearsal runs argv "in the container": as judged
// when the workload was read, or judged now against its Image.
func (w *Workload) Command(argv []string) (Command, error) {
	if ec, ok := w.commands[commandKey(argv)]; ok {
		return ec, nil
	}
	if w.Image == nil {
		return Command{}, errors.New("not judged against the image")
	}
	envPath, _ := w.env("PATH")
	return w.Image.command(w.Answers.Name, argv, envPath)
}
