package kustomize

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  selector:
    matchLabels: {app: orders}
  template:
    metadata:
      labels: {app: orders}
    spec:
      terminationGracePeriodSeconds: 22
      containers:
        - name: orders
          image: orders
`

const service = `apiVersion: v1
kind: Service
metadata:
  name: orders
spec:
  selector: {app: orders}
  ports: [{port: 80}]
`

func tree(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s), Mode: 0o644}
	}
	return fsys
}

// A component's patch and labels reach the output, in the
// kustomization's order, as kubectl kustomize builds them.
func TestBuildAppliesComponents(t *testing.T) {
	fsys := tree(map[string]string{
		"deploy/k8s/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml, service.yaml]
components: [overlay/x]
`,
		"deploy/k8s/deployment.yaml": deployment,
		"deploy/k8s/service.yaml":    service,
		"deploy/k8s/overlay/x/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
labels:
  - pairs: {team: payments}
patches:
  - target: {kind: Deployment}
    patch: |
      - op: replace
        path: /spec/template/spec/terminationGracePeriodSeconds
        value: 5
`,
		"README.md": "outside the kustomization, not copied",
	})
	objs, err := BuildObjects(fsys, "deploy/k8s")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].ID() != "Deployment/orders" || objs[1].ID() != "Service/orders" {
		t.Fatalf("objects %v, want Deployment/orders then Service/orders", objs)
	}
	d := string(objs[0].YAML)
	for _, want := range []string{"terminationGracePeriodSeconds: 5", "team: payments"} {
		if !strings.Contains(d, want) {
			t.Errorf("the built Deployment has no %q:\n%s", want, d)
		}
	}
	out, err := Build(fsys, "deploy/k8s")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "\n---\n"); n != 1 || !strings.Contains(string(out), "kind: Service") {
		t.Errorf("Build: want two documents, got %d separators:\n%s", n, out)
	}
}

func TestBuildRefuses(t *testing.T) {
	kust := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml]
`
	for _, tc := range []struct {
		name  string
		fsys  fstest.MapFS
		wants []string
	}{
		{"missing resource", tree(map[string]string{"k/kustomization.yaml": kust}), []string{"kustomize build k", "resources lists deployment.yaml: k/deployment.yaml is not a file or directory below k"}},
		{"missing patch", tree(map[string]string{
			"k/kustomization.yaml": kust + "patches: [{path: gone.yaml, target: {kind: Deployment}}]\n",
			"k/deployment.yaml":    deployment,
		}), []string{"k/gone.yaml"}},
		{"no kustomization", tree(map[string]string{"k/deployment.yaml": deployment}), []string{"kustomize build k", "kustomization"}},
		{"file outside the root", tree(map[string]string{
			"k/kustomization.yaml": "resources: [../deployment.yaml]\n",
			"deployment.yaml":      deployment,
		}), []string{"kustomize build k", "k/kustomization.yaml: resources lists ../deployment.yaml: deployment.yaml is not a file or directory below k"}},
		{"remote resource", tree(map[string]string{
			"k/kustomization.yaml": "resources: [deployment.yaml, https://example.com/x.yaml]\n",
			"k/deployment.yaml":    deployment,
		}), []string{"k/kustomization.yaml: resources lists https://example.com/x.yaml, which is remote", "fetches nothing"}},
		{"remote base in a component", tree(map[string]string{
			"k/kustomization.yaml":  kust + "components: [c]\n",
			"k/deployment.yaml":     deployment,
			"k/c/kustomization.yml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - github.com/example/repo//deploy?ref=v1\n",
		}), []string{"k/c/kustomization.yml: resources lists github.com/example/repo//deploy?ref=v1, which is remote: the build reads only the files below k "}},
		{"remote patch", tree(map[string]string{
			"k/kustomization.yaml": kust + "patches: [{path: 'https://example.com/p.yaml', target: {kind: Deployment}}]\n",
			"k/deployment.yaml":    deployment,
		}), []string{"k/kustomization.yaml: https://example.com/p.yaml is a URL"}},
		{"symbolic link", fstest.MapFS{
			"k/kustomization.yaml": {Data: []byte(kust)},
			"k/deployment.yaml":    {Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink | 0o777},
		}, []string{"k/deployment.yaml: a symbolic link"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.fsys, "k")
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			t.Log(err)
			if strings.Contains(err.Error(), "/k/") {
				t.Errorf("error %q names the in-memory copy", err)
			}
		})
	}
}

func TestBuildBounds(t *testing.T) {
	big := tree(map[string]string{"k/kustomization.yaml": "resources: []\n"})
	big["k/big.yaml"] = &fstest.MapFile{Data: make([]byte, MaxBytes+1)}
	if _, err := Build(big, "k"); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Build over %d bytes = %v, want it refused", MaxBytes, err)
	}
	if _, err := Build(big, "../k"); err == nil {
		t.Error("Build of ../k succeeded")
	}
}
