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
