package workflows

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
)

// Tests of issue 13: a webhook that arrives while Submit runs or waits to
// be retried settles the run; Submit heartbeats; a 2xx reply is never
// submitted again; a deadline before the first poll asks the provider
// once.

// submitAttempts counts Submit attempts and the cancellations the
// workflow requested of it. (The test environment reports a cancellation
// only if the run goes on after it.)
type submitAttempts struct{ started, canceled atomic.Int32 }

func countSubmits(env *testsuite.TestWorkflowEnvironment) *submitAttempts {
	var n submitAttempts
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "Submit" {
			n.started.Add(1)
		}
	})
	env.SetOnActivityCanceledListener(func(info *activity.Info) {
		if info.ActivityType.Name == "Submit" {
			n.canceled.Add(1)
		}
	})
	return &n
}

// hangingSubmit is a Submit that answers only after d on the workflow
// clock: the provider's reply is slow, or the worker died mid-call.
func hangingSubmit(env *testsuite.TestWorkflowEnvironment, d time.Duration) {
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).After(d).Return(processing(5), nil).Once()
}

// oldRun makes the run take the branches of runs started before this
// release (no submit-races-webhook marker in their history).
func oldRun(env *testsuite.TestWorkflowEnvironment) {
	env.OnGetVersion(generationChange, workflow.DefaultVersion, generationVersion).Return(workflow.DefaultVersion)
}

func TestWebhookWhileSubmitRunsSettlesTheRun(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	n := countSubmits(env)
	hangingSubmit(env, time.Minute)
	signalAt(env, 3*time.Second, success("https://cdn.example/early.png"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, []string{"https://cdn.example/early.png"}, res.Output)
	require.Equal(t, "134701497", res.ProviderID)
	require.Equal(t, 1, res.WebhooksReceived)
	require.Equal(t, 3*time.Second, res.Timings.Total, "the run must not wait for the Submit activity")
	require.Equal(t, 3*time.Second, res.Timings.SubmittedAt.Sub(res.Timings.StartedAt))
	require.EqualValues(t, 1, n.started.Load())
}

func TestWebhookWhileSubmitWaitsForRetryStopsRetrying(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	n := countSubmits(env)
	// Every attempt fails as a lost reply would; the first one landed all
	// the same, and its webhook comes while the third attempt waits.
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(modelslab.Result{},
		temporal.NewApplicationError("Bad Gateway (HTTP 502)", modelslab.ErrTypeServer))
	signalAt(env, 2*time.Second, success("https://cdn.example/retried.png"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, "134701497", res.ProviderID)
	// Attempts at 0 s and 1 s; the next was due at 3 s.
	require.EqualValues(t, 2, n.started.Load(), "no attempt after the webhook")
	require.Equal(t, 2*time.Second, res.Timings.Total)
}

func TestFailureWebhookWhileSubmitRunsFailsTheRun(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	n := countSubmits(env)
	hangingSubmit(env, time.Minute)
	signalAt(env, 2*time.Second, failed())

	env.ExecuteWorkflow(Generation, text2img())

	appErr := appError(t, env)
	require.Equal(t, contract.ErrTypeGenerationFailed, appErr.Type())
	var details contract.FailureDetails
	require.NoError(t, appErr.Details(&details))
	require.Equal(t, "134701497", details.ProviderID)
	require.EqualValues(t, 1, n.started.Load())
	st := queryState(t, env)
	require.Equal(t, contract.PhaseFailed, st.Phase)
	require.Equal(t, 1, st.WebhooksReceived)
}

// A progress webhook during Submit gives the provider's id: the run
// stops submitting and waits for the webhook, polling that id.
func TestProgressWebhookWhileSubmitRunsGivesTheProviderID(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	n := countSubmits(env)
	hangingSubmit(env, 10*time.Minute)
	progress := modelslab.Result{Status: modelslab.StatusProcessing, ID: "555", ETA: 4, TrackID: testTrackID}
	signalAt(env, 2*time.Second, progress)
	env.RegisterDelayedCallback(func() {
		st := queryState(t, env)
		require.Equal(t, contract.PhaseWaitingWebhook, st.Phase)
		require.Equal(t, "555", st.ProviderID)
		require.Equal(t, 4.0, st.ETA)
	}, 3*time.Second)
	env.OnActivity(acts.Fetch, mock.Anything, activities.FetchInput{
		Endpoint: "images/text2img", ProviderID: "555", Params: text2img().Params,
	}).Return(success("https://cdn.example/polled.png"), nil).Once()

	in := text2img()
	in.PollGrace = 10 * time.Second
	env.ExecuteWorkflow(Generation, in)

	res := result(t, env)
	require.Equal(t, contract.LearnedPoll, res.LearnedBy)
	require.Equal(t, "555", res.ProviderID)
	require.Equal(t, 1, res.Polls)
	require.Equal(t, 1, res.WebhooksReceived)
	// Webhook at 2 s, eta 4 s, grace 10 s.
	require.Equal(t, 16*time.Second, res.Timings.Total)
	require.EqualValues(t, 1, n.started.Load())
	require.EqualValues(t, 1, n.canceled.Load())
}

// A Submit that fails for good while its webhook is already buffered
// (the reply was unusable, but the provider took the request) takes the
// webhook.
func TestWebhookAtHandWinsOverAFailedSubmit(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.SubmitInput) (modelslab.Result, error) {
			env.SignalWorkflow(contract.WebhookSignal, webhook(success("https://cdn.example/taken.png")))
			return modelslab.Result{}, temporal.NewNonRetryableApplicationError(
				"the provider may have accepted (and charged) the request", modelslab.ErrTypeUnusableReply, nil)
		}).Once()

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, []string{"https://cdn.example/taken.png"}, res.Output)
}

