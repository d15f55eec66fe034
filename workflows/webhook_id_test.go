package workflows

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/modelslab"
)

// forged is a terminal webhook for a provider request other than the
// run's (134701497): a leaked webhook URL used with outputs of the
// holder's choosing, or a payload for another request.
func forged(id string) modelslab.Result {
	return modelslab.Result{Status: modelslab.StatusSuccess, ID: id, Output: []string{"https://evil.example/x.png"}, TrackID: testTrackID}
}

// TestWebhookOfAnotherRequestIsNotTheResult: a webhook whose provider id
// differs from the submitted request's changes nothing; the poll decides.
func TestWebhookOfAnotherRequestIsNotTheResult(t *testing.T) {
	t.Parallel()
	for _, u := range []modelslab.Result{
		forged("134701498"),
		forged("abc123-def456"),
		{Status: modelslab.StatusFailed, ID: "999", Message: "forged failure"},
		{Status: modelslab.StatusProcessing, ID: "999", Stage: "forged_stage"},
	} {
		t.Run(string(u.Status)+"/"+u.ID, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			signalAt(env, 3*time.Second, u)
			env.RegisterDelayedCallback(func() {
				st := queryState(t, env)
				require.Equal(t, contract.PhaseWaitingWebhook, st.Phase)
				require.Equal(t, 1, st.WebhooksReceived)
				require.Equal(t, 1, st.WebhookIDMismatches)
				require.Empty(t, st.Stage)
			}, 4*time.Second)
			env.OnActivity(acts.Fetch, mock.Anything, mock.MatchedBy(func(in activities.FetchInput) bool {
				return in.ProviderID == "134701497"
			})).Return(success("https://cdn.example/real.png"), nil).Once()

			env.ExecuteWorkflow(Generation, text2img())

			res := result(t, env)
			require.Equal(t, contract.LearnedPoll, res.LearnedBy)
			require.Equal(t, []string{"https://cdn.example/real.png"}, res.Output)
			require.Equal(t, "134701497", res.ProviderID)
			require.Equal(t, 1, res.WebhooksReceived)
			require.Zero(t, res.DuplicatesIgnored)
			require.Equal(t, 1, res.Polls)
			// eta 5 s + the default 30 s grace: the poll came as planned.
			require.Equal(t, 35*time.Second, res.Timings.Total)
		})
	}
}

// TestWebhookOfTheRequestIsTheResult: the same id, in any of its forms,
// or none at all, is taken as before.
func TestWebhookOfTheRequestIsTheResult(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"134701497", " 134701497", "134701497.0", ""} {
		t.Run("id "+id, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			u := success("https://cdn.example/b.png")
			u.ID = id
			signalAt(env, 3*time.Second, u)

			env.ExecuteWorkflow(Generation, text2img())

			res := result(t, env)
			require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
			require.Equal(t, []string{"https://cdn.example/b.png"}, res.Output)
			require.Equal(t, "134701497", res.ProviderID)
			require.Zero(t, res.Polls)
			require.Zero(t, queryState(t, env).WebhookIDMismatches)
		})
	}
}

// TestTrainingWebhookIDs: a training webhook carries model_id, which the
// provider's examples show equal to the submit's training_id; another
// one is not the result.
func TestTrainingWebhookIDs(t *testing.T) {
	t.Parallel()
	in := contract.GenerationInput{Endpoint: "lora_fine_tune", Params: map[string]any{
		"instance_prompt": "photo of sks man", "class_prompt": "photo of a man",
		"images": []any{"https://example.com/1.png"}, "training_type": "men", "max_train_steps": 2000,
	}, PollGrace: time.Hour}
	hook := func(body string) modelslab.Result {
		r, err := modelslab.ParseWebhook([]byte(body))
		require.NoError(t, err)
		return r
	}
	t.Run("same", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t)
		env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(
			modelslab.Result{Status: modelslab.StatusProcessing, ID: "F5jvdzGnYi", Stage: "deploying_gpu"}, nil).Once()
		signalAt(env, time.Minute, hook(`{"status":"success","training_status":"model_ready","logs":"ready","model_id":"F5jvdzGnYi"}`))
		env.ExecuteWorkflow(Generation, in)
		res := result(t, env)
		require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
		require.Equal(t, []string{"F5jvdzGnYi"}, res.Output)
	})
	t.Run("other", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t)
		env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(
			modelslab.Result{Status: modelslab.StatusProcessing, ID: "F5jvdzGnYi", Stage: "deploying_gpu"}, nil).Once()
		signalAt(env, time.Minute, hook(`{"status":"success","training_status":"model_ready","logs":"ready","model_id":"Other12345"}`))
		env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(
			modelslab.Result{Status: modelslab.StatusSuccess, ID: "F5jvdzGnYi", Stage: "model_ready", Output: []string{"F5jvdzGnYi"}}, nil).Once()
		env.ExecuteWorkflow(Generation, in)
		res := result(t, env)
		require.Equal(t, contract.LearnedPoll, res.LearnedBy)
		require.Equal(t, []string{"F5jvdzGnYi"}, res.Output)
	})
}

