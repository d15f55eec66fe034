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
