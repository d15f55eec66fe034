package modelslab

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hookWithSig is a webhook URL as the worker signs it.
const hookWithSig = "https://gw.example/webhooks/modelslab/t-1?exp=1893456000&sig=c2VjcmV0LXNpZy12YWx1ZS0wMTIzNDU2Nzg5YWJjZGVm"

// sigValue is the sig of hookWithSig, which must appear nowhere.
const sigValue = "c2VjcmV0LXNpZy12YWx1ZS0wMTIzNDU2Nzg5YWJjZGVm"

// TestRedirectsAreRefused: a 3xx from the provider is an error, and
// nothing (key, body, key header) goes to where it points, whether
// another host or the same one, for submit, fetch and the workflows API,
// with the caller's own http.Client too.
func TestRedirectsAreRefused(t *testing.T) {
	t.Parallel()
	elsewhere := newProvider(t, answer(http.StatusOK, processingReply))
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, target := range []string{"other-host", "same-host"} {
			t.Run(http.StatusText(code)+"/"+target, func(t *testing.T) {
				t.Parallel()
				var p *provider
				p = newProvider(t, func(w http.ResponseWriter, r *http.Request) {
					if strings.HasPrefix(r.URL.Path, "/moved/") {
						answer(http.StatusOK, processingReply)(w, r)
						return
					}
					to := elsewhere.srv.URL + r.URL.Path
					if target == "same-host" {
						to = p.srv.URL + "/moved" + r.URL.Path
					}
					w.Header().Set("Location", to+"?token=secret")
					w.WriteHeader(code)
				})
				hc := p.srv.Client()
				c, err := New(Options{BaseURL: p.srv.URL + "/api/", APIKey: testKey, HTTPClient: hc})
				require.NoError(t, err)
				require.Nil(t, hc.CheckRedirect, "the caller's client is left as it was")
				before := len(elsewhere.requests())

				_, err = c.Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
					Params: map[string]any{"model_id": "m", "prompt": "p"}, WebhookURL: hookWithSig, TrackID: "t-1"})
				pe := providerError(t, err)
				require.Equal(t, ErrTypeRedirect, pe.Type)
				require.Equal(t, code, pe.HTTPStatus)
				require.False(t, pe.Retryable())
				require.Contains(t, NonRetryableErrorTypes, ErrTypeRedirect)
				require.Contains(t, pe.Error(), "redirect")
				require.NotContains(t, pe.Error(), "secret", "the Location's query is not shown")

				_, err = c.Fetch(context.Background(), mustLookup(t, "images/text2img"), "1", nil)
				require.Equal(t, ErrTypeRedirect, providerError(t, err).Type)

				_, err = c.Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "workflows/run"),
					Params: map[string]any{"workflow_id": "wf-1"}, WebhookURL: hookWithSig})
				require.Equal(t, ErrTypeRedirect, providerError(t, err).Type)

				require.Len(t, elsewhere.requests(), before, "nothing reached the other host")
				for _, r := range p.requests() {
					require.False(t, strings.HasPrefix(r.Path, "/moved/"), "the same-host redirect was followed")
				}
				require.Len(t, p.requests(), 3)
			})
		}
	}
}

// TestBaseURLNeedsHTTPS: the key travels in every request, so a plain
// http base URL is refused outside loopback unless AllowHTTP says so.
func TestBaseURLNeedsHTTPS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base      string
		allowHTTP bool
		ok        bool
	}{
		{base: "https://modelslab.com/api/", ok: true},
		{base: "https://10.0.0.5/api/", ok: true},
		{base: "http://modelslab.com/api/"},
		{base: "http://fakemodelslab:8090/api/"},
		{base: "http://10.0.0.5:8090/api/"},
		{base: "http://127.0.0.2.example.com/api/"},
		{base: "http://fakemodelslab:8090/api/", allowHTTP: true, ok: true},
		{base: "http://127.0.0.1:8090/api/", ok: true},
		{base: "http://127.8.9.10:8090/api/", ok: true},
		{base: "http://[::1]:8090/api/", ok: true},
		{base: "http://localhost:8090/api/", ok: true},
		{base: "http://LOCALHOST:8090/api/", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			t.Parallel()
			_, err := New(Options{BaseURL: tt.base, APIKey: "k", AllowHTTP: tt.allowHTTP})
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "https")
			require.ErrorContains(t, err, "AllowHTTP")
		})
	}
}

// echoedMeta is meta as a provider that echoes every parameter sends it:
// the webhook URL (plain, nested, percent-encoded), the key, the track_id.
func echoedMeta() string {
	return `{"prompt":"a cat","webhook":"` + hookWithSig + `","webhook_url":"` + hookWithSig + `","key":"` + testKey + `",` +
		`"track_id":"t-1","id":"134701497","extra":{"callback":"` + hookWithSig + `","list":["x","` + hookWithSig + `"]},` +
		`"encoded":"https%3A%2F%2Fgw.example%2Fwebhooks%2Fmodelslab%2Ft-1%3Fexp%3D1%26sig%3D` + sigValue + `"}`
}

