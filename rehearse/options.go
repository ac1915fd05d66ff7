package rehearse

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/workload"
)

// fdHeadroom is what this process keeps open besides the proxy's two
// descriptors per connection: the pods' pipes, probes, the build.
const fdHeadroom = 256

// Options say how hard and how long to rehearse. Validate is their one
// check, which Run (and a rehearsal on a cluster) makes before it reads,
// builds or runs anything, naming each problem by its zdgen rehearse flag.
type Options struct {
	Rate     float64        // requests per second, in total: finite, above 0
	Conns    int            // keep-alive connections: within this process's open-file limit
	Rollouts int            // rolling updates under load
	Replicas int            // 0: the manifest's
	Lag      *time.Duration // endpoint propagation lag; nil: the answers' propagation-lag
	WorkMS   int            // how long each request works, in milliseconds: up to the service's WORK_MAX
	Naive    bool           // no drain delay, no preStop: what the protections buy
	// Report is where the caller will write the HTML report (WriteReport),
	// checked before the run so that a long rehearsal does not end
	// unable to write it; "" for none.
	Report string
	// Watch gets every event as it happens (the progress display); Status,
	// if set, is called with the cluster's state about every 250 ms.
	Watch  func(Event)
	Status func(Status)
}

// Validate checks what needs no repository, every problem named by its
// zdgen rehearse flag, before anything is read, built or run. A local
// rehearsal (local true) also needs this process to hold --conns
// connections through its Service stand-in; one on a cluster does not.
func (o *Options) Validate(local bool) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		bad("--rate %v: want a number of requests per second above 0", o.Rate)
	}
	if o.Conns < 1 {
		bad("--conns %d: want at least 1", o.Conns)
	} else if limit, ok := openFileLimit(); local && ok && uint64(o.Conns) > (limit-min(limit, fdHeadroom))/2 {
		bad("--conns %d: the Service stand-in holds two descriptors per connection, and this process may have %d open files (RLIMIT_NOFILE, its hard limit): at most %d connections; raise the limit (ulimit -n) or use fewer",
			o.Conns, limit, (limit-min(limit, fdHeadroom))/2)
	}
	if o.Rollouts < 1 {
		bad("--rollouts %d: want at least 1", o.Rollouts)
	}
	if o.Replicas < 0 || o.Replicas > spec.MaxReplicas {
		bad("--replicas %d: want 1 to %d, or 0 for the Deployment's", o.Replicas, spec.MaxReplicas)
	}
	if o.Lag != nil && *o.Lag < 0 {
		bad("--lag %s: a propagation lag cannot be negative", *o.Lag)
	}
	if o.WorkMS < 0 {
		bad("--work-ms %d: want 0 or more milliseconds", o.WorkMS)
	}
	if o.Report != "" {
		if err := CheckReport(o.Report); err != nil {
			bad("--report %s: %v", o.Report, err)
		}
	}
	if len(problems) > 0 {
		return inputErrorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// LoadFor reads the repository in dir and judges it for a rehearsal with
// o, local or on a cluster: the replicas o asks for, the timing model at
// the propagation lag (o.Lag, else the answers'), and o.WorkMS. It
// returns the workload and that lag.
//
// With the components of an overlay, a refusal names the component that
// brings it (workload.ComponentsAtFault), as workload.CheckTree's do.
func LoadFor(dir string, o Options) (*workload.Workload, time.Duration, error) {
	w, err := workload.LoadJudged(dir, func(w *workload.Workload) error { return judge(w, o) })
	if err != nil {
		return nil, 0, err
	}
	return w, lagFor(w, o), nil
}

// lagFor is the propagation lag a rehearsal with o runs w at: o.Lag, else
// the answers'.
func lagFor(w *workload.Workload, o Options) time.Duration {
	if o.Lag != nil {
		return *o.Lag
	}
	return w.Answers.PropagationLag.D()
}

// judge holds a workload to o: the replicas it asks for, the timing model
// at its propagation lag, its --work-ms.
func judge(w *workload.Workload, o Options) error {
	if o.Replicas > 0 {
		if err := w.SetReplicas(o.Replicas); err != nil {
			return err
		}
	}
	if err := w.Check(lagFor(w, o)); err != nil {
		return err
	}
	return checkWork(w, o.WorkMS)
}

// checkWork refuses a --work-ms the service would refuse: every request
// would fail.
func checkWork(w *workload.Workload, ms int) error {
	if most := w.WorkMax.Milliseconds(); int64(ms) > most {
		return inputErrorf("--work-ms %d: above the service's WORK_MAX (%s), which refuses longer work with 400: every request would fail; at most %d", ms, w.WorkMax, most)
	}
	return nil
}
