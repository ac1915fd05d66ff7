package server

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workerv1 "example.com/worker/api/worker/v1"
)

// register adds the service's API to the gRPC server. This file is yours:
// .zdgen.yaml records it as owned by you, so zdgen's upgrades leave it
// alone. Add your services here; the panic and logging interceptors in
// server.go wrap them all.
func (s *Server) register(srv *grpc.Server) {
	workerv1.RegisterWorkServiceServer(srv, s)
}

// Work takes duration_ms milliseconds, so a drain can be tested with calls
// that are still running when SIGTERM arrives. It is capped at WORK_MAX so
// no call outlives the shutdown timeout.
func (s *Server) Work(ctx context.Context, req *workerv1.WorkRequest) (*workerv1.WorkResponse, error) {
	ms := req.GetDurationMs()
	if maxMS := s.cfg.WorkMax.Milliseconds(); ms < 0 || ms > maxMS {
		return nil, status.Errorf(codes.InvalidArgument, "duration_ms must be from 0 to %d", maxMS)
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return &workerv1.WorkResponse{WorkedMs: ms}, nil
}
