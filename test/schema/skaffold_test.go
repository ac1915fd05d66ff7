// Package schema checks generated files against the schemas of the tools
// that read them, using those tools' own Go types. It is a module of its
// own so that zdgen's build does not depend on them.
package schema

import (
	"strings"
	"testing"

	"github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/schema/latest"
	skaffoldyaml "github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/yaml"

	"github.com/zdgen/zdgen/generator"
)

// answerSets cover both skaffold.yaml shapes (with and without the
// PodDisruptionBudget), both protocols and non-default names and ports.
var answerSets = []map[string]string{
	{"name": "greeter"},
	{"name": "solo", "replicas": "1"},
	{"name": "orders-api", "module": "github.com/acme/orders-api", "port": "9000", "health-port": "9001", "replicas": "12"},
	{"name": "worker", "protocol": "grpc"},
}

func render(t *testing.T, given map[string]string) map[string][]byte {
	t.Helper()
	a, err := generator.Resolve(given)
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
		for _, m := range cfg.Render.RawK8s {
			if _, ok := files[m]; !ok {
				t.Errorf("%v: skaffold deploys %s, which is not generated", given, m)
			}
		}
		for path := range files {
			if strings.HasPrefix(path, "deploy/k8s/") && path != "deploy/k8s/kustomization.yaml" && !contains(cfg.Render.RawK8s, path) {
				t.Errorf("%v: %s is generated but skaffold does not deploy it", given, path)
			}
		}
		if cfg.Deploy.KubectlDeploy == nil {
			t.Errorf("%v: no kubectl deployer", given)
		}
		if len(cfg.PortForward) != 1 || cfg.PortForward[0].Name != given["name"] {
			t.Errorf("%v: port forward %+v", given, cfg.PortForward)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
