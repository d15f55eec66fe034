package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
)

const testTrackID = "track-1"

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Generation, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.Activities{Provider: unmocked{t}, Webhooks: unmocked{t}})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testTrackID})
	env.SetTestTimeout(30 * time.Second)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// unmocked fails the test when an activity runs for real: every provider
// call in these tests must be mocked.
type unmocked struct{ t *testing.T }

func (u unmocked) Submit(context.Context, modelslab.SubmitRequest) (modelslab.Result, error) {
	u.t.Error("unexpected Submit")
	return modelslab.Result{}, errors.New("unmocked")
}

func (u unmocked) Fetch(context.Context, modelslab.Endpoint, string, map[string]any) (modelslab.Result, error) {
	u.t.Error("unexpected Fetch")
	return modelslab.Result{}, errors.New("unmocked")
}

func (u unmocked) URL(string, time.Time) (string, error) { return "http://gateway.invalid/hook", nil }

func text2img() contract.GenerationInput {
	return contract.GenerationInput{
		Endpoint: "text2img",
		Params:   map[string]any{"model_id": "flux", "prompt": "a red fox in snow"},
	}
}

func processing(eta float64) modelslab.Result {
	return modelslab.Result{Status: modelslab.StatusProcessing, ID: "134701497", ETA: eta, TrackID: testTrackID}
}

func success(urls ...string) modelslab.Result {
	return modelslab.Result{Status: modelslab.StatusSuccess, ID: "134701497", Output: urls, TrackID: testTrackID}
}

func webhook(r modelslab.Result) contract.Webhook { return contract.Webhook{Update: r} }

func signalAt(env *testsuite.TestWorkflowEnvironment, d time.Duration, r modelslab.Result) {
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(contract.WebhookSignal, webhook(r)) }, d)
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.GenerationResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res contract.GenerationResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func appError(t *testing.T, env *testsuite.TestWorkflowEnvironment) *temporal.ApplicationError {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	return appErr
}

func queryState(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.State {
	t.Helper()
	v, err := env.QueryWorkflow(contract.StateQuery)
	require.NoError(t, err)
	var st contract.State
	require.NoError(t, v.Get(&st))
	return st
}

func TestImmediateSuccess(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.MatchedBy(func(in activities.SubmitInput) bool {
		return in.TrackID == testTrackID && in.Endpoint == "images/text2img" && !in.Deadline.IsZero() &&
			in.Params["prompt"] == text2img().Params["prompt"]
	})).Return(success("https://cdn.example/a.png"), nil).Once()

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedImmediate, res.LearnedBy)
	require.Equal(t, []string{"https://cdn.example/a.png"}, res.Output)
	require.Equal(t, testTrackID, res.TrackID)
	require.Equal(t, "images/text2img", res.Endpoint)
	require.Zero(t, res.Polls)
}

func TestWebhookSuccess(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, 3*time.Second, success("https://cdn.example/b.png"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, []string{"https://cdn.example/b.png"}, res.Output)
	require.Equal(t, "134701497", res.ProviderID)
	require.Equal(t, 1, res.WebhooksReceived)
	require.Zero(t, res.Polls)
	require.Equal(t, 3*time.Second, res.Timings.Total)
	st := queryState(t, env)
	require.Equal(t, contract.PhaseSucceeded, st.Phase)
}

func TestWebhookFailure(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, time.Second, modelslab.Result{Status: modelslab.StatusFailed, ID: "134701497",
		Message: "Processing failed: Invalid input dimensions"})

	env.ExecuteWorkflow(Generation, text2img())

	appErr := appError(t, env)
	require.Equal(t, contract.ErrTypeGenerationFailed, appErr.Type())
	require.Equal(t, "Processing failed: Invalid input dimensions", appErr.Message())
	require.True(t, appErr.NonRetryable())
	var details contract.FailureDetails
	require.NoError(t, appErr.Details(&details))
	require.Equal(t, testTrackID, details.TrackID)
	require.Equal(t, "134701497", details.ProviderID)
	st := queryState(t, env)
	require.Equal(t, contract.PhaseFailed, st.Phase)
}

