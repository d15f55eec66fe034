package modelslab

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testKey = "test-key-123"

// seenRequest is one request the fake provider received.
type seenRequest struct {
	Method     string
	Path       string // decoded
	RawPath    string // as sent, escaped
	Header     http.Header
	Body       map[string]any
	RawBody    []byte
	BodyIsJSON bool
}

// provider is an httptest server that records every request and answers
// with reply.
type provider struct {
	srv   *httptest.Server
	mu    sync.Mutex
	seen  []seenRequest
	reply http.HandlerFunc
}

func newProvider(t *testing.T, reply http.HandlerFunc) *provider {
	t.Helper()
	p := &provider{reply: reply}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		s := seenRequest{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Header: r.Header.Clone(), RawBody: raw}
		if len(raw) > 0 {
			s.BodyIsJSON = json.Unmarshal(raw, &s.Body) == nil
		}
		p.mu.Lock()
		p.seen = append(p.seen, s)
		p.mu.Unlock()
		p.reply(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) requests() []seenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seenRequest(nil), p.seen...)
}

func (p *provider) client(t *testing.T) *Client {
	t.Helper()
	// The server's own client: httptest's Close closes the idle
	// connections of http.DefaultTransport, which broke the requests of
	// parallel tests now and then.
	c, err := New(Options{BaseURL: p.srv.URL + "/api/", APIKey: testKey, HTTPClient: p.srv.Client()})
	require.NoError(t, err)
	return c
}

// answer replies with status and body, as JSON.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const processingReply = `{"status":"processing","id":134701497,"eta":2.75,"output":[]}`

func mustLookup(t *testing.T, name string) Endpoint {
	t.Helper()
	ep, err := Lookup(name)
	require.NoError(t, err)
	return ep
}

func providerError(t *testing.T, err error) *Error {
	t.Helper()
	require.Error(t, err)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	return pe
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		wantURL string
	}{
		{name: "default base URL", opts: Options{APIKey: "k"}, wantURL: DefaultBaseURL},
		{name: "trailing slash added", opts: Options{APIKey: "k", BaseURL: "https://fake:8080/api"}, wantURL: "https://fake:8080/api/"},
		{name: "missing key", opts: Options{}, wantErr: "APIKey is required"},
		{name: "blank key", opts: Options{APIKey: "  "}, wantErr: "APIKey is required"},
		{name: "not http", opts: Options{APIKey: "k", BaseURL: "ftp://x/api/"}, wantErr: "not an http(s) URL"},
		{name: "no host", opts: Options{APIKey: "k", BaseURL: "/api/"}, wantErr: "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.opts)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantURL, c.base.String())
		})
	}
}

func TestSubmitSendsRequest(t *testing.T) {
	t.Parallel()
	const hook = "https://hooks.example/webhooks/modelslab/t-1?sig=abc"
	tests := []struct {
		name       string
		endpoint   string
		params     map[string]any
		reply      string
		wantPath   string
		wantBody   map[string]any // exact body expected
		wantHeader string         // expected "key" header; "" for none
		wantID     string
	}{
		{
			name: "v6 images text2img", endpoint: "images/text2img",
			params:   map[string]any{"model_id": "flux", "prompt": "a cat", "width": "512"},
			reply:    processingReply,
			wantPath: "/api/v6/images/text2img",
			wantBody: map[string]any{"key": testKey, "model_id": "flux", "prompt": "a cat", "width": "512", "webhook": hook, "track_id": "t-1"},
			wantID:   "134701497",
		},
		{
			name: "v5 controlnet", endpoint: "controlnet",
			params:   map[string]any{"init_image": "https://x/a.png", "controlnet_model": "canny"},
			reply:    processingReply,
			wantPath: "/api/v5/controlnet",
			wantBody: map[string]any{"key": testKey, "init_image": "https://x/a.png", "controlnet_model": "canny", "webhook": hook,
				"track_id": float64(NumericTrackID("t-1"))}, // controlnet types track_id integer
			wantID: "134701497",
		},
		{
			name: "v6 voice", endpoint: "voice/text_to_speech",
			params:   map[string]any{"prompt": "hello", "voice_id": "madison", "language": "american english"},
			reply:    processingReply,
			wantPath: "/api/v6/voice/text_to_speech",
			wantBody: map[string]any{"key": testKey, "prompt": "hello", "voice_id": "madison", "language": "american english", "webhook": hook,
				"track_id": float64(NumericTrackID("t-1"))}, // voice types track_id integer
			wantID: "134701497",
		},
		{
			name: "v6 3d image_to_3d", endpoint: "3d/image_to_3d",
			params:   map[string]any{"init_image": "https://x/a.png"},
			reply:    processingReply,
			wantPath: "/api/v6/3d/image_to_3d",
			wantBody: map[string]any{"key": testKey, "init_image": "https://x/a.png", "webhook": hook, "track_id": "t-1"},
			wantID:   "134701497",
		},
		{
			name: "v3 training: key and webhook in body, no track_id", endpoint: "lora_fine_tune",
			params: map[string]any{"instance_prompt": "sks man", "class_prompt": "man", "images": []any{"https://x/1.png"},
				"training_type": "men", "max_train_steps": 2000},
			reply:    `{"status":"success","messege":"deploying_gpu","data":"it will take upto 30 minutes.","training_id":"F5jvdzGnYi"}`,
			wantPath: "/api/v3/lora_fine_tune",
			wantBody: map[string]any{"key": testKey, "instance_prompt": "sks man", "class_prompt": "man", "images": []any{"https://x/1.png"},
				"training_type": "men", "max_train_steps": float64(2000), "webhook": hook},
			wantID: "F5jvdzGnYi",
		},
		{
			name: "workflows: key header, workflow_id in the path", endpoint: "workflows/run",
			params:     map[string]any{"workflow_id": "3f2b-uuid", "inputs": map[string]any{"prompt": "x"}},
			reply:      `{"status":"success","message":"Workflow execution started.","execution_id":12345,"workflow_id":"3f2b-uuid"}`,
			wantPath:   "/api/v1/workflows/3f2b-uuid/run",
			wantBody:   map[string]any{"inputs": map[string]any{"prompt": "x"}, "webhook_url": hook},
			wantHeader: testKey,
			wantID:     "12345",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(http.StatusOK, tt.reply))
			params := map[string]any{}
			for k, v := range tt.params {
				params[k] = v
			}
			res, err := p.client(t).Submit(context.Background(), SubmitRequest{
				Endpoint: mustLookup(t, tt.endpoint), Params: params, WebhookURL: hook, TrackID: "t-1",
			})
			require.NoError(t, err)
			require.Equal(t, tt.wantID, res.ID)
			require.Equal(t, StatusProcessing, res.Status)
			require.Equal(t, "t-1", res.TrackID)
			require.Equal(t, tt.params, params, "Submit must not modify the caller's params")

			seen := p.requests()
			require.Len(t, seen, 1)
			got := seen[0]
			require.Equal(t, http.MethodPost, got.Method)
			require.Equal(t, tt.wantPath, got.Path)
			require.Equal(t, "application/json", got.Header.Get("Content-Type"))
			require.True(t, got.BodyIsJSON, "body %q", got.RawBody)
			require.Equal(t, tt.wantBody, got.Body)
			require.Equal(t, tt.wantHeader, got.Header.Get("key"))
		})
	}
}

