package workflows

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/activities"
)

// Issue 16, item 7: a notification's data.error is {type, message}, not
// a Go error chain, and its result's timings name their unit.
func TestNotificationPayloadShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(env *testsuite.TestWorkflowEnvironment)
		// want is data.error as JSON, or "" when there is none.
		want string
	}{
		{"succeeded", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			signalAt(env, time.Second, success("https://cdn.example/n.png"))
		}, ""},
		{"failed", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			signalAt(env, time.Second, failed())
		}, `{"type":"GenerationFailed","message":"` + failed().Message + `"}`},
		{"cancelled", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(600), nil).Once()
			env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
		}, `{"type":"Canceled","message":"the generation was cancelled"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			recordUpserts(env)
			n := &notifications{}
			n.mock(env)
			tt.setup(env)
			env.ExecuteWorkflow(Generation, notifyInput())
			require.True(t, env.IsWorkflowCompleted())
			require.Len(t, n.got, 1)
			body, err := json.Marshal(n.got[0].Notification)
			require.NoError(t, err)
			var doc struct {
				Data struct {
					Error  json.RawMessage `json:"error"`
					Result *struct {
						Timings map[string]any `json:"timings"`
					} `json:"result"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal(body, &doc))
			if tt.want == "" {
				require.Empty(t, doc.Data.Error, "%s", body)
				require.Equal(t, 1.0, doc.Data.Result.Timings["total_seconds"], "%s", body)
				require.EqualValues(t, time.Second, doc.Data.Result.Timings["total"], "%s", body)
				return
			}
			require.JSONEq(t, tt.want, string(doc.Data.Error), "%s", body)
		})
	}
}

// Issue 16, item 4: a worker without a notification secret is named in
// plain words in the state, not as a Go error chain.
func TestNotificationNotConfiguredInPlainWords(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	recordUpserts(env)
	n := &notifications{err: temporal.NewNonRetryableApplicationError("the worker has no notification secret (NOTIFY_SECRETS)",
		activities.ErrTypeNotifyNotConfigured, nil)}
	n.mock(env)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, time.Second, success("https://cdn.example/n.png"))
	env.ExecuteWorkflow(Generation, notifyInput())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, "failed: the worker has no notification secret (NOTIFY_SECRETS): no notification was sent",
		queryState(t, env).Notified)
}
