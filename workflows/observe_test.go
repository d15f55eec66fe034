package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/modelslab"
)

func failed() modelslab.Result {
	return modelslab.Result{Status: modelslab.StatusFailed, ID: "134701497", Message: "Processing failed"}
}

// upserts records the search attribute upserts of a run, in order.
type upserts struct {
	mu   sync.Mutex
	sets []temporal.SearchAttributes
}

func recordUpserts(env *testsuite.TestWorkflowEnvironment) *upserts {
	u := &upserts{}
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.sets = append(u.sets, args.Get(0).(temporal.SearchAttributes))
	}).Maybe()
	return u
}

// states are the GenflowState values upserted, in order.
func (u *upserts) states() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, sa := range u.sets {
		if v, ok := sa.GetKeyword(contract.SAState); ok {
			out = append(out, v)
		}
	}
	return out
}

func (u *upserts) first() temporal.SearchAttributes {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sets[0]
}

func TestGenerationUpsertsStateAsItMoves(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(env *testsuite.TestWorkflowEnvironment)
		want  []string
	}{
		{"webhook", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			signalAt(env, 3*time.Second, success("https://cdn.example/b.png"))
		}, []string{"submitting", "waiting_webhook", "succeeded"}},
		{"immediate", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example/a.png"), nil).Once()
		}, []string{"submitting", "succeeded"}},
		{"poll fallback", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(success("https://cdn.example/c.png"), nil).Once()
		}, []string{"submitting", "waiting_webhook", "polling", "succeeded"}},
		{"provider failure", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
			signalAt(env, time.Second, failed())
		}, []string{"submitting", "waiting_webhook", "failed"}},
		{"cancelled while waiting", func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(600), nil).Once()
			env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
		}, []string{"submitting", "waiting_webhook", "canceled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			u := recordUpserts(env)
			tt.setup(env)
			in := text2img()
			in.Owner = "alice"
			env.ExecuteWorkflow(Generation, in)
			require.True(t, env.IsWorkflowCompleted())
			require.Equal(t, tt.want, u.states())

			// Started without search attributes (as by hand), the run
			// sets the rest itself, once.
			first := u.first()
			for key, want := range map[temporal.SearchAttributeKeyKeyword]string{
				contract.SAEndpoint: "images/text2img", contract.SAModel: "flux", contract.SAOwner: "alice",
			} {
				got, ok := first.GetKeyword(key)
				require.True(t, ok, key.GetName())
				require.Equal(t, want, got, key.GetName())
			}
			require.Equal(t, string(queryState(t, env).Phase), tt.want[len(tt.want)-1])
		})
	}
}

// webhookDuringSubmit has the Submit activity deliver the webhook before
// it returns, as a provider that answers at once does: the signal is in
// the same workflow task as the activity's result.
func webhookDuringSubmit(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.SubmitInput) (modelslab.Result, error) {
			env.SignalWorkflow(contract.WebhookSignal, webhook(success("https://cdn.example/fast.png")))
			return processing(5), nil
		}).Once()
}

// countTimers counts the timers the run starts.
func countTimers(env *testsuite.TestWorkflowEnvironment) *atomic.Int32 {
	var n atomic.Int32
	env.SetOnTimerScheduledListener(func(string, time.Duration) { n.Add(1) })
	return &n
}