func TestSubmitWithoutWebhookOrTrackID(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, processingReply))
	_, err := p.client(t).Submit(context.Background(), SubmitRequest{
		Endpoint: mustLookup(t, "text2img"), Params: map[string]any{"model_id": "m", "prompt": "p"},
	})
	require.NoError(t, err)
	body := p.requests()[0].Body
	require.NotContains(t, body, "webhook")
	require.NotContains(t, body, "track_id")
	require.Equal(t, testKey, body["key"])
}

func TestBaseURLWithPathPrefix(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, processingReply))
	c, err := New(Options{BaseURL: p.srv.URL + "/proxy/api", APIKey: testKey})
	require.NoError(t, err)
	_, err = c.Submit(context.Background(), SubmitRequest{
		Endpoint: mustLookup(t, "images/text2img"), Params: map[string]any{"model_id": "m", "prompt": "p"},
	})
	require.NoError(t, err)
	require.Equal(t, "/proxy/api/v6/images/text2img", p.requests()[0].Path)
}

func TestFetchSendsRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		endpoint    string
		id          string
		params      map[string]any
		reply       string
		wantMethod  string
		wantRawPath string
		wantBody    map[string]any // nil: no body at all
		wantHeader  string
		wantStatus  Status
		wantID      string
	}{
		{
			name: "images fetch by path id", endpoint: "images/text2img", id: "134701497",
			reply:      `{"status":"success","id":134701497,"output":["https://x/0.png"]}`,
			wantMethod: http.MethodPost, wantRawPath: "/api/v6/images/fetch/134701497",
			wantBody: map[string]any{"key": testKey}, wantStatus: StatusSuccess, wantID: "134701497",
		},
		{
			name: "controlnet fetches under v6 images", endpoint: "controlnet", id: "7",
			reply:      `{"status":"processing","messege":"try again later.","output":""}`,
			wantMethod: http.MethodPost, wantRawPath: "/api/v6/images/fetch/7",
			wantBody: map[string]any{"key": testKey}, wantStatus: StatusProcessing, wantID: "7",
		},
		{
			name: "voice", endpoint: "voice/music_gen", id: "42",
			reply:      `{"status":"success","id":42,"output":["https://x/a.mp3"]}`,
			wantMethod: http.MethodPost, wantRawPath: "/api/v6/voice/fetch/42",
			wantBody: map[string]any{"key": testKey}, wantStatus: StatusSuccess, wantID: "42",
		},
		{
			name: "training status", endpoint: "lora_fine_tune", id: "F5jvdzGnYi",
			reply:      `{"status":"success","training_status":"model_ready","model_id":"F5jvdzGnYi"}`,
			wantMethod: http.MethodPost, wantRawPath: "/api/v3/fine_tune_status/F5jvdzGnYi",
			wantBody: map[string]any{"key": testKey}, wantStatus: StatusSuccess, wantID: "F5jvdzGnYi",
		},
		{
			name: "workflow run status is a GET with the key header", endpoint: "workflows/run", id: "12345",
			params:     map[string]any{"workflow_id": "3f2b-uuid"},
			reply:      `{"status":"success","execution":{"id":12345,"status":"running"}}`,
			wantMethod: http.MethodGet, wantRawPath: "/api/v1/workflows/3f2b-uuid/runs/12345",
			wantHeader: testKey, wantStatus: StatusProcessing, wantID: "12345",
		},
		{
			name: "id is escaped once", endpoint: "images/text2img", id: "a b/c%d",
			reply:      `{"status":"processing"}`,
			wantMethod: http.MethodPost, wantRawPath: "/api/v6/images/fetch/a%20b%2Fc%25d",
			wantBody: map[string]any{"key": testKey}, wantStatus: StatusProcessing, wantID: "a b/c%d",
		},
		{
			name: "workflow id is escaped once", endpoint: "workflows/run", id: "1",
			params:     map[string]any{"workflow_id": "a b"},
			reply:      `{"execution":{"id":1,"status":"completed","output_data":["https://x/o.png"]}}`,
			wantMethod: http.MethodGet, wantRawPath: "/api/v1/workflows/a%20b/runs/1",
			wantHeader: testKey, wantStatus: StatusSuccess, wantID: "1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(http.StatusOK, tt.reply))
			res, err := p.client(t).Fetch(context.Background(), mustLookup(t, tt.endpoint), tt.id, tt.params)
			require.NoError(t, err)
			require.Equal(t, tt.wantStatus, res.Status)
			require.Equal(t, tt.wantID, res.ID)

			seen := p.requests()
			require.Len(t, seen, 1)
			got := seen[0]
			require.Equal(t, tt.wantMethod, got.Method)
			require.Equal(t, tt.wantRawPath, got.RawPath)
			require.Equal(t, tt.wantHeader, got.Header.Get("key"))
			if tt.wantBody == nil {
				require.Empty(t, got.RawBody)
				require.Empty(t, got.Header.Get("Content-Type"))
				return
			}
			require.Equal(t, "application/json", got.Header.Get("Content-Type"))
			require.Equal(t, tt.wantBody, got.Body)
		})
	}
}

func TestFetchOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		reply       string
		wantStatus  Status
		wantMessage string
		wantErrType string
	}{
		{name: "unknown id is a failed result", reply: `{"status":"failed","id":"","message":"Request not found","output":""}`,
			wantStatus: StatusFailed, wantMessage: "Request not found"},
		{name: "legacy processing with output empty string", reply: `{"status":"processing","messege":"try again later.","output":"","tip":"..."}`,
			wantStatus: StatusProcessing, wantMessage: "try again later."},
		{name: "status error is an error", reply: `{"status":"error","message":"Invalid API key"}`,
			wantErrType: ErrTypeInvalidKey},
		{name: "no status is a bad reply", reply: `{"id":5,"output":[]}`, wantErrType: ErrTypeBadReply},
		{name: "JSON null is a bad reply", reply: `null`, wantErrType: ErrTypeBadReply},
		{name: "JSON array is a bad reply", reply: `[]`, wantErrType: ErrTypeBadReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(http.StatusOK, tt.reply))
			res, err := p.client(t).Fetch(context.Background(), mustLookup(t, "images/text2img"), "99", nil)
			if tt.wantErrType != "" {
				require.Equal(t, tt.wantErrType, providerError(t, err).Type)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantStatus, res.Status)
			require.Equal(t, "99", res.ID)
			require.Equal(t, tt.wantMessage, res.Message)
			require.Empty(t, res.Output)
		})
	}
}

func TestFetchRefusesBadIDsWithoutRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		id       string
		params   map[string]any
		wantErr  string
	}{
		{name: "empty id", endpoint: "images/text2img", id: "", wantErr: "fetch needs a request id"},
		{name: "dot-dot id", endpoint: "images/text2img", id: "..", wantErr: "not a valid path segment"},
		{name: "dot id", endpoint: "video/text2video", id: ".", wantErr: "not a valid path segment"},
		{name: "workflow without workflow_id", endpoint: "workflows/run", id: "1", wantErr: "workflow_id"},
		{name: "workflow_id that is an object", endpoint: "workflows/run", id: "1",
			params: map[string]any{"workflow_id": map[string]any{"a": 1}}, wantErr: "workflow_id"},
		{name: "dot-dot workflow_id", endpoint: "workflows/run", id: "1",
			params: map[string]any{"workflow_id": ".."}, wantErr: "not a valid path segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(http.StatusOK, processingReply))
			_, err := p.client(t).Fetch(context.Background(), mustLookup(t, tt.endpoint), tt.id, tt.params)
			pe := providerError(t, err)
			require.Equal(t, ErrTypeInvalidRequest, pe.Type)
			require.False(t, pe.Retryable())
			require.ErrorContains(t, err, tt.wantErr)
			require.Empty(t, p.requests())
		})
	}
}

