package workload_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/zdgen/zdgen/workload"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/repotest"
	corev1 "k8s.io/api/core/v1"
)

// atAnswersLag holds a workload to the timing model at the propagation
// lag its answers give, as zdgen rehearse does without --lag.
func atAnswersLag(w *workload.Workload) error { return w.Check(w.Answers.PropagationLag.D()) }

// Every generated tree passes the check `zdgen new` makes before it
// writes: the manifests kustomize builds keep the timing model.
func TestCheckTreePassesGeneratedTrees(t *testing.T) {
	for _, given := range []map[string]string{
		{"name": "orders"},
		{"name": "orders", "protocol": "grpc"},
		{"name": "orders", "autoscale": "2-4"},
		{"name": "orders", "expose": "gateway"},
		{"name": "orders", "protocol": "grpc", "expose": "gateway", "autoscale": "2-4"},
		{"name": "orders", "prestop": "exec"},
		{"name": "orders", "protocol": "grpc", "prestop": "exec", "base-image": "scratch"},
		{"name": "orders", "tracing": "otlp", "service-monitor": "true"},
	} {
		if err := workload.CheckTree(repotest.Tree(t, given)); err != nil {
			t.Errorf("%v: CheckTree = %v", given, err)
		}
	}
}

// CheckTree refuses what the rehearsal refuses, as an input error: a
// grace period below the rule, a tree that is no repository.
func TestCheckTreeRefuses(t *testing.T) {
	tree := repotest.Tree(t, map[string]string{"name": "orders"})
	d := tree["deploy/k8s/deployment.yaml"]
	d.Data = []byte(strings.Replace(string(d.Data), "terminationGracePeriodSeconds: 22", "terminationGracePeriodSeconds: 12", 1))
	err := workload.CheckTree(tree)
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "terminationGracePeriodSeconds 12s is too short") {
		t.Errorf("grace 12s: CheckTree = %v, want the grace rule as an input error", err)
	}
	delete(tree, spec.LockPath)
	if err := workload.CheckTree(tree); !spec.IsInputError(err) || !strings.Contains(err.Error(), "not a zdgen repository") {
		t.Errorf("no %s: CheckTree = %v", spec.LockPath, err)
	}
}

