package generator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeSet generates an answer set into a fresh directory.
func writeSet(t *testing.T, kv ...string) (*Plan, string) {
	t.Helper()
	a, err := set(t, kv...)
	if err != nil {
		t.Fatal(err)
	}
	p, files, err := Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), a.Name)
	if err := Write(context.Background(), dir, files, false); err != nil {
		t.Fatal(err)
	}
	return p, dir
}

func runIn(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// A generated service is a module that vets, builds and passes its own
// tests, including the shutdown sequence run against the real binary.
func TestGeneratedServiceBuildsAndPassesItsTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests generated modules")
	}
	// The defaults, a set with another name, module path and ports, and a
	// gRPC service with exec probes.
	for _, kv := range [][]string{matrix[0], matrix[4], matrix[6]} {
		_, dir := writeSet(t, kv...)
		if out := runIn(t, dir, "gofmt", "-l", "."); out != "" {
			t.Errorf("%v: gofmt would change:\n%s", kv, out)
		}
		runIn(t, dir, "go", "vet", "./...")
		runIn(t, dir, "go", "build", "./...")
		runIn(t, dir, "go", "test", "-count=1", "./...")
	}
}

// requireTool finds a checker on PATH (or in GOBIN). In CI its absence is
// a failure, elsewhere a skip: .ci/run installs it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(goEnv(t, "GOPATH"), "bin")} {
		if p := filepath.Join(dir, name); dir != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run must install it", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

func goEnv(t *testing.T, key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// kube-score, the manifest linter users run, finds nothing to warn about:
// the exceptions are annotated in the Deployment, each with its reason.
func TestKubeScore(t *testing.T) {
	kubeScore := requireTool(t, "kube-score")
	for _, kv := range matrix {
		_, dir := writeSet(t, kv...)
		manifests, _ := filepath.Glob(filepath.Join(dir, "deploy/k8s/*.yaml"))
		var args []string
		for _, m := range manifests {
			if filepath.Base(m) != "kustomization.yaml" {
				args = append(args, m)
			}
		}
		cmd := exec.Command(kubeScore, append([]string{"score", "--output-format", "ci"}, args...)...)
		out, err := cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "[CRITICAL]") || strings.Contains(line, "[WARNING]") {
				t.Errorf("%v: %s", kv, line)
			}
		}
		if err != nil && !t.Failed() {
			t.Errorf("%v: kube-score: %v\n%s", kv, err, out)
		}
		if !strings.Contains(string(out), "[OK]") {
			t.Errorf("%v: kube-score scored nothing:\n%s", kv, out)
		}
	}
}