// Runs started before this release wait for Submit alone, as they did.
func TestOldRunsWaitForSubmitAlone(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	oldRun(env)
	n := countSubmits(env)
	hangingSubmit(env, time.Minute)
	signalAt(env, 3*time.Second, success("https://cdn.example/early.png"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, time.Minute, res.Timings.Total)
	require.Zero(t, n.canceled.Load())
}

// A lost Submit attempt (a worker killed mid-call) is noticed within
// seconds: the activity has a heartbeat timeout, and it carries the run's
// deadline for the webhook URL's expiry.
func TestSubmitHasAHeartbeatTimeoutAndTheDeadline(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var heartbeat, startToClose atomic.Int64
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "Submit" {
			heartbeat.Store(int64(info.HeartbeatTimeout))
			startToClose.Store(int64(info.StartToCloseTimeout))
		}
	})
	var got activities.SubmitInput
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SubmitInput) (modelslab.Result, error) {
			got = in
			return success("https://cdn.example/a.png"), nil
		}).Once()

	in := text2img()
	in.Deadline = 7 * time.Minute
	env.ExecuteWorkflow(Generation, in)

	res := result(t, env)
	hb := time.Duration(heartbeat.Load())
	require.Positive(t, hb)
	require.LessOrEqual(t, hb, 15*time.Second)
	require.Equal(t, time.Minute, time.Duration(startToClose.Load()))
	require.Equal(t, res.Timings.StartedAt.Add(7*time.Minute), got.Deadline)
}

// A reply of 2xx that cannot be followed fails the run after one
// submission, with the reply in the error; the client, the activity and
// the workflow are the real ones, the provider an httptest server.
func TestUnusableReplyIsNotSubmittedAgain(t *testing.T) {
	t.Parallel()
	var submits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		submits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"processing","eta":3,"output":[]}`)
	}))
	t.Cleanup(srv.Close)
	ml, err := modelslab.New(modelslab.Options{BaseURL: srv.URL + "/api/", APIKey: "key-for-the-test"})
	require.NoError(t, err)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Generation, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.Activities{Provider: ml, Webhooks: unmocked{t}})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testTrackID})
	env.SetTestTimeout(30 * time.Second)

	env.ExecuteWorkflow(Generation, text2img())

	appErr := appError(t, env)
	require.Equal(t, modelslab.ErrTypeUnusableReply, appErr.Type())
	require.Contains(t, appErr.Message(), "may have accepted (and charged)")
	require.Contains(t, appErr.Message(), `\"eta\":3`)
	require.NotContains(t, appErr.Error(), "key-for-the-test")
	require.EqualValues(t, 1, submits.Load())
}

// A deadline shorter than eta + grace: before failing, the run asks the
// provider once, and takes a result that is ready.
func TestDeadlineBeforeFirstPollFetchesOnce(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(60), nil).Once()
	env.OnActivity(acts.Fetch, mock.Anything, activities.FetchInput{
		Endpoint: "images/text2img", ProviderID: "134701497", Params: text2img().Params,
	}).Return(success("https://cdn.example/ready.png"), nil).Once()

	in := text2img()
	in.Deadline = 30 * time.Second
	env.ExecuteWorkflow(Generation, in)

	res := result(t, env)
	require.Equal(t, contract.LearnedPoll, res.LearnedBy)
	require.Equal(t, []string{"https://cdn.example/ready.png"}, res.Output)
	require.Equal(t, 1, res.Polls)
	require.Equal(t, 30*time.Second, res.Timings.Total)
}

func TestDeadlineBeforeFirstPollStillTimesOutWhenNotReady(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(60), nil).Once()
	env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(processing(0), nil).Once()

	in := text2img()
	in.Deadline = 30 * time.Second
	env.ExecuteWorkflow(Generation, in)

	appErr := appError(t, env)
	require.Equal(t, contract.ErrTypeGenerationTimeout, appErr.Type())
	require.Equal(t, 1, queryState(t, env).Polls)
}

func TestDeadlineBeforeFirstPollOfOldRunsDoesNotFetch(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	oldRun(env)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(60), nil).Once()

	in := text2img()
	in.Deadline = 30 * time.Second
	env.ExecuteWorkflow(Generation, in)

	appErr := appError(t, env)
	require.Equal(t, contract.ErrTypeGenerationTimeout, appErr.Type())
	require.Zero(t, queryState(t, env).Polls)
}

// A progress webhook without an id still proves the provider took the
// request: no more attempts, and with nothing to poll the run waits for
// the webhooks alone.
func TestProgressWebhookWithoutIDDuringSubmitWaitsForWebhooks(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	hangingSubmit(env, 10*time.Minute)
	signalAt(env, time.Second, modelslab.Result{Status: modelslab.StatusProcessing, Stage: "queued"})
	signalAt(env, 3*time.Minute, success("https://cdn.example/late.png"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Zero(t, res.Polls, "nothing to poll without an id")
	require.Equal(t, "134701497", res.ProviderID)
}

func TestCancelWhileSubmitting(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	hangingSubmit(env, time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Second)

	env.ExecuteWorkflow(Generation, text2img())

	require.True(t, env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	require.ErrorAs(t, env.GetWorkflowError(), &canceled)
	require.Equal(t, contract.PhaseCanceled, queryState(t, env).Phase)
}
