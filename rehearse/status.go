package rehearse

import (
	"context"
	"sync/atomic"
	"time"
)

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

// statusEvery is how often a rehearsal reports its state: often enough
// for a live progress line, rarely enough to cost nothing.
const statusEvery = 250 * time.Millisecond

// Phase is what a rehearsal is doing, as its progress line names it: set
// by the run as it goes, read by the status reports meanwhile.
type Phase struct{ v atomic.Pointer[string] }

// Set names the phase the rehearsal has entered.
func (p *Phase) Set(s string) { p.v.Store(&s) }

// String is the phase's name; "" before the first Set.
func (p *Phase) String() string {
	if s := p.v.Load(); s != nil {
		return *s
	}
	return ""
}

// ReportStatus calls report with now() every 250 ms until ctx ends or
// stop is called; stop returns once the last report has, so that none
// comes after the rehearsal. With report nil it does nothing.
func ReportStatus(ctx context.Context, report func(Status), now func() Status) (stop func()) {
	if report == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				report(now())
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
