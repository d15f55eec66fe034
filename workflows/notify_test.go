package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

// notifications records the Notify activity's inputs; fail makes the
// first n attempts fail with a retryable error.
type notifications struct {
	mu   sync.Mutex
	got  []activities.NotifyInput
	fail int
	err  error
}

func (n *notifications) mock(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyInput) error {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.got = append(n.got, in)
		if len(n.got) <= n.fail {
			return temporal.NewApplicationError("receiver down", activities.ErrTypeNotifyFailed)
		}
		return n.err
	})
}

func notifyInput() contract.GenerationInput {
	in := text2img()
	in.NotifyURL = "https://app.example/hooks/genflow"
	return in
}

func TestGenerationNotifiesItsOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(env *testsuite.TestWorkflowEnvironment)
		wantType string
		wantErr  bool
	}{
		{"succeeded", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			signalAt(env, time.Second, success("https://cdn.example/n.png"))
		}, contract.NotifyGenerationSucceeded, false},
		{"failed", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			signalAt(env, time.Second, failed())
		}, contract.NotifyGenerationFailed, true},
		{"cancelled", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(600), nil).Once()
			env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
		}, contract.NotifyGenerationCanceled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			recordUpserts(env)
			n := &notifications{fail: 2}
			n.mock(env)
			tt.setup(env)
			env.ExecuteWorkflow(Generation, notifyInput())
			require.True(t, env.IsWorkflowCompleted())
			require.Equal(t, tt.wantErr, env.GetWorkflowError() != nil, "%v", env.GetWorkflowError())

			// Retried after two failures, with the same message each time.
			require.Len(t, n.got, 3)
			for _, in := range n.got {
				require.Equal(t, n.got[0], in)
			}
			in := n.got[0]
			require.Equal(t, "https://app.example/hooks/genflow", in.URL)
			require.True(t, strings.HasPrefix(in.MessageID, "msg_"+testTrackID+"_"), in.MessageID)
			require.Equal(t, tt.wantType, in.Notification.Type)
			require.Equal(t, testTrackID, in.Notification.Data.TrackID)
			if tt.wantErr {
				require.Nil(t, in.Notification.Data.Result)
				require.NotEmpty(t, in.Notification.Data.Error)
			} else {
				require.Equal(t, []string{"https://cdn.example/n.png"}, in.Notification.Data.Result.Output)
			}
			require.Equal(t, "delivered", queryState(t, env).Notified)
		})
	}
}

// A notification that cannot be delivered is recorded and does not
// change the generation's outcome.
func TestGenerationUndeliveredNotificationKeepsTheResult(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	recordUpserts(env)
	n := &notifications{err: temporal.NewNonRetryableApplicationError("HTTP 410", activities.ErrTypeNotifyRejected, errors.New("gone"))}
	n.mock(env)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example/i.png"), nil).Once()
	env.ExecuteWorkflow(Generation, notifyInput())
	res := result(t, env)
	require.Equal(t, []string{"https://cdn.example/i.png"}, res.Output)
	require.Len(t, n.got, 1, "a rejected notification is not retried")
	require.Contains(t, queryState(t, env).Notified, "failed: ")
}

// A batch notifies once, from its last run, with its counts.
func TestBatchNotifiesFromItsLastRun(t *testing.T) {
	t.Parallel()
	pages := makePages(7, 3, 4) // three runs; item 4 fails
	input := contract.BatchInput{Pages: 3, Total: 7, Concurrency: 2, NotifyURL: "https://app.example/hooks/batch"}
	var sent []activities.NotifyInput
	for run := 1; run <= 3; run++ {
		env, _ := newBatchEnv(t, pages)
		env.RegisterActivity(&activities.Activities{})
		n := &notifications{}
		n.mock(env)
		env.ExecuteWorkflow(Batch, input)
		require.True(t, env.IsWorkflowCompleted())
		sent = append(sent, n.got...)
		var can *workflow.ContinueAsNewError
		if err := env.GetWorkflowError(); errors.As(err, &can) {
			require.Empty(t, n.got, "run %d continued as new and must not notify", run)
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &input))
			continue
		}
		require.NoError(t, env.GetWorkflowError())
		require.Equal(t, 3, run)
		v, err := env.QueryWorkflow(contract.BatchStateQuery)
		require.NoError(t, err)
		var st contract.BatchState
		require.NoError(t, v.Get(&st))
		require.Equal(t, "delivered", st.Notified)
	}
	require.Len(t, sent, 1)
	in := sent[0]
	require.Equal(t, "https://app.example/hooks/batch", in.URL)
	require.Equal(t, contract.NotifyBatchCompleted, in.Notification.Type)
	require.Equal(t, testBatchID, in.Notification.Data.BatchID)
	require.Equal(t, 6, in.Notification.Data.Batch.Succeeded)
	require.Equal(t, 1, in.Notification.Data.Batch.Failed)
}
