package server

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	workerv1 "example.com/worker/api/worker/v1"
	"example.com/worker/internal/config"
)

func newTest() *Server {
	return New(config.Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestWork(t *testing.T) {
	s := newTest()
	maxMS := config.Defaults().WorkMax.Milliseconds()
	for _, c := range []struct {
		ms   int64
		want codes.Code
	}{{0, codes.OK}, {5, codes.OK}, {-1, codes.InvalidArgument}, {maxMS + 1, codes.InvalidArgument}} {
		resp, err := s.Work(context.Background(), &workerv1.WorkRequest{DurationMs: c.ms})
		if status.Code(err) != c.want {
			t.Errorf("Work(%d): %v, want %s", c.ms, err, c.want)
		}
		if err == nil && resp.GetWorkedMs() != c.ms {
			t.Errorf("Work(%d) worked %d", c.ms, resp.GetWorkedMs())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Work(ctx, &workerv1.WorkRequest{DurationMs: 1000}); status.Code(err) != codes.Canceled {
		t.Errorf("cancelled Work: %v, want Canceled", err)
	}
}

func TestPanicIsInternalAndTheServerStaysUp(t *testing.T) {
	s := newTest()
	_, err := s.recoverPanics(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x"}, func(context.Context, any) (any, error) {
		panic("boom")
	})
	if status.Code(err) != codes.Internal {
		t.Errorf("panic gave %v, want Internal", err)
	}
}

// Readiness starts NOT_SERVING and the liveness server knows nothing of
// readiness, so the shutdown cannot flip liveness by accident.
func TestHealthServersAreSeparate(t *testing.T) {
	s := newTest()
	check := func(h healthpb.HealthServer, service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return healthpb.HealthCheckResponse_SERVICE_UNKNOWN
		}
		return resp.GetStatus()
	}
	if got := check(s.readiness, ReadinessService); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("readiness before Run = %s", got)
	}
	s.liveness.SetServingStatus(LivenessService, healthpb.HealthCheckResponse_SERVING)
	s.readiness.Shutdown()
	if got := check(s.liveness, LivenessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("liveness after the readiness shutdown = %s", got)
	}
}
