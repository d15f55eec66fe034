package e2e

import (
	"context"
	"net"
	"net/http"
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
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// nilLogger drops the SDK's log lines.
type nilLogger struct{}

func (nilLogger) Debug(string, ...interface{}) {}
func (nilLogger) Info(string, ...interface{})  {}
func (nilLogger) Warn(string, ...interface{})  {}
func (nilLogger) Error(string, ...interface{}) {}

var _ log.Logger = nilLogger{}
