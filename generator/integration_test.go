package generator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/generator/write"
)

// writeSet generates an answer set into a fresh directory.
func writeSet(t *testing.T, kv ...string) (*spec.Plan, string) {
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
	if err := write.Write(context.Background(), dir, files, false); err != nil {
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
	// The defaults, a set with another name, module path and ports, a
	// gRPC service with exec probes, HTTP without metrics (the standard
	// library alone), and each protocol with tracing.
	for _, kv := range [][]string{matrix[0], matrix[4], matrix[6], matrix[8], matrix[9], matrix[10]} {
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

// freePort asks the kernel for a port nobody is using.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A generated gRPC service answers clients no one here wrote: the
// grpc-health-probe that Kubernetes users bake into images, and ghz, the
// gRPC load tool, which finds the Work rpc through server reflection.
func TestGRPCServiceWithRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a generated service")
	}
	healthProbe := requireTool(t, "grpc-health-probe")
	ghz := requireTool(t, "ghz")
	p, dir := writeSet(t, "protocol=grpc")
	runIn(t, dir, "go", "build", "-o", "bin/svc", "./cmd/svc")

	port, healthPort := freePort(t), freePort(t)
	svc := exec.Command(filepath.Join(dir, "bin/svc"))
	svc.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), fmt.Sprintf("HEALTH_PORT=%d", healthPort), "DRAIN_DELAY=30s")
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- svc.Wait() }()
	t.Cleanup(func() { svc.Process.Kill() })
	addr, healthAddr := fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", healthPort)

	// grpc-health-probe exits 0 for SERVING and 4 for NOT_SERVING.
	probe := func(addr, service string) int {
		cmd := exec.Command(healthProbe, "-addr="+addr, "-service="+service, "-connect-timeout=2s", "-rpc-timeout=2s")
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			t.Fatal(err)
		}
		return 0
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 15s", what)
			}
		}
	}
	eventually("readiness SERVING", func() bool { return probe(addr, spec.ReadinessService) == 0 })
	if code := probe(healthAddr, spec.LivenessService); code != 0 {
		t.Errorf("liveness: grpc-health-probe exit %d, want 0", code)
	}

	out, err := exec.Command(ghz, "--insecure", "--call", p.Proto.Package+".WorkService/Work",
		"-d", `{"duration_ms": 1}`, "-n", "300", "-c", "10", "--format", "json", addr).Output()
	if err != nil {
		t.Fatalf("ghz: %v\n%s", err, out)
	}
	var report struct {
		Count        int            `json:"count"`
		StatusCodes  map[string]int `json:"statusCodeDistribution"`
		ErrorsByKind map[string]int `json:"errorDistribution"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("ghz output: %v\n%s", err, out)
	}
	if report.Count != 300 || report.StatusCodes["OK"] != 300 || len(report.ErrorsByKind) != 0 {
		t.Errorf("ghz: %d calls, status codes %v, errors %v; want 300 OK", report.Count, report.StatusCodes, report.ErrorsByKind)
	}
	// The health port serves /metrics beside the gRPC health service, and
	// counts the calls under the names gRPC dashboards know.
	works := fmt.Sprintf(`grpc_server_handled_total{grpc_code="OK",grpc_method="Work",grpc_service="%s.WorkService",grpc_type="unary"} 300`, p.Proto.Package)
	if m := scrape(t, healthAddr); !strings.Contains(m, "\n"+works+"\n") {
		t.Errorf("/metrics lacks %s:\n%s", works, m)
	}

	if err := svc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually("readiness NOT_SERVING after SIGTERM", func() bool { return probe(addr, spec.ReadinessService) == 4 })
	if code := probe(healthAddr, spec.LivenessService); code != 0 {
		t.Errorf("liveness during the drain: grpc-health-probe exit %d, want 0", code)
	}
	if m := scrape(t, healthAddr); !strings.Contains(m, "\n"+`shutdown_phase{phase="draining"} 1`+"\n") {
		t.Errorf("/metrics during the drain does not say draining:\n%s", m)
	}
	svc.Process.Signal(syscall.SIGTERM) // a second signal ends the 30 s drain
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("the service did not exit after a second SIGTERM")
	}
}

// scrape returns what a Prometheus scrape of addr's /metrics gets.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	return string(b)
}

// gosec, the Go security linter, finds nothing in generated code, run as
// the generated Makefile's lint target runs it. (-exclude-generated skips
// only protoc's output, which must stay byte-identical to protoc's.)
func TestGosec(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks generated modules")
	}
	gosec := requireTool(t, "gosec")
	for _, kv := range [][]string{matrix[0], matrix[5], matrix[8], matrix[9], matrix[10]} {
		_, dir := writeSet(t, kv...)
		if !strings.Contains(runIn(t, dir, "cat", "Makefile"), "gosec -quiet -exclude-generated ./...") {
			t.Fatal("the Makefile's lint target no longer runs gosec as this test does")
		}
		cmd := exec.Command(gosec, "-exclude-generated", "-fmt", "json", "./...") // not -quiet: it prints nothing at all when clean
		cmd.Dir = dir
		out, _ := cmd.Output() // exit 1 when it finds issues: the report says which
		var report struct {
			Issues []struct {
				RuleID string `json:"rule_id"`
				File   string `json:"file"`
				Line   string `json:"line"`
			} `json:"Issues"`
			Stats struct {
				Files int `json:"files"`
			} `json:"Stats"`
		}
		if err := json.Unmarshal(out, &report); err != nil {
			t.Fatalf("%v: gosec output: %v\n%s", kv, err, out)
		}
		if report.Stats.Files == 0 {
			t.Errorf("%v: gosec scanned no file", kv)
		}
		for _, i := range report.Issues {
			t.Errorf("%v: gosec %s at %s:%s", kv, i.RuleID, i.File, i.Line)
		}
	}
}
