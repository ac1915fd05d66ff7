package rehearse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

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
		port, perr := p.k.w.ContainerPort(h.HTTPGet.Port)
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