// requireNoSecrets fails if r, as JSON (history payloads are), holds the
// sig or the key, or meta keeps the webhook fields.
func requireNoSecrets(t *testing.T, r Result) {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.NotContains(t, string(b), sigValue)
	require.NotContains(t, string(b), testKey)
	for _, k := range []string{"webhook", "webhook_url", "key"} {
		require.NotContains(t, r.Meta, k)
	}
}

// TestWebhookURLIsStripped: no webhook URL or sig in what a submit reply,
// a fetch reply or a webhook becomes, nor in the messages they carry; the
// rest of meta is kept.
func TestWebhookURLIsStripped(t *testing.T) {
	t.Parallel()
	msg := `"message":"webhook ` + hookWithSig + ` noted"`
	processing := `{"status":"processing","id":134701497,"eta":2,"output":[],` + msg + `,"meta":` + echoedMeta() + `}`
	success := `{"status":"success","id":134701497,"output":["https://cdn.example/a.png?sig=keep"],` + msg + `,"meta":` + echoedMeta() + `}`

	check := func(t *testing.T, r Result) {
		t.Helper()
		requireNoSecrets(t, r)
		require.Equal(t, "a cat", r.Meta["prompt"])
		require.Equal(t, "t-1", r.Meta["track_id"])
		require.Contains(t, r.Message, "webhook https://gw.example/webhooks/modelslab/t-1?exp=1893456000&sig=")
		extra, ok := r.Meta["extra"].(map[string]any)
		require.True(t, ok)
		require.NotContains(t, extra["callback"], sigValue)
	}

	t.Run("submit", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, answer(http.StatusOK, processing))
		r, err := p.client(t).Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
			Params: map[string]any{"model_id": "m", "prompt": "p"}, WebhookURL: hookWithSig, TrackID: "t-1"})
		require.NoError(t, err)
		check(t, r)
		require.Equal(t, "134701497", r.ID)
	})
	t.Run("fetch", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, answer(http.StatusOK, success))
		r, err := p.client(t).Fetch(context.Background(), mustLookup(t, "images/text2img"), "134701497", nil)
		require.NoError(t, err)
		check(t, r)
		require.Equal(t, []string{"https://cdn.example/a.png?sig=keep"}, r.Output, "outputs are the provider's, untouched")
	})
	t.Run("webhook", func(t *testing.T) {
		t.Parallel()
		r, err := ParseWebhook([]byte(success))
		require.NoError(t, err)
		check(t, r)
	})
	t.Run("training webhook logs", func(t *testing.T) {
		t.Parallel()
		r, err := ParseWebhook([]byte(`{"status":"success","training_status":"deploying_gpu","model_id":"F5",` +
			`"logs":"callback ` + hookWithSig + `"}`))
		require.NoError(t, err)
		requireNoSecrets(t, r)
	})
	t.Run("error message", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, answer(http.StatusOK, `{"status":"error","message":"webhook `+hookWithSig+` is not reachable"}`))
		_, err := p.client(t).Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
			Params: map[string]any{"model_id": "m", "prompt": "p"}, WebhookURL: hookWithSig, TrackID: "t-1"})
		pe := providerError(t, err)
		require.NotContains(t, pe.Error(), sigValue)
		require.Contains(t, pe.Error(), "is not reachable")
	})
	t.Run("bad fetch reply", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, answer(http.StatusOK, `<html>`+hookWithSig+`</html>`))
		_, err := p.client(t).Fetch(context.Background(), mustLookup(t, "images/text2img"), "1", nil)
		require.NotContains(t, providerError(t, err).Error(), sigValue)
	})
	t.Run("http error", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, answer(http.StatusBadRequest, `{"status":"error","message":"bad webhook `+hookWithSig+`"}`))
		_, err := p.client(t).Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
			Params: map[string]any{"model_id": "m", "prompt": "p"}, WebhookURL: hookWithSig, TrackID: "t-1"})
		require.NotContains(t, providerError(t, err).Error(), sigValue)
	})
}

// TestSameID: provider ids compare by value, whether they came as a
// number or a string.
func TestSameID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"134701497", "134701497", true},
		{"134701497", " 134701497 ", true},
		{"134701497", "134701497.0", true},
		{"134701497", "1.34701497e8", true},
		{"9007199254740993", "9007199254740993", true},
		{"9007199254740993", "9007199254740992", false},
		{"134701497", "134701498", false},
		{"abc123-def456", "abc123-def456", true},
		{"abc123-def456", "ABC123-DEF456", false},
		{"F5jvdzGnYi", "F5jvdzGnYi", true},
		{"0x10", "16", false},
		{"1/2", "0.5", false},
		{"", "", true},
	}
	for _, tt := range tests {
		require.Equal(t, tt.same, SameID(tt.a, tt.b), "%q vs %q", tt.a, tt.b)
		require.Equal(t, tt.same, SameID(tt.b, tt.a), "%q vs %q", tt.b, tt.a)
	}
}
