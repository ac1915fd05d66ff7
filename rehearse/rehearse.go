package rehearse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
)

// Options say how hard and how long to rehearse. Run validates them
// before it reads, builds or runs anything, naming each by its zdgen
// rehearse flag.
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

// Status is a moment of a rehearsal, for a progress line.
type Status struct {
	Elapsed                      time.Duration
	Phase                        string
	Ready, Starting, Terminating int
	ProxyConns                   int64
	ProxyFailed                  int64 // connections the proxy could not place
	// Namespace is set by a rehearsal on a cluster, which has no proxy.
	Namespace string
}

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
	Proxy       ProxyStats    `json:"proxy,omitzero"` // a local rehearsal's
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

// Run rehearses Options.Rollouts rolling updates of the service in dir
// under load. It returns an *InputError, before anything runs, when the
// options are bad, the repository cannot be rehearsed (its manifests break
// the timing model or run commands their image cannot, it does not build,
// or there is no Go toolchain to build it with), and an error when the
// rehearsal could not run to its end; a Result with failures is not an
// error.
func Run(ctx context.Context, dir string, o Options) (*Result, error) {
	if !supported {
		return nil, errors.New("rehearse needs Unix signals and process groups (Linux or macOS)")
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	w, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if o.Replicas > 0 {
		if err := w.SetReplicas(o.Replicas); err != nil {
			return nil, err
		}
	}
	lag := w.Answers.PropagationLag.D()
	if o.Lag != nil {
		lag = *o.Lag
	}
	if err := w.Check(lag); err != nil {
		return nil, err
	}
	if err := w.CheckWork(o.WorkMS); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, inputErrorf("the rehearsal builds the service with the Go toolchain, and there is no go here: %w", err)
	}

	tmp, err := os.MkdirTemp("", "zdgen-rehearse-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	binary, loader, err := build(ctx, w, tmp)
	if err != nil {
		return nil, err
	}

	tl := newTimeline(o.Watch)
	res := &Result{Service: w.Answers.Name, Protocol: w.Answers.Protocol, Naive: o.Naive, Rate: o.Rate, Conns: o.Conns,
		Replicas: w.Replicas, MaxSurge: w.MaxSurge, LagNs: lag, GraceNs: w.Grace, PreStopNs: w.PreStop, DrainNs: w.Drain}
	if o.Naive {
		res.PreStopNs, res.DrainNs = 0, 0
	}

	runCtx, stop := context.WithCancel(context.Background())
	var cl *cluster
	eps := newEndpoints(lag, func(addrs []string) {
		tl.add("", EvEndpoints, fmt.Sprintf("the proxy routes to %d pod(s): %s", len(addrs), strings.Join(cl.names(addrs), ", ")))
	})
	go eps.run(runCtx)
	proxy, err := newProxy(eps)
	if err != nil {
		stop()
		return nil, err
	}
	go proxy.serve()
	k := &kubelet{w: w, binary: binary, naive: o.Naive, tl: tl}
	cl = newCluster(k, strategy{Replicas: w.Replicas, MaxSurge: w.MaxSurge, MaxUnavailable: w.MaxUnavailable}, eps)
	go cl.run(runCtx)
	var lt *loadTest
	var phase atomic.Value // read by the status goroutine
	phase.Store("starting pods")
	statusDone := make(chan struct{})
	if o.Status != nil {
		go func() {
			defer close(statusDone)
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
					r, s, term := cl.counts()
					o.Status(Status{Elapsed: time.Since(tl.start), Phase: phase.Load().(string), Ready: r, Starting: s, Terminating: term,
						ProxyConns: proxy.Active.Load(), ProxyFailed: proxy.DialFailed.Load() + proxy.NoEndpoints.Load()})
				}
			}
		}()
	} else {
		close(statusDone)
	}
	// Whatever happens, no process outlives the rehearsal.
	defer func() {
		stop()
		<-statusDone
		if lt != nil {
			lt.kill()
		}
		cl.killAll()
		proxy.Close()
	}()

	// The first revision, before any load: the Service has its endpoints
	// once the proxy has caught up.
	if err := cl.rollout(ctx, 1); err != nil {
		return nil, fmt.Errorf("starting %d pods: %w", w.Replicas, err)
	}
	if err := sleep(ctx, lag+500*time.Millisecond); err != nil {
		return nil, err
	}

	phase.Store("load, before the first rollout")
	lt, err = startLoad(w, loader, proxy.Addr(), o)
	if err != nil {
		return nil, err
	}
	res.LoadStartNs = time.Since(tl.start)
	quiet := 3 * time.Second // a quiet period first: failures here are not the rollout's
	if err := sleep(ctx, quiet); err != nil {
		return nil, err
	}
	for i := 1; i <= o.Rollouts; i++ {
		rev := i + 1
		phase.Store(fmt.Sprintf("rollout %d of %d", i, o.Rollouts))
		start := time.Since(tl.start)
		tl.add("", EvRolloutStart, fmt.Sprintf("rollout %d of %d (revision %d)", i, o.Rollouts, rev))
		if err := cl.rollout(ctx, rev); err != nil {
			return nil, fmt.Errorf("rollout %d: %w", i, err)
		}
		d := time.Since(tl.start) - start
		tl.add("", EvRolloutDone, fmt.Sprintf("rollout %d of %d done in %s", i, o.Rollouts, d.Round(10*time.Millisecond)))
		res.Rollouts = append(res.Rollouts, Rollout{Revision: rev, StartNs: start, DurationNs: d})
	}
	// The old pods finish terminating and the proxy catches up before the
	// load stops, so late failures are counted too.
	phase.Store("old pods terminating")
	if err := cl.settled(ctx, w.Grace+5*time.Second); err != nil {
		return nil, err
	}
	phase.Store("load, after the last rollout")
	if err := sleep(ctx, lag+quiet); err != nil {
		return nil, err
	}
	phase.Store("stopping the load")
	rep, err := lt.stop()
	lt = nil
	if err != nil {
		return nil, err
	}
	res.Load = *rep
	res.Proxy = ProxyStats{Accepted: proxy.Accepted.Load(), NoEndpoints: proxy.NoEndpoints.Load(), DialFailed: proxy.DialFailed.Load()}
	res.Events = tl.events()
	res.Problems = tl.problems()
	return res, nil
}

