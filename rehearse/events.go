package rehearse

import (
	"sync"
	"time"
)

// Event kinds in a rehearsal's timeline.
const (
	EvRolloutStart = "rollout-start"
	EvRolloutDone  = "rollout-done"
	EvCreated      = "created"     // the pod's process started
	EvStarted      = "started"     // the startup probe passed
	EvReady        = "ready"       // the readiness probe passed: the pod may join the endpoints
	EvUnready      = "unready"     // the readiness probe failed failureThreshold times
	EvEndpoints    = "endpoints"   // the proxy applied an endpoint change (after the lag)
	EvTerminating  = "terminating" // deleted: endpoints removal and preStop start together
	EvPreStop      = "prestop"     // the preStop hook ended
	EvSIGTERM      = "sigterm"
	EvSIGKILL      = "sigkill" // the grace period ran out
	EvExited       = "exited"
	EvLog          = "log"     // a shutdown phase or warning the service logged
	EvProblem      = "problem" // something a zero-downtime rollout must not do
	EvKube         = "event"   // a Kubernetes event (a rehearsal on a cluster)
	// A rehearsal on a cluster that drains a node or evicts pods instead
	// of rolling them (its Disruption).
	EvDisruptStart = "disrupt-start"
	EvDisruptDone  = "disrupt-done"
	EvCordon       = "cordon"        // the node to drain takes no new pods
	EvUncordon     = "uncordon"      // the drained node takes pods again
	EvEvicted      = "evicted"       // the Eviction API accepted the pod's eviction
	EvEvictRefused = "evict-refused" // 429: the PodDisruptionBudget allows no disruption now
	EvGone         = "gone"          // an evicted pod no longer exists
)

// Event is one thing that happened, stamped with the time since the
// rehearsal began.
type Event struct {
	At     time.Duration `json:"atNs"`
	Pod    string        `json:"pod,omitempty"`
	Kind   string        `json:"kind"`
	Detail string        `json:"detail,omitempty"`
}

// timeline records events in order and passes each to a watcher (the
// progress display).
type timeline struct {
	start time.Time
	mu    sync.Mutex
	evs   []Event
	watch func(Event)
}

func newTimeline(watch func(Event)) *timeline {
	return &timeline{start: time.Now(), watch: watch}
}

func (t *timeline) add(pod, kind, detail string) {
	t.mu.Lock()
	e := Event{At: time.Since(t.start), Pod: pod, Kind: kind, Detail: detail}
	t.evs = append(t.evs, e)
	watch := t.watch
	t.mu.Unlock()
	if watch != nil {
		watch(e)
	}
}

func (t *timeline) events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.evs...)
}

// problems lists the events that make a rehearsal fail whatever the load
// saw.
func (t *timeline) problems() []string {
	var out []string
	for _, e := range t.events() {
		if e.Kind == EvProblem {
			out = append(out, e.Pod+": "+e.Detail)
		}
	}
	return out
}

// Timeline records a rehearsal's events for code that runs one elsewhere
// (on a cluster): the same clock, problems and watcher as a local run.
type Timeline = timeline

// NewTimeline starts a timeline now; watch, if set, gets every event.
func NewTimeline(watch func(Event)) *Timeline { return newTimeline(watch) }

// Add records an event now.
func (t *timeline) Add(pod, kind, detail string) { t.add(pod, kind, detail) }

// Since is the time on the timeline's clock.
func (t *timeline) Since() time.Duration { return time.Since(t.start) }

// Events lists the events so far, in order.
func (t *timeline) Events() []Event { return t.events() }

// Problems lists the EvProblem events, each as "pod: detail".
func (t *timeline) Problems() []string { return t.problems() }
