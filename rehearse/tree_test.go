package rehearse

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/spec"
	corev1 "k8s.io/api/core/v1"
)

// generateTree is what zdgen generates for the given answers, held in
// memory as `zdgen new` holds it before writing.
func generateTree(t *testing.T, given map[string]string) fstest.MapFS {
	t.Helper()
	a, err := spec.Resolve(given)
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := generator.Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	tree := fstest.MapFS{}
	for _, f := range files {
		tree[f.Path] = &fstest.MapFile{Data: f.Content, Mode: fs.FileMode(f.Mode)}
	}
	return tree
}

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
		if err := CheckTree(generateTree(t, given)); err != nil {
			t.Errorf("%v: CheckTree = %v", given, err)
		}
	}
}

// CheckTree refuses what the rehearsal refuses, as an input error: a
// grace period below the rule, a tree that is no repository.
func TestCheckTreeRefuses(t *testing.T) {
	tree := generateTree(t, map[string]string{"name": "orders"})
	d := tree["deploy/k8s/deployment.yaml"]
	d.Data = []byte(strings.Replace(string(d.Data), "terminationGracePeriodSeconds: 22", "terminationGracePeriodSeconds: 12", 1))
	err := CheckTree(tree)
	if !IsInputError(err) || !strings.Contains(err.Error(), "terminationGracePeriodSeconds 12s is too short") {
		t.Errorf("grace 12s: CheckTree = %v, want the grace rule as an input error", err)
	}
	delete(tree, spec.LockPath)
	if err := CheckTree(tree); !IsInputError(err) || !strings.Contains(err.Error(), "not a zdgen repository") {
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
	dir := generateRepo(t, map[string]string{"name": "orders"})
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
	if _, _, err := LoadFor(dir, Options{WorkMS: 10}); !IsInputError(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadFor = %v, want an input error saying %q", err, want)
	}
	if err := CheckTree(os.DirFS(dir)); !IsInputError(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("CheckTree = %v, want an input error saying %q", err, want)
	}
}

// A component's native sidecar and labels are in the Deployment the
// rehearsal reads; the service's container stays the one it runs.
func TestComponentAddingASidecar(t *testing.T) {
	dir := generateRepo(t, map[string]string{"name": "orders"})
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
	w, err := Load(dir)
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
	dir := generateRepo(t, map[string]string{"name": "orders"})
	addComponent(t, dir, map[string]string{"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
  - path: missing.yaml
    target:
      kind: Deployment
`})
	_, err := Load(dir)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "deploy/k8s/overlay/x/missing.yaml") {
		t.Errorf("Load = %v, want an input error naming deploy/k8s/overlay/x/missing.yaml", err)
	}
}
