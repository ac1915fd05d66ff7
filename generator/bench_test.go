package generator

import "testing"

// BenchmarkGenerate measures validate + plan + render in memory (no
// writing), per protocol. bench/run.sh times the whole command.
func BenchmarkGenerate(b *testing.B) {
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		b.Run(protocol, func(b *testing.B) {
			a := Defaults("svc")
			a.Protocol = protocol
			for b.Loop() {
				if _, _, err := Generate(a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlanUpgrade measures an upgrade decided in memory: the 0.1.0
// base rebuilt and checked, the new render, and a three-way merge of an
// edited Deployment. Compare it with BenchmarkGenerate in the same run:
// it is about two renders plus the merges.
func BenchmarkPlanUpgrade(b *testing.B) {
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		b.Run(protocol, func(b *testing.B) {
			a := Defaults("svc")
			a.Protocol = protocol
			p, err := NewPlan(a)
			if err != nil {
				b.Fatal(err)
			}
			files, err := RenderVersion("0.1.0", p)
			if err != nil {
				b.Fatal(err)
			}
			repo := map[string][]byte{}
			for _, f := range files {
				repo[f.Path] = f.Content
			}
			dep := "deploy/k8s/deployment.yaml"
			repo[dep] = append(repo[dep], "# edited\n"...)
			l, err := ParseLock(repo[LockPath])
			if err != nil {
				b.Fatal(err)
			}
			a.Replicas = 5
			disk := func(p string) ([]byte, bool, error) { c, ok := repo[p]; return c, ok, nil }
			for b.Loop() {
				if _, err := PlanUpgrade(l, repo[LockPath], a, disk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
