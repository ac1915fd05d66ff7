package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	workerv1 "example.com/worker/api/worker/v1"
	"example.com/worker/internal/server"
)

// These tests run the real binary (this test binary, re-executed as main)
// and send it real signals, as the kubelet would.
func TestMain(m *testing.M) {
	if os.Getenv("TEST_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// proc is a running service and what it logged.
type proc struct {
	cmd      *exec.Cmd
	addr     string // service port, as 127.0.0.1:N
	health   string // health port
	logs     chan map[string]any
	read     []map[string]any // the lines waitLog has taken from logs
	exited   chan struct{}
	exitCode int
}

func start(t *testing.T, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{"TEST_RUN_MAIN=1", "PORT=0", "HEALTH_PORT=0", "LOG_LEVEL=debug"}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: make(chan map[string]any, 100), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				p.logs <- line
			}
		}
		_ = cmd.Wait() // the exit code below is what the tests check
		p.exitCode = cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // fails only if it has exited already
		<-p.exited
	})
	line := p.waitLog(t, "listening")
	p.addr = loopback(line["addr"].(string))
	p.health = loopback(line["health_addr"].(string))
	if !strings.Contains(strings.Join(env, " "), "STARTUP_DELAY") {
		p.waitLog(t, "ready")
	}
	return p
}

// waitLog waits for the log line whose msg starts with prefix.
func (p *proc) waitLog(t *testing.T, prefix string) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line := <-p.logs:
			p.read = append(p.read, line)
			if strings.HasPrefix(line["msg"].(string), prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("no log line %q", prefix)
		}
	}
}

// logged returns the line whose msg is msg among those waitLog has read
// (start reads every line up to "listening"), or nil.
func (p *proc) logged(msg string) map[string]any {
	for _, line := range p.read {
		if line["msg"] == msg {
			return line
		}
	}
	return nil
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.exitCode
	case <-time.After(60 * time.Second):
		t.Fatal("the service did not exit")
		return -1
	}
}

func loopback(listenAddr string) string {
	_, port, _ := net.SplitHostPort(listenAddr)
	return net.JoinHostPort("127.0.0.1", port)
}

// metric scrapes the service's /metrics, on the health port, and returns
// one sample's value, the sample named as the text format writes it
// (labels sorted by name). A missing sample fails the test.
func (p *proc) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.health + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s in /metrics", name)
	return 0
}

// wantMetrics fails the test for each sample that does not have its value.
func (p *proc) wantMetrics(t *testing.T, when string, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		if got := p.metric(t, name); got != v {
			t.Errorf("%s: %s = %v, want %v", when, name, got, v)
		}
	}
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func healthOf(t *testing.T, conn *grpc.ClientConn, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("health check %q: %v", service, err)
	}
	return resp.GetStatus()
}

func work(conn *grpc.ClientConn, ms int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := workerv1.NewWorkServiceClient(conn).Work(ctx, &workerv1.WorkRequest{DurationMs: ms})
	return err
}

// slowCall starts a Work call and returns once the service is handling it
// (its debug log says so), with a channel for the outcome.
func (p *proc) slowCall(t *testing.T, conn *grpc.ClientConn, ms int64) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- work(conn, ms) }()
	p.waitLog(t, "call")
	return done
}

