package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/zdgen/zdgen/rehearse"
)

// run is the rehearsal on cluster c: permissions first, then a namespace
// of its own, deleted at the end whatever happens (unless o.Keep).
func run(ctx context.Context, c *cluster, w *rehearse.Workload, o Options) (res *rehearse.Result, err error) {
	ns := o.Namespace
	if ns == "" {
		ns = randomName()
	}
	a, err := objects(w, o, ns)
	if err != nil {
		return nil, err
	}
	if err := checkAccess(ctx, c, ns, permissions(a)); err != nil {
		return nil, err
	}
	tl := rehearse.NewTimeline(o.Watch)
	if err := createNamespace(ctx, c, ns); err != nil {
		return nil, err
	}
	tl.Add("", rehearse.EvKube, "namespace "+ns+" created")
	var lj *loadJob
	defer func() {
		// A cleanup that fails is reported: with the run's error, or as
		// a problem of its result (exit 1).
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
		// Nothing keeps calling the service once the rehearsal is over,
		// even in a namespace that is kept.
		if lj != nil {
			jctx, cancel := context.WithTimeout(cleanup, 30*time.Second)
			if jerr := lj.delete(jctx); jerr != nil && o.Keep {
				report(fmt.Errorf("the load client's Job %s/%s may still be running: %w", ns, loadJobName, jerr))
			}
			cancel()
		}
		if o.Keep {
			return
		}
		tl.Add("", rehearse.EvKube, "deleting namespace "+ns)
		if cerr := deleteNamespace(cleanup, c, ns, w.Grace+2*time.Minute, c.poll); cerr != nil {
			report(cerr)
		}
	}()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	sel := labels.SelectorFromSet(a.deployment.Spec.Selector.MatchLabels)
	wat, err := watch(runCtx, c, ns, sel, tl)
	if err != nil {
		return nil, err
	}
	var phase rehearse.Phase
	phase.Set("applying deploy/k8s")
	stopStatus := rehearse.ReportStatus(runCtx, o.Status, func() rehearse.Status {
		r, s, term := wat.counts()
		return rehearse.Status{Elapsed: tl.Since(), Phase: phase.String(), Ready: r, Starting: s, Terminating: term, Namespace: ns}
	})
	defer stopStatus()

	for _, obj := range a.objs {
		if err := apply(ctx, c, obj); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
	}
	lag := w.Answers.PropagationLag.D()
	res = rehearse.NewResult(w, o.Options, lag)
	res.Cluster = &rehearse.ClusterInfo{Context: c.context, Server: c.server, Namespace: ns, Kept: o.Keep, Image: o.Image, LoadImage: o.LoadImage}
	limit := rolloutTimeout(w)
	if c.rolloutLimit > 0 {
		limit = c.rolloutLimit
	}
	name := a.deployment.Name

	phase.Set("starting pods")
	if err := waitRollout(ctx, c, wat, name, sel, limit+c.pullWait, "the service's pods"); err != nil {
		return nil, fmt.Errorf("starting %d pods: %w", w.Replicas, err)
	}
	// kube-proxy and the other routers learn of the endpoints within the
	// propagation lag.
	if err := c.pause(ctx, lag); err != nil {
		return nil, err
	}
	phase.Set("starting the load client")
	lj, err = startLoad(ctx, c, wat, a, w, o)
	if err != nil {
		return nil, err
	}
	res.LoadStartNs = tl.Since()
	phase.Set("load, before the first rollout")
	quiet := 3 * time.Second // failures here are not the rollout's
	if err := c.pause(ctx, quiet); err != nil {
		return nil, err
	}
	for i := 1; i <= o.Rollouts; i++ {
		phase.Set(fmt.Sprintf("rollout %d of %d", i, o.Rollouts))
		start := tl.Since()
		tl.Add("", rehearse.EvRolloutStart, fmt.Sprintf("rollout %d of %d (kubectl rollout restart)", i, o.Rollouts))
		if err := restart(ctx, c, ns, name); err != nil {
			return nil, fmt.Errorf("rollout %d: %w", i, err)
		}
		if err := waitRollout(ctx, c, wat, name, sel, limit, fmt.Sprintf("rollout %d", i)); err != nil {
			return nil, fmt.Errorf("rollout %d: %w", i, err)
		}
		d := tl.Since() - start
		tl.Add("", rehearse.EvRolloutDone, fmt.Sprintf("rollout %d of %d done in %s", i, o.Rollouts, d.Round(10*time.Millisecond)))
		res.Rollouts = append(res.Rollouts, rehearse.Rollout{Revision: i + 1, StartNs: start, DurationNs: d})
	}
	// The old pods finish terminating before the load stops, so late
	// failures are counted too.
	phase.Set("old pods terminating")
	if err := waitSettled(ctx, c, wat, w.Replicas, w.Grace+10*time.Second); err != nil {
		return nil, err
	}
	phase.Set("load, after the last rollout")
	if err := c.pause(ctx, lag+quiet); err != nil {
		return nil, err
	}
	phase.Set("stopping the load client")
	rep, err := lj.stop(ctx)
	if err != nil {
		return nil, err
	}
	res.Load = *rep
	stop() // the watchers and the status reports: what follows is cleanup
	stopStatus()
	res.Events = tl.Events()
	res.Problems = tl.Problems()
	return res, nil
}

