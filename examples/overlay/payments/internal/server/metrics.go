package server

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's Prometheus metrics, served at /metrics on the
// health port. That listener stays open until Run returns, so scrapes go on
// through the drain and the stop and show the shutdown as it happens.
//
// They live on a registry of their own, not client_golang's global one:
// /metrics shows what the service chose, not whatever a library registers
// behind its back, and each Server (tests make many) counts only its own
// traffic.
type metrics struct {
	registry *prometheus.Registry
	api      *apiMetrics // the service port's requests (instrument.go)

	phase          atomic.Int32 // phaseServing, phaseDraining or phaseStopping
	drainStart     prometheus.Gauge
	closedPolitely prometheus.Counter
	inFlightAtStop prometheus.Gauge
	cut            prometheus.Counter
}

// The shutdown's phases, in order; shutdown_phase's phase label names them.
const (
	phaseServing int32 = iota
	phaseDraining
	phaseStopping
)

var phaseNames = [...]string{"serving", "draining", "stopping"}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		api:      newAPIMetrics(),
		drainStart: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shutdown_drain_start_time_seconds",
			Help: "When the drain began (the first SIGTERM), in seconds since the Unix epoch; 0 before.",
		}),
		closedPolitely: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shutdown_connections_closed_total",
			Help: "Connections the shutdown asked clients to leave: responses that carried Connection: close during the drain.",
		}),
		inFlightAtStop: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shutdown_in_flight_at_stop",
			Help: "Requests in flight when Shutdown began.",
		}),
		cut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shutdown_cut_total",
			Help: "Requests still in flight when Close ended them: at the shutdown timeout, or on a second signal.",
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.drainStart, m.closedPolitely, m.inFlightAtStop, m.cut,
	)
	// One series per phase, read from one atomic value: a scrape never
	// sees two phases at 1, or none.
	for phase := phaseServing; phase <= phaseStopping; phase++ {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "shutdown_phase",
			Help:        "1 for the shutdown phase the service is in (serving until SIGTERM, then draining, then stopping), 0 for the others.",
			ConstLabels: prometheus.Labels{"phase": phaseNames[phase]},
		}, func() float64 {
			if m.phase.Load() == phase {
				return 1
			}
			return 0
		}))
	}
	m.api.register(m.registry)
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// drainBegins marks the first SIGTERM.
func (m *metrics) drainBegins() {
	m.drainStart.SetToCurrentTime()
	m.phase.Store(phaseDraining)
}

// stopBegins marks the start of Shutdown: what is in flight then is what the
// stop waits for.
func (m *metrics) stopBegins() {
	m.inFlightAtStop.Set(float64(m.api.inFlight.Load()))
	m.phase.Store(phaseStopping)
}

// cutOff counts what Close is about to end.
func (m *metrics) cutOff() {
	m.cut.Add(float64(m.api.inFlight.Load()))
}
