package rehearse

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/zdgen/zdgen/workload"
)

// kubelet holds what every pod of a rehearsal shares: the manifest, the
// built binary, and where to report.
type kubelet struct {
	w        *workload.Workload
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
	p.startProbes(ctx, c)
	return nil
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
