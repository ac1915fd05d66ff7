// Package server runs the gRPC service and its zero-downtime shutdown.
//
// On the first SIGTERM (the context passed to Run is cancelled):
//
//  1. the health service on the service port answers NOT_SERVING for
//     readiness at once, so load balancers that probe the pod directly
//     stop sending;
//  2. for DrainDelay the service keeps serving: routers may still send
//     new calls here while they catch up;
//  3. GracefulStop sends GOAWAY, stops accepting and waits for the calls in
//     flight, at most ShutdownTimeout; then Stop ends the rest (grpc-go's
//     GracefulStop has no deadline of its own);
//  4. Run returns and the process exits, without waiting out the grace
//     period.
//
// Liveness is answered by a second health server on a listener of its own
// that stays open until Run returns, so a liveness probe never restarts the
// container mid-drain. grpc-go's health.Server.Shutdown would set every
// service NOT_SERVING, liveness included; keeping liveness on its own
// server avoids that.
//
// The health listener also serves /metrics (metrics.go), so scrapes go on
// until the process exits and show each step above as it happens.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	workerv1 "example.com/worker/api/worker/v1"
	"example.com/worker/internal/config"
)

// Health service names. The Kubernetes probes ask for them by name
// (readiness on the service port, liveness on the health port); "" (the
// whole server) follows readiness.
const (
	ReadinessService = "readiness"
	LivenessService  = "liveness"
)

// Server is the service: its handlers and the health state the shutdown
// changes.
type Server struct {
	workerv1.UnimplementedWorkServiceServer
	cfg       config.Config
	log       *slog.Logger
	readiness *health.Server // on the service port
	liveness  *health.Server // on the health port
	metrics   *metrics       // served on the health port
}

// New returns a server that is not yet serving.
func New(cfg config.Config, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, log: log, readiness: health.NewServer(), liveness: health.NewServer(), metrics: newMetrics()}
	for _, name := range []string{"", ReadinessService} {
		s.readiness.SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	return s
}

// GRPCServer builds the service's gRPC server: the API of handlers.go, the
// health service (readiness) and reflection, behind the metrics, panic and
// logging interceptors.
func (s *Server) GRPCServer() *grpc.Server {
	srv := grpc.NewServer(
		grpc.KeepaliveParams(keepalive.ServerParameters{
			// Clients reconnect after this (±10 %), and so rebalance onto
			// new pods behind a ClusterIP.
			MaxConnectionAge: s.cfg.MaxConnectionAge,
			// ...after their calls in flight finish: the longest call.
			MaxConnectionAgeGrace: s.cfg.WorkMax,
		}),
		grpc.StatsHandler(s.metrics.api),
		// Metrics outermost: a panic counts as the Internal error it becomes.
		grpc.ChainUnaryInterceptor(s.metrics.api.calls.UnaryServerInterceptor(), s.recoverPanics, s.logCalls),
		grpc.ChainStreamInterceptor(s.metrics.api.calls.StreamServerInterceptor()),
	)
	healthpb.RegisterHealthServer(srv, s.readiness)
	reflection.Register(srv)
	s.register(srv)
	// Every method's series exist from the start, at 0, so rates and
	// alerts work before the first call.
	s.metrics.api.calls.InitializeMetrics(srv)
	return srv
}

// HealthServer builds the liveness server: the health service alone, which
// answers SERVING as long as the process runs.
func (s *Server) HealthServer() *grpc.Server {
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, s.liveness)
	return srv
}

// healthPort serves the health port: gRPC calls (the liveness probe, native
// or exec) go to live, everything else to /metrics. One port speaks both:
// HTTP/1.1 for Prometheus, and HTTP/2 without TLS for gRPC, whose clients
// (the kubelet's probe too) speak it from the first byte, with no upgrade.
// grpc.Server.ServeHTTP is grpc-go's way to serve through net/http; it
// lacks some features of grpc-go's own transport, none of which a health
// check uses.
func (s *Server) healthPort(live *grpc.Server) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Protocols: &protocols,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				live.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// recoverPanics turns a handler panic into an Internal error for that call;
// the process, and every other call, carries on.
func (s *Server) recoverPanics(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("handler panic", "method", info.FullMethod, "panic", fmt.Sprint(v))
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return next(ctx, req)
}

func (s *Server) logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	s.log.Debug("call", "method", info.FullMethod)
	return next(ctx, req)
}

// Run listens on both ports, serves until ctx is cancelled, then shuts down
// as the package comment describes. Cancelling abort (a second signal)
// skips what is left of the drain and stops at once. Run returns nil after
// an orderly shutdown.
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
	api, live := s.GRPCServer(), s.HealthServer()
	health := s.healthPort(live)
	serveErr := make(chan error, 2)
	go func() { serveErr <- health.Serve(hln) }()
	go func() { serveErr <- api.Serve(ln) }()
	defer health.Close() // liveness and /metrics answer until the very end

	s.liveness.SetServingStatus(LivenessService, healthpb.HealthCheckResponse_SERVING)
	s.log.Info("listening", "addr", ln.Addr().String(), "health_addr", hln.Addr().String())

	// Ready only once started: until then readiness answers NOT_SERVING
	// and the startup probe waits.
	drain := s.cfg.DrainDelay
	select {
	case <-time.After(s.cfg.StartupDelay):
		for _, name := range []string{"", ReadinessService} {
			s.readiness.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
		}
		s.log.Info("ready")
	case <-ctx.Done():
		// Never ready, so no router sends here: nothing to drain.
		s.log.Info("shutdown: signal during startup; never ready, nothing to drain", "phase", "drain")
		drain = 0
	}

	select {
	case err := <-serveErr:
		api.Stop()
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

func (s *Server) shutdown(api *grpc.Server, abort context.Context, drain time.Duration) error {
	start := time.Now()
	s.metrics.drainBegins()
	// Only the readiness server: Shutdown sets every service it knows
	// NOT_SERVING, which is right here and would be wrong for liveness.
	s.readiness.Shutdown()
	s.log.Info("shutdown: not ready; draining", "phase", "drain", "drain_delay", drain.String())

	select {
	case <-time.After(drain):
		s.log.Info("shutdown: drain done", "phase", "drain", "took", since(start))
	case <-abort.Done():
		s.log.Warn("shutdown: second signal; stopping now", "phase", "abort", "took", since(start))
		s.metrics.cutOff()
		api.Stop()
		return nil
	}

	stopStart := time.Now()
	s.metrics.stopBegins() // before the log line: a scrape after it sees the stop
	s.log.Info("shutdown: no longer accepting; waiting for calls in flight", "phase", "stop", "timeout", s.cfg.ShutdownTimeout.String())
	stopped := make(chan struct{})
	go func() {
		api.GracefulStop() // GOAWAY; waits for calls in flight, with no deadline
		close(stopped)
	}()
	timeout := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timeout.Stop()
	select {
	case <-stopped:
		s.log.Info("shutdown: calls in flight done", "phase", "stop", "took", since(stopStart))
	case <-timeout.C:
		s.log.Warn("shutdown: calls in flight outlived the timeout; stopping them", "phase", "stop", "took", since(stopStart))
		s.metrics.cutOff()
		api.Stop()
	case <-abort.Done():
		s.log.Warn("shutdown: second signal; stopping now", "phase", "abort", "took", since(stopStart))
		s.metrics.cutOff()
		api.Stop()
	}
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
