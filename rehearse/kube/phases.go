package kube

import (
	"context"
	"fmt"
	"time"

	"github.com/zdgen/zdgen/rehearse"
)

// quiet is the load's quiet period before the first rollout and after the
// last: failures in it are not a rollout's.
const quiet = 3 * time.Second

// phases runs the rehearsal once the objects are applied: the pods start,
// the load client starts, the rollouts (or drains, or evictions) run
// under load, the old pods terminate, and the load client reports.
func (r *rehearsal) phases(ctx context.Context, res *rehearse.Result) error {
	if err := r.startPods(ctx); err != nil {
		return err
	}
	if err := r.load(ctx, res); err != nil {
		return err
	}
	disrupt := r.rollouts
	if r.o.Disrupt == DisruptDrain || r.o.Disrupt == DisruptEvict {
		disrupt = r.disruptions
	}
	if err := disrupt(ctx, res); err != nil {
		return err
	}
	if err := r.settle(ctx); err != nil {
		return err
	}
	r.phase.Set("stopping the load client")
	rep, err := r.lj.stop(ctx)
	if err != nil {
		return err
	}
	res.Load = *rep
	return nil
}

// startPods waits for the Deployment's first rollout, then for the
// propagation lag: kube-proxy and the other routers learn of the
// endpoints within it.
func (r *rehearsal) startPods(ctx context.Context) error {
	r.phase.Set("starting pods")
	if err := waitRollout(ctx, r.c, r.wat, r.a.deployment.Name, r.sel, r.limit+r.c.pullWait, "the service's pods"); err != nil {
		return fmt.Errorf("starting %d pods: %w", r.w.Replicas, err)
	}
	return r.c.pause(ctx, r.lag)
}

// load starts the load client's Job, then waits a quiet period. Before a
// drain it chooses the first node to drain, and keeps the load client
// off it: a real drain would evict the client too, and end the
// measurement.
func (r *rehearsal) load(ctx context.Context, res *rehearse.Result) error {
	var err error
	if r.o.Disrupt == DisruptDrain {
		if r.first, err = r.pickNode(ctx, ""); err != nil {
			return fmt.Errorf("drain 1: %w", err)
		}
	}
	r.phase.Set("starting the load client")
	// Kept also with an error: the Job may exist, and the cleanup deletes it.
	r.lj, err = startLoad(ctx, r.c, r.wat, r.a, r.w, r.o, r.first)
	if err != nil {
		return err
	}
	res.LoadStartNs = r.tl.Since()
	r.phase.Set("load, before the first " + r.o.round())
	return r.c.pause(ctx, quiet)
}

// rollouts restarts the Deployment Options.Rollouts times under load,
// each waited for by its conditions, and records each rollout's span.
func (r *rehearsal) rollouts(ctx context.Context, res *rehearse.Result) error {
	n, name := r.o.Rollouts, r.a.deployment.Name
	for i := 1; i <= n; i++ {
		r.phase.Set(fmt.Sprintf("rollout %d of %d", i, n))
		start := r.tl.Since()
		r.tl.Add("", rehearse.EvRolloutStart, fmt.Sprintf("rollout %d of %d (kubectl rollout restart)", i, n))
		if err := restart(ctx, r.c, r.ns, name); err != nil {
			return fmt.Errorf("rollout %d: %w", i, err)
		}
		if err := waitRollout(ctx, r.c, r.wat, name, r.sel, r.limit, fmt.Sprintf("rollout %d", i)); err != nil {
			return fmt.Errorf("rollout %d: %w", i, err)
		}
		d := r.tl.Since() - start
		r.tl.Add("", rehearse.EvRolloutDone, fmt.Sprintf("rollout %d of %d done in %s", i, n, d.Round(10*time.Millisecond)))
		res.Rollouts = append(res.Rollouts, rehearse.Rollout{Revision: i + 1, StartNs: start, DurationNs: d})
	}
	return nil
}

// settle lets the old pods finish terminating before the load stops, so
// late failures are counted too.
func (r *rehearsal) settle(ctx context.Context) error {
	r.phase.Set("old pods terminating")
	if err := waitSettled(ctx, r.c, r.wat, r.w.Replicas, r.w.Grace+10*time.Second, r.o.round()); err != nil {
		return err
	}
	r.phase.Set("load, after the last " + r.o.round())
	return r.c.pause(ctx, r.lag+quiet)
}

// pause waits d, or not at all in tests.
func (c *cluster) pause(ctx context.Context, d time.Duration) error {
	if c.noPause {
		return ctx.Err()
	}
	return wait(ctx, d)
}

// sleep waits one poll interval.
func (c *cluster) sleep(ctx context.Context) error { return wait(ctx, c.poll) }

// wait returns after d, or when ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
