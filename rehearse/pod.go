package rehearse

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// kubelet holds what every pod of a rehearsal shares: the manifest, the
// built binary, and where to report.
type kubelet struct {
	w        *Workload
	binary   string // the built service binary, standing in for the image's
	naive    bool   // no preStop hook, no drain delay
	tl       *timeline
	onChange func() // a pod's readiness or life changed: the controllers look again
}

// Pod is one replica: the service's process, the kubelet's probes of it,
// and its termination.
type Pod struct {
	Name     string
	Revision int
	k        *kubelet

	mu          sync.Mutex
	c           *container // the current process; replaced on a restart
	terminating bool
	readySince  time.Time // zero while not ready
	done        chan struct{}
}

// container is one run of the service's process.
type container struct {
	cmd     *exec.Cmd
	ports   map[int32]int // container port -> port on 127.0.0.1
	addr    string        // the service port, for the endpoints
	env     []string
	exited  chan struct{}
	code    int
	stop    context.CancelFunc // ends the probes
	started bool
	ready   bool
	killing bool // the kubelet is ending it: an exit is expected
	logTail []string
	logEnd  *io.PipeWriter
}

func newPod(k *kubelet, name string, revision int) *Pod {
	return &Pod{Name: name, Revision: revision, k: k, done: make(chan struct{})}
}

// start runs the service's process and its probes.
func (p *Pod) start() error {
	c, err := p.k.newContainer(p)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
	// The probes' context exists before the process, which may exit (and
	// end them) at once.
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	if err := c.cmd.Start(); err != nil {
		cancel()
		_ = c.logEnd.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.k.tl.add(p.Name, EvCreated, fmt.Sprintf("pid %d, port %s", c.cmd.Process.Pid, c.addr))
	go p.wait(c)
	ct := p.k.w.Container
	trigger := make(chan struct{}, 1)
	if ct.StartupProbe == nil {
		p.setStarted(c, trigger)
	} else {
		go p.probeLoop(ctx, c, "startup", ct.StartupProbe, nil, trigger)
	}
	if ct.ReadinessProbe != nil {
		go p.probeLoop(ctx, c, "readiness", ct.ReadinessProbe, trigger, nil)
	} else {
		go func() {
			// No readiness probe: ready once started.
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if p.isStarted(c) {
						p.setReady(c, true)
						return
					}
				}
			}
		}()
	}
	if ct.LivenessProbe != nil {
		go p.probeLoop(ctx, c, "liveness", ct.LivenessProbe, nil, nil)
	}
	return nil
}

func (k *kubelet) newContainer(p *Pod) (*container, error) {
	c := &container{ports: map[int32]int{}, exited: make(chan struct{})}
	for _, cp := range k.w.Container.Ports {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c.ports[cp.ContainerPort] = port
	}
	// The container's environment as the manifest writes it, with the
	// ports moved to free ones on 127.0.0.1 and the drain turned off for a
	// naive run (also where the manifest leaves it to the service's
	// default).
	if k.naive {
		c.env = append(c.env, "DRAIN_DELAY=0s")
	}
	for _, e := range k.w.Container.Env {
		v := e.Value
		switch e.Name {
		case "PORT", "HEALTH_PORT":
			n, _ := strconv.Atoi(v) // checked by Load
			v = strconv.Itoa(c.ports[int32(n)])
			if e.Name == "PORT" {
				c.addr = "127.0.0.1:" + v
			}
		case "DRAIN_DELAY":
			if k.naive {
				continue // set above
			}
		}
		c.env = append(c.env, e.Name+"="+v)
	}
	// Go >= 1.25 sizes GOMAXPROCS from the container's CPU limit; do the
	// same here, so a pod uses what it would use in the cluster.
	if lim, ok := k.w.Container.Resources.Limits[corev1.ResourceCPU]; ok {
		c.env = append(c.env, fmt.Sprintf("GOMAXPROCS=%d", max(1, int(math.Ceil(lim.AsApproximateFloat64())))))
	}
	c.env = append(c.env, "POD_NAME="+p.Name, "POD_TEMPLATE_REVISION="+strconv.Itoa(p.Revision))
	c.cmd = exec.Command(k.binary)
	c.cmd.Env = c.env
	c.cmd.Dir = filepath.Dir(k.binary)
	ownGroup(c.cmd)
	// Through an io.Pipe rather than StdoutPipe: Wait then returns only
	// after the last line is copied, so "shutdown: complete" is never lost
	// to the race between the exit and the read.
	pr, pw := io.Pipe()
	c.cmd.Stdout, c.cmd.Stderr = pw, pw // one stream, in order
	c.cmd.WaitDelay = 2 * time.Second   // a leftover child holding the pipe cannot stall Wait
	c.logEnd = pw
	go p.readLog(c, pr)
	return c, nil
}

