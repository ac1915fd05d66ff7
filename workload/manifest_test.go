package workload

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/internal/repotest"
)

// copyRepo copies the parts of an example the rehearsal reads, so a test
// can edit its manifests.
func copyRepo(t *testing.T, example string) string {
	t.Helper()
	src := filepath.Join("..", "examples", example)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// editDeployment replaces old with new in the repository's
// deploy/k8s/deployment.yaml, once.
func editDeployment(t *testing.T, dir, old, new string) {
	t.Helper()
	repotest.Replace(t, filepath.Join(dir, "deploy", "k8s", "deployment.yaml"), old, new)
}

func TestLoadExamples(t *testing.T) {
	for _, ex := range []string{"http-greeter", "grpc-worker"} {
		t.Run(ex, func(t *testing.T) {
			w, err := Load(filepath.Join("..", "examples", ex))
			if err != nil {
				t.Fatal(err)
			}
			got := []time.Duration{w.Grace, w.PreStop, w.Drain, w.Shutdown, w.Margin}
			want := []time.Duration{22 * time.Second, 5 * time.Second, 2 * time.Second, 10 * time.Second, 5 * time.Second}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("grace, preStop, drain, shutdown, margin = %v, want %v", got, want)
					break
				}
			}
			if w.Replicas != 3 || w.MaxSurge != 1 || w.MaxUnavailable != 0 {
				t.Errorf("replicas %d surge %d unavailable %d, want 3 1 0", w.Replicas, w.MaxSurge, w.MaxUnavailable)
			}
			if w.Container.ReadinessProbe == nil || w.Container.LivenessProbe == nil || w.Container.StartupProbe == nil {
				t.Error("a probe is missing")
			}
			if err := w.Check(w.Answers.PropagationLag.D()); err != nil {
				t.Errorf("the generated manifests break a rule: %v", err)
			}
		})
	}
}

func TestCheckNamesTheRule(t *testing.T) {
	dir := copyRepo(t, "http-greeter")
	editDeployment(t, dir, "terminationGracePeriodSeconds: 22", "terminationGracePeriodSeconds: 12")
	w, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Check(5 * time.Second)
	if !spec.IsInputError(err) {
		t.Fatalf("Check = %v, want an input error", err)
	}
	for _, want := range []string{"terminationGracePeriodSeconds 12s is too short", "preStop 5s + drain 2s + shutdown timeout 10s + margin 5s = 22s", "the grace clock starts before preStop"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A lag longer than the preStop hook and drain together.
	w.Grace = 60 * time.Second
	if err := w.Check(10 * time.Second); err == nil || !strings.Contains(err.Error(), "must cover the propagation lag") {
		t.Errorf("Check with lag 10s = %v, want the drain rule", err)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown field", "terminationGracePeriodSeconds: 22", "terminationGracePeriod: 22", "unknown field"},
		{"env from a secret", `- name: WORK_MAX
              value: "10s"`, `- name: WORK_MAX
              valueFrom: {secretKeyRef: {name: s, key: k}}`, "valueFrom"},
		{"no PORT", "- name: PORT", "- name: SERVICE_PORT", "sets no PORT"},
		{"bad drain", `value: "2s"`, `value: "soon"`, "DRAIN_DELAY"},
		{"recreate", "type: RollingUpdate", "type: Recreate", "rolling updates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyRepo(t, "http-greeter")
			editDeployment(t, dir, tc.old, tc.new)
			_, err := Load(dir)
			if !spec.IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, want an input error saying %q", err, tc.want)
			}
		})
	}
	if _, err := Load(t.TempDir()); !spec.IsInputError(err) || !strings.Contains(err.Error(), "not a zdgen repository") {
		t.Errorf("Load(empty dir) = %v", err)
	}
}

func TestSurgePercentages(t *testing.T) {
	dir := copyRepo(t, "http-greeter")
	editDeployment(t, dir, "maxSurge: 1", "maxSurge: 25%")
	w, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetReplicas(10); err != nil {
		t.Fatal(err)
	}
	if w.MaxSurge != 3 { // 25 % of 10, rounded up
		t.Errorf("maxSurge 25%% of 10 = %d, want 3", w.MaxSurge)
	}
}

// TestUnsetEnvIsTheServiceDefault: a Deployment that leaves DRAIN_DELAY or
// SHUTDOWN_TIMEOUT unset runs the service on its built-in defaults (the
// plan's, from the recorded answers), so the timing rules count those, not
// 0: without SHUTDOWN_TIMEOUT the grace period still needs 22 s.
func TestUnsetEnvIsTheServiceDefault(t *testing.T) {
	dir := copyRepo(t, "http-greeter")
	editDeployment(t, dir, `            - name: DRAIN_DELAY
              value: "2s"
`, "")
	editDeployment(t, dir, `            - name: SHUTDOWN_TIMEOUT
              value: "10s"
`, "")
	editDeployment(t, dir, "terminationGracePeriodSeconds: 22", "terminationGracePeriodSeconds: 12")
	w, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w.Drain != 2*time.Second || w.Shutdown != 10*time.Second {
		t.Errorf("unset DRAIN_DELAY and SHUTDOWN_TIMEOUT read as %s and %s, want the service's defaults 2s and 10s", w.Drain, w.Shutdown)
	}
	err = w.Check(5 * time.Second)
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "drain 2s + shutdown timeout 10s + margin 5s = 22s") {
		t.Errorf("grace 12s without SHUTDOWN_TIMEOUT: Check = %v, want the grace rule with the defaults (22s)", err)
	}
}

// With tracing the shutdown ends with the span flush, bounded by
// TRACE_FLUSH_TIMEOUT: a grace period that covers preStop, drain and
// shutdown but not the flush is refused, naming the flush; so is one that
// the Deployment's own, longer TRACE_FLUSH_TIMEOUT outgrows; and without
// the variable the service's default counts.
func TestCheckCountsTheTraceFlush(t *testing.T) {
	dir := repotest.Dir(t, map[string]string{"name": "orders", "tracing": "otlp"})
	w, err := Load(dir)
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
		w, err := Load(dir)
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
	w, err := Load(dir)
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
		if got := expandEnv(v, map[string]string{"A": "a"}); got != want {
			t.Errorf("expandEnv(%q) = %q, want %q", v, got, want)
		}
	}
	editDeployment(t, dir, "fieldPath: metadata.namespace", "fieldPath: spec.nodeName")
	if _, err := Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "POD_NAMESPACE uses valueFrom") {
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
		w, err := Load(dir)
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
		if _, err := Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "MEMORY_LIMIT") || !strings.Contains(err.Error(), c.want) {
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
	w, err := Load(dir)
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
	if _, err := Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "minReplica") {
		t.Errorf("an autoscaler with an unknown field: %v, want it refused naming the field", err)
	}
	// One that targets another object scales nothing, and the Deployment
	// that leaves its count to it would run one pod: refused.
	edit("    kind: Deployment\n    name: orders\n", "    kind: Deployment\n    name: other\n")
	if _, err := Load(dir); !spec.IsInputError(err) || !strings.Contains(err.Error(), "scaleTargetRef apps/v1 Deployment other is not the Deployment") {
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
	_, err = Load(dir)
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