// TestErrorBodiesUnderHTTP200 checks that the message decides the type
// when the provider answers 200 {"status":"error"}.
func TestErrorBodiesUnderHTTP200(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        string
		message       string
		extra         string
		wantType      string
		wantRetryable bool
		wantRetry     time.Duration
	}{
		{name: "invalid api key", message: "Invalid API key", wantType: ErrTypeInvalidKey},
		{name: "api key required", message: "API key required", wantType: ErrTypeInvalidKey},
		{name: "invalid key variant", message: "Invalid key provided", wantType: ErrTypeInvalidKey},
		{name: "insufficient credits", message: "Insufficient credits. Please add more credits to continue.", wantType: ErrTypeInsufficientCredits},
		{name: "insufficient balance", message: "Insufficient balance in your wallet", wantType: ErrTypeInsufficientCredits},
		{name: "balance mentioned in a validation error", message: "balance_factor must be between 0 and 1", wantType: ErrTypeInvalidRequest},
		{name: "premium", message: "This feature requires a premium subscription", wantType: ErrTypeForbidden},
		{name: "validation", message: "width must be between 256 and 1024", wantType: ErrTypeInvalidRequest},
		{name: "required field", message: "prompt is required", wantType: ErrTypeInvalidRequest},
		{name: "malformed request", message: "Invalid API Request", wantType: ErrTypeInvalidRequest},
		{name: "model not found", message: "Model not found: sdxl-x", wantType: ErrTypeInvalidRequest},
		{name: "rate limit with retry_after", message: "Rate limit exceeded. Maximum 5 queued requests allowed.", extra: `,"retry_after":30`,
			wantType: ErrTypeRateLimited, wantRetryable: true, wantRetry: 30 * time.Second},
		{name: "retry_after as a string", message: "Rate limit exceeded.", extra: `,"retry_after":"2.5"`,
			wantType: ErrTypeRateLimited, wantRetryable: true, wantRetry: 2500 * time.Millisecond},
		{name: "absurd retry_after is capped", message: "Rate limit exceeded.", extra: `,"retry_after":1e300`,
			wantType: ErrTypeRateLimited, wantRetryable: true, wantRetry: maxRetryAfter},
		{name: "NaN retry_after is ignored", message: "Rate limit exceeded.", extra: `,"retry_after":"NaN"`,
			wantType: ErrTypeRateLimited, wantRetryable: true},
		{name: "validation object as message", message: "", extra: `,"messege":{"prompt":["The prompt field is required."]}`,
			wantType: ErrTypeInvalidRequest},
		{name: "failed at submit", status: "failed", message: "Processing failed: Invalid input dimensions", wantType: ErrTypeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status := tt.status
			if status == "" {
				status = "error"
			}
			msg, _ := json.Marshal(tt.message)
			body := `{"status":"` + status + `","message":` + string(msg) + tt.extra + `}`
			if tt.message == "" {
				body = `{"status":"` + status + `"` + tt.extra + `}`
			}
			p := newProvider(t, answer(http.StatusOK, body))
			_, err := p.client(t).Submit(context.Background(), SubmitRequest{
				Endpoint: mustLookup(t, "images/text2img"), Params: map[string]any{"model_id": "m", "prompt": "p"},
			})
			pe := providerError(t, err)
			require.Equal(t, tt.wantType, pe.Type)
			require.Equal(t, tt.wantRetryable, pe.Retryable())
			require.Equal(t, tt.wantRetryable, IsRetryable(err))
			require.Equal(t, tt.wantRetry, pe.RetryAfter)
			require.Equal(t, http.StatusOK, pe.HTTPStatus)
			require.Equal(t, "images/text2img", pe.Endpoint)
			if tt.message != "" {
				require.Equal(t, tt.message, pe.Message)
			} else {
				require.Equal(t, "prompt: The prompt field is required.", pe.Message)
			}
			if pe.Type != ErrTypeRateLimited {
				require.Contains(t, NonRetryableErrorTypes, pe.Type)
			}
		})
	}
}

