package webhookgateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/trackid"
)

func TestWebhook(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret, oldSecret)
	sigFor := func(secret, trackID string) string { return newTestSigner(t, "", secret).Sign(trackID, testExpiry) }
	success := readPayload(t, "generation_success.json") // track_id video_001
	training := readPayload(t, "training.json")          // no track_id
	const jsonCT = "application/json"

	type want struct {
		status     int
		body       string
		retryAfter string
		signals    int
		// update checks the signalled update beyond its equality with
		// ParseWebhook's result.
		update func(t *testing.T, u modelslab.Result)
	}
	tests := []struct {
		name        string
		trackID     string
		sig         string // "" sends no sig parameter
		contentType string
		body        io.Reader
		opts        Options // Signer, Now and Health are filled in
		signaler    *fakeSignaler
		want        want
	}{
		{
			name:    "generation success is signalled",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(success),
			want: want{status: 200, body: `{"matched":true}`, signals: 1, update: func(t *testing.T, u modelslab.Result) {
				require.Equal(t, modelslab.StatusSuccess, u.Status)
				require.Equal(t, "abc123-def456", u.ID)
				require.Equal(t, []string{"https://pub-...r2.dev/generations/abc123.mp4"}, u.Output)
				require.InDelta(t, 45.2, u.GenerationTime, 1e-9)
				require.Equal(t, "cogvideox", u.Meta["model_id"])
			}},
		},
		{
			name:    "generation failure is signalled",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(readPayload(t, "generation_failed.json")),
			want: want{status: 200, body: `{"matched":true}`, signals: 1, update: func(t *testing.T, u modelslab.Result) {
				require.Equal(t, modelslab.StatusFailed, u.Status)
				require.Equal(t, "Processing failed: Invalid input dimensions", u.Message)
			}},
		},
		{
			name:    "training stage without track_id in the body",
			trackID: "train-7f3a", sig: s.Sign("train-7f3a", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(readPayload(t, "training.json")),
			want: want{status: 200, body: `{"matched":true}`, signals: 1, update: func(t *testing.T, u modelslab.Result) {
				require.Equal(t, modelslab.StatusProcessing, u.Status)
				require.Equal(t, "deploying_gpu", u.Stage)
			}},
		},
		{
			name:    "workflow run, nested shape",
			trackID: "wf-run-1", sig: s.Sign("wf-run-1", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(readPayload(t, "workflow_nested.json")),
			want: want{status: 200, body: `{"matched":true}`, signals: 1, update: func(t *testing.T, u modelslab.Result) {
				require.Equal(t, modelslab.StatusSuccess, u.Status)
				require.Equal(t, "98765", u.ID)
				require.Equal(t, []string{"https://pub-3626123a908346a7a8be8d9295f44e26.r2.dev/generations/wf-98765-0.png"}, u.Output)
			}},
		},
		{
			name:    "workflow run, flat shape",
			trackID: "wf-run-2", sig: s.Sign("wf-run-2", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(readPayload(t, "workflow_flat.json")),
			want: want{status: 200, body: `{"matched":true}`, signals: 1, update: func(t *testing.T, u modelslab.Result) {
				require.Equal(t, modelslab.StatusSuccess, u.Status)
				require.Equal(t, "12345", u.ID)
				require.Equal(t, []string{"https://pub-3626123a908346a7a8be8d9295f44e26.r2.dev/generations/wf-12345-0.png"}, u.Output)
			}},
		},
		{
			name:    "legacy processing shape with charset parameter",
			trackID: "img-1", sig: s.Sign("img-1", testExpiry), contentType: "Application/JSON; charset=utf-8",
			body: bytes.NewReader(readPayload(t, "processing_legacy.json")),
			want: want{status: 200, body: `{"matched":true}`, signals: 1, update: func(t *testing.T, u modelslab.Result) {
				require.Equal(t, modelslab.StatusProcessing, u.Status)
				require.Equal(t, "134701497", u.ID)
				require.Equal(t, "Try to fetch request after seconds estimated", u.Message)
			}},
		},
		{
			name:    "sig from the old secret during rotation",
			trackID: "video_001", sig: sigFor(oldSecret, "video_001"), contentType: jsonCT,
			body: bytes.NewReader(success),
			want: want{status: 200, body: `{"matched":true}`, signals: 1},
		},
		{
			name:    "no open workflow",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body:     bytes.NewReader(success),
			signaler: &fakeSignaler{err: serviceerror.NewNotFound("workflow execution already completed")},
			want:     want{status: 200, body: `{"matched":false}`, signals: 1},
		},
		{
			name:    "temporal unavailable",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body:     bytes.NewReader(success),
			signaler: &fakeSignaler{err: serviceerror.NewUnavailable("connection refused")},
			want:     want{status: 503, body: `{"error":"temporal unavailable, retry later"}`, retryAfter: "5", signals: 1},
		},
		{
			name:    "signal times out",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(success),
			opts: Options{SignalTimeout: 20 * time.Millisecond, RetryAfter: 1500 * time.Millisecond},
			signaler: &fakeSignaler{fn: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}},
			want: want{status: 503, body: `{"error":"temporal unavailable, retry later"}`, retryAfter: "2", signals: 1},
		},
		{
			name:    "temporal deadline exceeded",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body:     bytes.NewReader(success),
			signaler: &fakeSignaler{err: serviceerror.NewDeadlineExceeded("context deadline exceeded")},
			want:     want{status: 503, body: `{"error":"temporal unavailable, retry later"}`, retryAfter: "5", signals: 1},
		},

		// Forged or misdirected: 401 before anything else is looked at.
		{
			name:    "missing sig",
			trackID: "video_001", contentType: jsonCT, body: bytes.NewReader(success),
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},
		{
			name:    "forged sig",
			trackID: "video_001", sig: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", contentType: jsonCT,
			body: bytes.NewReader(success),
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},
		{
			name:    "sig with one character changed",
			trackID: "video_001", sig: flipFirst(s.Sign("video_001", testExpiry)), contentType: jsonCT,
			body: bytes.NewReader(success),
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},
		{
			name:    "sig for another track_id",
			trackID: "video_001", sig: s.Sign("video_002", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(success),
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},
		{
			name:    "sig from a retired secret",
			trackID: "video_001", sig: sigFor(retiredSecret, "video_001"), contentType: jsonCT,
			body: bytes.NewReader(success),
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},
		{
			name:    "bad sig is checked before the content type",
			trackID: "video_001", sig: "nope", contentType: "text/plain",
			body: strings.NewReader("hello"),
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},
		{
			name:    "bad sig is checked before the body size",
			trackID: "video_001", sig: "nope", contentType: jsonCT,
			body: bytes.NewReader(bytes.Repeat([]byte(" "), 2048)),
			opts: Options{MaxBodyBytes: 1024},
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},
		{
			name:    "empty track_id with no sig",
			trackID: "", contentType: jsonCT, body: bytes.NewReader(success),
			want: want{status: 401, body: `{"error":"invalid signature"}`},
		},

		// Signed but malformed.
		{
			name:    "valid JSON that is not a webhook",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: strings.NewReader(`{"hello":"world"}`),
			want: want{status: 400},
		},
		{
			name:    "not JSON",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: strings.NewReader(`status=success`),
			want: want{status: 400},
		},
		{
			name:    "JSON array",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: strings.NewReader(`[{"status":"success"}]`),
			want: want{status: 400},
		},
		{
			name:    "empty body",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: strings.NewReader(""),
			want: want{status: 400},
		},
		{
			name:    "truncated JSON",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(success[:len(success)/2]),
			want: want{status: 400},
		},
		{
			name:    "track_id in the body differs from the path",
			trackID: "video_002", sig: s.Sign("video_002", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(success),
			want: want{status: 400, body: `{"error":"track_id in the body does not match the URL"}`},
		},
		{
			name:    "numeric track_id of the path's track_id (endpoints typing it integer)",
			trackID: "voice-1", sig: s.Sign("voice-1", testExpiry), contentType: jsonCT,
			body: strings.NewReader(fmt.Sprintf(`{"status":"success","id":9,"output":["https://x/a.wav"],"track_id":%d}`,
				modelslab.NumericTrackID("voice-1"))),
			want: want{status: 200, body: `{"matched":true}`, signals: 1, update: func(t *testing.T, u modelslab.Result) {
				require.Equal(t, "voice-1", u.TrackID)
			}},
		},
		{
			name:    "numeric track_id of another track_id",
			trackID: "voice-1", sig: s.Sign("voice-1", testExpiry), contentType: jsonCT,
			body: strings.NewReader(fmt.Sprintf(`{"status":"success","id":9,"output":["https://x/a.wav"],"track_id":%d}`,
				modelslab.NumericTrackID("voice-2"))),
			want: want{status: 400, body: `{"error":"track_id in the body does not match the URL"}`},
		},
		{
			name:    "signed empty track_id",
			trackID: "", sig: s.Sign("", testExpiry), contentType: jsonCT, body: bytes.NewReader(training),
			want: want{status: 400, body: `{"error":"track_id is empty"}`},
		},
		{
			name:    "signed track_id that is too long",
			trackID: strings.Repeat("x", trackid.MaxLen+1), sig: s.Sign(strings.Repeat("x", trackid.MaxLen+1), testExpiry),
			contentType: jsonCT, body: bytes.NewReader(training),
			want: want{status: 400},
		},
		{
			name:    "signed track_id with a control character",
			trackID: "bad\x00id", sig: s.Sign("bad\x00id", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(training),
			want: want{status: 400},
		},
		{
			name:    "signed track_id that is not UTF-8",
			trackID: "bad\xffid", sig: s.Sign("bad\xffid", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(training),
			want: want{status: 400},
		},
		{
			name:    "text/plain",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: "text/plain",
			body: bytes.NewReader(success),
			want: want{status: 415, body: `{"error":"content type must be application/json"}`},
		},
		{
			name:    "form encoded",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: "application/x-www-form-urlencoded",
			body: bytes.NewReader(success),
			want: want{status: 415, body: `{"error":"content type must be application/json"}`},
		},
		{
			// ModelsLab documents no headers for its webhooks.
			name:    "no content type, JSON body",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry),
			body: bytes.NewReader(success),
			want: want{status: 200, body: `{"matched":true}`, signals: 1},
		},
		{
			name:    "no content type, form body",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry),
			body: strings.NewReader("status=success&id=1"),
			want: want{status: 400},
		},
		{
			name:    "declared length over the limit",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: bytes.NewReader(padJSON(success, 2048)),
			opts: Options{MaxBodyBytes: 1024},
			want: want{status: 413, body: `{"error":"body exceeds 1024 bytes"}`},
		},
		{
			name:    "chunked body over the limit",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: iotest.OneByteReader(bytes.NewReader(padJSON(success, 2048))),
			opts: Options{MaxBodyBytes: 1024},
			want: want{status: 413, body: `{"error":"body exceeds 1024 bytes"}`},
		},
		{
			name:    "chunked body at the limit",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: iotest.OneByteReader(bytes.NewReader(padJSON(success, 1024))),
			opts: Options{MaxBodyBytes: 1024},
			want: want{status: 200, body: `{"matched":true}`, signals: 1},
		},
		{
			name:    "body that fails mid-read",
			trackID: "video_001", sig: s.Sign("video_001", testExpiry), contentType: jsonCT,
			body: io.MultiReader(bytes.NewReader(success[:10]), iotest.ErrReader(errors.New("connection reset"))),
			want: want{status: 400},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sig := tt.signaler
			if sig == nil {
				sig = &fakeSignaler{}
			}
			opts := tt.opts
			opts.Signer, opts.Signaler = s, sig
			h := newTestHandler(t, opts)

			var body bytes.Buffer
			req := webhookRequest(tt.trackID, tt.sig, tt.contentType, io.TeeReader(tt.body, &body))
			if r, ok := tt.body.(*bytes.Reader); ok {
				req.ContentLength = r.Size()
			} else if sr, ok := tt.body.(*strings.Reader); ok {
				req.ContentLength = sr.Size()
			}
			rec := serve(h, req)

			require.Equal(t, tt.want.status, rec.Code, rec.Body.String())
			if tt.want.body != "" {
				requireJSON(t, rec, tt.want.body)
			} else {
				requireJSON(t, rec, rec.Body.String()) // JSON all the same
				require.Contains(t, rec.Body.String(), `"error"`)
			}
			require.Equal(t, tt.want.retryAfter, rec.Header().Get("Retry-After"))

			calls := sig.Calls()
			require.Len(t, calls, tt.want.signals, "signals sent")
			if tt.want.signals == 0 {
				return
			}
			c := calls[0]
			require.Equal(t, tt.trackID, c.WorkflowID)
			require.Empty(t, c.RunID)
			require.Equal(t, contract.WebhookSignal, c.SignalName)
			require.True(t, c.HasDeadline, "signal context has no deadline")
			timeout := tt.opts.SignalTimeout
			if timeout == 0 {
				timeout = DefaultSignalTimeout
			}
			require.LessOrEqual(t, c.Timeout, timeout)
			require.True(t, fixedNow.Equal(c.Arg.ReceivedAt), "ReceivedAt %v", c.Arg.ReceivedAt)

			// The signal carries the parsed payload, with the verified
			// track_id filled in, after a trip through the data converter.
			want, err := modelslab.ParseWebhook(body.Bytes())
			require.NoError(t, err)
			want.TrackID = tt.trackID
			require.Equal(t, roundTrip(t, want), c.Arg.Update)
			require.Equal(t, tt.trackID, c.Arg.Update.TrackID)
			if tt.want.update != nil {
				tt.want.update(t, c.Arg.Update)
			}
		})
	}
}

// roundTrip passes r through Temporal's default data converter, as the
// fake signaler does with the real argument.
func roundTrip(t *testing.T, r modelslab.Result) modelslab.Result {
	t.Helper()
	f := &fakeSignaler{}
	require.NoError(t, f.SignalWorkflow(context.Background(), "", "", "", contract.Webhook{Update: r}))
	return f.Calls()[0].Arg.Update
}

// padJSON returns body with whitespace inserted after its opening brace
// so that it is exactly n bytes long (or unchanged if already longer).
func padJSON(body []byte, n int) []byte {
	body = bytes.TrimSpace(body)
	if len(body) >= n {
		return body
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	out = append(out, bytes.Repeat([]byte(" "), n-len(body))...)
	return append(out, body[1:]...)
}

func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantBody   string
		wantAllow  string
	}{
		{"unknown path", http.MethodGet, "/nope", 404, `{"error":"not found"}`, ""},
		{"root", http.MethodPost, "/", 404, `{"error":"not found"}`, ""},
		{"webhook prefix without slash", http.MethodPost, "/webhooks/modelslab", 404, `{"error":"not found"}`, ""},
		{"other provider", http.MethodPost, "/webhooks/other/x?sig=" + s.Sign("x", testExpiry), 404, `{"error":"not found"}`, ""},
		{"GET on a webhook URL", http.MethodGet, "/webhooks/modelslab/x?sig=" + s.Sign("x", testExpiry), 405, `{"error":"method not allowed"}`, "POST"},
		{"PUT on a webhook URL", http.MethodPut, "/webhooks/modelslab/x?sig=" + s.Sign("x", testExpiry), 405, `{"error":"method not allowed"}`, "POST"},
		{"POST on healthz", http.MethodPost, "/healthz", 405, `{"error":"method not allowed"}`, "GET, HEAD"},
		{"trailing slash on healthz", http.MethodGet, "/healthz/", 404, `{"error":"not found"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sig := &fakeSignaler{}
			h := newTestHandler(t, Options{Signer: s, Signaler: sig})
			rec := serve(h, newRequest(tt.method, tt.target))
			require.Equal(t, tt.wantStatus, rec.Code)
			requireJSON(t, rec, tt.wantBody)
			require.Equal(t, tt.wantAllow, rec.Header().Get("Allow"))
			require.Empty(t, sig.Calls())
		})
	}
}

func newRequest(method, target string) *http.Request {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		panic(err)
	}
	return req
}

func TestHealth(t *testing.T) {
	t.Parallel()
	down := serviceerror.NewUnavailable("connection refused")
	tests := []struct {
		name       string
		method     string
		path       string
		health     *fakeHealth
		wantStatus int
		wantBody   string
	}{
		{"healthz while temporal is up", http.MethodGet, "/healthz", &fakeHealth{}, 200, `{"status":"ok"}`},
		{"healthz while temporal is down", http.MethodGet, "/healthz", &fakeHealth{err: down}, 200, `{"status":"ok"}`},
		{"HEAD healthz", http.MethodHead, "/healthz", &fakeHealth{err: down}, 200, ""},
		{"readyz while temporal is up", http.MethodGet, "/readyz", &fakeHealth{}, 200, `{"status":"ok"}`},
		{"readyz while temporal is down", http.MethodGet, "/readyz", &fakeHealth{err: down}, 503, `{"status":"temporal unreachable"}`},
		{"readyz when the check hangs", http.MethodGet, "/readyz", &fakeHealth{fn: func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > readyTimeout {
				return errors.New("readyz check has no 2s deadline")
			}
			return serviceerror.NewDeadlineExceeded("context deadline exceeded")
		}}, 503, `{"status":"temporal unreachable"}`},
		{"HEAD readyz while temporal is down", http.MethodHead, "/readyz", &fakeHealth{err: down}, 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestAdminHandler(t, Options{Health: tt.health})
			rec := serve(h, newRequest(tt.method, tt.path))
			require.Equal(t, tt.wantStatus, rec.Code)
			if tt.wantBody != "" {
				requireJSON(t, rec, tt.wantBody)
			}
		})
	}
}

// TestWebhookListenerServesNoReadinessNorMetrics: the webhook handler
// faces the internet (compose.gateway-tls.yml publishes it on 443), so
// /readyz (which calls Temporal) and /metrics (which tells run counts,
// error rates and the Temporal address's health) are on the admin
// handler only; /healthz, which says nothing, stays on both for proxies.
func TestWebhookListenerServesNoReadinessNorMetrics(t *testing.T) {
	t.Parallel()
	var checks atomic.Int32
	health := &fakeHealth{fn: func(context.Context) error { checks.Add(1); return nil }}
	opts := Options{Health: health, MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("genflow_webhooks_total 0\n"))
	})}
	public, admin := newTestHandler(t, opts), newTestAdminHandler(t, opts)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		for _, path := range []string{"/readyz", "/metrics"} {
			rec := serve(public, newRequest(m, path))
			require.Equal(t, http.StatusNotFound, rec.Code, "%s %s on the webhook listener", m, path)
			require.Equal(t, http.StatusOK, serve(admin, newRequest(m, path)).Code, "%s %s on the admin listener", m, path)
		}
		require.Equal(t, http.StatusOK, serve(public, newRequest(m, "/healthz")).Code)
		require.Equal(t, http.StatusOK, serve(admin, newRequest(m, "/healthz")).Code)
	}
	require.EqualValues(t, 2, checks.Load(), "only the admin listener's /readyz asked Temporal")

	// The admin handler takes no webhook.
	s := newTestSigner(t, "", newSecret)
	sig := &fakeSignaler{}
	admin = newTestAdminHandler(t, Options{Signer: s, Signaler: sig})
	rec := serve(admin, webhookRequest("t-1", s.Sign("t-1", testExpiry), "application/json",
		strings.NewReader(`{"status":"success","id":"1","output":[]}`)))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Empty(t, sig.Calls())
}

func TestNewHandlerOptions(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	valid := func() Options { return Options{Signer: s, Signaler: &fakeSignaler{}, Health: &fakeHealth{}} }
	tests := []struct {
		name    string
		mutate  func(o *Options)
		wantErr string // "" means valid
	}{
		{"zero optional fields are defaults", func(*Options) {}, ""},
		{"no signer", func(o *Options) { o.Signer = nil }, "Signer"},
		{"no signaler", func(o *Options) { o.Signaler = nil }, "Signaler"},
		{"no health", func(o *Options) { o.Health = nil }, "Health"},
		{"negative body limit", func(o *Options) { o.MaxBodyBytes = -1 }, "MaxBodyBytes"},
		{"negative signal timeout", func(o *Options) { o.SignalTimeout = -time.Second }, "SignalTimeout"},
		{"negative retry after", func(o *Options) { o.RetryAfter = -time.Second }, "RetryAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := valid()
			tt.mutate(&o)
			h, err := NewHandler(o)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, h)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, h)
		})
	}

	t.Run("every missing field is named", func(t *testing.T) {
		t.Parallel()
		_, err := NewHandler(Options{MaxBodyBytes: -1})
		for _, field := range []string{"Signer", "Signaler", "Health", "MaxBodyBytes"} {
			require.ErrorContains(t, err, field)
		}
	})
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	sig := &fakeSignaler{err: serviceerror.NewUnavailable("down")}
	h, err := NewHandler(Options{Signer: s, Signaler: sig, Health: &fakeHealth{}})
	require.NoError(t, err)
	// The default clock is the real one: the URL expires an hour from now.
	live := signedQuery(s, "video_001", time.Now().Add(time.Hour))

	// Default body limit: 1 MiB passes the size check, one byte more does not.
	atLimit := padJSON(readPayload(t, "generation_success.json"), DefaultMaxBodyBytes)
	rec := serve(h, webhookRequestQuery("video_001", live, "application/json", bytes.NewReader(atLimit)))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "5", rec.Header().Get("Retry-After"))

	over := padJSON(readPayload(t, "generation_success.json"), DefaultMaxBodyBytes+1)
	rec = serve(h, webhookRequestQuery("video_001", live, "application/json", bytes.NewReader(over)))
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)

	calls := sig.Calls()
	require.Len(t, calls, 1)
	require.True(t, calls[0].HasDeadline)
	require.Greater(t, calls[0].Timeout, DefaultSignalTimeout-time.Second)
	require.LessOrEqual(t, calls[0].Timeout, DefaultSignalTimeout)
	require.WithinDuration(t, time.Now(), calls[0].Arg.ReceivedAt, time.Minute)
}

func TestPanicIsA500(t *testing.T) {
	t.Parallel()
	logger, logs := newLogger()
	s := newTestSigner(t, "", newSecret)
	panicking := &fakeSignaler{fn: func(context.Context) error { panic("bug in the signaler") }}
	h := newTestHandler(t, Options{
		Signer: s, Signaler: panicking, Logger: logger,
		Health: &fakeHealth{fn: func(context.Context) error { panic("bug in the health check") }},
	})

	rec := serve(h, webhookRequest("video_001", s.Sign("video_001", testExpiry), "application/json",
		bytes.NewReader(readPayload(t, "generation_success.json"))))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	requireJSON(t, rec, `{"error":"internal error"}`)

	admin := newTestAdminHandler(t, Options{
		Signer: s, Signaler: panicking, Logger: logger,
		Health: &fakeHealth{fn: func(context.Context) error { panic("bug in the health check") }},
	})
	rec = serve(admin, newRequest(http.MethodGet, "/readyz"))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	requireJSON(t, rec, `{"error":"internal error"}`)

	// The handler still serves.
	rec = serve(h, newRequest(http.MethodGet, "/healthz"))
	require.Equal(t, http.StatusOK, rec.Code)

	var panics, accessed []map[string]any
	for _, r := range logs.Records(t) {
		switch r["msg"] {
		case "panic in handler":
			panics = append(panics, r)
		case "http request":
			accessed = append(accessed, r)
		}
	}
	require.Len(t, panics, 2)
	require.Equal(t, "ERROR", panics[0]["level"])
	require.Equal(t, "bug in the signaler", panics[0]["panic"])
	require.Contains(t, panics[0]["stack"], "runtime/debug.Stack")
	require.Len(t, accessed, 3)
	require.EqualValues(t, 500, accessed[0]["status"])
}

func TestAbortHandlerPanicPropagates(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	h := newTestHandler(t, Options{Signer: s, Signaler: &fakeSignaler{fn: func(context.Context) error {
		panic(http.ErrAbortHandler)
	}}})
	require.PanicsWithValue(t, http.ErrAbortHandler, func() {
		serve(h, webhookRequest("video_001", s.Sign("video_001", testExpiry), "application/json",
			bytes.NewReader(readPayload(t, "generation_success.json"))))
	})
}

func TestLogging(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	tests := []struct {
		name      string
		trackID   string
		sig       string
		signaler  *fakeSignaler
		wantMsg   string
		wantLevel string
		status    int
	}{
		{"delivered", "video_001", s.Sign("video_001", testExpiry), &fakeSignaler{}, "webhook delivered", "INFO", 200},
		{"no open workflow", "video_001", s.Sign("video_001", testExpiry),
			&fakeSignaler{err: serviceerror.NewNotFound("workflow not found")}, "webhook matched no open workflow", "INFO", 200},
		{"temporal down", "video_001", s.Sign("video_001", testExpiry),
			&fakeSignaler{err: serviceerror.NewUnavailable("down")}, "signal workflow failed; asking the provider to retry", "WARN", 503},
		{"forged", "video_001", "forged-sig-value", &fakeSignaler{}, "webhook rejected", "INFO", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			h := newTestHandler(t, Options{Signer: s, Signaler: tt.signaler, Logger: logger})
			rec := serve(h, webhookRequest(tt.trackID, tt.sig, "application/json",
				bytes.NewReader(readPayload(t, "generation_success.json"))))
			require.Equal(t, tt.status, rec.Code)

			// The sig is a credential: it appears nowhere in the logs.
			require.NotContains(t, logs.String(), tt.sig)
			records := logs.Records(t)
			require.Len(t, records, 2)
			outcome, access := records[0], records[1]
			require.Equal(t, tt.wantMsg, outcome["msg"])
			require.Equal(t, tt.wantLevel, outcome["level"])
			require.Equal(t, tt.trackID, outcome["track_id"])

			require.Equal(t, "http request", access["msg"])
			require.Equal(t, "POST", access["method"])
			require.Equal(t, WebhookPathPrefix+tt.trackID, access["path"])
			require.EqualValues(t, tt.status, access["status"])
			require.Equal(t, tt.trackID, access["track_id"])
			require.Contains(t, access, "latency")
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestDeclaredLengthOverLimitIsNotRead(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	sig := &fakeSignaler{}
	h := newTestHandler(t, Options{Signer: s, Signaler: sig, MaxBodyBytes: 1024})
	body := &countingReader{r: bytes.NewReader(padJSON(readPayload(t, "generation_success.json"), 4096))}
	req := webhookRequest("video_001", s.Sign("video_001", testExpiry), "application/json", body)
	req.ContentLength = 4096
	rec := serve(h, req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	requireJSON(t, rec, `{"error":"body exceeds 1024 bytes"}`)
	require.Equal(t, "close", rec.Header().Get("Connection"))
	require.Zero(t, body.n.Load(), "body was read")
	require.Empty(t, sig.Calls())
}