// A run started as v1 (by a worker that recorded upsert-state-sa version
// 1, which left TemporalChangeVersion in its search attributes) keeps
// upserting every phase as it moves, and waits with a timer even when the
// webhook is already there: the commands its history holds. (The test
// environment sets start search attributes only on child workflows, so
// the run is a child here. Such a run has no generationChange marker, so
// it reads DefaultVersion; the test environment's GetVersion rewrites
// TemporalChangeVersion from the versions asked in the run, so the child
// asks upsert-state-sa first, as the v1 worker did.)
func TestGenerationStartedAsV1KeepsItsCommands(t *testing.T) {
	t.Parallel()
	const childID = "started-as-v1"
	v1Generation := func(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
		workflow.GetVersion(ctx, upsertStateChange, workflow.DefaultVersion, stateUpserts)
		return Generation(ctx, in)
	}
	parent := func(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
		ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: childID,
			TypedSearchAttributes: temporal.NewSearchAttributes(changeVersionKey.ValueSet([]string{"upsert-state-sa-1"}))})
		var res contract.GenerationResult
		err := workflow.ExecuteChildWorkflow(ctx, "v1-generation", in).Get(ctx, &res)
		return res, err
	}
	env := newEnv(t)
	env.RegisterWorkflow(parent)
	env.RegisterWorkflowWithOptions(v1Generation, workflow.RegisterOptions{Name: "v1-generation"})
	oldRun(env)
	u := recordUpserts(env)
	timers := countTimers(env)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.SubmitInput) (modelslab.Result, error) {
			require.NoError(t, env.SignalWorkflowByID(childID, contract.WebhookSignal, webhook(success("https://cdn.example/fast.png"))))
			return processing(5), nil
		}).Once()
	env.ExecuteWorkflow(parent, text2img())
	require.Equal(t, contract.LearnedWebhook, result(t, env).LearnedBy)
	require.Equal(t, []string{"submitting", "waiting_webhook", "succeeded"}, u.states())
	require.EqualValues(t, 1, timers.Load())
}

// A Generation run records one version marker, generationChange's, read
// once at its start: each GetVersion costs a run a marker and a
// TemporalChangeVersion upsert.
func TestGenerationAsksOneVersion(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnGetVersion(generationChange, workflow.DefaultVersion, generationVersion).Return(generationVersion).Once()
	env.OnGetVersion(mock.Anything, workflow.DefaultVersion, stateUpserts).Return(workflow.DefaultVersion).Never()
	recordUpserts(env)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, 3*time.Second, success("https://cdn.example/b.png"))
	env.ExecuteWorkflow(Generation, text2img())
	result(t, env)
}

// A current run that finds the webhook already there when its submit
// returns neither upserts "waiting_webhook" nor starts the poll timer.
func TestGenerationWithTheWebhookAtHandDoesNotWait(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	u := recordUpserts(env)
	timers := countTimers(env)
	webhookDuringSubmit(env)
	env.ExecuteWorkflow(Generation, text2img())
	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Equal(t, []string{"https://cdn.example/fast.png"}, res.Output)
	require.Equal(t, 1, res.WebhooksReceived)
	require.Equal(t, []string{"submitting", "succeeded"}, u.states())
	require.Zero(t, timers.Load())
}

// TestGenerationMetrics runs generations with the SDK's handler backed by
// a real registry, as the worker has it, and reads the series back.
func TestGenerationMetrics(t *testing.T) {
	t.Parallel()
	reg, err := metrics.New()
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(reg.TemporalHandler(nil))
	run := func(setup func(env *testsuite.TestWorkflowEnvironment)) {
		env := s.NewTestWorkflowEnvironment()
		env.RegisterWorkflowWithOptions(Generation, workflowOptions(contract.GenerationWorkflow))
		env.RegisterActivity(&activities.Activities{Provider: unmocked{t}, Webhooks: unmocked{t}})
		env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testTrackID})
		setup(env)
		env.ExecuteWorkflow(Generation, text2img())
		require.True(t, env.IsWorkflowCompleted())
	}
	// A lost webhook: polled, then a late duplicate that changes nothing.
	run(func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
		env.OnActivity(acts.Fetch, mock.Anything, mock.Anything).Return(success("https://cdn.example/c.png"), nil).Once()
	})
	// A repeated progress webhook, then the result.
	run(func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
		signalAt(env, time.Second, processing(5))
		signalAt(env, 2*time.Second, processing(5))
		signalAt(env, 3*time.Second, success("https://cdn.example/b.png"))
	})
	// A provider failure.
	run(func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
		signalAt(env, time.Second, failed())
	})

	text := gather(t, reg)
	for _, want := range []string{
		`genflow_poll_fallbacks_total{endpoint="images/text2img"} 1`,
		`genflow_webhook_duplicates_total{endpoint="images/text2img"} 1`,
		`genflow_generation_latency_seconds_count{endpoint="images/text2img",learned_by="poll",outcome="succeeded"} 1`,
		`genflow_generation_latency_seconds_count{endpoint="images/text2img",learned_by="webhook",outcome="succeeded"} 1`,
		`genflow_generation_latency_seconds_count{endpoint="images/text2img",learned_by="",outcome="failed"} 1`,
		// The poll came 35 s in (eta 5 s + 30 s grace).
		`genflow_generation_latency_seconds_sum{endpoint="images/text2img",learned_by="poll",outcome="succeeded"} 35`,
		// Long buckets: a generation takes seconds to hours.
		`genflow_generation_latency_seconds_bucket{endpoint="images/text2img",learned_by="poll",outcome="succeeded",le="21600"} 1`,
	} {
		require.Contains(t, text, want+"\n")
	}
}

