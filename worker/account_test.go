package worker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/workflows"
)

// runID is the run ID the tests' holders give (the limiter takes UUIDs).
var runID = uuid.NewString()

// accountServer starts a dev server and a worker of the limiter on task
// queue q.
func accountServer(t *testing.T, q string, register func(sdkworker.Registry)) client.Client {
	t.Helper()
	srv, err := testsuite.StartDevServer(t.Context(), testsuite.DevServerOptions{
		ExistingPath: testenv.TemporalCLI(t), LogLevel: "error",
		ClientOptions: &client.Options{HostPort: testenv.FreeAddr(t), Namespace: "default"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	w := sdkworker.New(srv.Client(), q, sdkworker.Options{})
	register(w)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return srv.Client()
}

// TestTemporalAccountBatchesOnARealServer: concurrent acquires and
// releases of one worker reach the limiter in batches, every run gets
// its answer, and a limiter that was terminated is started anew.
func TestTemporalAccountBatchesOnARealServer(t *testing.T) {
	t.Parallel()
	const q = "account-batches"
	c := accountServer(t, q, func(r sdkworker.Registry) { workflows.Register(r) })
	acct := &activities.TemporalAccount{Client: c, LimiterID: "genflow-account-batches", Limit: 20}
	acquireAll := func(n int, tag string) []contract.AcquireReply {
		replies := make([]contract.AcquireReply, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := acct.Acquire(t.Context(), q, contract.AcquireRequest{
					Holder: fmt.Sprintf("%s-%d", tag, i), RunID: runID, Priority: contract.PriorityBatch, Key: tag,
				})
				require.NoError(t, err)
				replies[i] = r
			})
		}
		wg.Wait()
		return replies
	}
	granted := 0
	for _, r := range acquireAll(50, "a") {
		require.Equal(t, acct.LimiterID, r.Limiter)
		if r.Granted {
			granted++
		}
	}
	require.Equal(t, 20, granted, "limit 20: 20 of 50 granted in the reply, 30 queued")

	state := func() contract.LimiterState {
		v, err := c.QueryWorkflow(t.Context(), acct.LimiterID, "", contract.LimiterStateQuery)
		require.NoError(t, err)
		var s contract.LimiterState
		require.NoError(t, v.Get(&s))
		return s
	}
	s := state()
	require.Equal(t, 20, s.InUse)
	require.Equal(t, 30, s.Waiting)

	// Releases of the 50 (held or queued) in batches too.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			require.NoError(t, acct.Release(t.Context(), acct.LimiterID, contract.ReleaseRequest{Holder: fmt.Sprintf("a-%d", i), RunID: runID}))
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool { s := state(); return s.InUse == 0 && s.Waiting == 0 }, 10*time.Second, 50*time.Millisecond)

	// Fewer updates than runs asked: they were batched.
	updates := 0
	iter := c.GetWorkflowHistory(t.Context(), acct.LimiterID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED {
			updates++
		}
	}
	require.Less(t, updates, 100, "100 acquires and releases in fewer updates")
	t.Logf("100 acquires and releases in %d updates", updates)

	// A limiter that is gone (terminated) is started again by the next
	// acquire; a release to it before that is no error.
	require.NoError(t, c.TerminateWorkflow(t.Context(), acct.LimiterID, "", "test"))
	require.NoError(t, acct.Release(t.Context(), acct.LimiterID, contract.ReleaseRequest{Holder: "x", RunID: runID}))
	r := acquireAll(1, "b")[0]
	require.True(t, r.Granted, "a new limiter run grants")
}

// oldLimiter is an AccountLimiter as released before acquire-batch: an
// acquire update (granting everything) and a release signal.
func oldLimiter(ctx workflow.Context, _ contract.LimiterInput) error {
	held := map[string]bool{}
	if err := workflow.SetUpdateHandler(ctx, contract.AcquireUpdate, func(_ workflow.Context, r contract.AcquireRequest) (contract.AcquireReply, error) {
		held[r.Holder] = true
		return contract.AcquireReply{Granted: true, QueuePosition: contract.QueuePosition{Holding: true, InUse: len(held)}}, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, contract.LimiterStateQuery, func() (contract.LimiterState, error) {
		return contract.LimiterState{InUse: len(held)}, nil
	}); err != nil {
		return err
	}
	releases := workflow.GetSignalChannel(ctx, contract.ReleaseSignal)
	for {
		var r contract.ReleaseRequest
		releases.Receive(ctx, &r)
		delete(held, r.Holder)
	}
}

// TestTemporalAccountAsksAnOldLimiterOneRunAtATime: a limiter run without
// acquire-batch (recorded by an earlier release) refuses the batch; the
// worker then sends its acquires and releases one by one, as before.
func TestTemporalAccountAsksAnOldLimiterOneRunAtATime(t *testing.T) {
	t.Parallel()
	const q = "account-old"
	c := accountServer(t, q, func(r sdkworker.Registry) {
		r.RegisterWorkflowWithOptions(oldLimiter, workflow.RegisterOptions{Name: contract.AccountLimiterWorkflow})
	})
	acct := &activities.TemporalAccount{Client: c, LimiterID: "genflow-account-old", Limit: 5}
	_, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: acct.LimiterID, TaskQueue: q},
		contract.AccountLimiterWorkflow, contract.LimiterInput{Limit: 5})
	require.NoError(t, err)
	for i := range 3 {
		r, err := acct.Acquire(t.Context(), q, contract.AcquireRequest{Holder: fmt.Sprint("h", i), RunID: runID})
		require.NoError(t, err)
		require.True(t, r.Granted)
		require.Equal(t, i+1, r.InUse)
	}
	require.NoError(t, acct.Release(t.Context(), acct.LimiterID, contract.ReleaseRequest{Holder: "h0", RunID: runID}))
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(context.Background(), acct.LimiterID, "", contract.LimiterStateQuery)
		if err != nil {
			return false
		}
		var s contract.LimiterState
		return v.Get(&s) == nil && s.InUse == 2
	}, 10*time.Second, 50*time.Millisecond, "the release reached the old limiter as a release signal")
}
