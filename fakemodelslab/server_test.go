package fakemodelslab

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		attempts        int
		status          func(n int) int
		wantSent        int
		wantErrors      int
		wantUndelivered int
	}{
		{"succeeds on third try", 3, func(n int) int {
			if n < 3 {
				return http.StatusBadGateway
			}
			return http.StatusOK
		}, 1, 2, 0},
		{"gives up", 2, func(int) int { return http.StatusInternalServerError }, 0, 2, 1},
		{"202 is success", 3, func(int) int { return http.StatusAccepted }, 1, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, Options{WebhookAttempts: tc.attempts})
			rc := newReceiver(t, tc.status)
			_, err := newClient(t, srv, "k").Submit(context.Background(), modelslab.SubmitRequest{
				Endpoint: endpoint(t, "text2img"), Params: text2img(), WebhookURL: rc.URL + "/h", TrackID: "r"})
			require.NoError(t, err)
			st := waitStats(t, srv, func(st Stats) bool { return st.WebhooksSent+st.WebhooksUndelivered == 1 })
			require.Equal(t, tc.wantSent, st.WebhooksSent)
			require.Equal(t, tc.wantErrors, st.WebhookErrors)
			require.Equal(t, tc.wantUndelivered, st.WebhooksUndelivered)
			require.Equal(t, tc.wantSent, st.Tracks["r"].WebhooksSent)
		})
	}
}

func TestWebhookUnreachable(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{WebhookAttempts: 2})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	_, err := newClient(t, srv, "k").Submit(context.Background(), modelslab.SubmitRequest{
		Endpoint: endpoint(t, "text2img"), Params: text2img(), WebhookURL: deadURL + "/h"})
	require.NoError(t, err)
	st := waitStats(t, srv, func(st Stats) bool { return st.WebhooksUndelivered == 1 })
	require.Equal(t, 2, st.WebhookErrors)
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})

	resp, body := get(t, srv.URL+"/_fake/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"status":"ok"}`, string(body))

	put := func(body string) (int, string) {
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/_fake/faults", strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, reply := put(`{"rules":[{"match":"boom","fault":"5xx"}],"rates":{"drop":0.5},"delay":"2s"}`)
	require.Equal(t, http.StatusOK, code, reply)
	require.Equal(t, Faults{Rules: []Rule{{Match: "boom", Fault: Fault5xx}}, Rates: map[Fault]float64{FaultDrop: 0.5},
		Delay: 2 * time.Second}, srv.Faults())
	_, body = get(t, srv.URL+"/_fake/faults")
	require.JSONEq(t, reply, string(body))

	for _, bad := range []string{`{"rules":[{"fault":"nope"}]}`, `{"x":1}`, `not json`} {
		code, reply := put(bad)
		require.Equal(t, http.StatusBadRequest, code, bad)
		require.Contains(t, reply, `"status":"error"`)
	}

	c := newClient(t, srv, "k")
	_, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img(), TrackID: "boom-1"})
	require.Equal(t, modelslab.ErrTypeServer, asError(t, err).Type)
	_, err = c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img(), TrackID: "fine-1"})
	require.NoError(t, err)

	_, body = get(t, srv.URL+"/_fake/stats")
	var st Stats
	require.NoError(t, json.Unmarshal(body, &st))
	require.Equal(t, 1, st.Accepted)
	require.Equal(t, 1, st.Rejected5xx)
	require.Equal(t, 1, st.Tracks["fine-1"].Submissions)
	require.Equal(t, 1, st.Tracks["boom-1"].Rejected)
}

func TestStatsIsACopy(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	_, err := newClient(t, srv, "k").Submit(context.Background(), modelslab.SubmitRequest{
		Endpoint: endpoint(t, "text2img"), Params: text2img(), TrackID: "c"})
	require.NoError(t, err)
	st := srv.Stats()
	st.Tracks["c"].IDs[0] = "changed"
	delete(st.Tracks, "c")
	require.Equal(t, 1, srv.Submissions("c"))
	require.NotEqual(t, "changed", srv.Stats().Tracks["c"].IDs[0])
}

