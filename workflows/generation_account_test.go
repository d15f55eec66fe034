package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

// stubAccount answers acquire requests with reply and records releases.
type stubAccount struct {
	mu       sync.Mutex
	reply    contract.AcquireReply
	acquired []contract.AcquireRequest
	released []contract.ReleaseRequest
}

func (s *stubAccount) Acquire(_ context.Context, _ string, req contract.AcquireRequest) (contract.AcquireReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acquired = append(s.acquired, req)
	return s.reply, nil
}

func (s *stubAccount) Release(_ context.Context, limiter string, req contract.ReleaseRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = append(s.released, req)
	return nil
}

func (s *stubAccount) Throttle(context.Context, contract.ThrottleRequest) error { return nil }

func (s *stubAccount) Closed(context.Context, []contract.ReleaseRequest) ([]contract.ReleaseRequest, error) {
	return nil, nil
}

func (s *stubAccount) releases() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.released)
}

func newAccountEnv(t *testing.T, granted bool) (*testsuite.TestWorkflowEnvironment, *stubAccount) {
	t.Helper()
	acc := &stubAccount{reply: contract.AcquireReply{Limiter: testLimiterID, Granted: granted,
		QueuePosition: contract.QueuePosition{Position: 3, Waiting: 12, InUse: 5, Limit: 5}}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Generation, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.Activities{Provider: unmocked{t}, Webhooks: unmocked{t}, Account: acc})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testTrackID})
	env.SetTestTimeout(30 * time.Second)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env, acc
}

func TestGenerationGrantedAtOnceSubmitsAndReleasesAtTheResult(t *testing.T) {
	t.Parallel()
	env, acc := newAccountEnv(t, true)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
	signalAt(env, 3*time.Second, success("https://cdn.example.com/a.png"))
	env.ExecuteWorkflow(Generation, text2img())
	res := result(t, env)
	require.Equal(t, contract.LearnedWebhook, res.LearnedBy)
	require.Len(t, acc.acquired, 1)
	req := acc.acquired[0]
	require.Equal(t, testTrackID, req.Holder)
	require.Equal(t, contract.PriorityInteractive, req.Priority, "a single generation is interactive")
	require.Equal(t, testTrackID, req.Key, "no parent: the run is its own fairness key")
	require.Equal(t, 1, acc.releases(), "the slot is given back once")
	st := queryState(t, env)
	require.NotNil(t, st.Account)
	require.False(t, st.Account.ReleasedAt.IsZero())
}

func TestGenerationWaitsQueuedForItsGrant(t *testing.T) {
	t.Parallel()
	env, acc := newAccountEnv(t, false)
	ups := recordUpserts(env)
	in := text2img()
	in.Priority = 8
	env.RegisterDelayedCallback(func() {
		st := queryState(t, env)
		require.Equal(t, contract.PhaseQueued, st.Phase)
		require.Equal(t, 3, st.Account.Position)
		require.Equal(t, "3rd of 12, limit 5", st.Account.String())
		require.Zero(t, acc.releases())
		env.SignalWorkflow(contract.SlotGrantSignal, contract.SlotGrant{Limiter: testLimiterID, Waited: 10 * time.Second})
	}, 10*time.Second)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example.com/a.png"), nil).Once()
	env.ExecuteWorkflow(Generation, in)
	res := result(t, env)
	require.Equal(t, contract.LearnedImmediate, res.LearnedBy)
	require.Equal(t, 8, acc.acquired[0].Priority)
	require.Equal(t, 1, acc.releases())
	require.Equal(t, []string{string(contract.PhaseQueued), string(contract.PhaseSubmitting), string(contract.PhaseSucceeded)}, ups.states())
	st := queryState(t, env)
	require.Equal(t, 10*time.Second, st.Account.GrantedAt.Sub(st.Account.QueuedAt))
}

func TestGenerationCancelledWhileQueuedLeavesTheQueue(t *testing.T) {
	t.Parallel()
	env, acc := newAccountEnv(t, false)
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Second)
	env.ExecuteWorkflow(Generation, text2img())
	require.True(t, env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	require.ErrorAs(t, env.GetWorkflowError(), &canceled)
	require.Equal(t, 1, acc.releases(), "a cancelled waiter leaves the queue (on a disconnected context)")
}

func TestGenerationDeadlineWhileQueuedTimesOut(t *testing.T) {
	t.Parallel()
	env, acc := newAccountEnv(t, false)
	in := text2img()
	in.Deadline = time.Minute
	env.ExecuteWorkflow(Generation, in)
	require.Equal(t, contract.ErrTypeGenerationTimeout, appError(t, env).Type())
	require.Equal(t, 1, acc.releases())
}

func TestGenerationReleasesOnProviderFailureAndCancel(t *testing.T) {
	t.Parallel()
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		env, acc := newAccountEnv(t, true)
		env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
		signalAt(env, 2*time.Second, failed())
		env.ExecuteWorkflow(Generation, text2img())
		require.Equal(t, contract.ErrTypeGenerationFailed, appError(t, env).Type())
		require.Equal(t, 1, acc.releases())
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		env, acc := newAccountEnv(t, true)
		env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(processing(5), nil).Once()
		env.RegisterDelayedCallback(env.CancelWorkflow, 3*time.Second)
		env.ExecuteWorkflow(Generation, text2img())
		var canceled *temporal.CanceledError
		require.ErrorAs(t, env.GetWorkflowError(), &canceled)
		require.Equal(t, 1, acc.releases())
	})
}

func TestGenerationOfAnEarlierVersionTakesNoSlot(t *testing.T) {
	t.Parallel()
	env, acc := newAccountEnv(t, false)
	env.OnGetVersion(generationChange, workflow.DefaultVersion, generationVersion).Return(webhookIDChecked)
	env.OnActivity(acts.Submit, mock.Anything, mock.Anything).Return(success("https://cdn.example.com/a.png"), nil).Once()
	env.ExecuteWorkflow(Generation, text2img())
	result(t, env)
	require.Empty(t, acc.acquired, "runs started at version 2 submit at once, as they did")
	require.Zero(t, acc.releases())
}

func TestBatchItemsAskWithBatchPriority(t *testing.T) {
	t.Parallel()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var mu sync.Mutex
	var prios []int
	env.RegisterWorkflowWithOptions(Batch, workflowOptions(contract.BatchWorkflow))
	env.RegisterWorkflowWithOptions(func(_ workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
		mu.Lock()
		defer mu.Unlock()
		prios = append(prios, in.Priority)
		return contract.GenerationResult{LearnedBy: contract.LearnedWebhook}, nil
	}, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.BatchActivities{})
	env.OnActivity(batchActs.LoadBatchPage, mock.Anything, mock.Anything).Return(makePages(2, 2)[0], nil).Once()
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", contract.BatchPageReleaseSignal, nil).Return(nil)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testBatchID})
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 2})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []int{contract.PriorityBatch, contract.PriorityBatch}, prios)
}
