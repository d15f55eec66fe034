package webhookgateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/genflow/genflow/internal/metrics"
)

// tickingClock advances by step at every reading, so that a webhook's
// signal latency is a known number of steps.
type tickingClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func TestMetricsCountEveryAnswerAndSignal(t *testing.T) {
	t.Parallel()
	reg, err := metrics.New()
	require.NoError(t, err)
	gm, err := metrics.NewGateway(reg.Registerer())
	require.NoError(t, err)

	var answer error
	var mu sync.Mutex
	sig := &fakeSignaler{fn: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if answer != nil && answer.Error() == "panic" {
			panic("signaler bug")
		}
		return answer
	}}
	setAnswer := func(err error) { mu.Lock(); answer = err; mu.Unlock() }
	clock := &tickingClock{now: fixedNow, step: 20 * time.Millisecond}
	opts := Options{
		Signaler: sig, Now: clock.Now, Metrics: gm, MetricsHandler: reg.Handler(nil),
	}
	h, admin := newTestHandler(t, opts), newTestAdminHandler(t, opts)
	signer := newTestSigner(t, "", newSecret)
	body := `{"status":"success","id":"1","output":["https://x/y.png"],"track_id":"t-1"}`
	post := func(sig, contentType string) int {
		return serve(h, webhookRequest("t-1", sig, contentType, strings.NewReader(body))).Code
	}

	require.Equal(t, http.StatusOK, post(signer.Sign("t-1", testExpiry), "application/json"))
	require.Equal(t, http.StatusOK, post(signer.Sign("t-1", testExpiry), "application/json"))
	setAnswer(serviceerror.NewNotFound("workflow execution already completed"))
	require.Equal(t, http.StatusOK, post(signer.Sign("t-1", testExpiry), "application/json"))
	setAnswer(serviceerror.NewUnavailable("down"))
	require.Equal(t, http.StatusServiceUnavailable, post(signer.Sign("t-1", testExpiry), "application/json"))
	setAnswer(errors.New("panic"))
	require.Equal(t, http.StatusInternalServerError, post(signer.Sign("t-1", testExpiry), "application/json"))
	require.Equal(t, http.StatusUnauthorized, post("forged", "application/json"))
	require.Equal(t, http.StatusUnsupportedMediaType, post(signer.Sign("t-1", testExpiry), "text/plain"))
	// Other routes are not webhooks.
	require.Equal(t, http.StatusOK, serve(h, httptest.NewRequest(http.MethodGet, "/healthz", nil)).Code)

	require.Equal(t, http.StatusOK, serve(admin, httptest.NewRequest(http.MethodGet, "/healthz", nil)).Code)

	rec := serve(admin, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
	text := rec.Body.String()
	for _, want := range []string{
		`genflow_webhooks_total{code="200"} 3`,
		`genflow_webhooks_total{code="401"} 1`,
		`genflow_webhooks_total{code="415"} 1`,
		`genflow_webhooks_total{code="500"} 1`,
		`genflow_webhooks_total{code="503"} 1`,
		`genflow_webhooks_total{code="400"} 0`,
		`genflow_webhooks_total{code="413"} 0`,
		`genflow_webhooks_unmatched_total 1`,
		`genflow_webhook_signal_latency_seconds_count{outcome="delivered"} 2`,
		`genflow_webhook_signal_latency_seconds_count{outcome="unmatched"} 1`,
		`genflow_webhook_signal_latency_seconds_count{outcome="failed"} 1`,
		// One clock step from arrival to Temporal's answer.
		`genflow_webhook_signal_latency_seconds_sum{outcome="delivered"} 0.04`,
		`genflow_webhook_signal_latency_seconds_bucket{outcome="delivered",le="0.025"} 2`,
	} {
		require.Contains(t, text, want+"\n")
	}
}

func TestNoMetricsRouteUnlessAsked(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, Options{})
	require.Equal(t, http.StatusNotFound, serve(newTestAdminHandler(t, Options{}), httptest.NewRequest(http.MethodGet, "/metrics", nil)).Code)
	// And no metrics recorder is needed to serve webhooks.
	signer := newTestSigner(t, "", newSecret)
	rec := serve(h, webhookRequest("t-1", signer.Sign("t-1", testExpiry), "application/json",
		strings.NewReader(`{"status":"success","id":"1","output":[]}`)))
	require.Equal(t, http.StatusOK, rec.Code)
}
