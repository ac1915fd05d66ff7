package generator

import (
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

// BenchmarkGenerate measures validate + plan + render in memory (no
// writing), per protocol. bench/run.sh times the whole command.
func BenchmarkGenerate(b *testing.B) {
	for _, protocol := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
		b.Run(protocol, func(b *testing.B) {
			a := spec.Defaults("svc")
			a.Protocol = protocol
			for b.Loop() {
				if _, _, err := Generate(a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
