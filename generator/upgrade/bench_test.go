package upgrade

import (
	"testing"

	"github.com/zdgen/zdgen/generator"
	"github.com/zdgen/zdgen/internal/repotest"

	"github.com/zdgen/zdgen/generator/spec"
)

// BenchmarkPlanUpgrade measures an upgrade decided in memory: the 0.1.0
// base rebuilt and checked, the new render, and a three-way merge of an
// edited Deployment. Compare it with BenchmarkGenerate in the same run:
// it is about two renders plus the merges.
func BenchmarkPlanUpgrade(b *testing.B) {
	for _, protocol := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
		b.Run(protocol, func(b *testing.B) {
			a := spec.Defaults("svc")
			a.Protocol = protocol
			repo := repotest.Map(repotest.Compose(b, generator.Service{Version: "0.1.0", Answers: a}))
			dep := "deploy/k8s/deployment.yaml"
			repo[dep] = append(repo[dep], "# edited\n"...)
			l, err := spec.ParseLock(repo[spec.LockPath])
			if err != nil {
				b.Fatal(err)
			}
			a.Replicas = 5
			disk := func(p string) ([]byte, bool, error) { c, ok := repo[p]; return c, ok, nil }
			for b.Loop() {
				if _, err := PlanUpgrade(l, repo[spec.LockPath], a, disk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
