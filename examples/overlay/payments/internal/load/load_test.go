package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestRequestsStopsAtExactlyN(t *testing.T) {
	var calls atomic.Int64
	r := Run(context.Background(), Config{Conns: 4, Requests: 37}, func(int) Result {
		calls.Add(1)
		return Result{OK: true, Code: "200"}
	})
	if calls.Load() != 37 || r.Total != 37 || r.OK != 37 || !r.Passed() {
		t.Errorf("calls %d, report %+v", calls.Load(), r)
	}
}

func TestRateTimesDurationCalls(t *testing.T) {
	r := Run(context.Background(), Config{QPS: 200, Conns: 2, Duration: 100 * time.Millisecond}, func(int) Result {
		return Result{OK: true, Code: "200"}
	})
	if r.Total != 20 {
		t.Errorf("200/s for 100ms made %d calls, want 20", r.Total)
	}
}

func TestDurationWithoutRateStops(t *testing.T) {
	r := Run(context.Background(), Config{Conns: 2, Duration: 50 * time.Millisecond}, func(int) Result {
		time.Sleep(time.Millisecond)
		return Result{OK: true, Code: "200"}
	})
	if r.Total == 0 {
		t.Error("no call made")
	}
}

// Cancelling (Ctrl-C) stops new calls; the calls in flight still count.
func TestCancelStopsSchedulingAndKeepsInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started, finished atomic.Int64
	r := Run(ctx, Config{QPS: 1000, Conns: 3}, func(int) Result {
		if started.Add(1) == 10 {
			cancel()
		}
		time.Sleep(5 * time.Millisecond)
		finished.Add(1)
		return Result{OK: true, Code: "200"}
	})
	if int64(r.Total) != started.Load() || started.Load() != finished.Load() || r.Total < 10 {
		t.Errorf("started %d, finished %d, reported %d", started.Load(), finished.Load(), r.Total)
	}
}

func TestEveryWorkerGetsCalls(t *testing.T) {
	var seen [4]atomic.Int64
	Run(context.Background(), Config{Conns: 4, Requests: 400}, func(w int) Result {
		seen[w].Add(1)
		time.Sleep(100 * time.Microsecond)
		return Result{OK: true, Code: "200"}
	})
	for w := range seen {
		if seen[w].Load() == 0 {
			t.Errorf("worker %d made no call", w)
		}
	}
}

func TestFailuresAreCountedByKind(t *testing.T) {
	results := []Result{
		{OK: true, Code: "200"},
		{Code: "503"},
		{Code: ConnectionError, Err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED)},
		{Code: ConnectionError, Err: fmt.Errorf("read: %w", syscall.ECONNRESET)},
		{Code: ConnectionError, Err: io.EOF},
		{Code: ConnectionError, Err: errors.New("something else")},
		{Code: "Unavailable", Err: errors.New(`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`)},
	}
	var i atomic.Int64
	r := Run(context.Background(), Config{Conns: 1, Requests: len(results)}, func(int) Result {
		return results[i.Add(1)-1]
	})
	if r.OK != 1 || r.Failed != 6 || r.Passed() {
		t.Errorf("ok %d failed %d", r.OK, r.Failed)
	}
	want := map[string]int{"refused": 2, "reset": 1, "eof": 1, "other": 1}
	for k, n := range want {
		if r.Errors[k] != n {
			t.Errorf("errors[%s] = %d, want %d (all: %v)", k, r.Errors[k], n, r.Errors)
		}
	}
	if r.Codes[ConnectionError] != 4 || r.Codes["503"] != 1 || r.Codes["200"] != 1 {
		t.Errorf("codes %v", r.Codes)
	}
	if r.PerSecond[0].OK != 1 || r.PerSecond[0].Failed != 6 {
		t.Errorf("per second %v", r.PerSecond)
	}
}

func TestPerSecondLatency(t *testing.T) {
	var i atomic.Int64
	r := Run(context.Background(), Config{Conns: 1, Requests: 3}, func(int) Result {
		if i.Add(1) == 3 {
			time.Sleep(20 * time.Millisecond) // the slowest call sets the second's max
		}
		return Result{OK: true, Code: "200"}
	})
	if len(r.PerSecond) == 0 || r.Start.IsZero() {
		t.Fatalf("no timeline: start %v, per second %v", r.Start, r.PerSecond)
	}
	var slowest time.Duration
	for _, s := range r.PerSecond {
		if s.P50 > s.P99 || s.P99 > s.Max {
			t.Errorf("percentiles out of order: %+v", s)
		}
		slowest = max(slowest, s.Max)
	}
	if slowest < 20*time.Millisecond || slowest != r.Latency.Max {
		t.Errorf("per-second max %v, overall max %v, want both >= 20ms and equal", slowest, r.Latency.Max)
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(d)
	if p.P50 != 501*time.Millisecond || p.P90 != 900*time.Millisecond || p.P99 != 990*time.Millisecond || p.Max != time.Second {
		t.Errorf("%+v", p)
	}
	if (percentiles(nil) != Percentiles{}) {
		t.Error("empty sample")
	}
}

func TestTextReport(t *testing.T) {
	r := &Report{Total: 4, OK: 3, Failed: 1, Conns: 2, Elapsed: time.Second, Codes: map[string]int{"200": 3, ConnectionError: 1},
		Errors: map[string]int{"reset": 1}, FirstError: ConnectionError + ": reset"}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Code 200 : 3 (75.0 %)\nConnection error : 1 (25.0 %)", "Connection errors: reset 1", "RESULT: FAIL (1 of 4 failed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if (&Report{}).Passed() {
		t.Error("a run with no call passed")
	}
}
