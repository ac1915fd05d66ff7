// Package load drives calls at a fixed rate over a fixed number of
// connections and reports what happened. It knows nothing of the protocol:
// cmd/loadtest supplies the call.
package load

import (
	"context"
	"sync"
	"time"
)

// Config says how much load to send.
type Config struct {
	// QPS is the total rate. Call i is due at start + i/QPS whether or not
	// earlier calls have returned (an open-loop schedule, so a slow server
	// cannot slow the test down and hide its own failures). 0: as fast as
	// the workers go.
	QPS float64
	// Conns is the number of workers; each owns one connection.
	Conns int
	// Duration stops scheduling after this long; Requests after this many
	// calls. Requests wins when both are set. Neither: run until ctx is
	// cancelled (Ctrl-C), as when redeploying by hand under load.
	Duration time.Duration
	Requests int
}

// Result is the outcome of one call.
type Result struct {
	OK   bool   // the call succeeded
	Code string // what the histogram counts: "200", "503", "OK", "UNAVAILABLE"; ConnectionError when no response came
	Err  error  // the transport error, if any
}

// ConnectionError is the Code of a call that got no response at all (the
// connection was refused, reset or timed out): Err says why.
const ConnectionError = "connection error"

// Call makes one request on the worker's connection.
type Call func(worker int) Result

// Run sends load until the schedule ends or ctx is cancelled, waits for
// the calls in flight, and reports. Cancelling ctx stops new calls only:
// calls in flight finish (they carry their own timeouts), so an
// interrupted run still reports honestly.
func Run(ctx context.Context, cfg Config, call Call) *Report {
	if cfg.Conns < 1 {
		cfg.Conns = 1
	}
	rec := newRecorder(time.Now())
	due := make(chan time.Time)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Conns; w++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			for at := range due {
				start := time.Now()
				r := call(worker)
				rec.add(start, time.Since(start), start.Sub(at), r)
			}
		}(w)
	}
	schedule(ctx, cfg, rec.start, due)
	close(due)
	wg.Wait()
	return rec.report(cfg)
}

// schedule hands out due times until the run is over. A send blocks while
// every worker is busy; the worker that takes it records how late it was.
func schedule(ctx context.Context, cfg Config, start time.Time, due chan<- time.Time) {
	var interval time.Duration
	if cfg.QPS > 0 {
		interval = time.Duration(float64(time.Second) / cfg.QPS)
	}
	// With a rate, the schedule itself ends the run (exactly QPS x Duration
	// calls); without one, a timer does.
	var end <-chan time.Time
	if cfg.Duration > 0 && cfg.Requests == 0 && interval == 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		end = t.C
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; cfg.Requests == 0 || i < cfg.Requests; i++ {
		at := start.Add(time.Duration(i) * interval)
		if cfg.Duration > 0 && cfg.Requests == 0 && interval > 0 && at.Sub(start) >= cfg.Duration {
			return
		}
		timer.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case <-timer.C:
		}
		select {
		case due <- at:
		case <-ctx.Done():
			return
		case <-end:
			return
		}
	}
}
