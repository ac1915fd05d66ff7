package server

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// apiMetrics measure the service port's requests by route (the ServeMux
// pattern, so "/users/{id}" is one series however many ids there are),
// method and status code.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight atomic.Int64 // requests begun and not yet answered
}

func newAPIMetrics() *apiMetrics {
	return &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "Requests answered, by route (the ServeMux pattern without its method; \"unmatched\" when no route took the request), method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from a request's arrival at the handler to its handler's return, by route and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
}

func (a *apiMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(a.requests, a.duration, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "http_requests_in_flight",
		Help: "Requests being served now.",
	}, func() float64 { return float64(a.inFlight.Load()) }))
}

// instrument measures every request next serves. It runs on every request,
// so it stays cheap: an atomic counter, two label lookups, one small
// allocation. It must sit outside the ServeMux and get the *http.Request
// the mux routes (not a copy), because the route is read from the
// request's Pattern, which the mux sets.
func (a *apiMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inFlight.Add(1)
		defer a.inFlight.Add(-1) // a handler that panics on is still no longer in flight
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route, method := routeOf(r.Pattern), methodOf(r.Method)
		a.requests.WithLabelValues(route, method, strconv.Itoa(sw.status())).Inc()
		a.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// routeOf is a request's route label: its ServeMux pattern without the
// method ("GET /work" is "/work"), or "unmatched" when no route took it
// (404, 405, or a body refused before routing).
func routeOf(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return strings.TrimLeft(path, " \t")
	}
	return pattern
}

// methodOf is a request's method label: a client can send any word as a
// method, and each would be a series of its own.
func methodOf(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// statusWriter remembers the status code a handler sends. Flush and Hijack
// pass through (and Unwrap, for http.ResponseController), so streaming and
// upgraded connections work as they would without it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers other than 101 are informational: the final code follows.
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush() // http.Flusher has no error to return
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.code == 0 {
		w.code = http.StatusSwitchingProtocols // the handler answers on the raw connection
	}
	return c, rw, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the code the client got: 200 when the handler set none.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
