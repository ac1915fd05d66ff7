// Package rehearse proves that a generated service deploys with zero
// downtime, without a cluster: it runs the service as real processes on
// 127.0.0.1 and rolls them the way Kubernetes would, under load, behind a
// stand-in for the Service that lags like kube-proxy.
//
// Every timing comes from the repository's own deploy/k8s manifests, read
// into k8s.io/api types: replicas, maxSurge and maxUnavailable, the three
// probes with their periods and thresholds, the preStop hook and
// terminationGracePeriodSeconds. The answers in .zdgen.yaml give what the
// manifests cannot: the endpoint propagation lag and the binary's name.
package rehearse

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/zdgen/zdgen/generator"
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
	Answers    generator.Answers // from .zdgen.yaml
	Deployment *appsv1.Deployment
	Container  corev1.Container // the service's container

	Replicas       int
	MaxSurge       int // resolved against Replicas, as the deployment controller does
	MaxUnavailable int
	MinReady       time.Duration
	Progress       time.Duration // progressDeadlineSeconds
	Grace          time.Duration // terminationGracePeriodSeconds
	WorkMax        time.Duration // WORK_MAX: the service refuses longer work

	// envDefaults are the service's own values for the variables the
	// container may leave unset: the plan's, from the recorded answers.
	envDefaults map[string]time.Duration

	// The shutdown sequence as the manifests set it: PreStop from the
	// hook, Drain and Shutdown from DRAIN_DELAY and SHUTDOWN_TIMEOUT (the
	// service's defaults when unset), the timing model's Margin; Lag is
	// the rehearsal's, given to Check.
	generator.Termination
}

// Load reads the repository at dir: .zdgen.yaml for the answers, and the
// manifests deploy/k8s/kustomization.yaml lists, each decoded strictly into
// its k8s.io/api type.
func Load(dir string) (*Workload, error) {
	lockBytes, err := os.ReadFile(filepath.Join(dir, generator.LockPath))
	if err != nil {
		return nil, inputErrorf("%s is not a zdgen repository: %w", dir, err)
	}
	lock, err := generator.ParseLock(lockBytes)
	if err != nil {
		return nil, &InputError{err}
	}
	w := &Workload{Dir: dir, Answers: lock.Answers}
	plan, err := generator.NewPlan(lock.Answers)
	if err != nil {
		return nil, inputErrorf("%s: %w", generator.LockPath, err)
	}
	w.Margin = time.Duration(plan.MarginSeconds) * time.Second
	w.envDefaults = plan.EnvDefaults()

	k8sDir := filepath.Join(dir, "deploy", "k8s")
	var kust struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
		Images     []any    `json:"images,omitempty"`
	}
	if err := decodeFile(filepath.Join(k8sDir, "kustomization.yaml"), &kust); err != nil {
		return nil, err
	}
	for _, res := range kust.Resources {
		path := filepath.Join(k8sDir, filepath.FromSlash(res))
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, inputErrorf("kustomization.yaml lists %s: %w", res, err)
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(b, &meta); err != nil {
			return nil, inputErrorf("%s: %w", res, err)
		}
		if meta.Kind != "Deployment" {
			continue // Service, PodDisruptionBudget, NetworkPolicy: the proxy stands in for the Service
		}
		if w.Deployment != nil {
			return nil, inputErrorf("%s: a second Deployment; the rehearsal rolls one", res)
		}
		w.Deployment = &appsv1.Deployment{}
		if err := decodeFile(path, w.Deployment); err != nil {
			return nil, err
		}
	}
	if w.Deployment == nil {
		return nil, inputErrorf("deploy/k8s/kustomization.yaml lists no Deployment")
	}
	if err := w.resolve(); err != nil {
		return nil, &InputError{err}
	}
	return w, nil
}

func decodeFile(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return &InputError{err}
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		return inputErrorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// resolve turns the Deployment into the numbers the rehearsal runs on,
// with Kubernetes' defaults where a field is unset.
func (w *Workload) resolve() error {
	d := w.Deployment
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		return fmt.Errorf("deployment.yaml: %d containers; the rehearsal runs one", len(spec.Containers))
	}
	w.Container = spec.Containers[0]
	w.Replicas = 1
	if d.Spec.Replicas != nil {
		w.Replicas = int(*d.Spec.Replicas)
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
		case ps.Exec != nil:
			w.PreStop = execSleep(ps.Exec.Command)
		}
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
			return fmt.Errorf("deployment.yaml: env %s uses valueFrom, which a rehearsal cannot resolve", e.Name)
		}
	}
	return nil
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

// execSleep is how long an exec preStop hook of the form [BINARY, "sleep",
// DURATION] (zdgen's, for images without a sleep binary) or the seeds'
// [sleep, SECONDS] takes; 0 for a command it cannot read.
func execSleep(cmd []string) time.Duration {
	var arg string
	switch {
	case len(cmd) == 3 && cmd[1] == "sleep":
		arg = cmd[2]
	case len(cmd) == 2 && filepath.Base(cmd[0]) == "sleep":
		arg = cmd[1]
	default:
		return 0
	}
	if d, err := time.ParseDuration(arg); err == nil {
		return d
	}
	if n, err := strconv.ParseFloat(arg, 64); err == nil && n >= 0 && !math.IsInf(n, 0) {
		return time.Duration(n * float64(time.Second))
	}
	return 0
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
