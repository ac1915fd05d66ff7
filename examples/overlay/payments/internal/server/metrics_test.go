package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/payments/internal/config"
)

// sample scrapes h and returns one sample's value, the sample named as the
// text format writes it (labels sorted by name). A missing sample fails the
// test.
func sample(t *testing.T, h http.Handler, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s in /metrics", name)
	return 0
}

// logLines hands each record of a JSON log to a channel: slog's JSON
// handler writes one record per Write.
type logLines chan map[string]any

func (c logLines) Write(b []byte) (int, error) {
	var line map[string]any
	if json.Unmarshal(b, &line) == nil {
		select {
		case c <- line:
		default: // nobody waits for it any more
		}
	}
	return len(b), nil
}

// wait returns the next record whose msg starts with prefix.
func (c logLines) wait(t *testing.T, prefix string) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line := <-c:
			if strings.HasPrefix(line["msg"].(string), prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("no log line %q", prefix)
		}
	}
}

// A request that outlives the shutdown timeout shows in the metrics:
// in flight when the stop began, then cut. (The process exits right after,
// so this runs Run in the test, where the registry outlives it.)
func TestShutdownMetricsCountTheCut(t *testing.T) {
	cfg := config.Defaults()
	cfg.Port, cfg.HealthPort = 0, 0
	cfg.DrainDelay, cfg.ShutdownTimeout, cfg.WorkMax = 0, 200*time.Millisecond, time.Minute
	logs := make(logLines, 100)
	s := New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, context.Background()) }()
	_, port, _ := net.SplitHostPort(logs.wait(t, "listening")["addr"].(string))
	addr := net.JoinHostPort("127.0.0.1", port)
	logs.wait(t, "ready")

	cut := make(chan error, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/work?ms=30000", "", nil)
		if err == nil {
			resp.Body.Close()
		}
		cut <- err
	}()
	logs.wait(t, "request")
	m := s.metrics.handler()
	if got := sample(t, m, `shutdown_phase{phase="serving"}`); got != 1 {
		t.Errorf("phase serving before SIGTERM = %v, want 1", got)
	}
	if got := sample(t, m, "shutdown_drain_start_time_seconds"); got != 0 {
		t.Errorf("drain start before SIGTERM = %v, want 0", got)
	}

	sigterm()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-cut; err == nil {
		t.Error("the straggler succeeded; want it cut")
	}
	for name, want := range map[string]float64{
		`shutdown_phase{phase="serving"}`:  0,
		`shutdown_phase{phase="draining"}`: 0,
		`shutdown_phase{phase="stopping"}`: 1,
		"shutdown_in_flight_at_stop":       1,
		"shutdown_cut_total":               1,
	} {
		if got := sample(t, m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := sample(t, m, "shutdown_drain_start_time_seconds"); got <= 0 {
		t.Errorf("drain start after SIGTERM = %v, want a time", got)
	}
}
