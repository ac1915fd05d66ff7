package workload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
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
	replaceIn(t, filepath.Join(dir, "deploy", "k8s", "deployment.yaml"), old, new)
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

// replaceIn is repotest.Replace, which this package's own tests cannot
// import (repotest composes through generator, which imports workload):
// it replaces old with new in the file at path, once; the test fails if
// old is not there.
func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