// CheckWork refuses a --work-ms the service would refuse: every request
// would fail.
func (w *Workload) CheckWork(ms int) error {
	if most := w.WorkMax.Milliseconds(); int64(ms) > most {
		return inputErrorf("--work-ms %d: above the service's WORK_MAX (%s), which refuses longer work with 400: every request would fail; at most %d", ms, w.WorkMax, most)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// build compiles the service and its load-test client, as the repository's
// Makefile does. A build that fails is an input error.
func build(ctx context.Context, w *Workload, dir string) (binary, loader string, err error) {
	binary = filepath.Join(dir, w.Answers.Name)
	loader = filepath.Join(dir, "loadtest")
	for _, b := range []struct{ out, pkg string }{{binary, "./cmd/" + w.Answers.Name}, {loader, "./cmd/loadtest"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = w.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			if ctx.Err() != nil {
				return "", "", fmt.Errorf("go build %s: %w", b.pkg, ctx.Err())
			}
			// The repository does not build: nothing was rehearsed.
			return "", "", inputErrorf("go build %s: %w\n%s", b.pkg, err, bytes.TrimSpace(out))
		}
	}
	return binary, loader, nil
}

// LoadReport is the part of the load-test client's JSON report the
// rehearsal reads.
type LoadReport struct {
	Start     time.Time      `json:"start"`
	Conns     int            `json:"conns"`
	TargetQPS float64        `json:"targetQPS"`
	Elapsed   time.Duration  `json:"elapsedNs"`
	Total     int            `json:"total"`
	OK        int            `json:"ok"`
	Failed    int            `json:"failed"`
	Codes     map[string]int `json:"codes"`
	Errors    map[string]int `json:"connectionErrors"`
	Late      int            `json:"late"`
	Latency   struct {
		P50  time.Duration `json:"p50Ns"`
		P90  time.Duration `json:"p90Ns"`
		P99  time.Duration `json:"p99Ns"`
		P999 time.Duration `json:"p999Ns"`
		Max  time.Duration `json:"maxNs"`
	} `json:"latency"`
	PerSecond  []LoadSecond `json:"perSecond"`
	FirstError string       `json:"firstError,omitempty"`
}

// LoadSecond is one second of the load test's timeline.
type LoadSecond struct {
	OK     int           `json:"ok"`
	Failed int           `json:"failed"`
	P50    time.Duration `json:"p50Ns"`
	P99    time.Duration `json:"p99Ns"`
	Max    time.Duration `json:"maxNs"`
}

// loadTest is the repository's own load-test client, running until
// stopped.
type loadTest struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	errOut bytes.Buffer
	exited chan struct{}
}

func startLoad(w *Workload, loader, addr string, o Options) (*loadTest, error) {
	args := []string{"-qps", strconv.FormatFloat(o.Rate, 'f', -1, 64), "-c", strconv.Itoa(o.Conns), "-duration", "0", "-json"}
	if w.Answers.Protocol == spec.ProtocolGRPC {
		args = append(args, "-addr", addr, "-ms", strconv.Itoa(o.WorkMS))
	} else {
		args = append(args, "-url", fmt.Sprintf("http://%s/work?ms=%d", addr, o.WorkMS))
	}
	lt := &loadTest{cmd: exec.Command(loader, args...), exited: make(chan struct{})}
	lt.cmd.Stdout, lt.cmd.Stderr = &lt.out, &lt.errOut
	ownGroup(lt.cmd)
	if err := lt.cmd.Start(); err != nil {
		return nil, fmt.Errorf("load test: %w", err)
	}
	go func() { _ = lt.cmd.Wait(); close(lt.exited) }()
	return lt, nil
}

// stop asks the client to stop (SIGINT, its Ctrl-C: calls in flight finish,
// then it reports) and reads its report.
func (lt *loadTest) stop() (*LoadReport, error) {
	select {
	case <-lt.exited:
		return nil, fmt.Errorf("the load test stopped early: %s", bytes.TrimSpace(lt.errOut.Bytes()))
	default:
	}
	_ = signalProcess(lt.cmd, sigINT)
	select {
	case <-lt.exited:
	case <-time.After(30 * time.Second): // the client's per-call timeout is 15 s
		lt.kill()
		return nil, errors.New("the load test did not stop within 30s of SIGINT")
	}
	var rep LoadReport
	if err := json.NewDecoder(io.MultiReader(&lt.out)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("reading the load test's report: %w (stderr: %s)", err, bytes.TrimSpace(lt.errOut.Bytes()))
	}
	return &rep, nil
}

func (lt *loadTest) kill() {
	killGroup(lt.cmd)
	select {
	case <-lt.exited:
	case <-time.After(5 * time.Second):
	}
}
