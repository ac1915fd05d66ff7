package server

import (
	"context"
	"sync/atomic"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/stats"
)

// apiMetrics measure the service port's calls.
//
// The counters and the histogram are go-grpc-middleware's Prometheus
// provider (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds, grpc_server_msg_received_total and
// grpc_server_msg_sent_total, by grpc_type, grpc_service, grpc_method and
// grpc_code): the names and labels that published gRPC dashboards and
// alerts query, kept by the grpc-ecosystem project, for the price of one
// small module. Look-alikes of our own would drift from them.
//
// What the shutdown reads, the calls and connections open now, is counted
// here by a stats.Handler: it sees every connection begin and end, which
// no interceptor does, and costs two atomic adds per call.
type apiMetrics struct {
	calls    *grpcprom.ServerMetrics
	inFlight atomic.Int64 // calls begun and not yet ended
	conns    atomic.Int64 // connections open: each gets a GOAWAY from GracefulStop
}

func newAPIMetrics() *apiMetrics {
	return &apiMetrics{calls: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())}
}

func (a *apiMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(a.calls, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "grpc_server_calls_in_flight",
		Help: "Calls being served now.",
	}, func() float64 { return float64(a.inFlight.Load()) }))
}

// TagRPC, HandleRPC, TagConn and HandleConn make apiMetrics a
// stats.Handler.
func (a *apiMetrics) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (a *apiMetrics) HandleRPC(_ context.Context, s stats.RPCStats) {
	switch s.(type) {
	case *stats.Begin:
		a.inFlight.Add(1)
	case *stats.End:
		a.inFlight.Add(-1)
	}
}

func (a *apiMetrics) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (a *apiMetrics) HandleConn(_ context.Context, s stats.ConnStats) {
	switch s.(type) {
	case *stats.ConnBegin:
		a.conns.Add(1)
	case *stats.ConnEnd:
		a.conns.Add(-1)
	}
}