func TestDuplicateWebhooksFirstTerminalWins(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	env.RegisterDelayedCallback(func() {
		// Three deliveries in one batch: the first terminal one wins,
		// even when a later one says something else.
		env.SignalWorkflow(contract.WebhookSignal, webhook(success("https://cdn.example/first.png")))
		env.SignalWorkflow(contract.WebhookSignal, webhook(success("https://cdn.example/first.png")))
		env.SignalWorkflow(contract.WebhookSignal, webhook(modelslab.Result{Status: modelslab.StatusFailed, Message: "late"}))
	}, 2*time.Second)

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, []string{"https://cdn.example/first.png"}, res.Output)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	// Whether the others reach this run before it closes depends on
	// workflow-task batching; those that do are counted as ignored, the
	// rest find the run closed. Exactly one takes effect.
	require.GreaterOrEqual(t, res.WebhooksReceived, 1)
	require.Equal(t, 1, res.WebhooksReceived-res.DuplicatesIgnored)
}

func TestNonTerminalThenTerminal(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, time.Second, processing(5))
	signalAt(env, 2*time.Second, processing(5)) // a duplicate progress event
	env.RegisterDelayedCallback(func() {
		st := queryState(t, env)
		require.Equal(t, contract.PhaseWaitingWebhook, st.Phase)
		require.Equal(t, 2, st.WebhooksReceived)
		require.Equal(t, 1, st.DuplicatesIgnored)
	}, 3*time.Second)
	signalAt(env, 4*time.Second, success("https://cdn.example/c.png"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, 3, res.WebhooksReceived)
	require.Equal(t, 1, res.DuplicatesIgnored)
}

func TestTrainingStagesAreProgressNotDuplicates(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	in := contract.GenerationInput{Endpoint: "lora_fine_tune", Params: map[string]any{
		"instance_prompt": "photo of sks man", "class_prompt": "photo of a man",
		"images": []any{"https://example.com/1.png"}, "training_type": "men", "max_train_steps": 2000,
	}, PollGrace: time.Hour}
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(
		modelslab.Result{Status: modelslab.StatusProcessing, ID: "F5jvdzGnYi", Stage: "deploying_gpu"}, nil).Once()
	for i, stage := range []string{"training_started", "training_success", "trained_model_uploaded"} {
		signalAt(env, time.Duration(i+1)*time.Minute, modelslab.Result{Status: modelslab.StatusProcessing, ID: "F5jvdzGnYi", Stage: stage})
	}
	signalAt(env, 10*time.Minute, modelslab.Result{Status: modelslab.StatusSuccess, ID: "F5jvdzGnYi", Stage: "model_ready", Output: []string{"F5jvdzGnYi"}})

	env.ExecuteWorkflow(Generation, in)

	res := result(t, env)
	require.Equal(t, []string{"F5jvdzGnYi"}, res.Output)
	require.Equal(t, 4, res.WebhooksReceived)
	require.Zero(t, res.DuplicatesIgnored)
	require.Equal(t, "lora_fine_tune", res.Endpoint)
}

func TestLostWebhookFallsBackToPolling(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(10), nil).Once()
	env.OnActivity(acts.Fetch, mock.Anything, activities.FetchInput{
		Endpoint: "images/text2img", ProviderID: "134701497", Params: text2img().Params,
	}).Return(processing(0), nil).Once()
	env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(success("https://cdn.example/d.png"), nil).Once()

	in := text2img()
	in.PollGrace = 20 * time.Second
	env.ExecuteWorkflow(Generation, in)

	res := result(t, env)
	require.Equal(t, contract.LearnedPoll, res.LearnedBy)
	require.Equal(t, []string{"https://cdn.example/d.png"}, res.Output)
	require.Equal(t, 2, res.Polls)
	// eta 10 s + grace 20 s, then one poll interval of 5 s.
	require.Equal(t, 35*time.Second, res.Timings.Total)
}

