package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

func storeInput() contract.GenerationInput {
	in := text2img()
	in.Store = true
	return in
}

func storedAt(link string) contract.StoredOutput {
	return contract.StoredOutput{Output: link, Location: "s3://outputs/" + testTrackID + "/0-a.png", Size: 10, SHA256: "ab"}
}

// A generation that asks to store its outputs stores them after the
// provider succeeded, with the proxy links as fallbacks, in phase
// "storing", and its result (and notification) carry the copies.
func TestGenerationStoresItsOutputs(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	ups := recordUpserts(env)
	n := &notifications{}
	n.mock(env)
	done := success("https://cdn.example/a.png")
	done.ProxyLinks = []string{"https://proxy.example/a.png"}
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, time.Second, done)
	attempts := 0
	env.OnActivity(acts.StoreOutputs, mock.Anything, activities.StoreInput{
		TrackID: testTrackID, Output: done.Output, ProxyLinks: done.ProxyLinks,
		Endpoint: "images/text2img", ProviderID: "134701497", Params: text2img().Params,
	}).Return(func(context.Context, activities.StoreInput) ([]contract.StoredOutput, error) {
		attempts++
		if attempts == 1 {
			return nil, temporal.NewApplicationError("store unreachable", activities.ErrTypeStoreFailed)
		}
		return []contract.StoredOutput{storedAt(done.Output[0])}, nil
	}).Twice()

	in := storeInput()
	in.NotifyURL = "https://app.example/hook"
	env.ExecuteWorkflow(Generation, in)

	res := result(t, env)
	require.Equal(t, []contract.StoredOutput{storedAt("https://cdn.example/a.png")}, res.Stored)
	require.Equal(t, []string{"submitting", "waiting_webhook", "storing", "succeeded"}, ups.states())
	require.Len(t, n.got, 1)
	require.Equal(t, res.Stored, n.got[0].Notification.Data.Result.Stored, "the notification carries the stored copies")
}

// Storing never turns a success into a failure: outputs it could not
// store say why, and the generation still succeeds with its links.
func TestGenerationStoreFailureKeepsTheResult(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).
		Return(success("https://cdn.example/a.png", "https://cdn.example/b.png"), nil).Once()
	env.OnActivity(acts.StoreOutputs, mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("the worker has no output storage (STORE_URL)", activities.ErrTypeStoreNotConfigured, nil)).Once()

	env.ExecuteWorkflow(Generation, storeInput())

	res := result(t, env)
	require.Equal(t, []string{"https://cdn.example/a.png", "https://cdn.example/b.png"}, res.Output)
	require.Len(t, res.Stored, 2)
	for i, s := range res.Stored {
		require.Equal(t, res.Output[i], s.Output)
		require.Empty(t, s.Location)
		require.Contains(t, s.Error, "not stored: ")
		require.Contains(t, s.Error, "STORE_URL")
	}
}

// Cancelling a run while it stores stops storing; the provider's
// result, already paid for, is still returned.
func TestGenerationCancelledWhileStoring(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example/v.mp4"), nil).Once()
	env.OnActivity(acts.StoreOutputs, mock.Anything, mock.Anything).
		Return(func(ctx context.Context, _ activities.StoreInput) ([]contract.StoredOutput, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}).Maybe()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	in := contract.GenerationInput{Endpoint: "text2video", Params: map[string]any{"model_id": "cogvideox", "prompt": "waves"}, Store: true}

	env.ExecuteWorkflow(Generation, in)

	res := result(t, env)
	require.Equal(t, []string{"https://cdn.example/v.mp4"}, res.Output)
	require.Len(t, res.Stored, 1)
	require.Contains(t, res.Stored[0].Error, "not stored: ")
	require.Contains(t, res.Stored[0].Error, "canceled")
}

// Without Store, nothing is stored: no activity, no extra phase.
func TestGenerationWithoutStoreStoresNothing(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	ups := recordUpserts(env)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example/a.png"), nil).Once()
	env.ExecuteWorkflow(Generation, text2img())
	res := result(t, env)
	require.Nil(t, res.Stored)
	require.Equal(t, []string{"submitting", "succeeded"}, ups.states())
}

// A batch passes Store to every item.
func TestBatchItemsStore(t *testing.T) {
	t.Parallel()
	env, fake := newBatchEnv(t, makePages(3, 3))
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 3, Concurrency: 3, Store: true})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, fake.started, 3)
	require.Equal(t, 3, fake.stores)
}

// A pipeline stores every step's outputs when asked, lists the copies per
// step and item, and notifies its outcome with every step's state.
func TestPipelineStoresAndNotifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   map[string]genOutcome
		wantType string
	}{
		{"completed", nil, contract.NotifyPipelineCompleted},
		{"failed", map[string]genOutcome{"portrait": {fail: "NSFW content detected"}}, contract.NotifyPipelineFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakePipelineGenerations(tt.script)
			env := newPipelineEnv(t, fake)
			env.RegisterActivity(&activities.Activities{})
			n := &notifications{fail: 1}
			n.mock(env)
			plan := compilePipeline(t, pipelinePortraitToVideo, nil)
			plan.Store, plan.NotifyURL = true, "https://app.example/pipelines"

			env.ExecuteWorkflow(Pipeline, plan)

			require.True(t, env.IsWorkflowCompleted())
			require.Len(t, n.got, 2, "retried once, then delivered")
			in := n.got[0]
			require.Equal(t, tt.wantType, in.Notification.Type)
			require.Equal(t, testPipelineID, in.Notification.Data.PipelineID)
			portrait, ok := in.Notification.Data.Pipeline.Step("portrait")
			require.True(t, ok)
			require.True(t, fake.input(t, "pipe-1_portrait").Store)
			v, err := env.QueryWorkflow(contract.PipelineStateQuery)
			require.NoError(t, err)
			var st contract.PipelineState
			require.NoError(t, v.Get(&st))
			require.Equal(t, "delivered", st.Notified)
			if tt.wantType == contract.NotifyPipelineFailed {
				require.Error(t, env.GetWorkflowError())
				require.Equal(t, contract.Failure{Type: contract.ErrTypePipelineStepFailed,
					Message: `step "portrait" failed: GenerationFailed: NSFW content detected`}, *in.Notification.Data.Error)
				require.Equal(t, contract.StepFailed, portrait.State)
				return
			}
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, contract.PipelineSucceeded, in.Notification.Data.Pipeline.Status)
			require.Len(t, portrait.Stored, 2, "both samples' copies")
			require.Equal(t, portrait.Output[1], portrait.Stored[1].Output)
			require.Equal(t, "file:///outputs/pipe-1_portrait", portrait.Stored[0].Location)
		})
	}
}
