package metrics

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Names of genflow's own series. Those of the worker's workflows are
// recorded through the SDK (package workflows) and listed there.
const (
	WebhooksTotal         = "genflow_webhooks_total"
	WebhookSignalLatency  = "genflow_webhook_signal_latency_seconds"
	WebhooksUnmatched     = "genflow_webhooks_unmatched_total"
	WebhooksDropped       = "genflow_webhooks_dropped_total"
	BuildInfo             = "genflow_build_info"
	ProviderRequestsTotal = "genflow_provider_requests_total"
	ProviderErrorsTotal   = "genflow_provider_errors_total"
	OutputsStoredTotal    = "genflow_outputs_stored_total"
	OutputBytesStored     = "genflow_output_bytes_stored_total"
	StoreAttemptsFailed   = "genflow_store_attempts_failed_total"
	NotificationsTotal    = "genflow_notification_attempts_total"
)

// Outcomes of one output's storing (the outcome label of
// OutputsStoredTotal).
const (
	OutputStored    = "stored"     // copied now
	OutputReused    = "reused"     // a copy of the same link was there
	OutputNotStored = "not_stored" // too large, or every link gone
)

// Outcomes of one notification attempt (the outcome label of
// NotificationsTotal).
const (
	NotifyDelivered     = "delivered"      // the receiver took it
	NotifyRetryable     = "retryable"      // no answer or 408/425/429/5xx: retried
	NotifyRejected      = "rejected"       // another 4xx: given up
	NotifyNotConfigured = "not_configured" // the worker has no NOTIFY_SECRETS
)

// Outcomes of a webhook's signal (the outcome label of
// WebhookSignalLatency).
const (
	SignalDelivered = "delivered" // Temporal accepted the signal
	SignalUnmatched = "unmatched" // no open workflow has the track_id
	SignalRefused   = "refused"   // Temporal refused it for good: 200, not delivered
	SignalFailed    = "failed"    // Temporal unreachable or too slow: 503
)

// Reasons an authentic webhook was answered 200 but not delivered (the
// reason label of WebhooksDropped).
const (
	DropRefused = "refused" // Temporal refused the signal for good (the run's signal limit, say)
	DropRunCap  = "run_cap" // the run had GATEWAY_MAX_WEBHOOKS_PER_RUN already
)

// Gateway are the webhook gateway's own metrics. It implements
// webhookgateway.Metrics.
type Gateway struct {
	webhooks  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	unmatched prometheus.Counter
	dropped   *prometheus.CounterVec
}

// NewGateway registers the gateway's metrics on reg.
func NewGateway(reg prometheus.Registerer) (*Gateway, error) {
	g := &Gateway{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: WebhooksTotal,
			Help: "Webhook requests answered, by HTTP status code (200 delivered or unmatched, 400, 401, 413, 415, 503, 500).",
		}, []string{"code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: WebhookSignalLatency,
			Help: "Time from a webhook's arrival to Temporal's answer to its signal, by outcome (delivered, unmatched, refused, failed).",
			// The provider waits 30 s; GATEWAY_SIGNAL_TIMEOUT is at most 25 s.
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25},
		}, []string{"outcome"}),
		unmatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: WebhooksUnmatched,
			Help: "Authentic webhooks for which no open workflow exists: late duplicates of a finished generation, or an unknown track_id.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: WebhooksDropped,
			Help: "Authentic webhooks answered 200 but not delivered, by reason (refused: Temporal refused the signal for good; run_cap: the run reached GATEWAY_MAX_WEBHOOKS_PER_RUN). The run learns its result by polling.",
		}, []string{"reason"}),
	}
	if err := register(reg, g.webhooks, g.latency, g.unmatched, g.dropped); err != nil {
		return nil, err
	}
	// Series that exist before the first webhook, so that rates and
	// alerts have something to read from the start.
	for _, code := range []int{200, 400, 401, 413, 415, 503} {
		g.webhooks.WithLabelValues(strconv.Itoa(code))
	}
	for _, o := range []string{SignalDelivered, SignalUnmatched, SignalRefused, SignalFailed} {
		g.latency.WithLabelValues(o)
	}
	for _, r := range []string{DropRefused, DropRunCap} {
		g.dropped.WithLabelValues(r)
	}
	return g, nil
}

