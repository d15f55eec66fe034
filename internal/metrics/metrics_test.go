package metrics_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/metrics"
)

func TestRegistryServesSDKAndOwnMetrics(t *testing.T) {
	t.Parallel()
	reg, err := metrics.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Shutdown(context.Background()) })

	// What the SDK does through client.Options.MetricsHandler.
	h := reg.TemporalHandler(nil).WithTags(map[string]string{"namespace": "default"})
	h.Counter("temporal_request").Inc(2)
	h.Timer("temporal_request_latency").Record(30 * time.Millisecond)
	h.Timer("temporal_workflow_endtoend_latency").Record(2 * time.Hour)
	h.Gauge("temporal_worker_task_slots_available").Update(7)
	// A name the exporter cannot take is logged, not a panic.
	h.Counter("bad name!").Inc(1)

	gw, err := metrics.NewGateway(reg.Registerer())
	require.NoError(t, err)
	gw.Webhook(200)
	gw.Signal(metrics.SignalUnmatched, 5*time.Millisecond)
	_, err = metrics.NewGateway(reg.Registerer())
	require.Error(t, err, "registered twice")
	p, err := metrics.NewProvider(reg.Registerer())
	require.NoError(t, err)
	p.ProviderCall("submit", "")
	p.ProviderCall("submit", "ModelsLabServerError")
	r, err := metrics.NewResults(reg.Registerer())
	require.NoError(t, err)
	r.OutputStored(metrics.OutputStored, 1500)
	r.OutputStored(metrics.OutputStored, 500)
	r.OutputStored(metrics.OutputReused, 1500)
	r.StoreAttemptFailed()
	r.Notification(metrics.NotifyRetryable)
	r.Notification(metrics.NotifyDelivered)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- reg.Serve(ctx, ln, nil) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(body)
	for _, want := range []string{
		`temporal_request_total{namespace="default"} 2`,
		`temporal_request_latency_seconds_bucket{namespace="default",le="0.05"} 1`,
		`temporal_request_latency_seconds_bucket{namespace="default",le="0.025"} 0`,
		// Run-length timers get buckets up to hours.
		`temporal_workflow_endtoend_latency_seconds_bucket{namespace="default",le="7200"} 1`,
		`temporal_worker_task_slots_available{namespace="default"} 7`,
		`genflow_webhooks_total{code="200"} 1`,
		`genflow_webhooks_unmatched_total 1`,
		`genflow_webhook_signal_latency_seconds_count{outcome="unmatched"} 1`,
		`genflow_provider_requests_total{operation="submit"} 2`,
		`genflow_provider_requests_total{operation="fetch"} 0`,
		`genflow_provider_errors_total{operation="submit",type="ModelsLabServerError"} 1`,
		`genflow_outputs_stored_total{outcome="stored"} 2`,
		`genflow_outputs_stored_total{outcome="reused"} 1`,
		`genflow_outputs_stored_total{outcome="not_stored"} 0`,
		`genflow_output_bytes_stored_total 2000`,
		`genflow_store_attempts_failed_total 1`,
		`genflow_notification_attempts_total{outcome="delivered"} 1`,
		`genflow_notification_attempts_total{outcome="retryable"} 1`,
		`genflow_notification_attempts_total{outcome="rejected"} 0`,
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, "otel_scope_name")
	require.NotContains(t, text, "target_info")

	resp, err = http.Get("http://" + ln.Addr().String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("metrics server did not stop")
	}
}

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	reg, err := metrics.New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Shutdown(context.Background()) })
	mfs, err := reg.Gatherer().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != metrics.BuildInfo {
			continue
		}
		require.Len(t, mf.GetMetric(), 1)
		m := mf.GetMetric()[0]
		require.Equal(t, 1.0, m.GetGauge().GetValue())
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		require.NotEmpty(t, labels["version"])
		require.Contains(t, labels["goversion"], "go1.")
		require.Contains(t, labels, "revision")
		return
	}
	t.Fatalf("no %s series", metrics.BuildInfo)
}
