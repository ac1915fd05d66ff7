package rehearse

import (
	"sort"
	"time"
)

// podView is what the deployment and endpoints controllers see of a pod.
type podView struct {
	Revision    int
	Terminating bool // deleted: counted by neither the Deployment nor the endpoints
	Ready       bool
	ReadySince  time.Time
	Available   bool   // ready for minReadySeconds
	Addr        string // set while ready
}

// strategy is a Deployment's rolling-update numbers, resolved.
type strategy struct {
	Replicas, MaxSurge, MaxUnavailable int
}

// reconcile is one pass of the deployment controller's rolling update
// towards revision rev. It returns how many new pods to create and which
// old pods (indexes into pods) to delete. As in Kubernetes' controller:
//
//   - scale up: the pods that are not terminating may number at most
//     replicas + maxSurge;
//   - scale down: old pods that are not available go first (they serve
//     nobody), then available ones, as long as the available pods stay at
//     least replicas - maxUnavailable, never counting on new pods that are
//     not available yet.
//
// Terminating pods count for nothing, as in Kubernetes: during a rollout
// up to replicas + maxSurge pods run beside the terminating ones.
func reconcile(s strategy, rev int, pods []podView) (create int, remove []int) {
	var active, newPods, newAvailable, available int
	var oldUnavailable, oldAvailable []int
	for i, p := range pods {
		if p.Terminating {
			continue
		}
		active++
		if p.Available {
			available++
		}
		if p.Revision == rev {
			newPods++
			if p.Available {
				newAvailable++
			}
			continue
		}
		if p.Available {
			oldAvailable = append(oldAvailable, i)
		} else {
			oldUnavailable = append(oldUnavailable, i)
		}
	}
	if newPods < s.Replicas {
		create = max(0, min(s.Replicas-newPods, s.Replicas+s.MaxSurge-active))
	}

	minAvailable := s.Replicas - s.MaxUnavailable
	newUnavailable := newPods - newAvailable
	// At most this many may go, counting every pod that exists now.
	budget := active - minAvailable - newUnavailable
	if budget <= 0 {
		return create, nil
	}
	for _, i := range oldUnavailable {
		if budget == 0 {
			break
		}
		remove = append(remove, i)
		budget--
	}
	// Available old pods: only while the available count stays at
	// minAvailable or above. Most recently ready first, as the ReplicaSet
	// controller ranks them.
	sort.SliceStable(oldAvailable, func(a, b int) bool {
		return pods[oldAvailable[a]].ReadySince.After(pods[oldAvailable[b]].ReadySince)
	})
	canLose := min(budget, available-minAvailable)
	for _, i := range oldAvailable {
		if canLose <= 0 {
			break
		}
		remove = append(remove, i)
		canLose--
	}
	return create, remove
}

// rolledOut reports whether revision rev is complete, as `kubectl rollout
// status` says: replicas new pods, all available, and no old pod left that
// is not terminating.
func rolledOut(s strategy, rev int, pods []podView) bool {
	newAvailable := 0
	for _, p := range pods {
		if p.Terminating {
			continue
		}
		if p.Revision != rev {
			return false
		}
		if p.Available {
			newAvailable++
		}
	}
	return newAvailable == s.Replicas
}

// endpointAddrs is the endpoints controller: every ready pod that is not
// terminating, whatever its readiness probe says after deletion.
func endpointAddrs(pods []podView) []string {
	var out []string
	for _, p := range pods {
		if p.Ready && !p.Terminating && p.Addr != "" {
			out = append(out, p.Addr)
		}
	}
	sort.Strings(out)
	return out
}
