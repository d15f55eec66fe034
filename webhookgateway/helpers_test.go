package webhookgateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/webhookurl"
)

// Secrets used across the tests: newSecret is current, oldSecret is being
// rotated out, retiredSecret is no longer configured anywhere.
const (
	newSecret     = "new-secret-0123456789abcdef"
	oldSecret     = "old-secret-0123456789abcdef"
	retiredSecret = "retired-secret-0123456789abcdef"
)

// fixedNow is the test clock: every webhook is received at this instant.
var fixedNow = time.Date(2025, 6, 1, 10, 1, 13, 0, time.UTC)

// testExpiry is when the test URLs expire: an hour after fixedNow.
var testExpiry = fixedNow.Add(time.Hour)

// testExp is testExpiry as the URL's exp parameter carries it.
var testExp = strconv.FormatInt(testExpiry.Unix(), 10)

func newTestSigner(t testing.TB, publicURL string, secrets ...string) *webhookurl.Signer {
	t.Helper()
	s, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: publicURL, Secrets: secrets})
	require.NoError(t, err)
	return s
}

// signalCall is one SignalWorkflow call as the fake saw it, with the
// argument decoded back through Temporal's default data converter, as the
// workflow would receive it.
type signalCall struct {
	WorkflowID  string
	RunID       string
	SignalName  string
	Arg         contract.Webhook
	HasDeadline bool
	Timeout     time.Duration // time left until the deadline at call time
}

// fakeSignaler records calls and answers with err, or runs fn if set.
type fakeSignaler struct {
	err error
	fn  func(ctx context.Context) error

	mu    sync.Mutex
	calls []signalCall
}

var _ Signaler = (*fakeSignaler)(nil)

func (f *fakeSignaler) SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg interface{}) error {
	call := signalCall{WorkflowID: workflowID, RunID: runID, SignalName: signalName}
	if dl, ok := ctx.Deadline(); ok {
		call.HasDeadline, call.Timeout = true, time.Until(dl)
	}
	dc := converter.GetDefaultDataConverter()
	payloads, err := dc.ToPayloads(arg)
	if err != nil {
		return fmt.Errorf("fake signaler: encode arg: %w", err)
	}
	if err := dc.FromPayloads(payloads, &call.Arg); err != nil {
		return fmt.Errorf("fake signaler: decode arg: %w", err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if f.fn != nil {
		return f.fn(ctx)
	}
	return f.err
}

// Reset forgets the calls recorded so far.
func (f *fakeSignaler) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *fakeSignaler) Calls() []signalCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]signalCall(nil), f.calls...)
}

// fakeHealth answers CheckHealth with err, or runs fn if set.
type fakeHealth struct {
	err error
	fn  func(ctx context.Context) error
}

var _ HealthChecker = (*fakeHealth)(nil)

func (f *fakeHealth) CheckHealth(ctx context.Context, _ *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	err := f.err
	if f.fn != nil {
		err = f.fn(ctx)
	}
	if err != nil {
		return nil, err
	}
	return &client.CheckHealthResponse{}, nil
}

// newTestHandler builds a handler with the test clock and, unless set,
// a signer over newSecret and oldSecret, a fake signaler and a healthy
// fake health check.
func newTestHandler(t testing.TB, opts Options) http.Handler {
	t.Helper()
	if opts.Signer == nil {
		opts.Signer = newTestSigner(t, "", newSecret, oldSecret)
	}
	if opts.Signaler == nil {
		opts.Signaler = &fakeSignaler{}
	}
	if opts.Health == nil {
		opts.Health = &fakeHealth{}
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	h, err := NewHandler(opts)
	require.NoError(t, err)
	return h
}

// newTestAdminHandler is newTestHandler's admin handler (NewAdminHandler)
// for the same options.
func newTestAdminHandler(t testing.TB, opts Options) http.Handler {
	t.Helper()
	if opts.Signer == nil {
		opts.Signer = newTestSigner(t, "", newSecret, oldSecret)
	}
	if opts.Signaler == nil {
		opts.Signaler = &fakeSignaler{}
	}
	if opts.Health == nil {
		opts.Health = &fakeHealth{}
	}
	h, err := NewAdminHandler(opts)
	require.NoError(t, err)
	return h
}

// webhookRequest builds a POST to the webhook route for trackID, with
// exp=testExp and sig unless sig is empty. The path is set decoded, as
// net/http's server leaves it, so that any track_id, however odd, reaches
// the router unchanged.
func webhookRequest(trackID, sig, contentType string, body io.Reader) *http.Request {
	q := url.Values{}
	if sig != "" {
		q = url.Values{"exp": {testExp}, "sig": {sig}}
	}
	return webhookRequestQuery(trackID, q, contentType, body)
}

// webhookurlSigner shortens the signer's type in test tables.
type webhookurlSigner = webhookurl.Signer

// newStrictSigner is a signer over newSecret that refuses unexpiring
// URLs when strict.
func newStrictSigner(t testing.TB, strict bool) *webhookurl.Signer {
	t.Helper()
	s, err := webhookurl.NewSigner(webhookurl.Options{Secrets: []string{newSecret}, RefuseUnexpiring: strict})
	require.NoError(t, err)
	return s
}

// legacySig is the sig of releases before expiring URLs:
// HMAC-SHA256(secret, track_id), base64url without padding.
func legacySig(secret, trackID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(trackID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signedQuery is the query of the webhook URL s makes for trackID,
// expiring at expires.
func signedQuery(s *webhookurl.Signer, trackID string, expires time.Time) url.Values {
	expires = expires.Truncate(time.Second)
	raw, err := (&url.URL{}).Parse(mustURL(s, trackID, expires))
	if err != nil {
		panic(err)
	}
	return raw.Query()
}

func mustURL(s *webhookurl.Signer, trackID string, expires time.Time) string {
	u, err := s.URL(trackID, expires)
	if err != nil {
		// The test signers have no public URL: sign by hand.
		return "/?exp=" + strconv.FormatInt(expires.Unix(), 10) + "&sig=" + s.Sign(trackID, expires)
	}
	return u
}

// webhookRequestQuery is webhookRequest with the query q as it is.
func webhookRequestQuery(trackID string, q url.Values, contentType string, body io.Reader) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/", body)
	req.URL.Path = WebhookPathPrefix + trackID
	req.URL.RawPath = ""
	req.URL.RawQuery = q.Encode()
	req.RequestURI = req.URL.RequestURI()
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// serve runs req through h and returns the recorded response.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// requireJSON checks the response is JSON equal to want.
func requireJSON(t testing.TB, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"),
		"Content-Type %q", rec.Header().Get("Content-Type"))
	require.JSONEq(t, want, rec.Body.String())
}

func readPayload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	require.NoError(t, err)
	return b
}

// logBuffer is a goroutine-safe sink for a JSON slog handler.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Records returns the logged records, decoded.
func (b *logBuffer) Records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		out = append(out, rec)
	}
	return out
}

func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
