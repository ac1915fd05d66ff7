package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/payments/internal/config"
)

func newTest(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := New(config.Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func do(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestReadyzFollowsLifecycle(t *testing.T) {
	s, ts := newTest(t)
	for _, step := range []struct {
		name            string
		ready, draining bool
		want            int
		body            string
	}{
		{"starting", false, false, 503, "starting"},
		{"serving", true, false, 200, "ok"},
		{"draining", false, true, 503, "draining"},
	} {
		s.ready.Store(step.ready)
		s.draining.Store(step.draining)
		resp, body := do(t, "GET", ts.URL+"/readyz")
		if resp.StatusCode != step.want || !strings.Contains(body, step.body) {
			t.Errorf("%s: /readyz = %d %q, want %d %q", step.name, resp.StatusCode, body, step.want, step.body)
		}
		if resp.Close != step.draining {
			t.Errorf("%s: Connection: close = %v, want %v", step.name, resp.Close, step.draining)
		}
	}
}

func TestWork(t *testing.T) {
	_, ts := newTest(t)
	for _, c := range []struct {
		method, query string
		want          int
	}{
		{"GET", "", 200},
		{"POST", "?ms=5", 200},
		{"GET", "?ms=-1", 400},
		{"GET", "?ms=soon", 400},
		{"GET", "?ms=" + strconv.Itoa(int(config.Defaults().WorkMax/time.Millisecond)+1), 400}, // above WORK_MAX
		{"PUT", "", 405},
	} {
		if resp, body := do(t, c.method, ts.URL+"/work"+c.query); resp.StatusCode != c.want {
			t.Errorf("%s /work%s = %d %q, want %d", c.method, c.query, resp.StatusCode, body, c.want)
		}
	}
}

func TestPanicIsA500AndTheServerStaysUp(t *testing.T) {
	s := New(config.Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := s.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 {
		t.Errorf("panic answered %d, want 500", rec.Code)
	}
}

// Every route's body is capped, so a client cannot make the service
// buffer without bound.
func TestBodiesAreCapped(t *testing.T) {
	s := New(config.Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	var readErr error
	h := s.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}))
	req := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", MaxBodyBytes+1)))
	req.ContentLength = -1 // unknown, as when chunked: only reading finds out
	h.ServeHTTP(httptest.NewRecorder(), req)
	var tooBig *http.MaxBytesError
	if !errors.As(readErr, &tooBig) {
		t.Errorf("a body over MaxBodyBytes read without error: %v", readErr)
	}
}

// A body whose declared length is over MaxBodyBytes is answered 413 on
// every route, before the handler runs; one at the cap is served. (A body of
// unknown length, chunked, is capped when read: TestBodiesAreCapped.)
func TestBigBodiesAreRejected(t *testing.T) {
	_, ts := newTest(t)
	for _, c := range []struct {
		name string
		size int
		want int
	}{
		{"2 MB", 2_000_000, http.StatusRequestEntityTooLarge},
		{"MaxBodyBytes", MaxBodyBytes, http.StatusOK},
	} {
		req, _ := http.NewRequest("POST", ts.URL+"/work?ms=1", strings.NewReader(strings.Repeat("x", c.size)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: reading the body: %v", c.name, err)
		}
		if resp.StatusCode != c.want {
			t.Errorf("%s: POST /work?ms=1 = %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}

func TestLivezIgnoresTheDrain(t *testing.T) {
	s, _ := newTest(t)
	s.draining.Store(true)
	rec := httptest.NewRecorder()
	s.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/livez", nil))
	if rec.Code != 200 {
		t.Errorf("/livez while draining = %d, want 200", rec.Code)
	}
}

// Requests are counted by route (the pattern, not the path), method and
// code; those no route took share one route label; the duration histogram
// and the in-flight gauge follow.
func TestRequestsAreMeasured(t *testing.T) {
	s, ts := newTest(t)
	for _, target := range []string{"GET /work?ms=1", "GET /work", "POST /work", "PUT /work", "GET /nowhere", "BREW /work"} {
		method, path, _ := strings.Cut(target, " ")
		do(t, method, ts.URL+path)
	}
	m := s.metrics.handler()
	for name, want := range map[string]float64{
		`http_requests_total{code="200",method="GET",route="/work"}`:       2,
		`http_requests_total{code="200",method="POST",route="/work"}`:      1,
		`http_requests_total{code="405",method="PUT",route="unmatched"}`:   1,
		`http_requests_total{code="404",method="GET",route="unmatched"}`:   1,
		`http_requests_total{code="405",method="OTHER",route="unmatched"}`: 1,
		`http_request_duration_seconds_count{method="GET",route="/work"}`:  2,
		"http_requests_in_flight": 0,
	} {
		if got := sample(t, m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// Each response of the drain that asks its client to close the connection
// is counted; responses before the drain are not.
func TestConnectionCloseIsCounted(t *testing.T) {
	s, ts := newTest(t)
	do(t, "GET", ts.URL+"/readyz")
	s.draining.Store(true)
	do(t, "GET", ts.URL+"/readyz")
	do(t, "GET", ts.URL+"/work")
	if got := sample(t, s.metrics.handler(), "shutdown_connections_closed_total"); got != 2 {
		t.Errorf("connections closed = %v, want 2", got)
	}
}

// Measuring a response hides none of its writer's abilities: a handler can
// still flush (to stream), and the code it sent is the one counted.
func TestMeasuredHandlersCanStream(t *testing.T) {
	s := New(config.Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := s.metrics.api.instrument(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the measured writer is no http.Flusher")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed {
		t.Error("the response was not flushed")
	}
	if got := sample(t, s.metrics.handler(), `http_requests_total{code="202",method="GET",route="unmatched"}`); got != 1 {
		t.Errorf("202 answers counted = %v, want 1", got)
	}
}
