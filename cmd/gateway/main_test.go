package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/webhookurl"
)

// TestGatewayWithTemporalDown starts the gateway against an address where
// nothing listens: it must start, report itself alive but not ready, and
// answer a valid webhook with 503 and Retry-After so the provider retries.
func TestGatewayWithTemporalDown(t *testing.T) {
	t.Parallel()
	const secret = "test-secret-0123456789abcdef"

	// A port that was free a moment ago: nothing answers there.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	require.NoError(t, dead.Close())

	cfg, err := config.LoadGateway(func(name string) (string, bool) {
		v, ok := map[string]string{
			config.EnvTemporalAddress:   deadAddr,
			config.EnvWebhookSecrets:    secret,
			config.EnvGatewaySignalTime: "300ms",
		}[name]
		return v, ok
	})
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	adminBase := "http://" + admin.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- webhookgateway.Run(ctx, cfg, slog.New(slog.DiscardHandler), ln, admin) }()

	getFrom := func(base, path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) { return getFrom(adminBase, path) }
	for _, b := range []string{base, adminBase} {
		code, body := getFrom(b, "/healthz")
		require.Equal(t, http.StatusOK, code)
		require.JSONEq(t, `{"status":"ok"}`, body)
	}
	// Readiness and metrics are on the admin listener only: the webhook
	// listener faces the internet.
	for _, path := range []string{"/readyz", "/metrics"} {
		code, body := getFrom(base, path)
		require.Equal(t, http.StatusNotFound, code, path)
		require.JSONEq(t, `{"error":"not found"}`, body, path)
	}

	code, body := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"status":"temporal unreachable"}`, body)

	signer, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: "http://" + ln.Addr().String(), Secrets: []string{secret}})
	require.NoError(t, err)
	url, err := signer.URL("track-1", time.Now().Add(time.Hour))
	require.NoError(t, err)
	start := time.Now()
	resp, err := http.Post(url, "application/json",
		strings.NewReader(`{"status":"success","id":"1","output":["https://x/y.png"],"track_id":"track-1"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "5", resp.Header.Get("Retry-After"))
	require.Less(t, time.Since(start), 5*time.Second, "the signal timeout was not applied")

	resp2, err := http.Post(base+webhookgateway.WebhookPathPrefix+"track-1?sig=forged", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	defer resp2.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp2.StatusCode)

	// The binary serves its metrics: the answers above, counted by code,
	// the failed signal, and the Temporal client's own series.
	code, body = get("/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, series := range []string{
		`genflow_webhooks_total{code="503"} 1`,
		`genflow_webhooks_total{code="401"} 1`,
		`genflow_webhook_signal_latency_seconds_count{outcome="failed"} 1`,
		`genflow_webhooks_unmatched_total 0`,
		`temporal_request_failure_total{`,
		`go_goroutines `,
	} {
		require.Contains(t, body, series)
	}

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(webhookgateway.ShutdownGrace + 5*time.Second):
		t.Fatal("gateway did not stop")
	}
}

func TestRunListenError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := config.Gateway{ListenAddr: ln.Addr().String(), AdminAddr: "127.0.0.1:0", Secrets: []string{"test-secret-0123456789abcdef"}}
	err = run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "listen on "+ln.Addr().String())

	// The admin address taken: the error names its variable, and the
	// webhook listener is released.
	cfg = config.Gateway{ListenAddr: "127.0.0.1:0", AdminAddr: ln.Addr().String(), Secrets: []string{"test-secret-0123456789abcdef"}}
	err = run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "listen on "+ln.Addr().String()+" (GATEWAY_ADMIN_ADDR)")
}
