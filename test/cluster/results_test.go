package cluster

import (
	"encoding/json"
	"os"
	"sync"
	"time"
)

// The figures the tests measured, written as JSON to $ZDGEN_NODE_RESULTS
// when it is set (bench/node.sh turns them into BENCHMARKS.md's "Real
// cluster" section).
var results struct {
	mu       sync.Mutex
	Nodes    []clusterNode    `json:"nodes"`
	Forms    []formResult     `json:"forms"`
	Rollouts []*rolloutResult `json:"rollouts"`
}

type formResult struct {
	Form            string  `json:"form"`
	PreStopSeconds  float64 `json:"preStopSeconds"`
	DrainSeconds    float64 `json:"drainSeconds"`
	IdleSigterm     float64 `json:"idleSigtermSeconds"`
	IdleExit        float64 `json:"idleExitSeconds"`
	IdleExpected    float64 `json:"idleExpectedSeconds"`
	InFlightExit    float64 `json:"inFlightExitSeconds"`
	InFlightExpects float64 `json:"inFlightExpectedSeconds"`
}

func recordForm(form string, preStop, drain time.Duration, idle, busy termination) {
	results.mu.Lock()
	defer results.mu.Unlock()
	results.Forms = append(results.Forms, formResult{
		Form: form, PreStopSeconds: preStop.Seconds(), DrainSeconds: drain.Seconds(),
		IdleSigterm: idle.sigterm.Seconds(), IdleExit: idle.exit.Seconds(), IdleExpected: idle.expected.Seconds(),
		InFlightExit: busy.exit.Seconds(), InFlightExpects: busy.expected.Seconds(),
	})
}

func recordRollouts(r *rolloutResult) {
	results.mu.Lock()
	defer results.mu.Unlock()
	results.Rollouts = append(results.Rollouts, r)
}

// writeResults writes the figures if asked to.
func writeResults() error {
	path := os.Getenv("ZDGEN_NODE_RESULTS")
	if path == "" {
		return nil
	}
	results.mu.Lock()
	defer results.mu.Unlock()
	results.Nodes = theNode.nodes
	b, err := json.MarshalIndent(&results, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
