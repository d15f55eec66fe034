package workflows

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

// lockedBuffer is a log sink shared by the test environment's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A notify URL's user information and query (where receivers put their
// tokens) stay out of the workflow's log and of the run's state, also
// when the Notify activity's error quotes the URL in full (as releases
// before the outbound policy did).
func TestNotifyURLIsRedactedInLogsAndState(t *testing.T) {
	t.Parallel()
	const hook = "https://app:pa55word@app.example/hooks/genflow?token=s3cret"
	var logs lockedBuffer
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Generation, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.Activities{Provider: unmocked{t}, Webhooks: unmocked{t}})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testTrackID})
	env.SetTestTimeout(30 * time.Second)
	recordUpserts(env)
	n := &notifications{err: temporal.NewNonRetryableApplicationError(
		`notification rejected: Post "`+hook+`": HTTP 410`, activities.ErrTypeNotifyRejected, errors.New("gone"))}
	n.mock(env)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example/i.png"), nil).Once()
	in := text2img()
	in.NotifyURL = hook
	env.ExecuteWorkflow(Generation, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, hook, n.got[0].URL, "the activity gets the whole URL")

	// The workflow's own line (the SDK logs the activity's error as the
	// activity returned it: the Notify activity keeps tokens out of it).
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "notification not delivered") {
			line = l
		}
	}
	require.Contains(t, line, "url=https://app.example/hooks/genflow ")
	notified := queryState(t, env).Notified
	require.Contains(t, notified, "failed: ")
	require.Contains(t, notified, "https://app.example/hooks/genflow")
	for _, secret := range []string{"s3cret", "pa55word"} {
		require.NotContains(t, line, secret)
		require.NotContains(t, notified, secret)
	}
}