// addComponent writes a kustomize component into deploy/k8s/overlay/x of
// the repository in dir and lists it in the kustomization, as an overlay
// does.
func addComponent(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	k8s := filepath.Join(dir, "deploy", "k8s")
	for name, content := range files {
		path := filepath.Join(k8s, "overlay", "x", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kust := filepath.Join(k8s, "kustomization.yaml")
	b, err := os.ReadFile(kust)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kust, append(b, "components:\n  - overlay/x\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A component that shortens the grace period below the rule is refused
// by the rehearsal and by CheckTree alike: the manifests judged are the
// ones kustomize builds, not the files the kustomization lists.
func TestComponentBreakingTheTimingModel(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders"})
	addComponent(t, dir, map[string]string{"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - target:
      kind: Deployment
    patch: |
      - op: replace
        path: /spec/template/spec/terminationGracePeriodSeconds
        value: 5
`})
	const want = "terminationGracePeriodSeconds 5s is too short"
	if _, err := workload.LoadJudged(dir, atAnswersLag); !spec.IsInputError(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadJudged = %v, want an input error saying %q", err, want)
	}
	if err := workload.CheckTree(os.DirFS(dir)); !spec.IsInputError(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("CheckTree = %v, want an input error saying %q", err, want)
	}
}

// A component's native sidecar and labels are in the Deployment the
// rehearsal reads; the service's container stays the one it runs.
func TestComponentAddingASidecar(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders"})
	addComponent(t, dir, map[string]string{
		"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
labels:
  - pairs:
      example.com/team: payments
    includeTemplates: true
patches:
  - path: sidecar.yaml
    target:
      kind: Deployment
`,
		"sidecar.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: any
spec:
  template:
    spec:
      imagePullSecrets:
        - name: registry
      initContainers:
        - name: log-shipper
          image: registry.example.com/log-shipper:1.0.0
          restartPolicy: Always
`})
	w, err := workload.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Check(w.Answers.PropagationLag.D()); err != nil {
		t.Errorf("Check = %v", err)
	}
	d := w.Deployment
	if d.Labels["example.com/team"] != "payments" || d.Spec.Template.Labels["example.com/team"] != "payments" {
		t.Errorf("labels %v, template labels %v: want the component's", d.Labels, d.Spec.Template.Labels)
	}
	ic := d.Spec.Template.Spec.InitContainers
	if len(ic) != 1 || ic[0].Name != "log-shipper" || ic[0].RestartPolicy == nil || *ic[0].RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("init containers %+v, want the log-shipper sidecar", ic)
	}
	if w.Container.Name != "orders" {
		t.Errorf("the rehearsal runs container %q, want the service's", w.Container.Name)
	}
	if len(w.Manifests) == 0 || w.Manifests[0].Path != "deployment.yaml" || w.Manifests[0].Object != d {
		t.Errorf("first manifest %+v, want the Deployment from deployment.yaml", w.Manifests[0])
	}
}

// A component whose patch is missing is refused as an input error naming
// the file kustomize could not find.
func TestBrokenComponent(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders"})
	addComponent(t, dir, map[string]string{"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - path: missing.yaml
    target:
      kind: Deployment
`})
	_, err := workload.Load(dir)
	var ie *workload.InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "deploy/k8s/overlay/x/missing.yaml") {
		t.Errorf("Load = %v, want an input error naming deploy/k8s/overlay/x/missing.yaml", err)
	}
}

// edit replaces old with new in the file path of tree, once; the test
// fails if old is not there.
func edit(t *testing.T, tree fstest.MapFS, path, old, new string) {
	t.Helper()
	f, ok := tree[path]
	if !ok || !strings.Contains(string(f.Data), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	f.Data = []byte(strings.Replace(string(f.Data), old, new, 1))
}

// Every rule of the timing model the answers are held to holds on the
// manifests too, as kustomize builds them: an edit that breaks one is
// refused as an input error naming the rule, whatever a rehearsal's load
// would be. Each case also checks that the same tree without the edit
// passes, so the refusal is the edit's.
func TestCheckTreeHoldsEveryTimingRule(t *testing.T) {
	const dep = "deploy/k8s/deployment.yaml"
	for _, tc := range []struct {
		name  string
		given map[string]string
		path  string
		old   string
		new   string
		want  []string
	}{
		{"shutdown below the longest request", nil, dep,
			"- name: SHUTDOWN_TIMEOUT\n              value: \"10s\"", "- name: SHUTDOWN_TIMEOUT\n              value: \"1s\"",
			[]string{"SHUTDOWN_TIMEOUT 1s is below WORK_MAX 10s"}},
		{"longest request above the shutdown", nil, dep,
			"- name: WORK_MAX\n              value: \"10s\"", "- name: WORK_MAX\n              value: \"30s\"",
			[]string{"SHUTDOWN_TIMEOUT 10s is below WORK_MAX 30s"}},
		{"liveness as fast as readiness", nil, dep,
			"            periodSeconds: 12\n", "            periodSeconds: 1\n",
			[]string{"livenessProbe acts after 3s", "readinessProbe after 4s"}},
		{"startup window below the startup time", nil, dep,
			"            failureThreshold: 10\n", "            failureThreshold: 3\n",
			[]string{"startupProbe gives a start 3s", "startup-time 10s"}},
		{"liveness on the service port", nil, dep,
			"              path: /livez\n              port: health\n", "              path: /livez\n              port: http\n",
			[]string{"livenessProbe asks port 8080", "HEALTH_PORT 8081"}},
		{"gRPC liveness on the service port", map[string]string{"protocol": "grpc"}, dep,
			"              port: 8081\n              service: liveness\n", "              port: 8080\n              service: liveness\n",
			[]string{"livenessProbe asks port 8080", "HEALTH_PORT 8081"}},
		{"native sleep below 1.30", nil, spec.LockPath,
			"k8s-version: \"1.35\"", "k8s-version: \"1.29\"",
			[]string{"preStop sleep needs Kubernetes >= 1.30", "k8s-version 1.29"}},
		{"drain above its bound", nil, dep,
			"- name: DRAIN_DELAY\n              value: \"2s\"", "- name: DRAIN_DELAY\n              value: \"6m\"",
			[]string{"DRAIN_DELAY 6m0s is above 5m0s"}},
		{"trace flush above its bound", map[string]string{"tracing": "otlp"}, dep,
			"- name: TRACE_FLUSH_TIMEOUT\n              value: \"2s\"", "- name: TRACE_FLUSH_TIMEOUT\n              value: \"2m\"",
			[]string{"TRACE_FLUSH_TIMEOUT 2m0s is above 1m0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given := map[string]string{"name": "orders", "k8s-version": "1.35"}
			maps.Copy(given, tc.given)
			tree := repotest.Tree(t, given)
			checkRefusesEdit(t, tree, tc.path, tc.old, tc.new, tc.want)
		})
	}
}

// Selectors that select none of the service's pods are refused, each
// object and its selector named: a Service's (no endpoints: every request
// fails), the Deployment's own (the API server refuses it), a
// PodDisruptionBudget's (node drains may take every pod) and a
// HorizontalPodAutoscaler's target (it scales nothing, and the Deployment
// leaves the count to it).
func TestCheckTreeRefusesSelectorsThatSelectNothing(t *testing.T) {
	for _, tc := range []struct {
		name, path, old, new string
		want                 []string
	}{
		{"Service", "deploy/k8s/service.yaml",
			"  selector:\n    app.kubernetes.io/name: orders\n", "  selector:\n    app.kubernetes.io/name: nothing\n",
			[]string{"Service orders", "selector app.kubernetes.io/name=nothing selects none of the pods"}},
		{"Service without a selector", "deploy/k8s/service.yaml",
			"  selector:\n    app.kubernetes.io/name: orders\n", "",
			[]string{"no Service selects the pods"}},
		{"Deployment", "deploy/k8s/deployment.yaml",
			"  selector:\n    matchLabels:\n      app.kubernetes.io/name: orders\n", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: other\n",
			[]string{"Deployment orders", "spec.selector app.kubernetes.io/name=other", "its own pod template"}},
		{"PodDisruptionBudget", "deploy/k8s/pdb.yaml",
			"  selector:\n    matchLabels:\n      app.kubernetes.io/name: orders\n", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: nothing\n",
			[]string{"PodDisruptionBudget orders", "app.kubernetes.io/name=nothing"}},
		{"PodDisruptionBudget without a selector", "deploy/k8s/pdb.yaml",
			"  selector:\n    matchLabels:\n      app.kubernetes.io/name: orders\n", "",
			[]string{"PodDisruptionBudget orders", "no selector"}},
		{"HorizontalPodAutoscaler", "deploy/k8s/hpa.yaml",
			"    kind: Deployment\n    name: orders\n", "    kind: Deployment\n    name: other\n",
			[]string{"HorizontalPodAutoscaler orders", "scaleTargetRef apps/v1 Deployment other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := repotest.Tree(t, map[string]string{"name": "orders", "autoscale": "3-9"})
			checkRefusesEdit(t, tree, tc.path, tc.old, tc.new, tc.want)
		})
	}
	// zdgen rehearse refuses the same, before it runs anything.
	dir := repotest.Dir(t, map[string]string{"name": "orders"})
	svc := filepath.Join(dir, "deploy", "k8s", "service.yaml")
	b, err := os.ReadFile(svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svc, []byte(strings.Replace(string(b), "  selector:\n    app.kubernetes.io/name: orders\n", "  selector:\n    app.kubernetes.io/name: nothing\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := workload.LoadJudged(dir, atAnswersLag); !spec.IsInputError(err) || !strings.Contains(err.Error(), "Service orders") {
		t.Errorf("LoadJudged = %v, want the Service's selector refused", err)
	}
}

// A refusal at zdgen new, upgrade or overlay check names the object as
// kustomize builds it, says it is built with the components, and names
// the component that brings the problem; it speaks of zdgen's rules, not
// of a rehearsal. zdgen rehearse keeps its own words.
func TestCheckTreeNamesTheComponent(t *testing.T) {
	for _, tc := range []struct {
		name, patch string
		want        []string
		rehearse    string // what Load says, for the rehearsal; "" when Load says what CheckTree does
	}{
		{"a second container", `      - op: add
        path: /spec/template/spec/containers/-
        value: {name: helper, image: registry.example.com/helper:1.0.0}
`, []string{"Deployment orders: 2 containers", "native sidecar"}, "2 containers; the rehearsal runs one"},
		{"no PORT", `      - op: remove
        path: /spec/template/spec/containers/0/env/3
`, []string{"Deployment orders: the container sets no PORT"}, "the rehearsal moves each pod to free ports"},
		{"a short shutdown", `      - op: replace
        path: /spec/template/spec/containers/0/env/1/value
        value: 1s
`, []string{"Deployment orders breaks the timing model", "SHUTDOWN_TIMEOUT 1s is below WORK_MAX 10s"}, ""},
		{"a Service selecting nothing", `      - op: replace
        path: /spec/selector
        value: {app.kubernetes.io/name: nothing}
`, []string{"Service orders", "app.kubernetes.io/name=nothing"}, ""},
		{"an exec probe on an image zdgen does not model", `      - op: replace
        path: /spec/template/spec/containers/0/readinessProbe
        value: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 2, failureThreshold: 2}
`, []string{"Deployment orders: exec commands", "zdgen does not know what base image registry.example.com/base/static:1.0 contains", "zdgen rehearse does not run what zdgen cannot judge"},
			"the rehearsal does not run what it cannot judge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := repotest.Dir(t, map[string]string{"name": "orders", "base-image": "registry.example.com/base/static:1.0"})
			kind := "Deployment"
			if strings.Contains(tc.name, "Service") {
				kind = "Service"
			}
			addComponent(t, dir, map[string]string{"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target:\n      kind: " + kind + "\n    patch: |-\n" + tc.patch})
			err := workload.CheckTree(os.DirFS(dir))
			if !spec.IsInputError(err) {
				t.Fatalf("CheckTree = %v, want an input error", err)
			}
			want := append([]string{"as kustomize builds it with the components overlay/x", "the component deploy/k8s/overlay/x brings it"}, tc.want...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckTree = %v\nwant it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "rehearsal") || strings.Contains(err.Error(), "deployment.yaml") {
				t.Errorf("CheckTree = %v\nspeaks of the rehearsal or of deployment.yaml", err)
			}
			if got := workload.ComponentsAtFault(err); len(got) != 1 || got[0] != "overlay/x" {
				t.Errorf("ComponentsAtFault = %q, want [overlay/x]", got)
			}
			if tc.rehearse == "" {
				_, err = workload.LoadJudged(dir, atAnswersLag)
				if !spec.IsInputError(err) || !strings.Contains(err.Error(), tc.want[len(tc.want)-1]) {
					t.Errorf("LoadJudged = %v, want %q", err, tc.want[len(tc.want)-1])
				}
				return
			}
			if _, err := workload.Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), tc.rehearse) {
				t.Errorf("Load = %v, want the rehearsal's %q", err, tc.rehearse)
			}
		})
	}
}

// checkRefusesEdit checks that CheckTree accepts tree as generated and
// refuses it as bad input once old is replaced by new in path, saying
// every one of want.
func checkRefusesEdit(t *testing.T, tree fstest.MapFS, path, old, new string, want []string) {
	t.Helper()
	if err := workload.CheckTree(tree); err != nil {
		t.Fatalf("as generated: %v", err)
	}
	edit(t, tree, path, old, new)
	err := workload.CheckTree(tree)
	if !spec.IsInputError(err) {
		t.Fatalf("CheckTree = %v, want an input error", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("CheckTree = %v\nwant it to say %q", err, w)
		}
	}
}
