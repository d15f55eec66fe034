package webhookgateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// recordingMetrics keeps what the handler reports.
type recordingMetrics struct {
	mu      sync.Mutex
	codes   []int
	signals []string
	dropped []string
}

func (m *recordingMetrics) Webhook(code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes = append(m.codes, code)
}

func (m *recordingMetrics) Signal(outcome string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.signals = append(m.signals, outcome)
}

func (m *recordingMetrics) Dropped(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropped = append(m.dropped, reason)
}

// TestTemporalErrorAnswers: only a Temporal that is unavailable,
// overloaded or too slow makes a 503; a refusal no retry can change is
// answered 200 with delivered false, so the provider stops, and counted
// apart from the 503s that the "gateway cannot reach Temporal" alert
// watches.
func TestTemporalErrorAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		status    int
		body      string
		outcome   string
		dropped   []string
		retryHint bool
	}{
		{name: "delivered", err: nil, status: 200, body: `{"matched":true}`, outcome: signalDelivered},
		{name: "no open workflow", err: serviceerror.NewNotFound("workflow execution already completed"),
			status: 200, body: `{"matched":false}`, outcome: signalUnmatched},
		{name: "the run's signal limit", err: serviceerror.NewInvalidArgument("exceeded workflow execution limit for signal events"),
			status: 200, outcome: signalRefused, dropped: []string{DropRefused},
			body: `{"matched":true,"delivered":false,"reason":"temporal refused the signal: exceeded workflow execution limit for signal events"}`},
		{name: "payload too large", err: serviceerror.NewInvalidArgument("Blob data size exceeds limit."),
			status: 200, outcome: signalRefused, dropped: []string{DropRefused}},
		{name: "failed precondition", err: serviceerror.NewFailedPrecondition("nope"),
			status: 200, outcome: signalRefused, dropped: []string{DropRefused}},
		{name: "unavailable", err: serviceerror.NewUnavailable("connection refused"),
			status: 503, outcome: signalFailed, retryHint: true, body: `{"error":"temporal unavailable, retry later"}`},
		{name: "overloaded", err: serviceerror.NewResourceExhausted(0, "namespace rate limit exceeded"),
			status: 503, outcome: signalFailed, retryHint: true},
		{name: "too slow", err: serviceerror.NewDeadlineExceeded("context deadline exceeded"),
			status: 503, outcome: signalFailed, retryHint: true},
		{name: "our own timeout", err: fmt.Errorf("signal: %w", context.DeadlineExceeded),
			status: 503, outcome: signalFailed, retryHint: true},
		{name: "namespace unavailable", err: serviceerror.NewNamespaceUnavailable("default"),
			status: 503, outcome: signalFailed, retryHint: true},
		{name: "internal", err: serviceerror.NewInternal("persistence error"),
			status: 503, outcome: signalFailed, retryHint: true},
		{name: "the gateway's credentials", err: serviceerror.NewPermissionDenied("api key has no access", ""),
			status: 503, outcome: signalFailed, retryHint: true},
		{name: "a plain transport error", err: errors.New("dial tcp 127.0.0.1:7233: connect: connection refused"),
			status: 503, outcome: signalFailed, retryHint: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTestSigner(t, "", newSecret)
			m := &recordingMetrics{}
			sig := &fakeSignaler{err: tt.err}
			h := newTestHandler(t, Options{Signer: s, Signaler: sig, Metrics: m})
			rec := serve(h, webhookRequest("video_001", s.Sign("video_001", testExpiry), "application/json",
				strings.NewReader(`{"status":"success","id":"1","output":["https://x/y.png"]}`)))
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.body != "" {
				requireJSON(t, rec, tt.body)
			}
			require.Equal(t, tt.retryHint, rec.Header().Get("Retry-After") != "")
			require.Len(t, sig.Calls(), 1)
			require.Equal(t, []string{tt.outcome}, m.signals)
			require.Equal(t, tt.dropped, m.dropped)
			require.Equal(t, []int{tt.status}, m.codes)
		})
	}
}

