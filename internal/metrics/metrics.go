// Package metrics holds the Prometheus metrics of one genflow process (the
// worker or the gateway): a registry with the Go runtime and process
// collectors, the Temporal SDK's metrics bridged through OpenTelemetry
// (go.temporal.io/sdk/contrib/opentelemetry with the OpenTelemetry
// Prometheus exporter), and genflow's own instruments, all served in the
// Prometheus text format by Handler.
//
// Each process builds one Registry with New and hands its parts down:
// TemporalHandler to client.Options.MetricsHandler (the SDK's metrics, and
// the metrics workflows record through workflow.GetMetricsHandler), Gateway
// to the webhook gateway, Provider to the activities. docs/operations.md
// lists every series.
//
// Names: genflow's own series start with genflow_, the SDK's with
// temporal_. Metrics recorded through the SDK's handler get the exporter's
// suffixes: _total on counters and _seconds on timers (the name
// genflow_generation_latency is exported as
// genflow_generation_latency_seconds).
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/genflow/genflow/internal/version"
)

// Histogram buckets, in seconds.
var (
	// shortBuckets fit calls: a signal, an RPC, a workflow task.
	shortBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// longBuckets fit whole generations and workflow runs: seconds for an
	// image, up to hours for a training (its default deadline is 6 h).
	longBuckets = []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600}
)

// longHistograms are the SDK timers that measure whole runs rather than
// calls.
var longHistograms = map[string]bool{
	"temporal_workflow_endtoend_latency":         true,
	"temporal_activity_succeed_endtoend_latency": true,
}

// Registry is one process's metrics. The zero value is not usable; call New.
type Registry struct {
	reg      *prometheus.Registry
	provider *sdkmetric.MeterProvider
}

// New returns a registry holding the Go runtime and process collectors and
// an OpenTelemetry meter provider that exports into it.
func New() (*Registry, error) {
	reg := prometheus.NewRegistry()
	v := version.Get()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        BuildInfo,
		Help:        "Always 1; the labels say which build of genflow this process runs (version, VCS revision, Go release).",
		ConstLabels: prometheus.Labels{"version": v.Version, "revision": v.Revision, "goversion": v.GoVersion},
	})
	buildInfo.Set(1)
	if err := errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
		reg.Register(buildInfo),
	); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// The scope (always the SDK) and the resource add labels and a
		// target_info series that say nothing here.
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(secondsBuckets))
	return &Registry{reg: reg, provider: provider}, nil
}

// secondsBuckets gives histograms in seconds buckets that fit them: the
// OpenTelemetry default buckets are meant for milliseconds.
func secondsBuckets(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	if i.Kind != sdkmetric.InstrumentKindHistogram || i.Unit != "s" {
		return sdkmetric.Stream{}, false
	}
	b := shortBuckets
	if strings.HasPrefix(i.Name, "genflow_") || longHistograms[i.Name] {
		b = longBuckets
	}
	// A view's stream replaces the instrument's: keep its identity.
	return sdkmetric.Stream{
		Name: i.Name, Description: i.Description, Unit: i.Unit,
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: b},
	}, true
}

// Registerer is where the process's own collectors are registered.
func (r *Registry) Registerer() prometheus.Registerer { return r.reg }

// Gatherer reads every metric of the registry.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the registry in the Prometheus text format (GET /metrics).
// A collector that fails is reported in the log and skipped; the rest is
// still served.
func (r *Registry) Handler(logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          r.reg, // promhttp_metric_handler_errors_total
		EnableOpenMetrics: false,
	})
}

// TemporalHandler is the client.Options.MetricsHandler that records the
// Temporal SDK's metrics (and those workflows record with
// workflow.GetMetricsHandler) into the registry. A metric the SDK cannot
// create is logged, never a panic.
func (r *Registry) TemporalHandler(logger *slog.Logger) client.MetricsHandler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return opentelemetry.NewMetricsHandler(opentelemetry.MetricsHandlerOptions{
		Meter:                r.provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError: func(err error) {
			logger.Warn("temporal sdk metric", "error", err)
		},
	})
}

// Shutdown stops the meter provider; metrics recorded afterwards are lost.
func (r *Registry) Shutdown(ctx context.Context) error {
	return r.provider.Shutdown(ctx)
}
