package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	addr     string       // service port, as 127.0.0.1:N
	health   string       // health port
	client   *http.Client // a transport of its own: no connection outlives the test
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
	p := &proc{cmd: cmd, client: &http.Client{Transport: &http.Transport{}}, logs: make(chan map[string]any, 100), exited: make(chan struct{})}
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
		p.client.CloseIdleConnections()
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

// refusesSoon reports whether addr refuses connections within a few seconds
// (the listener closes as Shutdown begins, just after the log line).
func refusesSoon(addr string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return true
		}
		c.Close()
	}
	return false
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
	resp, err := p.client.Get("http://" + p.health + "/metrics")
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

func (p *proc) get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := p.client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp
}

// slowRequest starts POST /work?ms=N and returns once the service has
// begun handling it (its debug log says so), with a channel for the outcome.
func (p *proc) slowRequest(t *testing.T, ms int) <-chan error {
	t.Helper()
	written := make(chan struct{})
	done := make(chan error, 1)
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/work?ms="+strconv.Itoa(ms), nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { close(written) },
	}))
	go func() {
		resp, err := p.client.Transport.RoundTrip(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body) // a body cut short is a failed request too
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
		}
		done <- err
	}()
	select {
	case <-written:
	case err := <-done:
		t.Fatalf("slow request failed before SIGTERM: %v", err)
	}
	// Its own log line, not an earlier GET's: from then on the server has
	// it, and has decided it is not a drain answer.
	for p.waitLog(t, "request")["method"] != http.MethodPost {
	}
	return done
}

// The whole shutdown sequence, in order: readiness flips at once while
// liveness holds; the drain still serves, asking clients to close; an
// in-flight request finishes; then new connections are refused; and the
// process exits as soon as the work is done, long before the shutdown
// timeout.
func TestShutdownSequence(t *testing.T) {
	// A drain long enough for the checks below on a busy machine, and a
	// request that outlasts it.
	p := start(t, "DRAIN_DELAY=3s", "SHUTDOWN_TIMEOUT=60s")
	if got := p.get(t, "http://"+p.addr+"/readyz").StatusCode; got != 200 {
		t.Fatalf("/readyz before SIGTERM = %d, want 200", got)
	}
	const works = `http_requests_total{code="200",method="GET",route="/work"}`
	p.get(t, "http://"+p.addr+"/work?ms=0")
	p.wantMetrics(t, "before SIGTERM", map[string]float64{`shutdown_phase{phase="serving"}`: 1, works: 1})
	slow := p.slowRequest(t, 6000)
	sigterm := time.Now()
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: not ready")

	ready := p.get(t, "http://"+p.addr+"/readyz")
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz after SIGTERM = %d, want 503", ready.StatusCode)
	}
	if !ready.Close {
		t.Error("a response during the drain lacks Connection: close")
	}
	if got := p.get(t, "http://"+p.health+"/livez").StatusCode; got != 200 {
		t.Errorf("/livez during the drain = %d, want 200", got)
	}
	if got := p.get(t, "http://"+p.addr+"/work?ms=0").StatusCode; got != 200 {
		t.Errorf("new request during the drain = %d, want 200 (routers may still send here)", got)
	}
	// A scrape during the drain sees it, the requests it still serves, and
	// the connections it asked to close: the two responses above.
	p.wantMetrics(t, "during the drain", map[string]float64{
		`shutdown_phase{phase="serving"}`:   0,
		`shutdown_phase{phase="draining"}`:  1,
		works:                               2,
		"shutdown_connections_closed_total": 2,
	})

	p.waitLog(t, "shutdown: no longer accepting")
	if !refusesSoon(p.addr) {
		t.Error("the service port still accepts connections after the drain")
	}
	if got := p.get(t, "http://"+p.health+"/livez").StatusCode; got != 200 {
		t.Errorf("/livez while requests finish = %d, want 200", got)
	}
	// Shutdown began with the slow request in flight.
	p.wantMetrics(t, "while requests finish", map[string]float64{
		`shutdown_phase{phase="stopping"}`: 1,
		"shutdown_in_flight_at_stop":       1,
	})
	if err := <-slow; err != nil {
		t.Errorf("in-flight request: %v, want 200", err)
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

// A request that outlives the shutdown timeout is cut off, the log says so,
// and the process still exits.
func TestShutdownTimeoutClosesStragglers(t *testing.T) {
	p := start(t, "DRAIN_DELAY=0s", "SHUTDOWN_TIMEOUT=200ms", "WORK_MAX=60s")
	slow := p.slowRequest(t, 30000)
	p.signal(t, syscall.SIGTERM)
	p.waitLog(t, "shutdown: in-flight requests outlived the timeout")
	if err := <-slow; err == nil {
		t.Error("the straggler got a response; want its connection closed")
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
	for _, args := range [][]string{{"sleep", "soon"}, {"bogus"}} {
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
	if got := p.get(t, "http://"+p.addr+"/readyz").StatusCode; got != http.StatusServiceUnavailable {
		t.Errorf("/readyz while starting = %d, want 503", got)
	}
	if got := p.get(t, "http://"+p.health+"/livez").StatusCode; got != 200 {
		t.Errorf("/livez while starting = %d, want 200", got)
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
	if got := again.get(t, "http://"+again.addr+"/readyz").StatusCode; got != 200 {
		t.Errorf("restarted service /readyz = %d, want 200", got)
	}
}
