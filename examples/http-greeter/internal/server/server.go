// Package server runs the HTTP service and its zero-downtime shutdown.
//
// On the first SIGTERM (the context passed to Run is cancelled):
//
//  1. /readyz answers 503 at once, so load balancers that probe the pod
//     directly stop sending;
//  2. for DrainDelay the service keeps serving, and every response carries
//     "Connection: close", so each keep-alive client re-dials after its
//     current request and lands on a live pod (routers may still send new
//     connections here meanwhile: they are served too);
//  3. keep-alives are switched off and Shutdown stops accepting and waits for
//     in-flight requests, at most ShutdownTimeout; then Close ends the rest;
//  4. Run returns and the process exits, without waiting out the grace
//     period.
//
// /livez is served on a listener of its own that stays open until Run
// returns, so a liveness probe never restarts the container mid-drain.
//
// The health listener also serves /metrics (metrics.go), so scrapes go on
// until the process exits and show each step above as it happens.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"example.com/greeter/internal/config"
)

// Server is the service: its handlers and the state the shutdown changes.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	ready    atomic.Bool // false before the listener is up and from SIGTERM on
	draining atomic.Bool // true from SIGTERM on: responses close their connection
	metrics  *metrics    // served on the health port
}

// New returns a server that is not yet ready.
func New(cfg config.Config, log *slog.Logger) *Server {
	return &Server{cfg: cfg, log: log, metrics: newMetrics()}
}

// Handler is the service's HTTP handler: the routes of handlers.go and
// /readyz, wrapped as wrap says and measured (instrument.go).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", s.readyz)
	s.routes(mux)
	h := s.wrap(mux)
	h = s.metrics.api.instrument(h)
	return h
}

// wrap puts what every route gets around h, in one handler (it runs on
// every request, so it stays cheap): panic recovery, the body size cap, the
// drain's Connection: close, and a debug log line.
func (s *Server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.recoverPanic(w, r)
		if r.ContentLength > MaxBodyBytes {
			// Refused before any handler runs, read or not.
			http.Error(w, "request body over "+strconv.Itoa(MaxBodyBytes)+" bytes", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		// End keep-alive politely during the drain: the client gets its
		// response and then re-dials. Closing idle connections instead
		// (SetKeepAlivesEnabled(false)) races clients already sending on
		// them.
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
			s.metrics.closedPolitely.Inc()
		}
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path)
		}
		next.ServeHTTP(w, r)
	})
}

// MaxBodyBytes caps a request body: a longer declared Content-Length is
// answered 413 at once, and reading past the cap fails with
// *http.MaxBytesError (answer 413 then too, as /work does). Raise it for
// endpoints that take uploads.
const MaxBodyBytes = 1 << 20

// HealthHandler serves /livez: it answers 200 as long as the process runs.
// It must not depend on downstream systems or on the drain.
// It serves /metrics too, for as long.
func (s *Server) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case s.ready.Load():
		fmt.Fprintln(w, "ok")
	case s.draining.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "draining")
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "starting")
	}
}

// recoverPanic, deferred, turns a handler panic into a 500 for that
// request; the process, and every other request, carries on.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // a panic value, compared as net/http compares it: by identity
		panic(v) // the documented way to abort a response
	}
	s.log.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// Run listens on both ports, serves until ctx is cancelled, then shuts down
// as the package comment describes. Cancelling abort (a second signal)
// skips what is left of the drain and closes every connection at once. Run
// returns nil after an orderly shutdown.
func (s *Server) Run(ctx, abort context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", ":"+strconv.Itoa(s.cfg.Port))
	if err != nil {
		return fmt.Errorf("service port: %w", err)
	}
	hln, err := lc.Listen(context.Background(), "tcp", ":"+strconv.Itoa(s.cfg.HealthPort))
	if err != nil {
		_ = ln.Close() // not serving yet: nothing to lose, and the health port's error is the one to report
		return fmt.Errorf("health port: %w", err)
	}
	api := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second, // slow-loris
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.WorkMax + 10*time.Second, // the longest /work, plus room to write it
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	health := &http.Server{
		Handler:           s.HealthHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- health.Serve(hln) }()
	go func() { serveErr <- api.Serve(ln) }()
	defer health.Close() // liveness answers until the very end

	s.log.Info("listening", "addr", ln.Addr().String(), "health_addr", hln.Addr().String())

	// Ready only once started: until then /readyz answers 503 "starting"
	// and the startup probe waits.
	drain := s.cfg.DrainDelay
	select {
	case <-time.After(s.cfg.StartupDelay):
		s.ready.Store(true)
		s.log.Info("ready")
	case <-ctx.Done():
		// Never ready, so no router sends here: nothing to drain.
		s.log.Info("shutdown: signal during startup; never ready, nothing to drain", "phase", "drain")
		drain = 0
	}

	select {
	case err := <-serveErr:
		_ = api.Close() // a listener failed: the serve error is the one to report
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	start := time.Now()
	if err := s.shutdown(api, abort, drain); err != nil {
		return err
	}
	s.log.Info("shutdown: complete", "phase", "exit", "took", since(start))
	return nil
}

func (s *Server) shutdown(api *http.Server, abort context.Context, drain time.Duration) error {
	start := time.Now()
	s.metrics.drainBegins()
	s.ready.Store(false)
	s.draining.Store(true)
	s.log.Info("shutdown: not ready; draining", "phase", "drain", "drain_delay", drain.String())

	select {
	case <-time.After(drain):
		s.log.Info("shutdown: drain done", "phase", "drain", "took", since(start))
	case <-abort.Done():
		s.log.Warn("shutdown: second signal; closing every connection now", "phase", "abort", "took", since(start))
		s.metrics.cutOff()
		return api.Close()
	}

	stopStart := time.Now()
	s.metrics.stopBegins() // before the log line: a scrape after it sees the stop
	s.log.Info("shutdown: no longer accepting; waiting for in-flight requests", "phase", "stop", "timeout", s.cfg.ShutdownTimeout.String())
	api.SetKeepAlivesEnabled(false) // only now: idle connections close as Shutdown begins
	sctx, cancel := context.WithTimeout(abort, s.cfg.ShutdownTimeout)
	defer cancel()
	if err := api.Shutdown(sctx); err != nil {
		// Shutdown gives up with connections still open: end them.
		s.log.Warn("shutdown: in-flight requests outlived the timeout; closing them", "phase", "stop", "error", err.Error(), "took", since(stopStart))
		s.metrics.cutOff()
		if cerr := api.Close(); cerr != nil && !errors.Is(cerr, http.ErrServerClosed) {
			return cerr
		}
	} else {
		s.log.Info("shutdown: in-flight requests done", "phase", "stop", "took", since(stopStart))
	}
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
