package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zdgen/zdgen/internal/chromiumtest"
	"github.com/zdgen/zdgen/rehearse"
)

// rehearseJSON runs `zdgen rehearse ... --json` and decodes its result.
func rehearseJSON(t *testing.T, args ...string) (int, *rehearse.Result, string) {
	t.Helper()
	code, out, errOut := zdgen(t, nil, append([]string{"rehearse", "--json"}, args...)...)
	var res rehearse.Result
	var verdict struct {
		Passed *bool `json:"passed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || json.Unmarshal([]byte(out), &verdict) != nil {
		t.Fatalf("exit %d, no JSON result (%v); stderr:\n%s", code, err, errOut)
	}
	if verdict.Passed == nil || *verdict.Passed != (code == 0) {
		t.Errorf("exit %d, but the JSON result's passed is %v", code, verdict.Passed)
	}
	return code, &res, errOut
}

// TestRehearseExamples is the acceptance test: both examples roll
// three times under 500 requests a second over 50 connections with no
// failure, and the same rehearsal with the protections off fails. The two
// protocols run in parallel; each takes about a minute and a half of real
// time, because the rollouts run on the manifests' real timings.
func TestRehearseExamples(t *testing.T) {
	for _, ex := range []string{"http-greeter", "grpc-worker"} {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("..", "..", "examples", ex)
			load := []string{dir, "--rate", "500", "--conns", "50", "--replicas", "3", "--rollouts", "3"}
			report := filepath.Join(t.TempDir(), "rehearsal.html")

			code, res, errOut := rehearseJSON(t, append(load, "--report", report)...)
			if code != 0 || res.Load.Failed != 0 || len(res.Problems) != 0 {
				t.Errorf("protected: exit %d, %d of %d requests failed (%v, first: %s), problems %v\n%s",
					code, res.Load.Failed, res.Load.Total, res.Load.Errors, res.Load.FirstError, res.Problems, errOut)
			}
			if len(res.Rollouts) != 3 || res.Replicas != 3 || res.Load.Total < 500*20 {
				t.Errorf("protected: %d rollouts of %d replicas, %d requests; want 3, 3 and at least 20 s of load", len(res.Rollouts), res.Replicas, res.Load.Total)
			}
			// The load client's JSON report is a contract between the
			// generated repository and zdgen: what the report charts arrived.
			if l := res.Load; l.Start.IsZero() || l.Latency.P50 <= 0 || l.Latency.P99 < l.Latency.P50 ||
				len(l.PerSecond) < 20 || l.PerSecond[len(l.PerSecond)/2].P99 <= 0 {
				t.Errorf("protected: the load report lacks its start, latencies or timeline: start %v, latency %+v, %d seconds",
					l.Start, l.Latency, len(l.PerSecond))
			}
			// Without a terminal, progress is one plain line per event.
			if !strings.Contains(errOut, "rollout-start") || strings.Contains(errOut, "\r") {
				t.Errorf("progress on a non-terminal is not plain lines:\n%s", errOut)
			}
			if ex == "http-greeter" {
				dom := chromiumtest.DumpDOM(t, report)
				if !strings.Contains(dom, `id="rate-ok"`) || !strings.Contains(dom, `id="latency-p99"`) {
					t.Error("the report's chart has no request-rate or latency series")
				}
				if n := strings.Count(dom, `class="event"`); n < 6*3*3 { // each rollout: 3 new and 3 old pods, several events each
					t.Errorf("the report marks %d pod events, want the rollouts' events", n)
				}
			}

			code, naive, errOut := rehearseJSON(t, append(load, "--naive")...)
			if code != 1 || naive.Load.Failed == 0 || !naive.Naive {
				t.Errorf("naive: exit %d with %d of %d requests failed; want exit 1 and failures\n%s", code, naive.Load.Failed, naive.Load.Total, errOut)
			}
			t.Logf("%s: protected %d requests, %d failed; naive %d requests, %d failed %v", ex, res.Load.Total, res.Load.Failed, naive.Load.Total, naive.Load.Failed, naive.Load.Errors)
		})
	}
}

// The service generated with the example overlay rehearses as any other:
// its manifests as kustomize builds them (the overlay's labels and
// sidecar patched in; the loopback rehearsal runs the service's own
// container), one rollout under load, no failure, --json as usual.
func TestRehearseOverlaidExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and rolls the example")
	}
	dir := filepath.Join("..", "..", "examples", "overlay", "payments")
	code, res, errOut := rehearseJSON(t, dir, "--rate", "200", "--conns", "20", "--rollouts", "1")
	if code != 0 || res.Load.Failed != 0 || len(res.Problems) != 0 || len(res.Rollouts) != 1 || res.Load.Total < 200*5 {
		t.Errorf("exit %d, %d of %d requests failed, %d rollouts, problems %v\n%s", code, res.Load.Failed, res.Load.Total, len(res.Rollouts), res.Problems, errOut)
	}
	t.Logf("overlaid example: %d requests, %d failed", res.Load.Total, res.Load.Failed)
}

// copyExample copies the files a rehearsal reads before it builds
// anything: the answers and the manifests.
func copyExample(t *testing.T, ex string) string {
	t.Helper()
	src, dst := filepath.Join("..", "..", "examples", ex), t.TempDir()
	for _, rel := range []string{".zdgen.yaml", "deploy/k8s/kustomization.yaml", "deploy/k8s/deployment.yaml",
		"deploy/k8s/service.yaml", "deploy/k8s/networkpolicy.yaml", "deploy/k8s/pdb.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, rel), string(b))
	}
	return dst
}

func TestRehearseRejectsAShortGracePeriod(t *testing.T) {
	dir := copyExample(t, "grpc-worker")
	path := filepath.Join(dir, "deploy", "k8s", "deployment.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(string(b), "terminationGracePeriodSeconds: 22", "terminationGracePeriodSeconds: 15", 1))
	code, out, errOut := zdgen(t, nil, "rehearse", dir)
	if code != exitUsage || out != "" {
		t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
	}
	for _, want := range []string{"terminationGracePeriodSeconds 15s is too short", "preStop 5s + drain 2s + shutdown timeout 10s + margin 5s = 22s", "the grace clock starts before preStop"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not name the rule (%q):\n%s", want, errOut)
		}
	}
}

func TestRehearseUsageErrors(t *testing.T) {
	dir := copyExample(t, "http-greeter")
	for _, args := range [][]string{
		{"rehearse", dir, "--rate", "0"},
		{"rehearse", dir, "--conns", "0"},
		{"rehearse", dir, "--rollouts", "-1"},
		{"rehearse", dir, "--report", "out.txt"},
		{"rehearse", dir, dir},
		{"rehearse", dir, "--rate", "fast"},
		{"rehearse", dir, "--lag", "-1s"},
		{"rehearse", t.TempDir()}, // not a zdgen repository
	} {
		code, _, errOut := zdgen(t, nil, args...)
		if code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errOut)
		}
	}
}

// eventWriter collects progress lines and tells when one matches.
type eventWriter struct {
	mu    sync.Mutex
	b     strings.Builder
	match func(string) bool
	hit   chan struct{}
	once  sync.Once
}

func (w *eventWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if w.match(w.b.String()) {
		w.once.Do(func() { close(w.hit) })
	}
	return len(p), nil
}

func (w *eventWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestRehearseInterruptedLeavesNoProcess cancels a rehearsal (Ctrl-C) once
// its pods run and checks that it exits 130, says it was interrupted, and
// that every pod process is gone.
func TestRehearseInterruptedLeavesNoProcess(t *testing.T) {
	started := regexp.MustCompile(`created +pid (\d+)`)
	errOut := &eventWriter{hit: make(chan struct{}), match: func(s string) bool {
		return len(started.FindAllString(s, -1)) == 3 && strings.Contains(s, "ready")
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-errOut.hit:
		case <-time.After(2 * time.Minute):
		}
		cancel()
	}()
	code := run(ctx, []string{"rehearse", filepath.Join("..", "..", "examples", "http-greeter")},
		env{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: errOut})
	if code != exitInterrupted {
		t.Errorf("exit %d, want 130\n%s", code, errOut)
	}
	// Said as every command says it, not as the step that was cut short
	// ("rollout 1: context canceled").
	if s := errOut.String(); !strings.HasSuffix(s, "\nzdgen: interrupted\n") || strings.Contains(s, "context canceled") {
		t.Errorf("want the last line \"zdgen: interrupted\":\n%s", s)
	}
	pids := started.FindAllStringSubmatch(errOut.String(), -1)
	if len(pids) == 0 {
		t.Fatalf("no pod was started:\n%s", errOut)
	}
	for _, m := range pids {
		pid, _ := strconv.Atoi(m[1])
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pod process %d is still there after the rehearsal returned (kill 0: %v)", pid, err)
		}
	}
}

// TestRehearseValidatesUpFront: flags that cannot give a rehearsal are
// refused with exit 2 before anything is built or run. The context is
// cancelled from the start, so a rehearsal that got as far as building
// would end there with 130 instead.
func TestRehearseValidatesUpFront(t *testing.T) {
	dir := copyExample(t, "http-greeter")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "NaN"}, "--rate NaN"},
		{[]string{"--rate", "Inf"}, "--rate +Inf"},
		{[]string{"--rate", "-Inf"}, "--rate -Inf"},
		{[]string{"--work-ms", "10001"}, "WORK_MAX"},
		{[]string{"--report", filepath.Join(t.TempDir(), "missing", "rehearsal.html")}, "missing"},
		{[]string{"--conns", "10000000"}, "open files"},
		{[]string{"--replicas", "101"}, "--replicas 101"},
	} {
		code, out, errOut := zdgenCtx(t, ctx, nil, append([]string{"rehearse", dir}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and a message naming %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestRehearseWithoutGo: a machine without the Go toolchain cannot
// rehearse (it builds the service): exit 2, not the 1 of a lost request.
func TestRehearseWithoutGo(t *testing.T) {
	dir := copyExample(t, "http-greeter")
	t.Setenv("PATH", t.TempDir())
	code, _, errOut := zdgen(t, nil, "rehearse", dir)
	if code != exitUsage || !strings.Contains(errOut, "go") {
		t.Errorf("exit %d (%q), want 2 naming the missing go", code, errOut)
	}
}

// TestRehearseBuildFailure: a repository that does not build is a broken
// setup, exit 2, not a failed rehearsal (the copy has no Go sources).
func TestRehearseBuildFailure(t *testing.T) {
	code, _, errOut := zdgen(t, nil, "rehearse", copyExample(t, "http-greeter"))
	if code != exitUsage || !strings.Contains(errOut, "go build ./cmd/greeter") {
		t.Errorf("exit %d (%q), want 2 naming the build", code, errOut)
	}
}

// zdgen rehearse refuses, with exit 2 and before it builds anything,
// manifests whose SHUTDOWN_TIMEOUT is below WORK_MAX (whatever --work-ms
// asks), a Service whose selector selects no pod, and a repository with
// unresolved conflict markers, naming the rule, the selector or each
// marker's file and line. The context is cancelled from the start, so a
// rehearsal that got as far as building would end with 130 instead.
func TestRehearseRefusesBrokenManifests(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name, file, old, new string
		args                 []string
		want                 string
	}{
		{"shutdown", "deployment.yaml", "- name: SHUTDOWN_TIMEOUT\n              value: \"10s\"", "- name: SHUTDOWN_TIMEOUT\n              value: \"1s\"",
			nil, "SHUTDOWN_TIMEOUT 1s is below WORK_MAX 10s"},
		{"shutdown, long requests", "deployment.yaml", "- name: SHUTDOWN_TIMEOUT\n              value: \"10s\"", "- name: SHUTDOWN_TIMEOUT\n              value: \"1s\"",
			[]string{"--work-ms", "3000"}, "SHUTDOWN_TIMEOUT 1s is below WORK_MAX 10s"},
		{"selector", "service.yaml", "  selector:\n    app.kubernetes.io/name: greeter\n", "  selector:\n    app.kubernetes.io/name: nothing\n",
			nil, "Service greeter (deploy/k8s/service.yaml): selector app.kubernetes.io/name=nothing selects none of the pods"},
		{"conflict markers", "deployment.yaml", "  replicas: 3\n", "<<<<<<< yours\n  replicas: 4\n=======\n  replicas: 5\n>>>>>>> zdgen\n",
			nil, "unresolved conflict markers (<<<<<<<) at deploy/k8s/deployment.yaml:19"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyExample(t, "http-greeter")
			replaceIn(t, filepath.Join(dir, "deploy", "k8s", tc.file), tc.old, tc.new)
			code, out, errOut := zdgenCtx(t, ctx, nil, append([]string{"rehearse", dir}, tc.args...)...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and a message saying %q", code, out, errOut, tc.want)
			}
		})
	}
}