func gather(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	var b strings.Builder
	mfs, err := reg.Gatherer().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&b, mf)
		require.NoError(t, err)
	}
	return b.String()
}

// TestBatchSearchAttributes checks what a batch sets on its children and
// on itself as it ends.
func TestBatchSearchAttributes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	children := map[string]temporal.SearchAttributes{}
	child := func(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
		mu.Lock()
		children[workflow.GetInfo(ctx).WorkflowExecution.ID] = workflow.GetTypedSearchAttributes(ctx)
		mu.Unlock()
		if in.Params["fail"] == true {
			return contract.GenerationResult{}, temporal.NewNonRetryableApplicationError("no", contract.ErrTypeGenerationFailed, nil)
		}
		return contract.GenerationResult{LearnedBy: contract.LearnedWebhook}, nil
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Batch, workflowOptions(contract.BatchWorkflow))
	env.RegisterWorkflowWithOptions(child, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.BatchActivities{})
	pages := makePages(3, 3, 1)
	env.OnActivity(batchActs.LoadBatchPage, mock.Anything, contract.PageWorkflowID(testBatchID, 0)).Return(pages[0], nil).Once()
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", contract.BatchPageReleaseSignal, nil).Return(nil)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testBatchID})
	u := recordUpserts(env)
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 3, Owner: "bob", FailFast: true, Concurrency: 1})

	require.True(t, env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	// Started without a state (by hand), it sets running, then failed.
	require.Equal(t, []string{contract.BatchRunning, contract.BatchFailed}, u.states())

	require.Len(t, children, 2, "fail-fast stopped after item 1")
	for id, sa := range children {
		for key, want := range map[temporal.SearchAttributeKeyKeyword]string{
			contract.SAParentID: testBatchID, contract.SAEndpoint: "images/text2img", contract.SAModel: "flux",
			contract.SAOwner: "bob", contract.SAState: string(contract.PhaseSubmitting),
		} {
			got, ok := sa.GetKeyword(key)
			require.True(t, ok, "%s: %s", id, key.GetName())
			require.Equal(t, want, got, "%s: %s", id, key.GetName())
		}
	}
}

// A run whose starter gave its revision in the input asks no version: no
// marker and no TemporalChangeVersion upsert, and the revision's
// behaviour (here the webhook during Submit settles the run).
func TestGenerationWithARevisionAsksNoVersion(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnGetVersion(generationChange, workflow.DefaultVersion, generationVersion).Return(generationVersion).Never()
	webhookDuringSubmit(env)
	in := text2img()
	in.Revision = contract.GenerationRevision
	env.ExecuteWorkflow(Generation, in)
	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
}

// The revisions the starters send are the versions the workflow knows.
func TestGenerationRevisionIsTheNewestVersion(t *testing.T) {
	t.Parallel()
	require.EqualValues(t, generationVersion, contract.GenerationRevision)
}
