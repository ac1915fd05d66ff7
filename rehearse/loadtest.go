package rehearse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"time"

	"github.com/zdgen/zdgen/generator/spec"
	"github.com/zdgen/zdgen/workload"
)

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

func startLoad(w *workload.Workload, loader, addr string, o Options) (*loadTest, error) {
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
