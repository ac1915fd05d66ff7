package rehearse

import (
	"context"
	"sync/atomic"
	"testing"
)

// TestReportStatus checks that the reports carry now()'s state and that
// stop waits for a report in progress: the caller's progress line is
// cleared after stop, and a late report would draw it again.
func TestReportStatus(t *testing.T) {
	var phase Phase
	if phase.String() != "" {
		t.Errorf("a new phase is %q, want \"\"", phase.String())
	}
	phase.Set("rollout 1 of 3")
	entered, release := make(chan struct{}), make(chan struct{})
	var stopped atomic.Bool
	calls := 0
	stop := ReportStatus(context.Background(), func(s Status) {
		calls++
		if calls == 1 {
			close(entered)
			<-release
		}
		if stopped.Load() {
			t.Error("a report ran on after stop returned")
		}
		if s.Phase != "rollout 1 of 3" || s.Ready != 2 {
			t.Errorf("report %+v, want now()'s", s)
		}
	}, func() Status { return Status{Phase: phase.String(), Ready: 2} })
	<-entered
	done := make(chan struct{})
	go func() {
		stop()
		stopped.Store(true)
		close(done)
	}()
	close(release)
	<-done
	stop() // a second stop is harmless

	ReportStatus(context.Background(), nil, nil)() // no reporter: nothing to run or stop
}
