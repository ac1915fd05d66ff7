package workload_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/repotest"
	"github.com/zdgen/zdgen/workload"
)

// The tests of this file read repositories zdgen generates: they are
// outside the package, as zdgen's generator judges what it composes
// with it.

// editDeployment replaces old with new in the repository's
// deploy/k8s/deployment.yaml; the test fails if old is not there.
func editDeployment(t *testing.T, dir, old, new string) {
	t.Helper()
	repotest.Replace(t, filepath.Join(dir, "deploy", "k8s", "deployment.yaml"), old, new)
}

// With tracing the shutdown ends with the span flush, bounded by
// TRACE_FLUSH_TIMEOUT: a grace period that covers preStop, drain and
// shutdown but not the flush is refused, naming the flush; so is one that
// the Deployment's own, longer TRACE_FLUSH_TIMEOUT outgrows; and without
// the variable the service's default counts.
func TestCheckCountsTheTraceFlush(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders", "tracing": "otlp"})
	w, err := workload.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w.Flush != 2*time.Second || w.Grace != 24*time.Second {
		t.Fatalf("flush %s, grace %s; want the generated 2s and 24s", w.Flush, w.Grace)
	}
	if err := w.Check(5 * time.Second); err != nil {
		t.Errorf("the generated manifests break a rule: %v", err)
	}
	refused := func(what string, want ...string) {
		t.Helper()
		w, err := workload.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		err = w.Check(5 * time.Second)
		if !spec.IsInputError(err) {
			t.Fatalf("%s: Check = %v, want an input error", what, err)
		}
		for _, s := range want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", what, err, s)
			}
		}
	}
	editDeployment(t, dir, "terminationGracePeriodSeconds: 24", "terminationGracePeriodSeconds: 22")
	refused("grace 22s", "terminationGracePeriodSeconds 22s is too short", "preStop 5s + drain 2s + shutdown timeout 10s + trace flush 2s + margin 5s = 24s")
	editDeployment(t, dir, "terminationGracePeriodSeconds: 22", "terminationGracePeriodSeconds: 24")
	editDeployment(t, dir, `            - name: TRACE_FLUSH_TIMEOUT
              value: "2s"`, `            - name: TRACE_FLUSH_TIMEOUT
              value: "9s"`)
	refused("TRACE_FLUSH_TIMEOUT 9s", "trace flush 9s", "= 31s")
	editDeployment(t, dir, `            - name: TRACE_FLUSH_TIMEOUT
              value: "9s"
`, "")
	editDeployment(t, dir, "terminationGracePeriodSeconds: 24", "terminationGracePeriodSeconds: 23")
	refused("no TRACE_FLUSH_TIMEOUT, grace 23s", "trace flush 2s", "= 24s")
}

// A generated tracing Deployment names the pod in OTEL_RESOURCE_ATTRIBUTES
// through the downward API; the local rehearsal resolves those variables
// as the kubelet does, and still refuses any other valueFrom.
func TestLoadResolvesThePodsNameAndNamespace(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders", "tracing": "otlp"})
	w, err := workload.Load(dir)
	if err != nil {
		t.Fatalf("a generated tracing repository: %v", err)
	}
	env := map[string]string{}
	for _, e := range w.PodEnv("orders-1") {
		env[e.Name] = e.Value
	}
	if got, want := env["OTEL_RESOURCE_ATTRIBUTES"], "k8s.pod.name=orders-1,k8s.namespace.name=default"; got != want {
		t.Errorf("OTEL_RESOURCE_ATTRIBUTES = %q, want %q", got, want)
	}
	if env["PORT"] != "8080" || env["POD_NAME"] != "orders-1" {
		t.Errorf("PORT %q, POD_NAME %q: want 8080 and orders-1", env["PORT"], env["POD_NAME"])
	}
	for v, want := range map[string]string{
		"$(A)-$(B)":  "a-$(B)", // B is not defined (yet): left as written
		"$$(A)":      "$(A)",
		"cost: $$5":  "cost: $5",
		"$(A":        "$(A",
		"$(A)$(A)/x": "aa/x",
	} {
		if got := workload.ExpandEnv(v, map[string]string{"A": "a"}); got != want {
			t.Errorf("workload.ExpandEnv(%q) = %q, want %q", v, got, want)
		}
	}
	editDeployment(t, dir, "fieldPath: metadata.namespace", "fieldPath: spec.nodeName")
	if _, err := workload.Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "POD_NAMESPACE uses valueFrom") {
		t.Errorf("Load with spec.nodeName = %v, want an input error naming POD_NAMESPACE", err)
	}
}

