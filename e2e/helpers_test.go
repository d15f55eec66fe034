package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/webhookgateway"
)

func workflowExecution(id, runID string) workflow.Execution {
	return workflow.Execution{ID: id, RunID: runID}
}

// newLoopbackServer serves h on a real loopback socket until the test ends.
func newLoopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- webhookgateway.Serve(ctx, ln, h, quietLogger()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// nilLogger drops the SDK's log lines.
type nilLogger struct{}

func (nilLogger) Debug(string, ...interface{}) {}
func (nilLogger) Info(string, ...interface{})  {}
func (nilLogger) Warn(string, ...interface{})  {}
func (nilLogger) Error(string, ...interface{}) {}

var _ log.Logger = nilLogger{}

// received is one request a notification receiver took.
type received struct {
	header http.Header
	body   []byte
}

// notifyReceiver is an app's notification endpoint: it answers 503 to the
// first failFirst requests, then 204, and records every request.
func notifyReceiver(t *testing.T, failFirst int) (url string, got func() []received) {
	t.Helper()
	var mu sync.Mutex
	var reqs []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, received{header: r.Header.Clone(), body: b})
		n := len(reqs)
		mu.Unlock()
		if n <= failFirst {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), reqs...)
	}
}
