package workflows

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

const testBatchID = "batch-1"

// fakeChildren stands in for the Generation workflow: it takes a minute
// of workflow time, fails items whose params say so, and records how
// many run at once and which IDs were started.
type fakeChildren struct {
	mu       sync.Mutex
	inFlight int
	maxSeen  int
	started  map[string]int
	stores   int // items asked to Store
	// priority is each child's GenerationInput.Priority, by ID.
	priority map[string]int
}

func (f *fakeChildren) generation(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	f.mu.Lock()
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.started[id]++
	f.priority[id] = in.Priority
	if in.Store {
		f.stores++
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	d := time.Minute
	if v, ok := in.Params["minutes"].(float64); ok {
		d = time.Duration(v) * time.Minute
	}
	if err := workflow.Sleep(ctx, d); err != nil {
		return contract.GenerationResult{}, err
	}
	if in.Params["fail"] == true {
		return contract.GenerationResult{}, temporal.NewNonRetryableApplicationError("Processing failed: "+id, contract.ErrTypeGenerationFailed, nil)
	}
	return contract.GenerationResult{TrackID: id, Output: []string{"https://cdn.example/" + id + ".png"}, LearnedBy: contract.LearnedWebhook}, nil
}

func newBatchEnv(t *testing.T, pages []contract.BatchPage) (*testsuite.TestWorkflowEnvironment, *fakeChildren) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	kids := &fakeChildren{started: map[string]int{}, priority: map[string]int{}}
	env.RegisterWorkflowWithOptions(Batch, workflowOptions(contract.BatchWorkflow))
	env.RegisterWorkflowWithOptions(kids.generation, workflowOptions(contract.GenerationWorkflow))
	env.RegisterActivity(&activities.BatchActivities{})
	for _, p := range pages {
		env.OnActivity(batchActs.LoadBatchPage, mock.Anything, contract.PageWorkflowID(testBatchID, p.Index)).Return(p, nil).Once()
	}
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", contract.BatchPageReleaseSignal, nil).Return(nil)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testBatchID})
	env.SetTestTimeout(time.Minute)
	return env, kids
}

// makePages splits n text2img items into pages of size; items whose
// index is in failing fail.
func makePages(n, size int, failing ...int) []contract.BatchPage {
	fail := map[int]bool{}
	for _, i := range failing {
		fail[i] = true
	}
	var pages []contract.BatchPage
	for first := 0; first < n; first += size {
		p := contract.BatchPage{BatchID: testBatchID, Index: len(pages), First: first}
		for i := first; i < min(first+size, n); i++ {
			params := map[string]any{"model_id": "flux", "prompt": fmt.Sprintf("prompt %d", i)}
			if fail[i] {
				params["fail"] = true
			}
			p.Items = append(p.Items, contract.BatchItem{Endpoint: "images/text2img", Params: params, Line: i + 1})
		}
		pages = append(pages, p)
	}
	return pages
}

func batchResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.BatchResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res contract.BatchResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func TestBatchRespectsConcurrencyWindow(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
			t.Parallel()
			pages := makePages(12, 12)
			env, kids := newBatchEnv(t, pages)
			env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 12, Concurrency: conc})

			res := batchResult(t, env)
			require.Equal(t, 12, res.Succeeded)
			require.Equal(t, conc, kids.maxSeen, "children in flight")
			require.Len(t, kids.started, 12)
			// 12 one-minute items, conc at a time.
			require.Equal(t, time.Duration((12+conc-1)/conc)*time.Minute, res.Duration)
		})
	}
}

func TestBatchDefaultConcurrencyIsFive(t *testing.T) {
	t.Parallel()
	env, kids := newBatchEnv(t, makePages(20, 20))
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 20})
	batchResult(t, env)
	require.Equal(t, contract.DefaultBatchConcurrency, kids.maxSeen)
}

func TestBatchPartialFailureCompletesAndReports(t *testing.T) {
	t.Parallel()
	env, _ := newBatchEnv(t, makePages(10, 10, 2, 7))
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 10, Concurrency: 4})

	res := batchResult(t, env)
	require.Equal(t, 8, res.Succeeded)
	require.Equal(t, 2, res.Failed)
	require.Len(t, res.Failures, 2)
	got := map[string]string{}
	for _, f := range res.Failures {
		got[f.TrackID] = f.Message
		require.Equal(t, contract.ErrTypeGenerationFailed, f.Type)
	}
	require.Equal(t, map[string]string{
		"batch-1-00002": "Processing failed: batch-1-00002",
		"batch-1-00007": "Processing failed: batch-1-00007",
	}, got)
}