// A generated Deployment gives the service its memory limit through the
// downward API (resourceFieldRef limits.memory); the local rehearsal
// resolves it from the container's resources as the kubelet does,
// divisor included, and refuses what only a node could answer.
func TestLoadResolvesTheContainersResources(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders"})
	resolved := func() (map[string]string, error) {
		w, err := workload.Load(dir)
		if err != nil {
			return nil, err
		}
		env := map[string]string{}
		for _, e := range w.PodEnv("orders-1") {
			env[e.Name] = e.Value
		}
		return env, nil
	}
	env, err := resolved()
	if err != nil {
		t.Fatalf("a generated repository: %v", err)
	}
	if got := env["MEMORY_LIMIT"]; got != "134217728" {
		t.Errorf("MEMORY_LIMIT = %q, want 134217728 (128Mi in bytes)", got)
	}
	// The kubelet rounds up: 128Mi in units of 100M is 1.34..., so 2.
	editDeployment(t, dir, `divisor: "1"`, `divisor: 100M`)
	if env, err = resolved(); err != nil || env["MEMORY_LIMIT"] != "2" {
		t.Errorf("divisor 100M: MEMORY_LIMIT = %q, %v; want 2", env["MEMORY_LIMIT"], err)
	}
	editDeployment(t, dir, "resource: limits.memory\n                  divisor: 100M", "resource: limits.cpu\n                  divisor: 1m")
	if env, err = resolved(); err != nil || env["MEMORY_LIMIT"] != "1000" {
		t.Errorf("limits.cpu in millicores: %q, %v; want 1000", env["MEMORY_LIMIT"], err)
	}
	for _, c := range []struct{ old, new, want string }{
		{"resource: limits.cpu", "resource: requests.nvidia.com/gpu", "requests.nvidia.com/gpu"},
		{"resource: limits.cpu", "containerName: sidecar\n                  resource: limits.cpu", "sidecar"},
		// No limit: the kubelet would give the node's allocatable CPU.
		{"cpu: \"1\"\n              memory: 128Mi", "memory: 128Mi", "sets no limits.cpu"},
	} {
		editDeployment(t, dir, c.old, c.new)
		if _, err := workload.Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "MEMORY_LIMIT") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load = %v, want an input error naming MEMORY_LIMIT and %s", c.new, err, c.want)
		}
		editDeployment(t, dir, c.new, c.old)
	}
}

// A Deployment that leaves its count to a HorizontalPodAutoscaler is
// rehearsed at the autoscaler's minReplicas, with maxSurge resolved
// against it; the autoscaler is read strictly, and one that targets
// another object is refused.
func TestLoadTakesTheAutoscalersMinimum(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders", "autoscale": "3-9"})
	w, err := workload.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w.Deployment.Spec.Replicas != nil {
		t.Fatalf("the Deployment sets replicas %d with autoscale", *w.Deployment.Spec.Replicas)
	}
	if w.Replicas != 3 || w.MaxSurge != 1 || w.MaxUnavailable != 0 {
		t.Errorf("replicas %d, maxSurge %d, maxUnavailable %d; want 3, 1, 0", w.Replicas, w.MaxSurge, w.MaxUnavailable)
	}

	hpa := filepath.Join(dir, "deploy", "k8s", "hpa.yaml")
	b, err := os.ReadFile(hpa)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) {
		t.Helper()
		if !strings.Contains(string(b), old) {
			t.Fatalf("hpa.yaml has no %q", old)
		}
		if err := os.WriteFile(hpa, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("  minReplicas: 3\n", "  minReplicas: 3\n  minReplica: 4\n")
	if _, err := workload.Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "minReplica") {
		t.Errorf("an autoscaler with an unknown field: %v, want it refused naming the field", err)
	}
	// One that targets another object scales nothing, and the Deployment
	// that leaves its count to it would run one pod: refused.
	edit("    kind: Deployment\n    name: orders\n", "    kind: Deployment\n    name: other\n")
	if _, err := workload.Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "scaleTargetRef apps/v1 Deployment other is not the Deployment") {
		t.Errorf("an autoscaler of another Deployment: %v, want it refused naming its target", err)
	}
}

// A repository with unresolved conflict markers (a merge, or an upgrade
// that left some) is refused naming each file and line with a marker, as
// zdgen upgrade refuses it, rather than with the YAML parser's complaint
// about the first line it cannot read.
func TestLoadNamesConflictMarkers(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders"})
	editDeployment(t, dir, "  replicas: 3\n", "<<<<<<< yours\n  replicas: 4\n||||||| zdgen 0.8.0 (replicas=3)\n  replicas: 3\n=======\n  replicas: 5\n>>>>>>> zdgen 0.8.0 (replicas=5)\n")
	b, err := os.ReadFile(filepath.Join(dir, "deploy", "k8s", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Count(string(b[:strings.Index(string(b), "<<<<<<< yours")]), "\n") + 1
	readme := filepath.Join(dir, "README.md")
	r, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(readme, append([]byte("<<<<<<<\nours\n=======\ntheirs\n>>>>>>>\n"), r...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = workload.Load(dir)
	if !spec.IsInputError(err) {
		t.Fatalf("Load = %v, want an input error", err)
	}
	for _, want := range []string{"conflict markers", fmt.Sprintf("deploy/k8s/deployment.yaml:%d", line), "README.md:1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load = %v, want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "MalformedYAML") || strings.Contains(err.Error(), "kustomize build") {
		t.Errorf("Load = %v: a parser's complaint, not the markers", err)
	}
}

// TestGeneratedExecCommandsRun: what zdgen itself writes passes the
// judgement on every base image it offers and on one it does not model:
// the exec preStop hook (Kubernetes before 1.30) and the gRPC exec probes
// (before 1.24) run the service's own binary, which every image has.
func TestGeneratedExecCommandsRun(t *testing.T) {
	for _, base := range []string{"distroless", "scratch", "alpine", "debian-slim", "registry.example.com/base/go:1.4"} {
		for _, protocol := range []string{spec.ProtocolHTTP, spec.ProtocolGRPC} {
			dir := repotest.Dir(t, map[string]string{"name": "orders", "base-image": base, "protocol": protocol, "k8s-version": "1.23"})
			w, err := workload.Load(dir)
			if err != nil {
				t.Errorf("%s on %s: %v", protocol, base, err)
				continue
			}
			if w.PreStop != 5*time.Second || len(workload.Commands(w)) == 0 {
				t.Errorf("%s on %s: preStop %s, %d exec commands judged; want the exec hook's 5s", protocol, base, w.PreStop, len(workload.Commands(w)))
			}
			for _, ec := range workload.Commands(w) {
				if !ec.Service {
					t.Errorf("%s on %s: a generated exec command does not run the service's binary", protocol, base)
				}
			}
		}
	}
}