func TestFiles(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{Faults: Faults{Rules: []Rule{{Fault: FaultImmediate}}}})
	sub, err := newClient(t, srv, "k").Submit(context.Background(), modelslab.SubmitRequest{
		Endpoint: endpoint(t, "text2img"), Params: map[string]any{"model_id": "m", "prompt": "p", "samples": 2}})
	require.NoError(t, err)
	require.Len(t, sub.Output, 2)

	_, a := get(t, sub.Output[0])
	_, b := get(t, sub.Output[1])
	require.NotEqual(t, a, b, "outputs differ")

	cases := []struct {
		name string
		path string
		want int
	}{
		{"first", "/files/" + sub.ID + "-0.png", http.StatusOK},
		{"proxy link", "/cdn/" + sub.ID + "-1.png", http.StatusOK},
		{"past the samples", "/files/" + sub.ID + "-2.png", http.StatusNotFound},
		{"wrong extension", "/files/" + sub.ID + "-0.mp4", http.StatusNotFound},
		{"unknown extension", "/files/" + sub.ID + "-0.exe", http.StatusNotFound},
		{"unknown id", "/files/1-0.png", http.StatusNotFound},
		{"garbage", "/files/nothing", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, _ := get(t, srv.URL+tc.path)
			require.Equal(t, tc.want, resp.StatusCode)
		})
	}

	t.Run("head and range", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodGet, sub.Output[0], nil)
		require.NoError(t, err)
		req.Header.Set("Range", "bytes=0-7")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		require.Equal(t, "\x89PNG\r\n\x1a\n", string(body))

		head, err := http.Head(sub.Output[0])
		require.NoError(t, err)
		head.Body.Close()
		require.Equal(t, http.StatusOK, head.StatusCode)
		require.Equal(t, "image/png", head.Header.Get("Content-Type"))
	})
}

func TestFileContentTypes(t *testing.T) {
	t.Parallel()
	for ext := range contentTypes {
		t.Run(ext, func(t *testing.T) {
			t.Parallel()
			b, err := fileContent(ext, 42)
			require.NoError(t, err)
			require.NotEmpty(t, b)
			switch ext {
			case "png", "gif", "wav", "mp4", "glb", "obj":
				checkFile(t, ext, b)
			}
		})
	}
}

// TestHandlerWithoutPublicURL serves New's handler from a listener of the
// test's own: links follow the request's Host.
func TestHandlerWithoutPublicURL(t *testing.T) {
	t.Parallel()
	fake := New(Options{ProcessingTime: time.Hour})
	ts := httptest.NewServer(fake.Handler())
	t.Cleanup(func() {
		ts.Close()
		fake.Close()
	})
	code, body := postJSON(t, ts.URL+"/api/v6/images/text2img", "application/json", `{"key":"k","model_id":"m","prompt":"p"}`)
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.HasPrefix(body["fetch_result"].(string), ts.URL+"/api/v6/images/fetch/"), body["fetch_result"])
	require.Empty(t, fake.URL)
}

func TestSubmitAfterClose(t *testing.T) {
	t.Parallel()
	fake := New(Options{})
	fake.Close()
	fake.Close() // idempotent
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v6/images/text2img",
		bytes.NewBufferString(`{"key":"k","model_id":"m","prompt":"p"}`))
	req.Header.Set("Content-Type", "application/json")
	fake.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Zero(t, fake.Stats().Accepted)
}

// TestCloseLeavesNoGoroutines closes a server with results pending, a
// webhook in backoff and a delayed webhook, and checks that none of its
// goroutines remain. It is not parallel so that no other test's server is
// running.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	rc := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	webhooks := NewServer(Options{
		ProcessingTime: 10 * time.Millisecond,
		WebhookBackoff: time.Hour,
		Faults:         Faults{Rules: []Rule{{Match: "late", Fault: FaultDelay}}, Delay: time.Hour},
	})
	pending := NewServer(Options{ProcessingTime: time.Hour})
	for _, track := range []string{"backoff", "late"} {
		_, err := newClient(t, webhooks, "k").Submit(context.Background(), modelslab.SubmitRequest{
			Endpoint: endpoint(t, "text2img"), Params: text2img(), WebhookURL: rc.URL + "/h", TrackID: track})
		require.NoError(t, err)
	}
	_, err := newClient(t, pending, "k").Submit(context.Background(), modelslab.SubmitRequest{
		Endpoint: endpoint(t, "text2img"), Params: text2img(), WebhookURL: rc.URL + "/h"})
	require.NoError(t, err)
	waitStats(t, webhooks, func(st Stats) bool { return st.WebhookErrors == 1 && st.Succeeded == 2 })
	require.True(t, serverGoroutines(), "the servers have work in flight")

	start := time.Now()
	webhooks.Close()
	pending.Close()
	require.Less(t, time.Since(start), 5*time.Second)
	require.Eventually(t, func() bool { return !serverGoroutines() }, waitTimeout, 5*time.Millisecond,
		"goroutines left:\n%s", allStacks())
}

func serverGoroutines() bool {
	return strings.Contains(allStacks(), "fakemodelslab.(*Server)")
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	// Drop the calling goroutine, which is this test.
	stacks := strings.Split(string(buf[:n]), "\n\n")
	return strings.Join(stacks[1:], "\n\n")
}
