package workload

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

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
