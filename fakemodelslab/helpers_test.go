package fakemodelslab

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

// waitTimeout bounds every wait on a condition; the fake's timings in
// tests are tens of milliseconds.
const waitTimeout = 10 * time.Second

// newFake starts a fake with fast test timings unless opts sets them.
func newFake(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.ProcessingTime == 0 {
		opts.ProcessingTime = 50 * time.Millisecond
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = time.Second
	}
	if opts.WebhookBackoff == 0 {
		opts.WebhookBackoff = 10 * time.Millisecond
	}
	srv := NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t *testing.T, srv *Server, key string) *modelslab.Client {
	t.Helper()
	c, err := modelslab.New(modelslab.Options{BaseURL: srv.BaseURL(), APIKey: key})
	require.NoError(t, err)
	return c
}

func endpoint(t *testing.T, name string) modelslab.Endpoint {
	t.Helper()
	ep, err := modelslab.Lookup(name)
	require.NoError(t, err)
	return ep
}

func text2img() map[string]any {
	return map[string]any{"model_id": "flux", "prompt": "a red fox"}
}

// hook is one webhook POST a receiver got.
type hook struct {
	RequestURI  string
	ContentType string
	Body        []byte
	At          time.Time
}

func (h hook) result(t *testing.T) modelslab.Result {
	t.Helper()
	r, err := modelslab.ParseWebhook(h.Body)
	require.NoError(t, err, "webhook body %s", h.Body)
	return r
}

// receiver is a webhook endpoint that records what it gets. status, if
// set, picks the answer to the n-th POST (from 1).
type receiver struct {
	*httptest.Server
	hooks  chan hook
	mu     sync.Mutex
	n      int
	status func(n int) int
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{hooks: make(chan hook, 64), status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n := rc.n
		rc.mu.Unlock()
		code := http.StatusOK
		if rc.status != nil {
			code = rc.status(n)
		}
		if code == http.StatusOK {
			rc.hooks <- hook{RequestURI: r.RequestURI, ContentType: r.Header.Get("Content-Type"), Body: body, At: time.Now()}
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the next recorded webhook.
func (rc *receiver) next(t *testing.T) hook {
	t.Helper()
	select {
	case h := <-rc.hooks:
		return h
	case <-time.After(waitTimeout):
		t.Fatal("no webhook arrived")
		return hook{}
	}
}

// none asserts that no webhook has been recorded.
func (rc *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case h := <-rc.hooks:
		t.Fatalf("unexpected webhook %s", h.Body)
	default:
	}
}

// awaitTerminal polls Fetch until the result is terminal.
func awaitTerminal(t *testing.T, c *modelslab.Client, ep modelslab.Endpoint, id string, params map[string]any) modelslab.Result {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := c.Fetch(context.Background(), ep, id, params)
		require.NoError(t, err)
		if r.Status.Terminal() {
			return r
		}
		require.True(t, time.Now().Before(deadline), "request %s still %s", id, r.Status)
		<-tick.C
	}
}

// waitStats waits until cond holds for the server's stats.
func waitStats(t *testing.T, srv *Server, cond func(Stats) bool) Stats {
	t.Helper()
	var st Stats
	require.Eventually(t, func() bool {
		st = srv.Stats()
		return cond(st)
	}, waitTimeout, 2*time.Millisecond)
	return st
}

// postJSON sends a raw request and decodes the JSON reply.
func postJSON(t *testing.T, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewBufferString(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m), "reply %s", raw)
	return resp.StatusCode, m
}

// get downloads url.
func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func asError(t *testing.T, err error) *modelslab.Error {
	t.Helper()
	require.Error(t, err)
	var e *modelslab.Error
	require.ErrorAs(t, err, &e)
	return e
}
