package rehearse

import (
	"context"
	"fmt"
	"time"
)

// quiet is the load's quiet period before the first rollout and after the
// last: failures in it are not a rollout's.
const quiet = 3 * time.Second

// run goes through the rehearsal's phases: the first revision, load, the
// rollouts under it, the old pods' termination, and the load client's
// report.
func (r *rehearsal) run(ctx context.Context, loader string) (*Result, error) {
	res := NewResult(r.w, r.o, r.lag)
	if err := r.firstRevision(ctx); err != nil {
		return nil, err
	}
	if err := r.load(ctx, loader, res); err != nil {
		return nil, err
	}
	if err := r.rollouts(ctx, res); err != nil {
		return nil, err
	}
	if err := r.settle(ctx); err != nil {
		return nil, err
	}
	rep, err := r.stopLoad()
	if err != nil {
		return nil, err
	}
	res.Load = *rep
	res.Proxy = ProxyStats{Accepted: r.proxy.Accepted.Load(), NoEndpoints: r.proxy.NoEndpoints.Load(), DialFailed: r.proxy.DialFailed.Load()}
	res.Events = r.tl.events()
	res.Problems = r.tl.problems()
	return res, nil
}

// firstRevision starts the pods before any load: the Service has its
// endpoints once the proxy has caught up.
func (r *rehearsal) firstRevision(ctx context.Context) error {
	if err := r.cl.rollout(ctx, 1); err != nil {
		return fmt.Errorf("starting %d pods: %w", r.w.Replicas, err)
	}
	return sleep(ctx, r.lag+500*time.Millisecond)
}

// load starts the load client through the proxy, then waits a quiet
// period.
func (r *rehearsal) load(ctx context.Context, loader string, res *Result) error {
	r.phase.Set("load, before the first rollout")
	lt, err := startLoad(r.w, loader, r.proxy.Addr(), r.o)
	if err != nil {
		return err
	}
	r.lt = lt
	res.LoadStartNs = time.Since(r.tl.start)
	return sleep(ctx, quiet)
}

// rollouts rolls the Deployment Options.Rollouts times under load, each
// to a new revision, and records each rollout's span.
func (r *rehearsal) rollouts(ctx context.Context, res *Result) error {
	n := r.o.Rollouts
	for i := 1; i <= n; i++ {
		rev := i + 1
		r.phase.Set(fmt.Sprintf("rollout %d of %d", i, n))
		start := time.Since(r.tl.start)
		r.tl.add("", EvRolloutStart, fmt.Sprintf("rollout %d of %d (revision %d)", i, n, rev))
		if err := r.cl.rollout(ctx, rev); err != nil {
			return fmt.Errorf("rollout %d: %w", i, err)
		}
		d := time.Since(r.tl.start) - start
		r.tl.add("", EvRolloutDone, fmt.Sprintf("rollout %d of %d done in %s", i, n, d.Round(10*time.Millisecond)))
		res.Rollouts = append(res.Rollouts, Rollout{Revision: rev, StartNs: start, DurationNs: d})
	}
	return nil
}

// settle lets the old pods finish terminating and the proxy catch up
// before the load stops, so late failures are counted too.
func (r *rehearsal) settle(ctx context.Context) error {
	r.phase.Set("old pods terminating")
	if err := r.cl.settled(ctx, r.w.Grace+5*time.Second); err != nil {
		return err
	}
	r.phase.Set("load, after the last rollout")
	return sleep(ctx, r.lag+quiet)
}

// stopLoad stops the load client and reads its report.
func (r *rehearsal) stopLoad() (*LoadReport, error) {
	r.phase.Set("stopping the load")
	lt := r.lt
	r.lt = nil // stopped (or killed by stop): nothing left for tearDown
	return lt.stop()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
