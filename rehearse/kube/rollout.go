package kube

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/zdgen/zdgen/workload"
)

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
// and no pod of it terminating, after the last rollout (or what names the
// last disruption).
func waitSettled(ctx context.Context, c *cluster, wat *watcher, replicas int, limit time.Duration, what string) error {
	end := time.Now().Add(limit)
	for {
		ready, _, term := wat.counts()
		if term == 0 && ready == replicas {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d pods still terminating %s after the last %s (terminationGracePeriodSeconds %s): %s", term, limit, what, limit-10*time.Second, wat.waiting(wat.selector))
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
func rolloutTimeout(w *workload.Workload) time.Duration {
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
