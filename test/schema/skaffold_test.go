// Package schema checks generated files against the schemas of the tools
// that read them, using those tools' own Go types. It is a module of its
// own so that zdgen's build does not depend on them.
package schema

import (
	"testing"

	"github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/schema/latest"
	skaffoldyaml "github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/yaml"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/generator/spec"
)

// answerSets cover both skaffold.yaml shapes (with and without the
// PodDisruptionBudget), both protocols, non-default names and ports, and
// the manifests with and without a ServiceMonitor, and with each expose
// front for each protocol.
var answerSets = []map[string]string{
	{"name": "greeter"},
	{"name": "solo", "replicas": "1"},
	{"name": "orders-api", "module": "github.com/acme/orders-api", "port": "9000", "health-port": "9001", "replicas": "12"},
	{"name": "worker", "protocol": "grpc"},
	{"name": "watched", "service-monitor": "true", "tracing": "otlp"},
	{"name": "watched-worker", "protocol": "grpc", "service-monitor": "true", "port": "9000", "health-port": "9001"},
	{"name": "quiet", "metrics": "false"},
	{"name": "routed", "expose": "gateway"},
	{"name": "routed-worker", "protocol": "grpc", "expose": "gateway", "port": "9000", "health-port": "9001"},
	{"name": "entered", "expose": "ingress"},
	{"name": "entered-worker", "protocol": "grpc", "expose": "ingress"},
}

func render(t *testing.T, given map[string]string) map[string][]byte {
	t.Helper()
	a, err := spec.Resolve(given)
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := generator.Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Content
	}
	return out
}

// skaffold.yaml decodes strictly (unknown keys rejected) into the schema of
// the newest skaffold release on the module proxy, as skaffold itself
// decodes it, and names that schema's version.
func TestSkaffoldConfigMatchesTheLatestSchema(t *testing.T) {
	for _, given := range answerSets {
		files := render(t, given)
		var cfg latest.SkaffoldConfig
		if err := skaffoldyaml.UnmarshalStrict(files["skaffold.yaml"], &cfg); err != nil {
			t.Fatalf("%v: skaffold.yaml: %v", given, err)
		}
		if cfg.APIVersion != latest.Version {
			t.Errorf("%v: apiVersion %s, the current schema is %s", given, cfg.APIVersion, latest.Version)
		}
		if len(cfg.Build.Artifacts) != 1 || cfg.Build.Artifacts[0].ImageName != given["name"] {
			t.Errorf("%v: build artifacts %+v", given, cfg.Build.Artifacts)
		}
		// skaffold renders the kustomization, the one list of the
		// manifests, rather than a list of its own.
		if len(cfg.Render.RawK8s) != 0 || cfg.Render.Kustomize == nil || len(cfg.Render.Kustomize.Paths) != 1 {
			t.Fatalf("%v: manifests %+v, want the kustomization in deploy/k8s alone", given, cfg.Render)
		}
		if _, ok := files[cfg.Render.Kustomize.Paths[0]+"/kustomization.yaml"]; !ok {
			t.Errorf("%v: skaffold renders %s, which has no generated kustomization.yaml", given, cfg.Render.Kustomize.Paths[0])
		}
		if cfg.Deploy.KubectlDeploy == nil {
			t.Errorf("%v: no kubectl deployer", given)
		}
		if len(cfg.PortForward) != 1 || cfg.PortForward[0].Name != given["name"] {
			t.Errorf("%v: port forward %+v", given, cfg.PortForward)
		}
	}
}
