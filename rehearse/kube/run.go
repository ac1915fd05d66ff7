package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/zdgen/zdgen/rehearse"
	"github.com/zdgen/zdgen/workload"
)

// run is the rehearsal on cluster c: permissions first, then a namespace
// of its own, deleted at the end whatever happens (unless o.Keep).
func run(ctx context.Context, c *cluster, w *workload.Workload, o Options) (res *rehearse.Result, err error) {
	r, err := newRehearsal(ctx, c, w, o)
	if err != nil {
		return nil, err
	}
	if err := createNamespace(ctx, c, r.ns); err != nil {
		return nil, err
	}
	r.tl.Add("", rehearse.EvKube, "namespace "+r.ns+" created")
	defer func() { err = r.cleanUp(ctx, res, err) }()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if r.wat, err = watch(runCtx, c, r.ns, r.sel, r.tl); err != nil {
		return nil, err
	}
	r.phase.Set("applying deploy/k8s")
	stopStatus := rehearse.ReportStatus(runCtx, o.Status, r.status)
	defer stopStatus()
	if err := r.apply(ctx); err != nil {
		return nil, err
	}
	res = rehearse.NewResult(w, o.Options, r.lag)
	res.Cluster = &rehearse.ClusterInfo{Context: c.context, Server: c.server, Namespace: r.ns, Kept: o.Keep, Image: o.Image, LoadImage: o.LoadImage}
	if err := r.phases(ctx, res); err != nil {
		return nil, err
	}
	stop() // the watchers and the status reports: what follows is cleanup
	stopStatus()
	res.Events = r.tl.Events()
	res.Problems = r.tl.Problems()
	return res, nil
}

// rehearsal is a rehearsal on a cluster in progress.
type rehearsal struct {
	c     *cluster
	w     *workload.Workload
	o     Options
	ns    string
	a     *applied
	sel   labels.Selector // the Deployment's pods
	lag   time.Duration   // the planned propagation lag: the cluster has its own
	limit time.Duration   // how long one rollout may take
	tl    *rehearse.Timeline
	wat   *watcher
	lj    *loadJob // nil until the load client's Job may exist
	phase rehearse.Phase
	// first is a drain's first node, chosen before the load client
	// starts so that the client keeps off it.
	first *corev1.Node
	// cordoned is the node this rehearsal may have cordoned and not yet
	// uncordoned: the cleanup uncordons it, whatever happened.
	cordoned string
}

// newRehearsal names the namespace, prepares the objects to apply and
// checks the permissions they need, before anything is created.
func newRehearsal(ctx context.Context, c *cluster, w *workload.Workload, o Options) (*rehearsal, error) {
	ns := o.Namespace
	if ns == "" {
		ns = randomName()
	}
	a, err := objects(w, o, ns)
	if err != nil {
		return nil, err
	}
	if err := checkAccess(ctx, c, ns, permissions(a, o.Disrupt)); err != nil {
		return nil, err
	}
	if o.Disrupt == DisruptDrain {
		if err := checkNodes(ctx, c, a, o.Rollouts); err != nil {
			return nil, err
		}
	}
	limit := rolloutTimeout(w)
	if c.rolloutLimit > 0 {
		limit = c.rolloutLimit
	}
	return &rehearsal{c: c, w: w, o: o, ns: ns, a: a, sel: labels.SelectorFromSet(a.deployment.Spec.Selector.MatchLabels),
		lag: w.Answers.PropagationLag.D(), limit: limit, tl: rehearse.NewTimeline(o.Watch)}, nil
}

// apply applies the repository's objects into the namespace.
func (r *rehearsal) apply(ctx context.Context) error {
	for _, obj := range r.a.objs {
		if err := apply(ctx, r.c, obj); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
	return nil
}

// status is the rehearsal's state now, for the progress line.
func (r *rehearsal) status() rehearse.Status {
	ready, starting, term := r.wat.counts()
	return rehearse.Status{Elapsed: r.tl.Since(), Phase: r.phase.String(), Ready: ready, Starting: starting, Terminating: term, Namespace: r.ns}
}

// cleanUp uncordons the node a drain cordoned, deletes the load client's
// Job and the namespace (unless o.Keep), also after an interruption, and
// returns the run's error. A cleanup that fails is reported: with the
// run's error, or as a problem of its result (exit 1).
func (r *rehearsal) cleanUp(ctx context.Context, res *rehearse.Result, err error) error {
	report := func(cerr error) {
		switch {
		case err != nil:
			err = errors.Join(err, cerr)
		case res != nil:
			res.Problems = append(res.Problems, cerr.Error())
		default:
			err = cerr
		}
	}
	cleanup := context.WithoutCancel(ctx)
	// Never left cordoned, --keep or not: the node is the cluster's, not
	// the rehearsal's.
	if node := r.cordoned; node != "" {
		uctx, cancel := context.WithTimeout(cleanup, 30*time.Second)
		if uerr := r.uncordon(uctx); uerr != nil {
			report(fmt.Errorf("node %s may be left cordoned (kubectl uncordon %s): %w", node, node, uerr))
		}
		cancel()
	}
	// Nothing keeps calling the service once the rehearsal is over,
	// even in a namespace that is kept.
	if r.lj != nil {
		jctx, cancel := context.WithTimeout(cleanup, 30*time.Second)
		if jerr := r.lj.delete(jctx); jerr != nil && r.o.Keep {
			report(fmt.Errorf("the load client's Job %s/%s may still be running: %w", r.ns, loadJobName, jerr))
		}
		cancel()
	}
	if r.o.Keep {
		return err
	}
	r.tl.Add("", rehearse.EvKube, "deleting namespace "+r.ns)
	if cerr := deleteNamespace(cleanup, r.c, r.ns, r.w.Grace+2*time.Minute, r.c.poll); cerr != nil {
		report(cerr)
	}
	return err
}
