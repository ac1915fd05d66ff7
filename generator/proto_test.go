package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zdgen/zdgen/generator/spec"
)

// withoutProtocVersion drops the line naming the protoc version: zdgen
// runs no protoc, so that line is the one difference allowed.
func withoutProtocVersion(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "// \tprotoc ") || strings.HasPrefix(line, "// - protoc ") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// The Go code zdgen writes for a gRPC service equals, byte for byte but for
// the protoc version line, what protoc and the pinned plugins generate from
// the same .proto.
func TestGeneratedProtoCodeMatchesProtoc(t *testing.T) {
	protoc := requireTool(t, "protoc")
	genGo := requireTool(t, "protoc-gen-go")
	genGRPC := requireTool(t, "protoc-gen-go-grpc")
	for tool, want := range map[string]string{genGo: "protoc-gen-go " + spec.ProtocGenGoVersion, genGRPC: "protoc-gen-go-grpc " + strings.TrimPrefix(spec.ProtocGenGoGRPCVersion, "v")} {
		out, err := exec.Command(tool, "--version").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Fatalf("%s --version = %q (%v); the test needs %s", tool, out, err, want)
		}
	}
	path := filepath.Dir(genGo) + string(os.PathListSeparator) + filepath.Dir(genGRPC) + string(os.PathListSeparator) + os.Getenv("PATH")

	for _, kv := range [][]string{
		{"protocol=grpc"},
		{"protocol=grpc", "name=orders-api", "module=github.com/acme/orders-api"},
		{"protocol=grpc", "name=a1", "module=git.example.org/team/deep/a1"},
	} {
		p, files := renderSet(t, kv...)
		src, out := t.TempDir(), t.TempDir()
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p.Proto.Path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p.Proto.Path), files[p.Proto.Path], 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(protoc, "-I", src,
			"--go_out="+out, "--go_opt=paths=source_relative",
			"--go-grpc_out="+out, "--go-grpc_opt=paths=source_relative",
			p.Proto.Path)
		cmd.Env = append(os.Environ(), "PATH="+path)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: protoc: %v\n%s", kv, err, msg)
		}
		base := strings.TrimSuffix(p.Proto.Path, ".proto")
		for _, gen := range []string{base + ".pb.go", base + "_grpc.pb.go"} {
			want, err := os.ReadFile(filepath.Join(out, gen))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := files[gen]
			if !ok {
				t.Fatalf("%v: zdgen did not write %s", kv, gen)
			}
			if withoutProtocVersion(string(got)) != withoutProtocVersion(string(want)) {
				t.Errorf("%v: %s differs from protoc's:\n--- zdgen\n%s\n--- protoc\n%s", kv, gen, got, want)
			}
		}
	}
}