// The whole shutdown sequence, in order: readiness turns NOT_SERVING at
// once while liveness stays SERVING; new calls keep succeeding through the
// drain; a call in flight finishes; and the process exits as soon as the
// work is done, long before the shutdown timeout.
func TestShutdownSequence(t *testing.T) {
	// A drain long enough for the checks below on a busy machine, and a
	// request that outlasts it.
	p := start(t, "DRAIN_DELAY=3s", "SHUTDOWN_TIMEOUT=60s")
	conn, live := dial(t, p.addr), dial(t, p.health)
	if got := healthOf(t, conn, server.ReadinessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("readiness before SIGTERM = %s", got)
	}
	const works = `grpc_server_handled_total{grpc_code="OK",grpc_method="Work",grpc_service="worker.v1.WorkService",grpc_type="unary"}`
	if err := work(conn, 0); err != nil {
		t.Fatal(err)
	}
	p.wantMetrics(t, "before SIGTERM", map[string]float64{`shutdown_phase{phase="serving"}`: 1, works: 1})
	slow := p.slowCall(t, conn, 6000)
	sigterm := time.Now()
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: not ready")

	if got := healthOf(t, conn, server.ReadinessService); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("readiness after SIGTERM = %s, want NOT_SERVING", got)
	}
	if got := healthOf(t, live, server.LivenessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("liveness during the drain = %s, want SERVING", got)
	}
	if err := work(conn, 0); err != nil {
		t.Errorf("new call during the drain: %v (routers may still send here)", err)
	}
	if err := work(dial(t, p.addr), 0); err != nil {
		t.Errorf("new connection during the drain: %v", err)
	}
	// A scrape during the drain sees it, and the calls it still serves.
	p.wantMetrics(t, "during the drain", map[string]float64{
		`shutdown_phase{phase="serving"}`:  0,
		`shutdown_phase{phase="draining"}`: 1,
		works:                              3,
	})

	p.waitLog(t, "shutdown: no longer accepting")
	if got := healthOf(t, live, server.LivenessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("liveness while calls finish = %s, want SERVING", got)
	}
	// GracefulStop began with the slow call in flight, and sent a GOAWAY
	// to each client connection: conn and the one dialled in the drain.
	p.wantMetrics(t, "while calls finish", map[string]float64{
		`shutdown_phase{phase="stopping"}`:  1,
		"shutdown_in_flight_at_stop":        1,
		"shutdown_connections_closed_total": 2,
	})
	if err := <-slow; err != nil {
		t.Errorf("call in flight: %v, want success", err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	// Drain (3 s) + the slow request's remainder (< 3 s): the process must
	// not sit out its 60 s shutdown timeout.
	if took := time.Since(sigterm); took > 30*time.Second {
		t.Errorf("exit %s after SIGTERM: it waited for the shutdown timeout instead of the work", took)
	}
}

// A call that outlives the shutdown timeout is cut off, the log says so,
// and the process still exits.
func TestShutdownTimeoutStopsStragglers(t *testing.T) {
	p := start(t, "DRAIN_DELAY=0s", "SHUTDOWN_TIMEOUT=200ms", "WORK_MAX=60s")
	slow := p.slowCall(t, dial(t, p.addr), 30000)
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: calls in flight outlived the timeout")
	if err := <-slow; err == nil {
		t.Error("the straggler succeeded; want it stopped")
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// A second SIGTERM during the drain ends it at once.
func TestSecondSignalAborts(t *testing.T) {
	p := start(t, "DRAIN_DELAY=60s")
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: not ready")
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: second signal")
	p.wait(t)
}

// The probe subcommand is the exec form of the Kubernetes probes.
func TestProbeSubcommand(t *testing.T) {
	p := start(t, "DRAIN_DELAY=30s")
	probe := func(addr, service string) int {
		return run([]string{"probe", "-addr", addr, "-service", service}, envOf(), io.Discard, io.Discard)
	}
	if code := probe(p.addr, server.ReadinessService); code != 0 {
		t.Errorf("readiness probe exit %d, want 0", code)
	}
	if code := probe(p.health, server.LivenessService); code != 0 {
		t.Errorf("liveness probe exit %d, want 0", code)
	}
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: not ready")
	if code := probe(p.addr, server.ReadinessService); code != 1 {
		t.Errorf("readiness probe while draining: exit %d, want 1", code)
	}
	if code := probe(p.health, server.LivenessService); code != 0 {
		t.Errorf("liveness probe while draining: exit %d, want 0", code)
	}
}

// The Go runtime cannot see the container's memory limit: the Deployment
// passes it as MEMORY_LIMIT, and the service sets the runtime's soft limit
// to 90 % of it, so that the garbage collector works harder before the
// kernel's OOM killer would end the process. GOMEMLIMIT, when set, is the
// limit instead. The startup log line gives the limit the runtime reports
// back, so the test sees the limit applied, not only computed.
func TestSoftMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		env        []string
		msg        string
		soft, from any // the line's soft_limit_bytes and from; nil: absent
	}{
		{[]string{"MEMORY_LIMIT=134217728", "GOMEMLIMIT="}, "memory limit", 120795956.0, "MEMORY_LIMIT"},
		{[]string{"MEMORY_LIMIT=134217728", "GOMEMLIMIT=100MiB"}, "memory limit", 104857600.0, "GOMEMLIMIT"},
		{[]string{"MEMORY_LIMIT=", "GOMEMLIMIT="}, "memory limit: none", nil, nil},
	} {
		p := start(t, c.env...)
		line := p.logged(c.msg)
		if line == nil {
			t.Errorf("%v: no log line %q before listening", c.env, c.msg)
			continue
		}
		if line["soft_limit_bytes"] != c.soft || line["from"] != c.from {
			t.Errorf("%v: %v, want soft_limit_bytes %v from %v", c.env, line, c.soft, c.from)
		}
	}
	if code, logged := refusal(t, "MEMORY_LIMIT=128Mi"); code != 2 || !strings.Contains(logged, "MEMORY_LIMIT") {
		t.Errorf("MEMORY_LIMIT=128Mi: exit %d, logged %q; want 2 naming MEMORY_LIMIT (bytes, as the downward API gives them)", code, logged)
	}
}

// A port that is taken is a clear error, not a hang.
func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var stdout strings.Builder
	code := run(nil, envOf("PORT="+port, "HEALTH_PORT=0"), &stdout, io.Discard)
	if code != 1 || !strings.Contains(stdout.String(), "address already in use") {
		t.Errorf("exit %d, log %q; want 1 and \"address already in use\"", code, stdout.String())
	}
}