// readLog turns the service's JSON log lines about readiness and shutdown
// into timeline events, and keeps the last lines for an error message.
func (p *Pod) readLog(c *container, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		c.logTail = append(c.logTail, line)
		if len(c.logTail) > 8 {
			c.logTail = c.logTail[1:]
		}
		p.mu.Unlock()
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Took  string `json:"took"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		if strings.HasPrefix(l.Msg, "shutdown") || l.Level == "WARN" || l.Level == "ERROR" {
			d := l.Msg
			if l.Took != "" {
				d += " (" + l.Took + ")"
			}
			p.k.tl.add(p.Name, EvLog, d)
		}
	}
}

// wait reaps the process; an exit the kubelet did not cause is a problem,
// and the container restarts, as with restartPolicy Always.
func (p *Pod) wait(c *container) {
	err := c.cmd.Wait()
	_ = c.logEnd.Close()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		c.code = ee.ExitCode()
	default:
		c.code = -1
	}
	c.stop()
	killGroup(c.cmd) // anything it left behind
	p.mu.Lock()
	expected := c.killing || p.terminating
	c.ready = false
	p.readySince = time.Time{}
	tail := strings.Join(c.logTail, "\n    ")
	p.mu.Unlock()
	close(c.exited)
	p.k.onChange()
	if expected {
		return
	}
	p.k.tl.add(p.Name, EvProblem, fmt.Sprintf("the process exited on its own (%s); the kubelet restarts it. Last log lines:\n    %s", exitText(c.code), tail))
	select {
	case <-time.After(time.Second):
	case <-p.done:
		return
	}
	p.startAgain()
}

// startAgain starts a new process in the pod, unless it has been deleted
// meanwhile.
func (p *Pod) startAgain() {
	p.mu.Lock()
	deleted := p.terminating
	p.mu.Unlock()
	if deleted {
		return
	}
	if err := p.start(); err != nil {
		p.k.tl.add(p.Name, EvProblem, "restart: "+err.Error())
	}
}

func exitText(code int) string {
	if code == -1 {
		return "killed by a signal"
	}
	return fmt.Sprintf("exit code %d", code)
}

func (p *Pod) isStarted(c *container) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return c.started
}

func (p *Pod) setStarted(c *container, trigger chan<- struct{}) {
	p.mu.Lock()
	c.started = true
	p.mu.Unlock()
	p.k.tl.add(p.Name, EvStarted, "")
	// The kubelet probes readiness at once when a container has started
	// but is not ready yet, rather than at the next period.
	select {
	case trigger <- struct{}{}:
	default:
	}
}

func (p *Pod) setReady(c *container, ready bool) {
	p.mu.Lock()
	if c.ready == ready || p.c != c {
		p.mu.Unlock()
		return
	}
	c.ready = ready
	if ready {
		p.readySince = time.Now()
	} else {
		p.readySince = time.Time{}
	}
	p.mu.Unlock()
	if ready {
		p.k.tl.add(p.Name, EvReady, "")
	} else {
		p.k.tl.add(p.Name, EvUnready, "")
	}
	p.k.onChange()
}

// probeLoop runs one probe as the kubelet's worker does: first after
// initialDelaySeconds, then every periodSeconds; readiness and liveness
// wait for the startup probe; successThreshold passes in a row flip a
// result to success, failureThreshold misses to failure.
func (p *Pod) probeLoop(ctx context.Context, c *container, kind string, pr *corev1.Probe, trigger <-chan struct{}, started chan<- struct{}) {
	period := secondsOr(pr.PeriodSeconds, 10)
	timeout := secondsOr(pr.TimeoutSeconds, 1)
	successes := max(1, int(pr.SuccessThreshold))
	failures := max(1, int(pr.FailureThreshold))
	if pr.FailureThreshold == 0 {
		failures = 3
	}
	if d := time.Duration(pr.InitialDelaySeconds) * time.Second; d > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	okRun, failRun := 0, 0
	for {
		if kind == "startup" || p.isStarted(c) {
			err := p.runProbe(ctx, c, pr, timeout)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				okRun, failRun = okRun+1, 0
			} else {
				okRun, failRun = 0, failRun+1
			}
			switch kind {
			case "startup":
				if okRun >= successes {
					p.setStarted(c, started)
					return
				}
				if failRun >= failures {
					p.restart(c, fmt.Sprintf("startup probe failed %d times (%v): the kubelet restarts the container", failRun, err))
					return
				}
			case "readiness":
				if okRun >= successes {
					p.setReady(c, true)
				} else if failRun >= failures {
					p.setReady(c, false)
				}
			case "liveness":
				if failRun >= failures {
					p.restart(c, fmt.Sprintf("liveness probe failed %d times (%v): the kubelet restarts the container; liveness must pass until exit", failRun, err))
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-trigger:
		}
	}
}

func secondsOr(s int32, def int) time.Duration {
	if s <= 0 {
		return time.Duration(def) * time.Second
	}
	return time.Duration(s) * time.Second
}

// runProbe asks the container once, as the probe's handler says.
func (p *Pod) runProbe(ctx context.Context, c *container, pr *corev1.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := pr.ProbeHandler
	switch {
	case h.HTTPGet != nil:
		port, err := p.k.w.containerPort(h.HTTPGet.Port)
		if err != nil {
			return err
		}
		return httpProbe(ctx, fmt.Sprintf("127.0.0.1:%d", c.ports[port]), h.HTTPGet)
	case h.GRPC != nil:
		service := ""
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		return grpcProbe(ctx, fmt.Sprintf("127.0.0.1:%d", c.ports[h.GRPC.Port]), service)
	case h.TCPSocket != nil:
		port, err := p.k.w.containerPort(h.TCPSocket.Port)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", c.ports[port]))
		if err != nil {
			return err
		}
		return conn.Close()
	case h.Exec != nil:
		return p.k.exec(ctx, c, h.Exec.Command)
	}
	return errors.New("the probe has no handler")
}

// exec runs a command "in the container", as the image would run it:
// the service's binary is the built one, a command the base image ships is
// this machine's program of that name (a shell's -c script runs with the
// host's sh), and ports of the container in its arguments are moved as the
// process's were. A command the image lacks was refused by Load. Its
// process group is killed when ctx ends.
func (k *kubelet) exec(ctx context.Context, c *container, argv []string) error {
	ec, err := k.w.command(argv)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	program, env := k.binary, c.env
	if !ec.service {
		// The host's program, found on the host's PATH.
		program, env = ec.host, append(slices.Clip(c.env), "PATH="+os.Getenv("PATH"))
	}
	args := execArgs(program, argv, c.ports)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	ownGroup(cmd)
	cmd.Cancel = func() error { killGroup(cmd); return nil }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// execArgs maps a command written for the image to this machine: program
// runs in place of argv[0], and "HOST:PORT" arguments naming a container
// port name the port it was moved to.
func execArgs(program string, argv []string, ports map[int32]int) []string {
	args := append([]string{program}, argv[1:]...)
	for i := 1; i < len(args); i++ {
		for cp, hp := range ports {
			if j := strings.LastIndex(args[i], ":"); j >= 0 && args[i][j+1:] == strconv.Itoa(int(cp)) {
				args[i] = args[i][:j+1] + strconv.Itoa(hp)
			}
		}
	}
	return args
}

// restart kills the container as the kubelet does after a failed liveness
// or startup probe (SIGTERM, SIGKILL at the grace period) and starts it
// again. It is always a problem in a rehearsal.
func (p *Pod) restart(c *container, why string) {
	p.mu.Lock()
	if p.terminating || c.killing {
		p.mu.Unlock()
		return
	}
	c.killing = true
	p.mu.Unlock()
	p.k.tl.add(p.Name, EvProblem, why)
	p.setReady(c, false)
	p.stopContainer(c, time.Now().Add(p.k.w.Grace))
	p.startAgain()
}

// stopContainer sends SIGTERM and, if the process outlives deadline (at
// least 2 s later, as the kubelet allows after an overrunning hook),
// SIGKILL. It returns when the process has exited.
func (p *Pod) stopContainer(c *container, deadline time.Time) {
	select {
	case <-c.exited:
		return
	default:
	}
	p.k.tl.add(p.Name, EvSIGTERM, "")
	_ = signalProcess(c.cmd, sigTERM)
	killAt := deadline
	if earliest := time.Now().Add(2 * time.Second); killAt.Before(earliest) {
		killAt = earliest
	}
	t := time.NewTimer(time.Until(killAt))
	defer t.Stop()
	select {
	case <-c.exited:
		return
	case <-t.C:
	}
	p.k.tl.add(p.Name, EvSIGKILL, "the grace period ran out")
	p.k.tl.add(p.Name, EvProblem, "SIGKILL at the end of terminationGracePeriodSeconds: work still running was cut off")
	killGroup(c.cmd)
	<-c.exited
}

// Delete terminates the pod as the kubelet does after the API server marks
// it deleted: the endpoints controller drops it (the caller's onChange)
// while the preStop hook runs; then SIGTERM; SIGKILL at the grace deadline,
// counted from the deletion. It returns at once; Done is closed at the end.
func (p *Pod) Delete() {
	p.mu.Lock()
	if p.terminating {
		p.mu.Unlock()
		return
	}
	p.terminating = true
	c := p.c
	p.mu.Unlock()
	p.k.tl.add(p.Name, EvTerminating, "")
	p.k.onChange()
	go func() {
		start := time.Now()
		deadline := start.Add(p.k.w.Grace)
		if !p.k.naive {
			p.preStop(c, deadline)
		}
		p.stopContainer(c, deadline)
		p.k.tl.add(p.Name, EvExited, fmt.Sprintf("%s, %s after deletion", exitText(c.code), time.Since(start).Round(10*time.Millisecond)))
		close(p.done)
		p.k.onChange()
	}()
}

// preStop runs the hook, cut off at the grace deadline.
func (p *Pod) preStop(c *container, deadline time.Time) {
	lc := p.k.w.Container.Lifecycle
	if lc == nil || lc.PreStop == nil {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	h := lc.PreStop
	var err error
	detail := ""
	switch {
	case h.Sleep != nil:
		d := time.Duration(h.Sleep.Seconds) * time.Second
		detail = fmt.Sprintf("sleep %s", d)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			err = errors.New("cut off at the grace deadline")
		}
	case h.Exec != nil:
		detail = "exec " + strings.Join(h.Exec.Command, " ")
		err = p.k.exec(ctx, c, h.Exec.Command)
	case h.HTTPGet != nil:
		port, perr := p.k.w.containerPort(h.HTTPGet.Port)
		if perr != nil {
			err = perr
			break
		}
		detail = "httpGet " + h.HTTPGet.Path
		err = httpProbe(ctx, fmt.Sprintf("127.0.0.1:%d", c.ports[port]), h.HTTPGet)
	default:
		return
	}
	if err != nil {
		// The kubelet logs FailedPreStopHook and goes on to SIGTERM.
		p.k.tl.add(p.Name, EvPreStop, detail+" failed: "+err.Error())
		return
	}
	p.k.tl.add(p.Name, EvPreStop, detail+" done")
}

// state is a snapshot for the controllers.
func (p *Pod) state(now time.Time, minReady time.Duration) podView {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := podView{Revision: p.Revision, Terminating: p.terminating}
	if p.c != nil && p.c.ready && !p.readySince.IsZero() {
		v.Ready = true
		v.ReadySince = p.readySince
		v.Available = now.Sub(p.readySince) >= minReady
		v.Addr = p.c.addr
	}
	return v
}

// kill ends the pod's process group at once: for cleanup, never in a
// rollout.
func (p *Pod) kill() {
	p.mu.Lock()
	p.terminating = true
	c := p.c
	p.mu.Unlock()
	if c != nil && c.cmd.Process != nil {
		killGroup(c.cmd)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
