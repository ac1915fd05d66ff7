package rehearse

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// cluster is the control plane of a rehearsal: the Deployment's rollout
// controller and the endpoints controller, over the pods the kubelet runs.
type cluster struct {
	k     *kubelet
	s     strategy
	eps   *endpoints
	wake  chan struct{}
	count int // pods created, for names

	mu       sync.Mutex
	pods     []*Pod // including terminating ones, until they are gone
	revision int    // the revision the Deployment wants
	lastEps  []string
	err      error // a pod that could not be started
}

func newCluster(k *kubelet, s strategy, eps *endpoints) *cluster {
	c := &cluster{k: k, s: s, eps: eps, wake: make(chan struct{}, 1)}
	k.onChange = c.notify
	return c
}

func (c *cluster) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run is the controllers' loop: on every change, and every 100 ms for
// minReadySeconds, it updates the endpoints and takes one rollout step.
func (c *cluster) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		c.step()
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-t.C:
		}
	}
}

func (c *cluster) views() ([]*Pod, []podView) {
	c.mu.Lock()
	pods := append([]*Pod(nil), c.pods...)
	c.mu.Unlock()
	now := time.Now()
	views := make([]podView, len(pods))
	for i, p := range pods {
		views[i] = p.state(now, c.k.w.MinReady)
	}
	return pods, views
}

func (c *cluster) step() {
	pods, views := c.views()

	// The endpoints controller.
	addrs := endpointAddrs(views)
	c.mu.Lock()
	changed := !slices.Equal(addrs, c.lastEps)
	if changed {
		c.lastEps = addrs
	}
	rev := c.revision
	c.mu.Unlock()
	if changed {
		c.eps.set(addrs)
	}

	// Pods that have finished terminating are gone.
	c.mu.Lock()
	c.pods = slices.DeleteFunc(c.pods, func(p *Pod) bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	})
	c.mu.Unlock()
	if rev == 0 {
		return
	}

	// The deployment controller.
	create, remove := reconcile(c.s, rev, views)
	for _, i := range remove {
		pods[i].Delete()
	}
	for range create {
		c.mu.Lock()
		c.count++
		p := newPod(c.k, fmt.Sprintf("%s-r%d-%d", c.k.w.Answers.Name, rev, c.count), rev)
		c.pods = append(c.pods, p)
		c.mu.Unlock()
		if err := p.start(); err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
	}
	if create > 0 {
		c.notify()
	}
}

// rollout sets the revision and waits until it is rolled out. Like a
// Deployment's progressDeadlineSeconds, it gives up when no new pod has
// become available for that long.
func (c *cluster) rollout(ctx context.Context, rev int) error {
	c.mu.Lock()
	c.revision = rev
	c.mu.Unlock()
	c.notify()
	lastProgress, best := time.Now(), 0
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return err
		}
		_, views := c.views()
		if rolledOut(c.s, rev, views) {
			return nil
		}
		n := 0
		for _, v := range views {
			if v.Revision == rev && v.Available && !v.Terminating {
				n++
			}
		}
		if n > best {
			best, lastProgress = n, time.Now()
		}
		if time.Since(lastProgress) > c.k.w.Progress {
			return fmt.Errorf("revision %d made no progress for %s (progressDeadlineSeconds): %d of %d new pods available", rev, c.k.w.Progress, n, c.s.Replicas)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// settled waits until no pod is terminating, at most until deadline.
func (c *cluster) settled(ctx context.Context, deadline time.Duration) error {
	end := time.Now().Add(deadline)
	for {
		_, views := c.views()
		if !slices.ContainsFunc(views, func(v podView) bool { return v.Terminating }) {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("pods still terminating after %s", deadline)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// counts says how many pods are in each state, for the progress line.
func (c *cluster) counts() (ready, starting, terminating int) {
	_, views := c.views()
	for _, v := range views {
		switch {
		case v.Terminating:
			terminating++
		case v.Ready:
			ready++
		default:
			starting++
		}
	}
	return
}

// names says which pods listen at addrs, for the timeline.
func (c *cluster) names(addrs []string) []string {
	c.mu.Lock()
	pods := append([]*Pod(nil), c.pods...)
	c.mu.Unlock()
	byAddr := map[string]string{}
	for _, p := range pods {
		p.mu.Lock()
		if p.c != nil {
			byAddr[p.c.addr] = p.Name
		}
		p.mu.Unlock()
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = byAddr[a]
		if out[i] == "" {
			out[i] = a // a pod already gone
		}
	}
	return out
}

// killAll ends every pod's processes at once (cleanup, and Ctrl-C).
func (c *cluster) killAll() {
	c.mu.Lock()
	pods := append([]*Pod(nil), c.pods...)
	c.revision = 0
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Add(1)
		go func() { defer wg.Done(); p.kill() }()
	}
	wg.Wait()
}