// TestWebhookDuringSubmitIsTakenWhateverItsID: before Submit returns the
// run knows no provider id to compare with; the webhook stands for the
// reply, as before.
func TestWebhookDuringSubmitIsTakenWhateverItsID(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).After(time.Minute).Return(processing(5), nil).Once()
	signalAt(env, 3*time.Second, forged("555"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, "555", res.ProviderID)
}

// TestOlderRunsTakeAnyWebhook: a run started before webhookIDChecked (its
// history says so) keeps its commands: the webhook is its result.
func TestOlderRunsTakeAnyWebhook(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnGetVersion(generationChange, workflow.DefaultVersion, generationVersion).Return(submitRacesWebhook)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, 3*time.Second, forged("134701498"))

	env.ExecuteWorkflow(Generation, text2img())

	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, []string{"https://evil.example/x.png"}, res.Output)
}

// TestWebhookIDMismatchMetric: the SDK's handler counts the ignored
// webhook as genflow_webhook_id_mismatches_total.
func TestWebhookIDMismatchMetric(t *testing.T) {
	t.Parallel()
	reg, err := metrics.New()
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(reg.TemporalHandler(nil))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Generation, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.Activities{Provider: unmocked{t}, Webhooks: unmocked{t}})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testTrackID})
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, time.Second, forged("1"))
	env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.FetchInput) (modelslab.Result, error) {
			return success("https://cdn.example/c.png"), nil
		}).Once()
	env.ExecuteWorkflow(Generation, text2img())
	require.Equal(t, contract.LearnedPoll, result(t, env).LearnedBy)
	require.Contains(t, gather(t, reg), `genflow_webhook_id_mismatches_total{endpoint="images/text2img"} 1`+"\n")
}

// TestWebhookIDMismatchFixtureNeedsItsBranch: the recorded run whose
// webhook named another request (scripts/record-histories.sh
// webhook-id-mismatch) replays, and with its generationChange marker at
// the previous version, whose runs took that webhook as the result, it
// does not: the fixture guards the change.
func TestWebhookIDMismatchFixtureNeedsItsBranch(t *testing.T) {
	t.Parallel()
	load := func() *historypb.History {
		fh, err := os.Open(filepath.Join("testdata", "histories", "webhook-id-mismatch.json"))
		require.NoError(t, err)
		defer fh.Close()
		h, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
		require.NoError(t, err)
		return h
	}
	replay := func(h *historypb.History) error {
		r := worker.NewWorkflowReplayer()
		Register(r)
		return r.ReplayWorkflowHistory(nil, h)
	}
	require.NoError(t, replay(load()))

	h := load()
	dc := converter.GetDefaultDataConverter()
	markers, signals, fetches := 0, 0, 0
	for _, e := range h.GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			signals++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "Fetch" {
				fetches++
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			details := e.GetMarkerRecordedEventAttributes().GetDetails()
			var id string
			var v workflow.Version
			if p := details["change-id"]; p == nil || dc.FromPayloads(p, &id) != nil || id != generationChange {
				continue
			}
			require.NoError(t, dc.FromPayloads(details["version"], &v))
			require.Equal(t, webhookIDChecked, v)
			old, err := dc.ToPayloads(submitRacesWebhook)
			require.NoError(t, err)
			details["version"] = old
			markers++
		}
	}
	require.Equal(t, 1, markers)
	require.Positive(t, signals, "the fixture holds the mismatched webhook")
	// Recorded against the fake, which echoes the signed webhook URL in
	// meta: no payload of the history (Submit's and Fetch's results, the
	// webhook signal, the run's result) holds it.
	for _, e := range h.GetEvents() {
		for _, p := range payloadsOf(e) {
			require.NotContains(t, string(p.GetData()), "sig=", "event %d", e.GetEventId())
			require.NotContains(t, string(p.GetData()), `"webhook"`, "event %d", e.GetEventId())
		}
	}
	require.Positive(t, fetches, "the fixture's run learned its result by polling")
	err := replay(h)
	require.Error(t, err, "at the previous version the webhook would have been the result")
	require.Contains(t, err.Error(), "TMPRL1100")
}

// payloadsOf are the payloads an event carries as input or result.
func payloadsOf(e *historypb.HistoryEvent) []*commonpb.Payload {
	var ps []*commonpb.Payloads
	switch {
	case e.GetActivityTaskCompletedEventAttributes() != nil:
		ps = append(ps, e.GetActivityTaskCompletedEventAttributes().GetResult())
	case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
		ps = append(ps, e.GetWorkflowExecutionSignaledEventAttributes().GetInput())
	case e.GetWorkflowExecutionCompletedEventAttributes() != nil:
		ps = append(ps, e.GetWorkflowExecutionCompletedEventAttributes().GetResult())
	case e.GetActivityTaskScheduledEventAttributes() != nil:
		ps = append(ps, e.GetActivityTaskScheduledEventAttributes().GetInput())
	}
	var out []*commonpb.Payload
	for _, p := range ps {
		out = append(out, p.GetPayloads()...)
	}
	return out
}
