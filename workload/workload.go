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
// selectors that must find the service's pods: zdgen new and upgrade
// with an overlay, and zdgen overlay check, hold a tree to it before they
// write (CheckTree), and package rehearse, which runs the service, before
// it runs anything (Load, LoadJudged).
package workload

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/kustomize"
	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
