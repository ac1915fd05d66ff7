package rehearse

import (
	"encoding/json"
	"time"

	"github.com/zdgen/zdgen/workload"
)

// Result is what a rehearsal found.
type Result struct {
	Service   string        `json:"service"`
	Protocol  string        `json:"protocol"`
	Naive     bool          `json:"naive"`
	Rate      float64       `json:"rate"`
	Conns     int           `json:"conns"`
	Replicas  int           `json:"replicas"`
	MaxSurge  int           `json:"maxSurge"`
	LagNs     time.Duration `json:"lagNs"`
	GraceNs   time.Duration `json:"graceNs"`
	PreStopNs time.Duration `json:"preStopNs"` // 0 in a naive run
	DrainNs   time.Duration `json:"drainNs"`   // 0 in a naive run
	// The load client's report; LoadStartNs places its timeline on the
	// events' clock.
	Load        LoadReport    `json:"load"`
	LoadStartNs time.Duration `json:"loadStartNs"`
	Rollouts    []Rollout     `json:"rollouts"`
	// Disruption is a cluster rehearsal's drains or evictions, when it
	// disrupted the pods by those instead of rollouts; nil otherwise.
	Disruption *Disruption `json:"disruption,omitempty"`
	Proxy      ProxyStats  `json:"proxy,omitzero"` // a local rehearsal's
	// Cluster says where a rehearsal on a Kubernetes cluster ran; nil for
	// a local one.
	Cluster  *ClusterInfo `json:"cluster,omitempty"`
	Events   []Event      `json:"events"`
	Problems []string     `json:"problems,omitempty"`
}

// ClusterInfo is where a rehearsal on a real cluster ran, and with what.
type ClusterInfo struct {
	Context   string `json:"context,omitempty"`
	Server    string `json:"server,omitempty"`
	Namespace string `json:"namespace"`
	Kept      bool   `json:"kept"` // the namespace was left in place (--keep)
	Image     string `json:"image"`
	LoadImage string `json:"loadImage"`
}

// Rollout is one rolling update's span on the events' clock.
type Rollout struct {
	Revision   int           `json:"revision"`
	StartNs    time.Duration `json:"startNs"`
	DurationNs time.Duration `json:"durationNs"`
}

// Disruption is how a rehearsal on a cluster disrupted the pods instead
// of rolling them: Kind "drain", a node drained as kubectl drain does, or
// "evict", every pod evicted one by one; each round is one drain, or one
// pass over the pods.
type Disruption struct {
	Kind   string            `json:"kind"`
	Rounds []DisruptionRound `json:"rounds"`
}

// DisruptionRound is one drain or pass of evictions on the events' clock:
// from its start until the Deployment had every replica available again.
// A drain's node is uncordoned right after.
type DisruptionRound struct {
	Node       string        `json:"node,omitempty"` // the node drained; "" for evict
	StartNs    time.Duration `json:"startNs"`
	DurationNs time.Duration `json:"durationNs"`
	Evictions  int           `json:"evictions"` // pods evicted
	// TooManyRequests counts the evictions the API server refused with
	// 429 because the PodDisruptionBudget allowed no disruption then;
	// each was asked again 5 s later, as kubectl drain does.
	TooManyRequests int `json:"tooManyRequests"`
}

// ProxyStats are the Service stand-in's counters.
type ProxyStats struct {
	Accepted    int64 `json:"accepted"`
	NoEndpoints int64 `json:"noEndpoints"`
	DialFailed  int64 `json:"dialFailed"` // sent to a pod no longer listening
}

// Passed reports whether every request succeeded and nothing a zero-downtime
// rollout must not do happened (a SIGKILL, a restart).
func (r *Result) Passed() bool {
	return r.Load.Total > 0 && r.Load.Failed == 0 && len(r.Problems) == 0
}

// MarshalJSON writes the result with its verdict first: "passed" is
// Passed().
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // the fields, without this method
	return json.Marshal(struct {
		Passed bool `json:"passed"`
		plain
	}{r.Passed(), plain(r)})
}

// NewResult is a rehearsal's result before it runs: the service, the
// options and the plan's numbers it runs with, local or on a cluster.
func NewResult(w *workload.Workload, o Options, lag time.Duration) *Result {
	res := &Result{Service: w.Answers.Name, Protocol: w.Answers.Protocol, Naive: o.Naive, Rate: o.Rate, Conns: o.Conns,
		Replicas: w.Replicas, MaxSurge: w.MaxSurge, LagNs: lag, GraceNs: w.Grace, PreStopNs: w.PreStop, DrainNs: w.Drain}
	if o.Naive {
		res.PreStopNs, res.DrainNs = 0, 0 // a naive run has neither
	}
	return res
}