// Settings outside zdgen's timing model still start the service (tests and
// experiments use them), but it warns at once, naming each variable. A taken
// port ends each run right after startup's log lines.
func TestSettingsOutsideTheTimingModelAreWarned(t *testing.T) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	warnings := func(env ...string) string {
		var stdout strings.Builder
		run(nil, envOf(append([]string{"PORT=" + port, "HEALTH_PORT=0"}, env...)...), &stdout, io.Discard)
		var warned []string
		for _, l := range strings.Split(stdout.String(), "\n") {
			var line map[string]any
			if json.Unmarshal([]byte(l), &line) == nil && line["level"] == "WARN" {
				warned = append(warned, l)
			}
		}
		return strings.Join(warned, "\n")
	}
	if w := warnings(); w != "" {
		t.Errorf("the defaults were warned about:\n%s", w)
	}
	w := warnings("SHUTDOWN_TIMEOUT=2s", "WORK_MAX=10s", "DRAIN_DELAY=100h")
	for _, v := range []string{"SHUTDOWN_TIMEOUT", "DRAIN_DELAY"} {
		if !strings.Contains(w, v) {
			t.Errorf("no warning naming %s:\n%s", v, w)
		}
	}
}

// refusal runs the service in this process with env and returns its exit
// code and the error it logged: the msg and error of its one log line, a
// JSON object at level ERROR, as a log pipeline reads it. Nothing may go
// to stderr. A service that does not refuse env fails on a taken port
// instead of serving on.
func refusal(t *testing.T, env ...string) (code int, logged string) {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var stdout, stderr strings.Builder
	code = run(nil, envOf(append([]string{"PORT=" + port, "HEALTH_PORT=0"}, env...)...), &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Errorf("%v: stderr %q; the service logs to stdout, as JSON", env, stderr.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(stdout.String()), &line); err != nil || line["level"] != "ERROR" {
		t.Errorf("%v: log %q, want one JSON line at level ERROR", env, stdout.String())
		return code, ""
	}
	return code, fmt.Sprint(line["msg"], ": ", line["error"])
}

func TestBadCommandLines(t *testing.T) {
	if code, logged := refusal(t, "DRAIN_DELAY=soon"); code != 2 || !strings.Contains(logged, "DRAIN_DELAY") {
		t.Errorf("exit %d, logged %q; want 2 naming DRAIN_DELAY", code, logged)
	}
	for _, args := range [][]string{{"sleep", "soon"}, {"probe", "-bogus"}, {"bogus"}} {
		if code := run(args, envOf(), io.Discard, io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code := run([]string{"sleep", "10ms"}, envOf(), io.Discard, io.Discard); code != 0 {
		t.Errorf("sleep 10ms: exit %d", code)
	}
}

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// SIGTERM while the service is still starting: it was never ready, so no
// router sends to it; it skips the drain and exits at once.
func TestSIGTERMDuringStartup(t *testing.T) {
	p := start(t, "STARTUP_DELAY=60s", "DRAIN_DELAY=60s")
	if got := healthOf(t, dial(t, p.addr), server.ReadinessService); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("readiness while starting = %s, want NOT_SERVING", got)
	}
	if got := healthOf(t, dial(t, p.health), server.LivenessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("liveness while starting = %s, want SERVING", got)
	}
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: signal during startup")
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// SIGKILL leaves nothing behind: a new process takes the same ports at
// once, as a restarted container would.
func TestSIGKILLLeavesNothingBehind(t *testing.T) {
	p := start(t)
	_, port, _ := net.SplitHostPort(p.addr)
	_, healthPort, _ := net.SplitHostPort(p.health)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	again := start(t, "PORT="+port, "HEALTH_PORT="+healthPort)
	if got := healthOf(t, dial(t, again.addr), server.ReadinessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("restarted service readiness = %s, want SERVING", got)
	}
}