func TestBatchFailFastStopsAndCancelsRunning(t *testing.T) {
	t.Parallel()
	pages := makePages(20, 20, 1)
	// Item 1 fails after one minute; the others take five.
	for i := range pages[0].Items {
		if i != 1 {
			pages[0].Items[i].Params["minutes"] = 5.0
		}
	}
	env, kids := newBatchEnv(t, pages)
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 20, Concurrency: 3, FailFast: true})

	require.True(t, env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, contract.ErrTypeBatchFailFast, appErr.Type())
	require.Contains(t, appErr.Message(), "batch-1-00001")
	var res contract.BatchResult
	require.NoError(t, appErr.Details(&res))
	require.Equal(t, 1, res.Failed)
	require.Zero(t, res.Succeeded, "the running items were cancelled, not completed")
	require.Len(t, kids.started, 3, "no item started after the failure")
}

func TestBatchCancelCancelsRunningChildren(t *testing.T) {
	t.Parallel()
	env, kids := newBatchEnv(t, makePages(10, 10))
	env.RegisterDelayedCallback(env.CancelWorkflow, 90*time.Second)
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 10, Concurrency: 3})

	require.True(t, env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	require.True(t, errors.As(env.GetWorkflowError(), &canceled), "got %v", env.GetWorkflowError())
	require.Len(t, kids.started, 6, "two rounds of three started, none after the cancel")
	require.Zero(t, kids.inFlight, "every child closed")
}

func TestBatchContinuesAsNewPerPageCarryingState(t *testing.T) {
	t.Parallel()
	pages := makePages(7, 3, 4) // pages of 3, 3, 1; item 4 fails
	input := contract.BatchInput{Pages: 3, Total: 7, Concurrency: 2}
	started := map[string]int{}
	for run := 1; ; run++ {
		env, kids := newBatchEnv(t, pages)
		if run > 1 {
			env.SetStartTime(input.Carry.StartedAt.Add(time.Duration(run) * time.Hour))
		}
		env.ExecuteWorkflow(Batch, input)
		require.True(t, env.IsWorkflowCompleted())
		for id, n := range kids.started {
			started[id] += n
		}
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if !errors.As(err, &can) {
			require.NoError(t, err)
			var res contract.BatchResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, 3, run, "one run per page")
			require.Equal(t, 3, res.Runs)
			require.Equal(t, 6, res.Succeeded)
			require.Equal(t, 1, res.Failed)
			require.Equal(t, "batch-1-00004", res.Failures[0].TrackID)
			break
		}
		require.Equal(t, contract.BatchWorkflow, can.WorkflowType.Name)
		var next contract.BatchInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
		require.NotNil(t, next.Carry)
		require.Equal(t, run, next.Carry.Page, "next page")
		require.Equal(t, run, next.Carry.Runs)
		input = next
	}
	// Every item started exactly once across the runs.
	require.Len(t, started, 7)
	for id, n := range started {
		require.Equal(t, 1, n, id)
	}
}

func TestBatchExplicitTrackIDsAreChildIDs(t *testing.T) {
	t.Parallel()
	pages := makePages(3, 3)
	pages[0].Items[1].TrackID = "my-own-id"
	env, kids := newBatchEnv(t, pages)
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 3})
	batchResult(t, env)
	require.Equal(t, map[string]int{"batch-1-00000": 1, "my-own-id": 1, "batch-1-00002": 1}, kids.started)
}

// TestBatchItemPriorities: an item's own priority wins, then the batch's,
// then PriorityBatch (a batch of an earlier release sets neither).
func TestBatchItemPriorities(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		batch int
		want  map[string]int
	}{
		{"batch default", 0, map[string]int{"batch-1-00000": contract.PriorityBatch, "batch-1-00001": 7, "batch-1-00002": contract.PriorityBatch}},
		{"batch priority 3", 3, map[string]int{"batch-1-00000": 3, "batch-1-00001": 7, "batch-1-00002": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pages := makePages(3, 3)
			pages[0].Items[1].Priority = 7
			env, kids := newBatchEnv(t, pages)
			env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 3, Priority: tc.batch})
			batchResult(t, env)
			require.Equal(t, tc.want, kids.priority)
		})
	}
}

func TestBatchStateQuery(t *testing.T) {
	t.Parallel()
	env, _ := newBatchEnv(t, makePages(10, 10, 0))
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(contract.BatchStateQuery)
		require.NoError(t, err)
		var st contract.BatchState
		require.NoError(t, v.Get(&st))
		require.Equal(t, 10, st.Total)
		require.Equal(t, 2, st.Running)
		require.Equal(t, 1, st.Succeeded)
		require.Equal(t, 1, st.Failed)
		require.Equal(t, 6, st.Pending)
		require.Equal(t, contract.BatchRunning, st.State)
		require.InDelta(t, 2.0/90, st.ItemsPerSecond, 0.001)
	}, 90*time.Second)
	env.ExecuteWorkflow(Batch, contract.BatchInput{Pages: 1, Total: 10, Concurrency: 2})
	batchResult(t, env)
}

func TestBatchRejectsEmptyInput(t *testing.T) {
	t.Parallel()
	env, _ := newBatchEnv(t, nil)
	env.ExecuteWorkflow(Batch, contract.BatchInput{})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, contract.ErrTypeInvalidInput, appErr.Type())
}