// pause waits d, or not at all in tests.
func (c *cluster) pause(ctx context.Context, d time.Duration) error {
	if c.noPause {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *cluster) sleep(ctx context.Context) error {
	t := time.NewTimer(c.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func createNamespace(ctx context.Context, c *cluster, ns string) error {
	_, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": ManagedBy},
	}}, metav1.CreateOptions{FieldManager: FieldManager})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// Interrupted while creating it: the server may have created it
		// all the same. Delete it if it is ours (the label says so), not
		// if it was there before.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if n, gerr := c.client.CoreV1().Namespaces().Get(cleanup, ns, metav1.GetOptions{}); gerr == nil && n.Labels["app.kubernetes.io/managed-by"] == ManagedBy && n.DeletionTimestamp == nil {
			_ = c.client.CoreV1().Namespaces().Delete(cleanup, ns, metav1.DeleteOptions{})
		}
		return ctx.Err()
	case apierrors.IsAlreadyExists(err):
		return &rehearse.InputError{Err: fmt.Errorf("--namespace %s: it already exists; the rehearsal creates a namespace of its own and deletes it afterwards: name one that does not exist, or leave --namespace out", ns)}
	}
	return fmt.Errorf("creating namespace %s: %w", ns, err)
}

// deleteNamespace deletes ns and waits, at most limit, until it is gone.
func deleteNamespace(ctx context.Context, c *cluster, ns string, limit, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := c.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w (delete it with: kubectl delete namespace %s)", ns, err, ns)
	}
	for {
		_, err := c.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("namespace %s still terminating %s after its deletion (kubectl get namespace %s shows it)", ns, limit, ns)
		case <-t.C:
		}
	}
}

// restart rolls the Deployment as `kubectl rollout restart` does: a
// changed pod-template annotation.
func restart(ctx context.Context, c *cluster, ns, name string) error {
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`,
		time.Now().Format(time.RFC3339Nano))
	_, err := c.client.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// complete says whether the Deployment's rollout is complete by its own
// conditions, as `kubectl rollout status` judges it: the controller has
// seen the latest spec, Progressing says the new ReplicaSet is available,
// and every replica is updated and available with no old one left.
func complete(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != want || s.Replicas != want || s.AvailableReplicas != want {
		return false
	}
	progressing, available := false, false
	for _, c := range s.Conditions {
		switch c.Type {
		case appsv1.DeploymentProgressing:
			progressing = c.Status == corev1.ConditionTrue && c.Reason == "NewReplicaSetAvailable"
		case appsv1.DeploymentAvailable:
			available = c.Status == corev1.ConditionTrue
		}
	}
	return progressing && available
}

// waitRollout waits until the Deployment's rollout is complete, at most
// limit; it stops early when the Deployment reports its progress deadline
// exceeded, or a pod cannot pull its image.
func waitRollout(ctx context.Context, c *cluster, wat *watcher, name string, sel labels.Selector, limit time.Duration, what string) error {
	end := time.Now().Add(limit)
	for {
		d, err := c.client.AppsV1().Deployments(wat.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("deployment %s: %w", name, err)
		}
		if complete(d) {
			return nil
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" {
				return fmt.Errorf("deployment %s: %s (%s)", name, cond.Message, wat.waiting(sel))
			}
		}
		if err := wat.stuck(sel, what); err != nil {
			return err
		}
		if time.Now().After(end) {
			s := d.Status
			return fmt.Errorf("deployment %s not rolled out within %s (a limit from its probes, maxSurge and grace period): %d updated, %d available of %d; pods: %s",
				name, limit, s.UpdatedReplicas, s.AvailableReplicas, wanted(d), wat.waiting(sel))
		}
		if err := c.sleep(ctx); err != nil {
			return err
		}
	}
}

func wanted(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// waitSettled waits until the watch sees the Deployment's replicas ready
// and no pod of it terminating.
func waitSettled(ctx context.Context, c *cluster, wat *watcher, replicas int, limit time.Duration) error {
	end := time.Now().Add(limit)
	for {
		ready, _, term := wat.counts()
		if term == 0 && ready == replicas {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d pods still terminating %s after the last rollout (terminationGracePeriodSeconds %s): %s", term, limit, limit-10*time.Second, wat.waiting(wat.selector))
		}
		if err := c.sleep(ctx); err != nil {
			return err
		}
	}
}

// rolloutTimeout is how long one rollout may take by the plan: for each
// batch of maxSurge new pods, their scheduling and start, the startup
// probe's window, a readiness period and minReadySeconds; then the last
// grace period.
func rolloutTimeout(w *rehearse.Workload) time.Duration {
	window := func(p *corev1.Probe) time.Duration {
		if p == nil {
			return 0
		}
		period, failures := p.PeriodSeconds, p.FailureThreshold
		if period == 0 {
			period = 10
		}
		if failures == 0 {
			failures = 3
		}
		return time.Duration(p.InitialDelaySeconds+period*failures+p.TimeoutSeconds) * time.Second
	}
	surge := max(w.MaxSurge, 1)
	batches := (w.Replicas + surge - 1) / surge
	per := 30*time.Second + window(w.Container.StartupProbe) + window(w.Container.ReadinessProbe) + w.MinReady
	return time.Duration(batches)*per + w.Grace + time.Minute
}
