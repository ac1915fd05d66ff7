package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/zdgen/zdgen/rehearse"
)

// round names one disruption, as the progress line and messages say it.
func (o *Options) round() string {
	switch o.Disrupt {
	case DisruptDrain:
		return "drain"
	case DisruptEvict:
		return "eviction pass"
	}
	return "rollout"
}

// disruptions drains a node, or evicts every pod in turn, Options.Rollouts
// times under load, and records each round.
func (r *rehearsal) disruptions(ctx context.Context, res *rehearse.Result) error {
	res.Disruption = &rehearse.Disruption{Kind: r.o.Disrupt}
	n := r.o.Rollouts
	for i := 1; i <= n; i++ {
		what := fmt.Sprintf("%s %d of %d", r.o.round(), i, n)
		r.phase.Set(what)
		var round rehearse.DisruptionRound
		var err error
		if r.o.Disrupt == DisruptDrain {
			round, err = r.drain(ctx, i, what)
		} else {
			round, err = r.evictEach(ctx, what)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		res.Disruption.Rounds = append(res.Disruption.Rounds, round)
	}
	return nil
}

// drain drains one node of the service's pods as kubectl drain does: it
// cordons the node, evicts the pods there, waits until they are gone and
// the Deployment has every replica available again (elsewhere: the node
// takes no new pod), and uncordons the node. The first drain's node was
// chosen before the load client started, so that the client keeps off
// it; later drains choose again, never the load client's node.
func (r *rehearsal) drain(ctx context.Context, i int, what string) (rehearse.DisruptionRound, error) {
	node := r.first
	if i > 1 {
		var err error
		if node, err = r.pickNode(ctx, r.lj.node); err != nil {
			return rehearse.DisruptionRound{}, err
		}
	}
	round := rehearse.DisruptionRound{Node: node.Name, StartNs: r.tl.Since()}
	r.tl.Add("", rehearse.EvDisruptStart, fmt.Sprintf("%s: node %s, as kubectl drain (cordon, evict the service's pods there, uncordon)", what, node.Name))
	if err := r.cordon(ctx, node.Name); err != nil {
		return round, err
	}
	// As kubectl drain, every pod's eviction is asked for at once and
	// retried on its own: the budget decides how many go at a time.
	ectx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var t tally
	var wg sync.WaitGroup
	for _, pod := range r.livePods(node.Name) {
		wg.Go(func() {
			if err := r.evictGone(ectx, pod, &t); err != nil {
				cancel(err) // the first error ends the others' waits
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ectx); err != nil {
		return round, err
	}
	if err := waitRollout(ctx, r.c, r.wat, r.a.deployment.Name, r.sel, r.limit, what); err != nil {
		return round, err
	}
	r.finish(&round, &t, what)
	// On an error the cleanup uncordons the node instead.
	return round, r.uncordon(ctx)
}

// evictEach evicts the service's pods one by one, each waited for until
// the Deployment has every replica available again: what a node's
// maintenance does to one pod at a time, with no node cordoned.
func (r *rehearsal) evictEach(ctx context.Context, what string) (rehearse.DisruptionRound, error) {
	round := rehearse.DisruptionRound{StartNs: r.tl.Since()}
	pods := r.livePods("")
	r.tl.Add("", rehearse.EvDisruptStart, fmt.Sprintf("%s: the service's %d pods evicted one by one (Eviction API)", what, len(pods)))
	var t tally
	for _, pod := range pods {
		if err := r.evictGone(ctx, pod, &t); err != nil {
			return round, err
		}
		if err := waitRollout(ctx, r.c, r.wat, r.a.deployment.Name, r.sel, r.limit, what); err != nil {
			return round, err
		}
	}
	r.finish(&round, &t, what)
	return round, nil
}

// tally counts a round's evictions, which a drain asks for at once.
type tally struct{ evicted, refused atomic.Int32 }

// finish records a round's end: its counts, and its span up to now.
func (r *rehearsal) finish(round *rehearse.DisruptionRound, t *tally, what string) {
	round.Evictions, round.TooManyRequests = int(t.evicted.Load()), int(t.refused.Load())
	round.DurationNs = r.tl.Since() - round.StartNs
	r.tl.Add("", rehearse.EvDisruptDone, fmt.Sprintf("%s done in %s: evictions %d, refused (429) and asked again %d",
		what, round.DurationNs.Round(10*time.Millisecond), round.Evictions, round.TooManyRequests))
}

// livePods names the service's pods not terminating, on node ("": on
// any), in order.
func (r *rehearsal) livePods(node string) []string {
	pods, _ := r.wat.pods.Pods(r.ns).List(r.sel)
	var names []string
	for _, p := range pods {
		if p.DeletionTimestamp == nil && (node == "" || p.Spec.NodeName == node) {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return names
}

// evictGone evicts the pod, then waits until it is gone. The Deployment
// is judged only then: its status may not count the pod out before its
// controller saw the eviction, and it has seen it by the time the pod is
// gone.
func (r *rehearsal) evictGone(ctx context.Context, pod string, t *tally) error {
	if err := r.evict(ctx, pod, t); err != nil {
		return err
	}
	limit := r.w.Grace + time.Minute
	end := time.Now().Add(limit)
	for {
		if _, err := r.wat.pods.Pods(r.ns).Get(pod); apierrors.IsNotFound(err) {
			r.tl.Add(pod, rehearse.EvGone, "evicted pod gone")
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("evicted pod %s still there %s after its eviction (terminationGracePeriodSeconds %s)", pod, limit, r.w.Grace)
		}
		if err := r.c.sleep(ctx); err != nil {
			return err
		}
	}
}

// evict asks the Eviction API to evict the pod, as kubectl drain does. The
// API server answers 429 Too Many Requests while the PodDisruptionBudget
// allows no disruption (or while it throttles this client): the eviction
// is asked for again every evictRetry, each refusal counted, for at most
// the rollout limit.
func (r *rehearsal) evict(ctx context.Context, pod string, t *tally) error {
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: r.ns}}
	end := time.Now().Add(r.limit)
	for refused := 1; ; refused++ {
		err := r.c.client.PolicyV1().Evictions(r.ns).Evict(ctx, ev)
		switch {
		case err == nil:
			t.evicted.Add(1)
			r.tl.Add(pod, rehearse.EvEvicted, "evicted (Eviction API): its deletion starts")
			return nil
		case apierrors.IsNotFound(err):
			return nil // gone already: nothing to evict
		case ctx.Err() != nil:
			return ctx.Err()
		case !apierrors.IsTooManyRequests(err):
			return fmt.Errorf("evicting pod %s: %w", pod, err)
		}
		t.refused.Add(1)
		why := refusal(err)
		r.tl.Add(pod, rehearse.EvEvictRefused, "eviction refused (429): "+why)
		if time.Now().After(end) {
			budget := "no PodDisruptionBudget of the service's: the API server's own throttling"
			if r.a.budget != nil {
				budget = "the PodDisruptionBudget " + r.a.budget.Name
			}
			return fmt.Errorf("pod %s not evicted within %s (the rollout limit): refused %d times with 429 by %s; the last time: %s", pod, r.limit, refused, budget, why)
		}
		if err := wait(ctx, r.c.evictRetry); err != nil {
			return err
		}
	}
}

// refusal is why the API server refused an eviction, in the budget's own
// words when it gives them ("The disruption budget greeter needs 2
// healthy pods and has 2 currently").
func refusal(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) && s.Status().Details != nil {
		var why []string
		for _, c := range s.Status().Details.Causes {
			if c.Message != "" {
				why = append(why, c.Message)
			}
		}
		if len(why) > 0 {
			return strings.Join(why, "; ")
		}
	}
	return err.Error()
}
