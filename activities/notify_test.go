package activities_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/notify"
)

func TestNotify(t *testing.T) {
	t.Parallel()
	secret, err := notify.NewSecret()
	require.NoError(t, err)
	status := http.StatusNoContent
	var body []byte
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		header = r.Header.Clone()
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "9")
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	in := activities.NotifyInput{URL: srv.URL, MessageID: "msg_gen-1_run-1", Notification: contract.Notification{
		Type: contract.NotifyGenerationSucceeded, Timestamp: time.Now().UTC().Truncate(time.Second),
		Data: contract.NotificationData{TrackID: "gen-1", Endpoint: "images/text2img",
			Result: &contract.GenerationResult{TrackID: "gen-1", Output: []string{"https://cdn.example/a.png"}}},
	}}
	run := func(a *activities.Activities) error {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		_, err := env.ExecuteActivity(a.Notify, in)
		return err
	}
	counts := &resultCounts{}
	a := &activities.Activities{Notifier: &notify.Sender{Secrets: []notify.Secret{secret}, Client: loopbackClient}, Results: counts}

	// Delivered, verified by the reference library.
	require.NoError(t, run(a))
	wh, err := standardwebhooks.NewWebhook(secret.String())
	require.NoError(t, err)
	require.NoError(t, wh.Verify(body, header))
	require.Equal(t, "msg_gen-1_run-1", header.Get("webhook-id"))
	require.JSONEq(t, `{"type":"generation.succeeded","timestamp":"`+in.Notification.Timestamp.Format(time.RFC3339)+`",
		"data":{"track_id":"gen-1","endpoint":"images/text2img","result":{"track_id":"gen-1","endpoint":"","output":["https://cdn.example/a.png"],
		"learned_by":"","webhooks_received":0,"duplicates_ignored":0,"polls":0,"timings":{"started_at":"0001-01-01T00:00:00Z","submitted_at":"0001-01-01T00:00:00Z","completed_at":"0001-01-01T00:00:00Z","total":0,"total_seconds":0}}}}`, string(body))

	// A 429 is retried after the receiver's Retry-After.
	status = http.StatusTooManyRequests
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(run(a), &appErr))
	require.Equal(t, activities.ErrTypeNotifyFailed, appErr.Type())
	require.False(t, appErr.NonRetryable())
	require.Equal(t, 9*time.Second, appErr.NextRetryDelay())

	// A 400 is not retried.
	status = http.StatusBadRequest
	require.True(t, errors.As(run(a), &appErr))
	require.Equal(t, activities.ErrTypeNotifyRejected, appErr.Type())
	require.True(t, appErr.NonRetryable())

	// A worker without secrets says so, once.
	require.True(t, errors.As(run(&activities.Activities{Results: counts}), &appErr))
	require.Equal(t, activities.ErrTypeNotifyNotConfigured, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Equal(t, map[string]int{metrics.NotifyDelivered: 1, metrics.NotifyRetryable: 1, metrics.NotifyRejected: 1, metrics.NotifyNotConfigured: 1}, counts.notifications)
}