func TestWebhookDuringPollingWins(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(1), nil).Once()
	env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(processing(0), nil)
	// Polling starts at 31 s; a late webhook at 2 min ends it.
	signalAt(env, 2*time.Minute, success("https://cdn.example/late.png"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Positive(t, res.Polls)
}

func TestDeadlineTimesOut(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(processing(0), nil)

	in := text2img()
	in.Deadline = 10 * time.Minute
	env.ExecuteWorkflow(Generation, in)

	appErr := appError(t, env)
	require.Equal(t, contract.ErrTypeGenerationTimeout, appErr.Type())
	require.Contains(t, appErr.Message(), "10m0s")
	st := queryState(t, env)
	require.Equal(t, contract.PhaseFailed, st.Phase)
	require.Positive(t, st.Polls)
}

func TestDefaultDeadlineByCategory(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(processing(0), nil)

	env.ExecuteWorkflow(Generation, contract.GenerationInput{Endpoint: "text2video",
		Params: map[string]any{"model_id": "cogvideox", "prompt": "waves"}})

	appErr := appError(t, env)
	require.Equal(t, contract.ErrTypeGenerationTimeout, appErr.Type())
	require.Contains(t, appErr.Message(), "2h0m0s")
}

func TestServerErrorThenSuccessRetriesSubmit(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(modelslab.Result{},
		temporal.NewApplicationError("Internal Server Error (HTTP 500)", modelslab.ErrTypeServer)).Twice()
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example/e.png"), nil).Once()

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedImmediate, res.LearnedBy)
	// Backoff 1 s then 2 s before the third attempt.
	require.GreaterOrEqual(t, res.Timings.SubmittedAt.Sub(res.Timings.StartedAt), 3*time.Second)
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(modelslab.Result{},
		temporal.NewApplicationErrorWithOptions("Rate limit exceeded. Maximum 5 queued requests allowed.",
			modelslab.ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: 30 * time.Second})).Once()
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example/f.png"), nil).Once()

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	waited := res.Timings.SubmittedAt.Sub(res.Timings.StartedAt)
	require.GreaterOrEqual(t, waited, 30*time.Second, "the retry must wait retry_after, not the 1 s backoff")
	require.Less(t, waited, 35*time.Second)
}

func TestInvalidKeyFailsAtOnce(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(modelslab.Result{},
		temporal.NewNonRetryableApplicationError("Invalid API key", modelslab.ErrTypeInvalidKey, nil)).Once()

	env.ExecuteWorkflow(Generation, text2img())

	appErr := appError(t, env)
	require.Equal(t, modelslab.ErrTypeInvalidKey, appErr.Type())
	require.Equal(t, "Invalid API key", appErr.Message())
	// Once() above fails the test on a second attempt.
}

func TestInvalidKeyAsRetryableTypeStillNotRetried(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	// Even if an activity forgot to mark it non-retryable, the retry
	// policy lists the type.
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(modelslab.Result{},
		temporal.NewApplicationError("Insufficient credits", modelslab.ErrTypeInsufficientCredits)).Once()

	env.ExecuteWorkflow(Generation, text2img())

	require.Equal(t, modelslab.ErrTypeInsufficientCredits, appError(t, env).Type())
}

func TestInvalidInputFailsBeforeSubmitting(t *testing.T) {
	t.Parallel()
	cases := map[string]contract.GenerationInput{
		"unknown endpoint": {Endpoint: "images/paint_by_numbers", Params: map[string]any{"prompt": "x"}},
		"ambiguous":        {Endpoint: "inpaint", Params: map[string]any{"prompt": "x"}},
		"missing field":    {Endpoint: "text2img", Params: map[string]any{"model_id": "flux"}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			env.ExecuteWorkflow(Generation, in)
			appErr := appError(t, env)
			require.Equal(t, contract.ErrTypeInvalidInput, appErr.Type())
		})
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(60), nil).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)

	env.ExecuteWorkflow(Generation, text2img())

	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var canceled *temporal.CanceledError
	require.True(t, errors.As(err, &canceled), "want cancellation, got %v", err)
}

func TestQueryReportsWaitingState(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	env.RegisterDelayedCallback(func() {
		st := queryState(t, env)
		require.Equal(t, contract.PhaseWaitingWebhook, st.Phase)
		require.Equal(t, "134701497", st.ProviderID)
		require.Equal(t, 5.0, st.ETA)
		require.Equal(t, testTrackID, st.TrackID)
		require.False(t, st.PollAfter.IsZero())
	}, 2*time.Second)
	signalAt(env, 3*time.Second, success("https://cdn.example/g.png"))

	env.ExecuteWorkflow(Generation, text2img())
	result(t, env)
}