// TestWebhookURLExpiry: an expired URL is refused whatever it carries; a
// URL of an earlier release (no exp) is accepted unless the signer
// refuses those.
func TestWebhookURLExpiry(t *testing.T) {
	t.Parallel()
	const id = "video_001"
	body := `{"status":"success","id":"1","output":["https://x/y.png"]}`
	legacy := url.Values{"sig": {legacySig(newSecret, id)}}
	tests := []struct {
		name   string
		strict bool
		q      func(s *webhookurlSigner) url.Values
		status int
		body   string
	}{
		{name: "valid", q: func(s *webhookurlSigner) url.Values { return signedQuery(s, id, fixedNow.Add(time.Minute)) }, status: 200},
		{name: "expired a second ago", q: func(s *webhookurlSigner) url.Values { return signedQuery(s, id, fixedNow.Add(-time.Second)) },
			status: 401, body: `{"error":"webhook URL expired"}`},
		{name: "expires now", q: func(s *webhookurlSigner) url.Values { return signedQuery(s, id, fixedNow) },
			status: 401, body: `{"error":"webhook URL expired"}`},
		{name: "exp pushed later by hand", q: func(s *webhookurlSigner) url.Values {
			q := signedQuery(s, id, fixedNow.Add(-time.Second))
			q.Set("exp", fmt.Sprint(fixedNow.Add(time.Hour).Unix()))
			return q
		}, status: 401, body: `{"error":"invalid signature"}`},
		{name: "URL of an earlier release", q: func(*webhookurlSigner) url.Values { return legacy }, status: 200},
		{name: "URL of an earlier release, refused", strict: true, q: func(*webhookurlSigner) url.Values { return legacy },
			status: 401, body: `{"error":"webhook URL has no expiry"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStrictSigner(t, tt.strict)
			sig := &fakeSignaler{}
			h := newTestHandler(t, Options{Signer: s, Signaler: sig})
			rec := serve(h, webhookRequestQuery(id, tt.q(s), "application/json", strings.NewReader(body)))
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.body != "" {
				requireJSON(t, rec, tt.body)
			}
			if tt.status == 200 {
				require.Len(t, sig.Calls(), 1)
			} else {
				require.Empty(t, sig.Calls())
			}
		})
	}
}

// TestRunCap: past MaxWebhooksPerRun a run's webhooks are answered 200
// with delivered false and counted, and reach no workflow; other runs
// are not affected, and webhooks Temporal did not take do not count.
func TestRunCap(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	m := &recordingMetrics{}
	var fail bool
	var mu sync.Mutex
	sig := &fakeSignaler{fn: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return serviceerror.NewUnavailable("down")
		}
		return nil
	}}
	h := newTestHandler(t, Options{Signer: s, Signaler: sig, Metrics: m, MaxWebhooksPerRun: 3})
	post := func(id string) (int, string) {
		rec := serve(h, webhookRequest(id, s.Sign(id, testExpiry), "application/json",
			strings.NewReader(`{"status":"processing","id":"1"}`)))
		return rec.Code, rec.Body.String()
	}
	setFail := func(v bool) { mu.Lock(); fail = v; mu.Unlock() }

	setFail(true)
	code, _ := post("run-a")
	require.Equal(t, http.StatusServiceUnavailable, code, "a 503 does not use up the cap")
	setFail(false)
	for i := range 3 {
		code, body := post("run-a")
		require.Equal(t, http.StatusOK, code, "webhook %d", i+1)
		require.JSONEq(t, `{"matched":true}`, body)
	}
	code, body := post("run-a")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"matched":true,"delivered":false,"reason":"this run took its maximum number of webhooks"}`, body)
	require.Len(t, sig.Calls(), 4, "the capped webhook reached no workflow")
	require.Equal(t, []string{DropRunCap}, m.dropped)

	code, body = post("run-b")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"matched":true}`, body)

	t.Run("negative means no cap", func(t *testing.T) {
		sig := &fakeSignaler{}
		h := newTestHandler(t, Options{Signer: s, Signaler: sig, MaxWebhooksPerRun: -1})
		for range DefaultMaxWebhooksPerRun + 5 {
			rec := serve(h, webhookRequest("run-c", s.Sign("run-c", testExpiry), "application/json",
				strings.NewReader(`{"status":"processing","id":"1"}`)))
			require.JSONEq(t, `{"matched":true}`, rec.Body.String())
		}
	})
	t.Run("default cap", func(t *testing.T) {
		sig := &fakeSignaler{}
		h := newTestHandler(t, Options{Signer: s, Signaler: sig})
		for range DefaultMaxWebhooksPerRun + 5 {
			serve(h, webhookRequest("run-d", s.Sign("run-d", testExpiry), "application/json",
				strings.NewReader(`{"status":"processing","id":"1"}`)))
		}
		require.Len(t, sig.Calls(), DefaultMaxWebhooksPerRun)
	})
}

func TestRunCounterIsBounded(t *testing.T) {
	t.Parallel()
	r := newRunCounter(4)
	r.add("busy")
	for i := range 20 {
		r.add(fmt.Sprint("quiet-", i))
		// A run that keeps receiving webhooks keeps its count.
		r.add("busy")
		require.LessOrEqual(t, len(r.cur), 4)
		require.LessOrEqual(t, len(r.prev), 4)
	}
	require.Equal(t, 21, r.get("busy"))
	require.Zero(t, r.get("quiet-0"), "a quiet run is forgotten")
	require.Equal(t, 1, r.get("quiet-19"))
}