// Webhook records one answer of the webhook route.
func (g *Gateway) Webhook(code int) {
	g.webhooks.WithLabelValues(strconv.Itoa(code)).Inc()
}

// Signal records the outcome of a webhook's signal and the time from the
// webhook's arrival to Temporal's answer.
func (g *Gateway) Signal(outcome string, d time.Duration) {
	g.latency.WithLabelValues(outcome).Observe(d.Seconds())
	if outcome == SignalUnmatched {
		g.unmatched.Inc()
	}
}

// Dropped records an authentic webhook answered 200 but not delivered.
func (g *Gateway) Dropped(reason string) {
	g.dropped.WithLabelValues(reason).Inc()
}

// Provider are the metrics of the calls the activities make to ModelsLab.
// It implements activities.Metrics.
type Provider struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

// NewProvider registers the provider call metrics on reg.
func NewProvider(reg prometheus.Registerer) (*Provider, error) {
	p := &Provider{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ProviderRequestsTotal,
			Help: "Calls to ModelsLab, each attempt counted, by operation (submit, fetch).",
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ProviderErrorsTotal,
			Help: "Failed calls to ModelsLab, each attempt counted, by operation and error type (modelslab.ErrType*, or Canceled).",
		}, []string{"operation", "type"}),
	}
	if err := register(reg, p.requests, p.errors); err != nil {
		return nil, err
	}
	for _, op := range []string{"submit", "fetch"} {
		p.requests.WithLabelValues(op)
	}
	return p, nil
}

// ProviderCall records one call; errType is empty when it succeeded.
func (p *Provider) ProviderCall(operation, errType string) {
	p.requests.WithLabelValues(operation).Inc()
	if errType != "" {
		p.errors.WithLabelValues(operation, errType).Inc()
	}
}

// Results are the metrics of what the worker does once a run is done:
// storing its outputs and notifying its outcome. It implements
// activities.ResultMetrics.
type Results struct {
	outputs       *prometheus.CounterVec
	bytes         prometheus.Counter
	storeFailed   prometheus.Counter
	notifications *prometheus.CounterVec
}

// NewResults registers the storing and notification metrics on reg.
func NewResults(reg prometheus.Registerer) (*Results, error) {
	r := &Results{
		outputs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: OutputsStoredTotal,
			Help: "Outputs handled by StoreOutputs, by outcome (stored, reused, not_stored).",
		}, []string{"outcome"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: OutputBytesStored,
			Help: "Bytes of the outputs copied to storage (reused copies not counted).",
		}),
		storeFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: StoreAttemptsFailed,
			Help: "StoreOutputs attempts that failed and will be retried (storage or the provider's links unreachable).",
		}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NotificationsTotal,
			Help: "Notification attempts, by outcome (delivered, retryable, rejected, not_configured).",
		}, []string{"outcome"}),
	}
	if err := register(reg, r.outputs, r.bytes, r.storeFailed, r.notifications); err != nil {
		return nil, err
	}
	for _, o := range []string{OutputStored, OutputReused, OutputNotStored} {
		r.outputs.WithLabelValues(o)
	}
	for _, o := range []string{NotifyDelivered, NotifyRetryable, NotifyRejected, NotifyNotConfigured} {
		r.notifications.WithLabelValues(o)
	}
	return r, nil
}

// OutputStored records one output's outcome and, when copied, its size.
func (r *Results) OutputStored(outcome string, bytes int64) {
	r.outputs.WithLabelValues(outcome).Inc()
	if outcome == OutputStored {
		r.bytes.Add(float64(bytes))
	}
}

// StoreAttemptFailed records a StoreOutputs attempt that will be retried.
func (r *Results) StoreAttemptFailed() { r.storeFailed.Inc() }

// Notification records one notification attempt's outcome.
func (r *Results) Notification(outcome string) { r.notifications.WithLabelValues(outcome).Inc() }

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
