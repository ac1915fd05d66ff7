//go:build ignore

// The baseline for the gRPC serving-overhead benchmark: a bare grpc-go
// server with the same Work implementation as a generated gRPC service,
// and nothing else (no interceptors, no health, no reflection, no
// keepalive policy). bench/run.sh copies it into a generated module, where
// the api package it imports exists, and builds it.
package main

import (
	"context"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"

	svcv1 "example.com/svc/api/svc/v1"
)

type work struct {
	svcv1.UnimplementedWorkServiceServer
}

func (work) Work(ctx context.Context, req *svcv1.WorkRequest) (*svcv1.WorkResponse, error) {
	t := time.NewTimer(time.Duration(req.GetDurationMs()) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &svcv1.WorkResponse{WorkedMs: req.GetDurationMs()}, nil
}

func main() {
	ln, err := net.Listen("tcp", ":"+os.Getenv("PORT"))
	if err != nil {
		panic(err)
	}
	s := grpc.NewServer()
	svcv1.RegisterWorkServiceServer(s, work{})
	panic(s.Serve(ln))
}
