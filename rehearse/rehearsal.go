package rehearse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zdgen/zdgen/workload"
)

// rehearsal is a local rehearsal in progress: the Service stand-in (the
// endpoints as the proxy sees them, and the proxy), the control plane over
// the pods, the load client once started, and the status reports.
type rehearsal struct {
	w          *workload.Workload
	o          Options
	lag        time.Duration
	tl         *timeline
	proxy      *Proxy
	cl         *cluster
	lt         *loadTest // nil before the load starts and after it stopped
	phase      Phase
	stop       context.CancelFunc // ends the controllers and the proxy's endpoint updates
	stopStatus func()             // ends the status reports
}

// setUp starts the Service stand-in, the control plane (with no pods yet)
// and the status reports, from now on the timeline's clock.
func setUp(w *workload.Workload, binary string, lag time.Duration, o Options) (*rehearsal, error) {
	r := &rehearsal{w: w, o: o, lag: lag, tl: newTimeline(o.Watch)}
	ctx, stop := context.WithCancel(context.Background())
	eps := newEndpoints(lag, func(addrs []string) {
		r.tl.add("", EvEndpoints, fmt.Sprintf("the proxy routes to %d pod(s): %s", len(addrs), strings.Join(r.cl.names(addrs), ", ")))
	})
	go eps.run(ctx)
	proxy, err := newProxy(eps)
	if err != nil {
		stop()
		return nil, err
	}
	go proxy.serve()
	k := &kubelet{w: w, binary: binary, naive: o.Naive, tl: r.tl}
	r.proxy, r.stop = proxy, stop
	r.cl = newCluster(k, strategy{Replicas: w.Replicas, MaxSurge: w.MaxSurge, MaxUnavailable: w.MaxUnavailable}, eps)
	go r.cl.run(ctx)
	r.phase.Set("starting pods")
	r.stopStatus = ReportStatus(ctx, o.Status, r.status)
	return r, nil
}

// status is the rehearsal's state now, for the progress line.
func (r *rehearsal) status() Status {
	ready, starting, term := r.cl.counts()
	return Status{Elapsed: time.Since(r.tl.start), Phase: r.phase.String(), Ready: ready, Starting: starting, Terminating: term,
		ProxyConns: r.proxy.Active.Load(), ProxyFailed: r.proxy.DialFailed.Load() + r.proxy.NoEndpoints.Load()}
}

// tearDown ends what setUp and the phases started: whatever happened, no
// process outlives the rehearsal.
func (r *rehearsal) tearDown() {
	r.stop()
	r.stopStatus()
	if r.lt != nil {
		r.lt.kill()
	}
	r.cl.killAll()
	r.proxy.Close()
}
