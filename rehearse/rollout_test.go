package rehearse

import (
	"slices"
	"testing"
	"time"
)

func TestReconcileSteps(t *testing.T) {
	s := strategy{Replicas: 3, MaxSurge: 1, MaxUnavailable: 0}
	old := podView{Revision: 1, Ready: true, Available: true}
	fresh := podView{Revision: 2}
	ready := podView{Revision: 2, Ready: true, Available: true}
	gone := podView{Revision: 1, Terminating: true}
	for _, tc := range []struct {
		name   string
		pods   []podView
		create int
		remove []int
	}{
		{"start of a rollout: surge one", []podView{old, old, old}, 1, nil},
		{"new pod not available: nothing goes", []podView{old, old, old, fresh}, 0, nil},
		{"new pod available: one old goes", []podView{old, old, old, ready}, 0, []int{0}},
		{"terminating pods count for nothing", []podView{gone, old, old, ready}, 1, nil},
		{"last step", []podView{gone, gone, old, ready, ready, ready}, 0, []int{2}},
		{"an unavailable old pod goes first", []podView{old, {Revision: 1}, old, ready}, 0, []int{1}},
		{"done", []podView{gone, gone, gone, ready, ready, ready}, 0, nil},
		{"first revision", nil, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			create, remove := reconcile(s, 2, tc.pods)
			if create != tc.create || !slices.Equal(remove, tc.remove) {
				t.Errorf("reconcile = create %d, remove %v; want %d, %v", create, remove, tc.create, tc.remove)
			}
		})
	}
}

// TestRolloutInvariants runs whole rollouts with pods that become
// available one step after they are created, and checks the surge and
// availability bounds at every step.
func TestRolloutInvariants(t *testing.T) {
	for _, s := range []strategy{
		{Replicas: 3, MaxSurge: 1, MaxUnavailable: 0},
		{Replicas: 5, MaxSurge: 2, MaxUnavailable: 0},
		{Replicas: 4, MaxSurge: 0, MaxUnavailable: 1},
		{Replicas: 1, MaxSurge: 1, MaxUnavailable: 0},
	} {
		var pods []podView
		for range s.Replicas {
			pods = append(pods, podView{Revision: 1, Ready: true, Available: true})
		}
		steps := 0
		for !rolledOut(s, 2, pods) {
			if steps++; steps > 100 {
				t.Fatalf("%+v: no end after 100 steps: %+v", s, pods)
			}
			// New pods from the last step are available now.
			for i := range pods {
				if pods[i].Revision == 2 && !pods[i].Terminating {
					pods[i].Ready, pods[i].Available, pods[i].ReadySince = true, true, time.Unix(int64(steps), 0)
				}
			}
			create, remove := reconcile(s, 2, pods)
			for _, i := range remove {
				if pods[i].Revision == 2 {
					t.Fatalf("%+v: removed a new pod", s)
				}
				pods[i].Terminating = true
			}
			for range create {
				pods = append(pods, podView{Revision: 2})
			}
			active, available := 0, 0
			for _, p := range pods {
				if !p.Terminating {
					active++
					if p.Available {
						available++
					}
				}
			}
			if active > s.Replicas+s.MaxSurge {
				t.Fatalf("%+v: %d pods running, more than replicas + maxSurge", s, active)
			}
			if available < s.Replicas-s.MaxUnavailable {
				t.Fatalf("%+v: %d pods available, fewer than replicas - maxUnavailable", s, available)
			}
		}
	}
}

func TestEndpointsAreReadyPodsNotTerminating(t *testing.T) {
	got := endpointAddrs([]podView{
		{Ready: true, Addr: "b"},
		{Ready: true, Addr: "a"},
		{Ready: true, Terminating: true, Addr: "c"}, // deleted: out whatever readiness says
		{Ready: false},
	})
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("endpoints %v, want [a b]", got)
	}
}