func TestNon2xxReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		header        map[string]string
		body          string
		wantType      string
		wantMessage   string
		wantRetryable bool
		wantRetry     time.Duration
	}{
		{name: "401", status: 401, body: `{"status":"error","message":"Invalid API key"}`,
			wantType: ErrTypeInvalidKey, wantMessage: "Invalid API key"},
		{name: "401 without body", status: 401, wantType: ErrTypeInvalidKey, wantMessage: "Unauthorized"},
		{name: "402", status: 402, body: `{"status":"error","message":"Insufficient credits. Please add more credits to continue."}`,
			wantType: ErrTypeInsufficientCredits, wantMessage: "Insufficient credits. Please add more credits to continue."},
		{name: "403", status: 403, body: `{"status":"error","message":"This feature requires a premium subscription"}`,
			wantType: ErrTypeForbidden, wantMessage: "This feature requires a premium subscription"},
		{name: "404 workflow not found", status: 404, body: `{"status":"error","message":"Workflow not found or API access not enabled"}`,
			wantType: ErrTypeNotFound, wantMessage: "Workflow not found or API access not enabled"},
		{name: "422 validation", status: 422, body: `{"message":"The given data was invalid.","errors":{"inputs":["required"]}}`,
			wantType: ErrTypeInvalidRequest, wantMessage: "The given data was invalid."},
		{name: "400 messege typo", status: 400, body: `{"status":"error","messege":"prompt is required"}`,
			wantType: ErrTypeInvalidRequest, wantMessage: "prompt is required"},
		{name: "429 retry_after in body", status: 429,
			body:     `{"status":"error","message":"Rate limit exceeded. Maximum 5 queued requests allowed.","retry_after":30}`,
			wantType: ErrTypeRateLimited, wantMessage: "Rate limit exceeded. Maximum 5 queued requests allowed.",
			wantRetryable: true, wantRetry: 30 * time.Second},
		{name: "429 body wins over header", status: 429, header: map[string]string{"Retry-After": "99"},
			body:     `{"status":"error","message":"Rate limit exceeded.","retry_after":30}`,
			wantType: ErrTypeRateLimited, wantMessage: "Rate limit exceeded.", wantRetryable: true, wantRetry: 30 * time.Second},
		{name: "429 Retry-After header only", status: 429, header: map[string]string{"Retry-After": "12"},
			wantType: ErrTypeRateLimited, wantMessage: "Too Many Requests", wantRetryable: true, wantRetry: 12 * time.Second},
		{name: "429 Retry-After HTTP date in the past", status: 429,
			header:   map[string]string{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
			wantType: ErrTypeRateLimited, wantMessage: "Too Many Requests", wantRetryable: true},
		{name: "429 unreadable Retry-After", status: 429, header: map[string]string{"Retry-After": "soon"},
			wantType: ErrTypeRateLimited, wantMessage: "Too Many Requests", wantRetryable: true},
		{name: "500 HTML body", status: 500, header: map[string]string{"Content-Type": "text/html"},
			body:     `<html><body><h1>500 Internal Server Error</h1></body></html>`,
			wantType: ErrTypeServer, wantMessage: "Internal Server Error", wantRetryable: true},
		{name: "502 from a proxy", status: 502, body: `Bad gateway`,
			wantType: ErrTypeServer, wantMessage: "Bad Gateway", wantRetryable: true},
		{name: "503 with Retry-After", status: 503, header: map[string]string{"Retry-After": "5"},
			body:     `{"status":"error","message":"Service temporarily unavailable"}`,
			wantType: ErrTypeServer, wantMessage: "Service temporarily unavailable", wantRetryable: true, wantRetry: 5 * time.Second},
		{name: "200 non-JSON", status: 200, header: map[string]string{"Content-Type": "text/html"},
			body:     `<html>maintenance</html>`,
			wantType: ErrTypeUnusableReply, wantMessage: "the provider may have accepted (and charged) the request, but its reply " +
				`cannot be decoded; it is not submitted again. Reply: "<html>maintenance</html>"`},
		{name: "200 empty body", status: 200, wantType: ErrTypeUnusableReply, wantMessage: "the provider may have accepted " +
			`(and charged) the request, but its reply cannot be decoded; it is not submitted again. Reply: ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := p.client(t).Submit(context.Background(), SubmitRequest{
				Endpoint: mustLookup(t, "images/text2img"), Params: map[string]any{"model_id": "m", "prompt": "p"},
			})
			pe := providerError(t, err)
			require.Equal(t, tt.wantType, pe.Type)
			require.Equal(t, tt.wantMessage, pe.Message)
			require.Equal(t, tt.status, pe.HTTPStatus)
			require.Equal(t, tt.wantRetryable, pe.Retryable())
			require.Equal(t, tt.wantRetry, pe.RetryAfter)
			require.NotContains(t, err.Error(), testKey)
		})
	}
}

func TestRetryAfterHeaderDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{name: "seconds", value: "30", want: 30 * time.Second},
		{name: "fractional seconds", value: "1.5", want: 1500 * time.Millisecond},
		{name: "http date in the future", value: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "http date in the past", value: now.Add(-time.Minute).Format(http.TimeFormat)},
		{name: "negative", value: "-3"},
		{name: "huge", value: "99999999999999", want: maxRetryAfter},
		{name: "garbage", value: "tomorrow"},
		{name: "empty", value: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, retryAfterHeader(tt.value, now))
		})
	}
}

func TestTransportError(t *testing.T) {
	t.Parallel()
	// A listener that is closed at once: nothing answers on its port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	c, err := New(Options{BaseURL: "http://" + addr + "/api/", APIKey: testKey})
	require.NoError(t, err)
	for _, call := range []struct {
		name string
		do   func() error
	}{
		{name: "submit", do: func() error {
			_, err := c.Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
				Params: map[string]any{"model_id": "m", "prompt": "p"}})
			return err
		}},
		{name: "fetch", do: func() error {
			_, err := c.Fetch(context.Background(), mustLookup(t, "images/text2img"), "1", nil)
			return err
		}},
	} {
		t.Run(call.name, func(t *testing.T) {
			err := call.do()
			pe := providerError(t, err)
			require.Equal(t, ErrTypeTransport, pe.Type)
			require.True(t, pe.Retryable())
			require.Zero(t, pe.HTTPStatus)
			require.NotNil(t, errors.Unwrap(err))
			require.NotContains(t, err.Error(), testKey)
		})
	}
}

func TestTransportErrorFromClosedServer(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, processingReply))
	c := p.client(t)
	p.srv.Close()
	_, err := c.Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
		Params: map[string]any{"model_id": "m", "prompt": "p"}})
	pe := providerError(t, err)
	require.Equal(t, ErrTypeTransport, pe.Type)
	require.True(t, IsRetryable(err))
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, c *Client) error
	}{
		{name: "submit", call: func(ctx context.Context, c *Client) error {
			_, err := c.Submit(ctx, SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
				Params: map[string]any{"model_id": "m", "prompt": "p"}})
			return err
		}},
		{name: "fetch", call: func(ctx context.Context, c *Client) error {
			_, err := c.Fetch(ctx, mustLookup(t, "video/text2video"), "1", nil)
			return err
		}},
		{name: "workflow fetch", call: func(ctx context.Context, c *Client) error {
			_, err := c.Fetch(ctx, mustLookup(t, "workflows/run"), "1", map[string]any{"workflow_id": "w"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			arrived := make(chan struct{}, 1)
			p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-r.Context().Done() // hold the reply until the client gives up
			})
			c := p.client(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- tt.call(ctx, c) }()
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("request never reached the server")
			}
			cancel()
			select {
			case err := <-errc:
				require.ErrorIs(t, err, context.Canceled)
				require.Equal(t, ctx.Err(), err, "the context's own error, not a wrapped provider error")
				require.False(t, IsRetryable(err))
			case <-time.After(10 * time.Second):
				t.Fatal("the call did not return after cancellation")
			}
		})
	}
}

func TestContextDeadline(t *testing.T) {
	t.Parallel()
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.client(t).Fetch(ctx, mustLookup(t, "images/text2img"), "1", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, ctx.Err(), err)
}

func TestContextAlreadyCancelled(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, processingReply))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.client(t).Submit(ctx, SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
		Params: map[string]any{"model_id": "m", "prompt": "p"}})
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, p.requests())
}

func TestSubmitValidatesBeforeSending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		endpoint    string
		params      map[string]any
		wantMissing []string
	}{
		{name: "text2img without anything", endpoint: "images/text2img", wantMissing: []string{"model_id", "prompt"}},
		{name: "text2img blank prompt", endpoint: "images/text2img",
			params: map[string]any{"model_id": "m", "prompt": "   "}, wantMissing: []string{"prompt"}},
		{name: "text2img null prompt", endpoint: "images/text2img",
			params: map[string]any{"model_id": "m", "prompt": nil}, wantMissing: []string{"prompt"}},
		{name: "inpaint without mask", endpoint: "images/inpaint",
			params: map[string]any{"model_id": "m", "init_image": "https://x/a.png"}, wantMissing: []string{"mask_image"}},
		{name: "text_to_speech needs prompt not text", endpoint: "voice/text_to_speech",
			params: map[string]any{"text": "hi", "voice_id": "v", "language": "english"}, wantMissing: []string{"prompt"}},
		{name: "image_to_3d with neither image", endpoint: "3d/image_to_3d", wantMissing: []string{"image or init_image"}},
		{name: "song_generator without lyrics", endpoint: "voice/song_generator",
			params: map[string]any{"prompt": "pop"}, wantMissing: []string{"lyrics"}},
		{name: "song_generator generating lyrics without caption", endpoint: "voice/song_generator",
			params: map[string]any{"lyrics_generation": true, "prompt": "pop"}, wantMissing: []string{"caption"}},
		{name: "lora_fine_tune with empty images", endpoint: "lora_fine_tune",
			params: map[string]any{"instance_prompt": "a", "class_prompt": "b", "images": []any{},
				"training_type": "men", "max_train_steps": 10}, wantMissing: []string{"images"}},
		{name: "workflow run without workflow_id", endpoint: "workflows/run", wantMissing: []string{"workflow_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(http.StatusOK, processingReply))
			_, err := p.client(t).Submit(context.Background(), SubmitRequest{
				Endpoint: mustLookup(t, tt.endpoint), Params: tt.params, WebhookURL: "https://h/x", TrackID: "t",
			})
			pe := providerError(t, err)
			require.Equal(t, ErrTypeInvalidRequest, pe.Type)
			require.False(t, pe.Retryable())
			var mf *MissingFieldsError
			require.ErrorAs(t, err, &mf)
			require.Equal(t, tt.wantMissing, mf.Fields)
			require.Equal(t, "modelslab "+pe.Endpoint+": invalid parameters: "+mf.Error(), err.Error())
			require.Empty(t, p.requests(), "nothing may be sent for an invalid request")
		})
	}
}

func TestSubmitRefusesReservedParams(t *testing.T) {
	t.Parallel()
	for _, reserved := range []string{"key", "webhook", "webhook_url", "track_id"} {
		t.Run(reserved, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(http.StatusOK, processingReply))
			_, err := p.client(t).Submit(context.Background(), SubmitRequest{
				Endpoint: mustLookup(t, "images/text2img"),
				Params:   map[string]any{"model_id": "m", "prompt": "p", reserved: "x"},
			})
			pe := providerError(t, err)
			require.Equal(t, ErrTypeInvalidRequest, pe.Type)
			require.Contains(t, pe.Message, `"`+reserved+`"`)
			require.Empty(t, p.requests())
		})
	}
}

func TestSubmitRefusesUnencodableParams(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, processingReply))
	_, err := p.client(t).Submit(context.Background(), SubmitRequest{
		Endpoint: mustLookup(t, "images/text2img"),
		Params:   map[string]any{"model_id": "m", "prompt": "p", "bad": make(chan int)},
	})
	require.Equal(t, ErrTypeInvalidRequest, providerError(t, err).Type)
	require.Empty(t, p.requests())
}

func TestSubmitReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		reply       string
		wantErrType string
		want        Result
	}{
		{name: "sync success without id is accepted",
			reply: `{"status":"success","output":["https://x/0.png"]}`,
			want:  Result{Status: StatusSuccess, TrackID: "t", Output: []string{"https://x/0.png"}}},
		{name: "processing without any id cannot be followed (nor retried)",
			reply: `{"status":"processing","eta":3}`, wantErrType: ErrTypeUnusableReply},
		{name: "processing with id only in meta",
			reply: `{"status":"processing","meta":{"id":"77"}}`,
			want:  Result{Status: StatusProcessing, ID: "77", TrackID: "t", Meta: map[string]any{"id": "77"}}},
		{name: "track_id echoed as a number",
			reply: `{"status":"processing","id":1,"track_id":42}`,
			want:  Result{Status: StatusProcessing, ID: "1", TrackID: "42"}},
		{name: "meta as an empty PHP array",
			reply: `{"status":"processing","id":1,"meta":[]}`,
			want:  Result{Status: StatusProcessing, ID: "1", TrackID: "t"}},
		{name: "an echoed key is dropped from meta",
			reply: `{"status":"processing","id":1,"meta":{"key":"` + testKey + `","prompt":"p"}}`,
			want:  Result{Status: StatusProcessing, ID: "1", TrackID: "t", Meta: map[string]any{"prompt": "p"}}},
		{name: "non-finite and negative eta become zero",
			reply: `{"status":"processing","id":1,"eta":"NaN","generationTime":"Inf"}`,
			want:  Result{Status: StatusProcessing, ID: "1", TrackID: "t"}},
		{name: "negative eta",
			reply: `{"status":"processing","id":1,"eta":-4}`,
			want:  Result{Status: StatusProcessing, ID: "1", TrackID: "t"}},
		{name: "eta as a string",
			reply: `{"status":"processing","id":1,"eta":"7.5"}`,
			want:  Result{Status: StatusProcessing, ID: "1", TrackID: "t", ETA: 7.5}},
		{name: "v7 output_url",
			reply: `{"status":"success","id":3,"output_url":"https://x/v.mp4"}`,
			want:  Result{Status: StatusSuccess, ID: "3", TrackID: "t", Output: []string{"https://x/v.mp4"}}},
		{name: "voice cover links",
			reply: `{"status":"success","id":3,"output":[],"links":["https://x/a.mp3"]}`,
			want:  Result{Status: StatusSuccess, ID: "3", TrackID: "t", Output: []string{"https://x/a.mp3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(http.StatusOK, tt.reply))
			res, err := p.client(t).Submit(context.Background(), SubmitRequest{
				Endpoint: mustLookup(t, "images/text2img"), Params: map[string]any{"model_id": "m", "prompt": "p"}, TrackID: "t",
			})
			if tt.wantErrType != "" {
				require.Equal(t, tt.wantErrType, providerError(t, err).Type)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, res)
			_, err = json.Marshal(res)
			require.NoError(t, err, "a Result must encode, it travels as a Temporal payload")
		})
	}
}

func TestClientSendsUserAgentAndAccept(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, processingReply))
	c, err := New(Options{BaseURL: p.srv.URL + "/api/", APIKey: testKey, UserAgent: "genflow-test/1"})
	require.NoError(t, err)
	_, err = c.Fetch(context.Background(), mustLookup(t, "images/text2img"), "1", nil)
	require.NoError(t, err)
	h := p.requests()[0].Header
	require.Equal(t, "genflow-test/1", h.Get("User-Agent"))
	require.Equal(t, "application/json", h.Get("Accept"))
	require.Empty(t, h.Get("key"), "the key goes in the body outside the workflows API")
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, processingReply))
	c := p.client(t)
	ep := mustLookup(t, "images/text2img")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Submit(context.Background(), SubmitRequest{Endpoint: ep, Params: map[string]any{"model_id": "m", "prompt": "p"}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, p.requests(), 16)
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	inner := errors.New("dial tcp: refused")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{name: "http", err: &Error{Type: ErrTypeServer, Endpoint: "images/text2img", HTTPStatus: 500, Message: "Internal Server Error"},
			want: "modelslab images/text2img: Internal Server Error (HTTP 500)"},
		{name: "transport", err: &Error{Type: ErrTypeTransport, Endpoint: "video/text2video", Message: "POST http://x/api/v6/video/text2video", Err: inner},
			want: "modelslab video/text2video: POST http://x/api/v6/video/text2video: dial tcp: refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.err.Error())
			require.Equal(t, tt.err.Err, errors.Unwrap(tt.err))
		})
	}
	require.False(t, IsRetryable(context.Canceled))
	require.False(t, IsRetryable(errors.New("plain")))
	require.True(t, IsRetryable(errors.Join(errors.New("x"), &Error{Type: ErrTypeRateLimited})))
	require.True(t, strings.HasPrefix(ErrTypeInvalidKey, "ModelsLab"))
}

// After any 2xx the provider may have accepted (and charged) the request:
// Submit follows whatever id the reply holds, and otherwise fails with a
// non-retryable ErrTypeUnusableReply that carries the reply, redacted.
// Explicit error replies keep their classification.
func TestSubmitNeverRetriedAfter2xx(t *testing.T) {
	t.Parallel()
	const hook = "https://gw.example/webhooks/modelslab/t?exp=1900000000&sig=SIGSECRETSIGSECRET"
	escapedHook := strings.ReplaceAll(hook, "/", `\/`)
	tests := []struct {
		name      string
		status    int
		body      string
		endpoint  string
		want      Result // when the id is recovered
		wantType  string // when it fails
		wantReply string // a part of the reply the message must keep
	}{
		{name: "processing without id, id in fetch_result", status: 200,
			body: `{"status":"processing","eta":3,"fetch_result":"https://modelslab.com/api/v6/images/fetch/134701497","output":[]}`,
			want: Result{Status: StatusProcessing, ID: "134701497", TrackID: "t", ETA: 3,
				FetchURL: "https://modelslab.com/api/v6/images/fetch/134701497"}},
		{name: "fetch_result with a trailing slash and a query", status: 200,
			body: `{"status":"processing","fetch_result":"https:\/\/modelslab.com\/api\/v6\/images\/fetch\/99\/?x=1"}`,
			want: Result{Status: StatusProcessing, ID: "99", TrackID: "t", FetchURL: "https://modelslab.com/api/v6/images/fetch/99/?x=1"}},
		{name: "processing without id, request_id", status: 200,
			body: `{"status":"processing","request_id":"abc-1"}`,
			want: Result{Status: StatusProcessing, ID: "abc-1", TrackID: "t"}},
		{name: "processing without id, request_id in meta", status: 200,
			body: `{"status":"processing","meta":{"request_id":42,"prompt":"p"}}`,
			want: Result{Status: StatusProcessing, ID: "42", TrackID: "t", Meta: map[string]any{"request_id": json.Number("42"), "prompt": "p"}}},
		{name: "no status but an id to follow", status: 200,
			body: `{"fetch_result":"https://modelslab.com/api/v6/images/fetch/7","eta":5}`,
			want: Result{Status: StatusProcessing, ID: "7", TrackID: "t", ETA: 5, FetchURL: "https://modelslab.com/api/v6/images/fetch/7"}},
		{name: "workflow run with only status_url", status: 202, endpoint: "workflows/run",
			body: `{"status":"success","message":"Workflow execution started.","status_url":"https://modelslab.com/api/v1/workflows/wf-1/runs/12345"}`,
			want: Result{Status: StatusProcessing, ID: "12345", TrackID: "t", Stage: "pending", Message: "Workflow execution started."}},

		{name: "processing without any id", status: 200, body: `{"status":"processing","eta":3}`,
			wantType: ErrTypeUnusableReply, wantReply: `\"eta\":3`},
		{name: "201 processing without any id", status: 201, body: `{"status":"processing"}`,
			wantType: ErrTypeUnusableReply, wantReply: "processing"},
		{name: "fetch_result without an id", status: 200,
			body:     `{"status":"processing","fetch_result":"https://modelslab.com/api/v6/images/fetch"}`,
			wantType: ErrTypeUnusableReply, wantReply: "images/fetch"},
		{name: "no status", status: 200, body: `{"output":[],"tip":"try later"}`,
			wantType: ErrTypeUnusableReply, wantReply: "try later"},
		{name: "JSON null", status: 200, body: `null`, wantType: ErrTypeUnusableReply, wantReply: "null"},
		{name: "not JSON", status: 200, body: `<html>maintenance</html>`,
			wantType: ErrTypeUnusableReply, wantReply: "<html>maintenance</html>"},
		{name: "empty body", status: 200, body: ``, wantType: ErrTypeUnusableReply},
		{name: "truncated JSON", status: 200, body: `{"status":"processing","id":1347`,
			wantType: ErrTypeUnusableReply, wantReply: `\"id\":1347`},
		{name: "echoed key and webhook are redacted", status: 200,
			body: `{"status":"processing","key":"` + testKey + `","meta":{"key":"` + testKey + `","webhook":"` + escapedHook +
				`","webhook_url":"` + hook + `","prompt":"a red fox"}}`,
			wantType: ErrTypeUnusableReply, wantReply: "a red fox"},
		{name: "key and webhook in a non-JSON reply are redacted", status: 200,
			body:     `Fatal error: key=` + testKey + ` webhook=` + escapedHook + ` hook=` + hook,
			wantType: ErrTypeUnusableReply, wantReply: "Fatal error"},

		{name: "error reply with a rate limit stays retryable", status: 200,
			body: `{"status":"error","message":"Rate limit exceeded.","retry_after":3}`, wantType: ErrTypeRateLimited},
		{name: "error reply with a validation message", status: 200,
			body: `{"status":"error","message":"prompt is required"}`, wantType: ErrTypeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, answer(tt.status, tt.body))
			ep := "images/text2img"
			params := map[string]any{"model_id": "m", "prompt": "p"}
			if tt.endpoint != "" {
				ep = tt.endpoint
				params = map[string]any{"workflow_id": "wf-1"}
			}
			res, err := p.client(t).Submit(context.Background(), SubmitRequest{
				Endpoint: mustLookup(t, ep), Params: params, TrackID: "t", WebhookURL: hook,
			})
			require.Len(t, p.requests(), 1)
			if tt.wantType == "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, res)
				return
			}
			pe := providerError(t, err)
			require.Equal(t, tt.wantType, pe.Type)
			require.Equal(t, tt.status, pe.HTTPStatus)
			if tt.wantType != ErrTypeUnusableReply {
				return
			}
			require.False(t, pe.Retryable())
			require.False(t, IsRetryable(err))
			require.Contains(t, NonRetryableErrorTypes, pe.Type)
			require.Contains(t, pe.Message, "may have accepted (and charged)")
			require.Contains(t, pe.Message, tt.wantReply)
			for _, secret := range []string{testKey, "SIGSECRET", "exp=1900000000"} {
				require.NotContains(t, err.Error(), secret)
			}
		})
	}
}

// A 2xx reply whose body breaks off is not retried either: the provider
// had answered, so it may have taken the request.
func TestSubmitReplyCutAfter2xxIsNotRetried(t *testing.T) {
	t.Parallel()
	p := newProvider(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "200")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"status":"processing","id":`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // cut the connection mid-body
	})
	_, err := p.client(t).Submit(context.Background(), SubmitRequest{
		Endpoint: mustLookup(t, "images/text2img"), Params: map[string]any{"model_id": "m", "prompt": "p"},
	})
	pe := providerError(t, err)
	require.Equal(t, ErrTypeUnusableReply, pe.Type)
	require.False(t, pe.Retryable())
	require.Equal(t, http.StatusOK, pe.HTTPStatus)
	require.Contains(t, pe.Message, "was cut off")
	require.Contains(t, pe.Message, `{\"status\":\"processing\",\"id\":`)

	// Fetch, which is safe to repeat, still retries it.
	_, err = p.client(t).Fetch(context.Background(), mustLookup(t, "images/text2img"), "1", nil)
	require.True(t, IsRetryable(err), "%v", err)
}
