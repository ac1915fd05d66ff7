package workload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
)

// setPreStopExec replaces the example's native sleep hook with an exec one.
func setPreStopExec(t *testing.T, dir, command string) {
	t.Helper()
	editDeployment(t, dir, `sleep:
                seconds: 5`, "exec:\n                command: "+command)
}

// setFinalFrom makes the Dockerfile's last stage start from base.
func setFinalFrom(t *testing.T, dir, base string) {
	t.Helper()
	path := filepath.Join(dir, "Dockerfile")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.LastIndex(s, "\nFROM ")
	j := i + 1 + strings.IndexByte(s[i+1:], '\n')
	if err := os.WriteFile(path, []byte(s[:i]+"\nFROM "+base+s[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExecHookJudgedAgainstTheImage: an exec preStop hook runs in the
// rehearsal only when its command exists in the image the Dockerfile's
// final stage builds; its length for the timing rules is what that
// command does.
func TestExecHookJudgedAgainstTheImage(t *testing.T) {
	const distroless = "gcr.io/distroless/static-debian12:nonroot"
	for _, tc := range []struct {
		name, base, command string
		preStop             time.Duration // when accepted
		want                []string      // in the error, when refused
	}{
		{"distroless has no sleep", distroless, `["sleep", "5"]`, 0,
			[]string{`["sleep","5"]`, "sleep", distroless, "no shell and no coreutils", "copies in only /greeter"}},
		{"distroless has no shell", distroless, `["/bin/sh", "-c", "sleep 5"]`, 0,
			[]string{"/bin/sh", distroless}},
		{"scratch has nothing", "scratch", `["sleep", "5"]`, 0, []string{"sleep", "scratch"}},
		{"the service's own binary, on distroless", distroless, `["/greeter", "sleep", "5s"]`, 5 * time.Second, nil},
		{"the service's binary by a name not on PATH", distroless, `["greeter", "sleep", "5s"]`, 0, []string{"greeter", distroless}},
		{"a shell on alpine", "alpine:3.22", `["/bin/sh", "-c", "sleep 5"]`, 5 * time.Second, nil},
		{"sleep on alpine", "alpine:3.22", `["sleep", "5"]`, 5 * time.Second, nil},
		{"a shell on debian-slim", "debian:bookworm-slim", `["/bin/sh", "-c", "echo draining; sleep 5"]`, 5 * time.Second, nil},
		{"coreutils sleep on debian-slim", "debian:bookworm-slim", `["/usr/bin/sleep", "5s"]`, 5 * time.Second, nil},
		{"wget is not in debian-slim", "debian:bookworm-slim", `["wget", "-q", "http://127.0.0.1:8080/drain"]`, 0, []string{"wget", "debian:bookworm-slim"}},
		{"an image it does not model", "registry.example.com/base/go:1.4", `["sleep", "5"]`, 0,
			[]string{"not modelled", "registry.example.com/base/go:1.4", "sleep"}},
		{"the service's binary on an image it does not model", "registry.example.com/base/go:1.4", `["/greeter", "sleep", "5s"]`, 5 * time.Second, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyRepo(t, "http-greeter")
			setFinalFrom(t, dir, tc.base)
			setPreStopExec(t, dir, tc.command)
			w, err := Load(dir)
			if tc.want != nil {
				if !spec.IsInputError(err) {
					t.Fatalf("Load = %v, want an input error (in a cluster the hook cannot run)", err)
				}
				for _, s := range tc.want {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error does not say %q:\n%v", s, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.PreStop != tc.preStop {
				t.Errorf("preStop %s, want %s", w.PreStop, tc.preStop)
			}
			if err := w.Check(5 * time.Second); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

// TestExecProbeJudgedAgainstTheImage: probes are commands in the image
// too; one that cannot run there would keep every pod unready.
func TestExecProbeJudgedAgainstTheImage(t *testing.T) {
	dir := copyRepo(t, "http-greeter")
	editDeployment(t, dir, `readinessProbe:
            httpGet:
              path: /readyz
              port: http`, `readinessProbe:
            exec:
              command: ["cat", "/tmp/ready"]`)
	_, err := Load(dir)
	if !spec.IsInputError(err) || !strings.Contains(err.Error(), "readinessProbe") || !strings.Contains(err.Error(), "gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("Load = %v, want an input error naming the readiness probe and the image", err)
	}
}

func TestClassifyBaseImages(t *testing.T) {
	for ref, want := range map[string]string{
		"scratch": "scratch",
		"gcr.io/distroless/static-debian12:nonroot": "distroless",
		"gcr.io/distroless/base-debian12":           "distroless",
		"gcr.io/distroless/static-debian12:debug":   "", // a busybox shell under /busybox
		"alpine:3.22": "alpine",
		"docker.io/library/alpine@sha256:" + strings.Repeat("a", 64): "alpine",
		"debian:bookworm-slim":             "debian-slim",
		"debian:bookworm":                  "debian",
		"golang:1.26-alpine":               "",
		"registry.example.com/base/go:1.4": "",
	} {
		if got := classify(ref); got != want {
			t.Errorf("classify(%s) = %q, want %q", ref, got, want)
		}
	}
}

func TestSleepLengths(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want time.Duration
	}{
		{[]string{"sleep", "5"}, 5 * time.Second},
		{[]string{"sleep", "1m", "0.5"}, 60500 * time.Millisecond},
		{[]string{"sleep", "soon"}, 0},
		{[]string{"sleep", "1e400"}, 0},
		{[]string{"sleep", "99999999999999999"}, 0}, // beyond a time.Duration
	} {
		if got := sleepArgs(tc.argv[1:]); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.argv, got, tc.want)
		}
	}
	for script, want := range map[string]time.Duration{
		"sleep 5":                            5 * time.Second,
		"echo draining; sleep 3 && sleep 2s": 5 * time.Second,
		"exec sleep 4":                       4 * time.Second,
		"nosleep 5; curl x":                  0,
	} {
		if got := scriptSleeps(script); got != want {
			t.Errorf("%q: %s, want %s", script, got, want)
		}
	}
	// The service's own sleep reads a Go duration only.
	if serviceSleep([]string{"/orders", "sleep", "5s"}) != 5*time.Second || serviceSleep([]string{"/orders", "sleep", "5"}) != 0 {
		t.Error("the service's sleep subcommand takes Go durations only")
	}
}
