package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

const testLimiterID = "genflow-account-test"

// limiterEnv runs an AccountLimiter whose grants are recorded.
type limiterEnv struct {
	*testsuite.TestWorkflowEnvironment
	mu      sync.Mutex
	granted []string
	replies map[string]contract.AcquireReply
	// gone are holders whose grant fails (their run has closed).
	gone map[string]bool
}

func newLimiterEnv(t *testing.T) *limiterEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := &limiterEnv{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment(), replies: map[string]contract.AcquireReply{}, gone: map[string]bool{}}
	e.RegisterWorkflowWithOptions(AccountLimiter, workflowOptions(contract.AccountLimiterWorkflow))
	e.RegisterActivity(&activities.Activities{})
	e.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testLimiterID})
	e.SetTestTimeout(30 * time.Second)
	e.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, contract.SlotGrantSignal, mock.Anything).Return(
		func(_, id, _, _ string, _ any) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.gone[id] {
				return errors.New("workflow not found")
			}
			e.granted = append(e.granted, id)
			return nil
		})
	return e
}

// acquire sends the acquire update at d.
func (e *limiterEnv) acquire(t *testing.T, d time.Duration, holder string, prio int, key string) {
	e.RegisterDelayedCallback(func() {
		e.UpdateWorkflow(contract.AcquireUpdate, "acquire-"+holder, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("acquire %s rejected: %v", holder, err) },
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				e.mu.Lock()
				defer e.mu.Unlock()
				e.replies[holder] = v.(contract.AcquireReply)
			},
		}, contract.AcquireRequest{Holder: holder, RunID: runID(holder), Priority: prio, Key: key})
	}, d)
}

func (e *limiterEnv) release(d time.Duration, holder string) {
	e.RegisterDelayedCallback(func() {
		e.SignalWorkflow(contract.ReleaseSignal, contract.ReleaseRequest{Holder: holder, RunID: runID(holder)})
	}, d)
}

func (e *limiterEnv) state(t *testing.T) contract.LimiterState {
	t.Helper()
	v, err := e.QueryWorkflow(contract.LimiterStateQuery)
	require.NoError(t, err)
	var s contract.LimiterState
	require.NoError(t, v.Get(&s))
	return s
}

func (e *limiterEnv) grants() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.granted...)
}

// end stops the limiter (it runs forever) after d, with a check first.
func (e *limiterEnv) end(d time.Duration, check func()) {
	e.RegisterDelayedCallback(func() {
		check()
		e.CancelWorkflow()
	}, d)
}

func TestLimiterAcquireAndRelease(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.acquire(t, time.Second, "a", 5, "a")
	e.acquire(t, 2*time.Second, "b", 5, "b")
	e.RegisterDelayedCallback(func() {
		require.True(t, e.replies["a"].Granted, "a free slot is granted in the reply")
		require.False(t, e.replies["b"].Granted, "limit 1: b waits")
		require.Equal(t, 1, e.replies["b"].Position)
		require.Empty(t, e.grants())
		s := e.state(t)
		require.Equal(t, 1, s.InUse)
		require.Equal(t, 1, s.Waiting)
	}, 3*time.Second)
	e.release(4*time.Second, "a")
	e.end(5*time.Second, func() {
		require.Equal(t, []string{"b"}, e.grants(), "a's release grants b")
		s := e.state(t)
		require.Equal(t, []string{"b"}, s.Holders)
		require.Equal(t, int64(2), s.Admitted)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 1})
	require.True(t, e.IsWorkflowCompleted())
}

func TestLimiterAcquireIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.acquire(t, time.Second, "a", 5, "a")
	e.RegisterDelayedCallback(func() {
		// A retried local activity sends the same request again.
		e.UpdateWorkflow(contract.AcquireUpdate, "acquire-a-again", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Error(err) },
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				require.True(t, v.(contract.AcquireReply).Granted)
			},
		}, contract.AcquireRequest{Holder: "a", RunID: runID("a"), Priority: 5, Key: "a"})
	}, 2*time.Second)
	e.end(3*time.Second, func() {
		require.Equal(t, 1, e.state(t).InUse)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 2})
}

func TestLimiterReclaimsTheSlotOfAClosedHolder(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.OnActivity(acts.ClosedHolders, mock.Anything, mock.Anything).Return(
		[]contract.ReleaseRequest{{Holder: "crashed", RunID: runID("crashed")}}, nil)
	e.acquire(t, time.Second, "crashed", 5, "x")
	e.acquire(t, 2*time.Second, "next", 5, "y")
	e.RegisterDelayedCallback(func() {
		require.Empty(t, e.grants(), "no slot until the check")
	}, ReclaimInterval)
	e.end(ReclaimInterval+5*time.Second, func() {
		require.Equal(t, []string{"next"}, e.grants(), "the crashed holder's slot went to the waiter")
		s := e.state(t)
		require.Equal(t, int64(1), s.Reclaimed)
		require.Equal(t, []string{"next"}, s.Holders)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 1})
}

func TestLimiterGrantToAClosedRunFreesTheSlot(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.gone["dead"] = true
	e.acquire(t, time.Second, "a", 5, "a")
	e.acquire(t, 2*time.Second, "dead", 5, "dead")
	e.acquire(t, 3*time.Second, "c", 5, "c")
	e.release(4*time.Second, "a")
	e.end(5*time.Second, func() {
		require.Equal(t, []string{"c"}, e.grants())
		require.Equal(t, []string{"c"}, e.state(t).Holders)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 1})
}

func TestLimiterCancelWhileWaitingLeavesTheQueue(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.acquire(t, time.Second, "a", 5, "a")
	e.acquire(t, 2*time.Second, "cancelled", 5, "b")
	e.acquire(t, 3*time.Second, "c", 5, "c")
	e.release(4*time.Second, "cancelled") // its run was cancelled while it waited
	e.release(5*time.Second, "a")
	e.end(6*time.Second, func() {
		require.Equal(t, []string{"c"}, e.grants())
		require.Zero(t, e.state(t).Waiting)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 1})
}

func TestLimiterContinuesAsNewCarryingHoldersAndWaiters(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	for i, h := range []string{"h1", "h2", "w1", "w2"} {
		e.acquire(t, time.Duration(i+1)*time.Second, h, 5, "k-"+h)
	}
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 2, ContinueAfter: 4})
	require.True(t, e.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "got %v", e.GetWorkflowError())
	next := continuedInput(t, can)
	require.Equal(t, 2, next.Limit)
	require.NotNil(t, next.Carry)
	var holders, waiters []string
	for _, h := range next.Carry.Holders {
		holders = append(holders, h.Holder)
	}
	for _, w := range next.Carry.Waiters {
		waiters = append(waiters, w.Holder)
	}
	require.Equal(t, []string{"h1", "h2"}, holders)
	require.Equal(t, []string{"w1", "w2"}, waiters)
	require.Equal(t, 1, next.Carry.Runs)

	// The continued run admits the carried waiters as slots free.
	e2 := newLimiterEnv(t)
	e2.release(time.Second, "h1")
	e2.end(2*time.Second, func() {
		require.Equal(t, []string{"w1"}, e2.grants())
		s := e2.state(t)
		require.Equal(t, []string{"h2", "w1"}, s.Holders)
		require.Equal(t, 1, s.Waiting)
		require.Equal(t, 2, s.Runs)
	})
	e2.ExecuteWorkflow(AccountLimiter, sentInput(t, can)) // the carry as sent, compressed
}

func TestLimiterRoundRobinsBatchesAndPutsInteractiveFirst(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.acquire(t, time.Second, "first", contract.PriorityBatch, "batch-a")
	at := 2 * time.Second
	// Batch a's items all arrive before batch b's.
	for _, id := range []string{"a1", "a2", "a3"} {
		e.acquire(t, at, id, contract.PriorityBatch, "batch-a")
		at += time.Second
	}
	for _, id := range []string{"b1", "b2", "b3"} {
		e.acquire(t, at, id, contract.PriorityBatch, "batch-b")
		at += time.Second
	}
	e.acquire(t, at, "interactive", contract.PriorityInteractive, "interactive")
	at += time.Second
	e.RegisterDelayedCallback(func() {
		require.Equal(t, 1, e.replies["interactive"].Position, "interactive runs go first")
		pos, err := e.QueryWorkflow(contract.PositionQuery, "a3")
		require.NoError(t, err)
		var p contract.QueuePosition
		require.NoError(t, pos.Get(&p))
		// interactive, b1 (batch a was served last), a1, b2, a2, b3, a3.
		require.Equal(t, 7, p.Position)
		require.Equal(t, 7, p.Waiting)
	}, at)
	release := []string{"first", "interactive", "b1", "a1", "b2", "a2", "b3"}
	for i, id := range release {
		e.release(at+time.Duration(i+1)*time.Second, id)
	}
	e.end(at+10*time.Second, func() {
		require.Equal(t, []string{"interactive", "b1", "a1", "b2", "a2", "b3", "a3"}, e.grants())
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 1})
}

func TestLimiterLowersItsLimitAfterA429(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	for i, h := range []string{"a", "b", "c", "w1", "w2"} {
		e.acquire(t, time.Duration(i+1)*time.Second, h, 5, h)
	}
	// c's Submit met a 429: another app fills the account.
	e.RegisterDelayedCallback(func() {
		e.SignalWorkflow(contract.ThrottleSignal, contract.ThrottleRequest{Holder: "c", RetryAfter: 30 * time.Second})
	}, 6*time.Second)
	e.release(7*time.Second, "a")
	e.RegisterDelayedCallback(func() {
		require.Empty(t, e.grants(), "with 2 in use and the estimate at 2, no waiter is admitted")
		s := e.state(t)
		require.Equal(t, 3, s.Limit)
		require.Equal(t, 2, s.Effective)
		require.False(t, s.ThrottledUntil.IsZero())
		require.Equal(t, 1, s.Throttles)
	}, 8*time.Second)
	e.end(40*time.Second, func() {
		require.Equal(t, []string{"w1"}, e.grants(), "retry_after passed: the configured limit again")
		require.Equal(t, 3, e.state(t).Effective)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 3})
}

func TestLimiterTakesTheLatestLimit(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.acquire(t, time.Second, "a", 5, "a")
	e.acquire(t, 2*time.Second, "b", 5, "b")
	e.RegisterDelayedCallback(func() {
		// A restarted worker sends ACCOUNT_QUEUE_LIMIT=2.
		e.UpdateWorkflow(contract.AcquireUpdate, "acquire-c", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Error(err) },
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				require.False(t, v.(contract.AcquireReply).Granted, "b came first")
			},
		}, contract.AcquireRequest{Holder: "c", RunID: runID("c"), Priority: 5, Key: "c", Limit: 2})
	}, 3*time.Second)
	e.end(4*time.Second, func() {
		require.Equal(t, []string{"b"}, e.grants(), "the new limit admits the waiting b")
		require.Equal(t, 2, e.state(t).Limit)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 1})
}

func TestAccountQueuePositionsMatchTheAdmissionOrder(t *testing.T) {
	t.Parallel()
	q, err := newAccountQueue(contract.LimiterInput{Limit: 1})
	require.NoError(t, err)
	now := time.Unix(0, 0)
	q.enqueue(contract.AcquireRequest{Holder: "x", Priority: 1, Key: "A"}, now)
	require.Len(t, q.admit(now), 1) // x: batch A was served
	reqs := []contract.AcquireRequest{
		{Holder: "a1", Priority: 1, Key: "A"}, {Holder: "a2", Priority: 1, Key: "A"}, {Holder: "a3", Priority: 1, Key: "A"},
		{Holder: "b1", Priority: 1, Key: "B"}, {Holder: "c1", Priority: 1, Key: "C"}, {Holder: "c2", Priority: 1, Key: "C"},
		{Holder: "i1", Priority: 5, Key: "i1"}, {Holder: "i2", Priority: 5, Key: "i2"},
	}
	for _, r := range reqs {
		q.enqueue(r, now)
	}
	want := map[string]int{}
	for _, w := range q.c.Waiters {
		want[w.Holder] = q.position(w.Holder, now).Position
	}
	var order []string
	for len(q.c.Waiters) > 0 {
		q.c.Holders = nil
		got := q.admit(now)
		require.Len(t, got, 1)
		order = append(order, got[0].Holder)
	}
	require.Equal(t, []string{"i1", "i2", "b1", "c1", "a1", "c2", "a2", "a3"}, order)
	for i, h := range order {
		require.Equal(t, i+1, want[h], "position of %s", h)
	}
}

// acquireBatch sends one acquire-batch update at d, releasing released
// first; the replies are kept by holder.
func (e *limiterEnv) acquireBatch(t *testing.T, d time.Duration, released []string, reqs ...contract.AcquireRequest) {
	e.RegisterDelayedCallback(func() {
		var b contract.AcquireBatch
		for _, h := range released {
			b.Releases = append(b.Releases, contract.ReleaseRequest{Holder: h, RunID: runID(h)})
		}
		b.Requests = reqs
		e.UpdateWorkflow(contract.AcquireBatchUpdate, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("acquire-batch rejected: %v", err) },
			OnComplete: func(v any, err error) {
				require.NoError(t, err)
				r := v.(contract.AcquireBatchReply)
				require.Len(t, r.Replies, len(reqs), "one reply per request")
				e.mu.Lock()
				defer e.mu.Unlock()
				for i, req := range reqs {
					e.replies[req.Holder] = r.Replies[i]
				}
			},
		}, b)
	}, d)
}

func req(holder string, prio int, key string) contract.AcquireRequest {
	return contract.AcquireRequest{Holder: holder, RunID: runID(holder), Priority: prio, Key: key}
}

func TestLimiterAcquireBatch(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	// Limit 2: one batch of four, the interactive run last in it.
	e.acquireBatch(t, time.Second, nil,
		req("b1", contract.PriorityBatch, "B"), req("b2", contract.PriorityBatch, "B"),
		req("c1", contract.PriorityBatch, "C"), req("i1", contract.PriorityInteractive, "i1"))
	e.RegisterDelayedCallback(func() {
		require.True(t, e.replies["i1"].Granted, "interactive first, whatever its place in the batch")
		require.True(t, e.replies["b1"].Granted, "then the first key's first run")
		require.False(t, e.replies["b2"].Granted)
		require.False(t, e.replies["c1"].Granted)
		require.Equal(t, 1, e.replies["c1"].Position, "round-robin: C's turn before B's second run")
		require.Equal(t, 2, e.replies["b2"].Position)
		require.Empty(t, e.grants(), "granted in the reply, no signal")
	}, 2*time.Second)
	// The next batch releases i1 and b1 and asks for d1: the releases
	// first, so one freed slot goes to c1, whose turn it is, and the
	// other to d1, a key never served, before B's second run.
	e.acquireBatch(t, 3*time.Second, []string{"i1", "b1"}, req("d1", contract.PriorityBatch, "D"))
	e.end(4*time.Second, func() {
		require.Equal(t, []string{"c1"}, e.grants(), "the freed slots go to c1 (signalled) and d1 (in the reply)")
		require.True(t, e.replies["d1"].Granted)
		s := e.state(t)
		require.ElementsMatch(t, []string{"c1", "d1"}, s.Holders)
		require.Equal(t, 1, s.Waiting, "b2 waits")
		require.Equal(t, int64(4), s.Admitted)
	})
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 2})
	require.True(t, e.IsWorkflowCompleted())
}

func TestLimiterAcquireBatchRefusesEmptyAndOversizedBatches(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	for i, n := range []int{0, contract.MaxLimiterBatch + 1} {
		e.RegisterDelayedCallback(func() {
			b := contract.AcquireBatch{}
			for j := range n {
				b.Requests = append(b.Requests, req(fmt.Sprint("h", j), 1, "k"))
			}
			e.UpdateWorkflow(contract.AcquireBatchUpdate, "", &testsuite.TestUpdateCallback{
				OnAccept:   func() { t.Errorf("a batch of %d accepted", n) },
				OnReject:   func(err error) { require.ErrorContains(t, err, "requests and releases") },
				OnComplete: func(any, error) {},
			}, b)
		}, time.Duration(i+1)*time.Second)
	}
	e.end(3*time.Second, func() { require.Zero(t, e.state(t).Waiting) })
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 2})
}

// runID is the test's run ID of holder: a UUID, as Temporal's are (the
// limiter refuses others: a grant to a malformed run ID would fail its
// workflow task).
func runID(holder string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(holder)).String()
}

func TestLimiterRefusesAMalformedRunID(t *testing.T) {
	t.Parallel()
	e := newLimiterEnv(t)
	e.RegisterDelayedCallback(func() {
		e.UpdateWorkflow(contract.AcquireBatchUpdate, "", &testsuite.TestUpdateCallback{
			OnAccept:   func() { t.Error("a run ID that is no UUID accepted") },
			OnReject:   func(err error) { require.ErrorContains(t, err, `run ID "r" is not a UUID`) },
			OnComplete: func(any, error) {},
		}, contract.AcquireBatch{Requests: []contract.AcquireRequest{{Holder: "a", RunID: "r"}}})
	}, time.Second)
	e.end(2*time.Second, func() { require.Zero(t, e.state(t).Waiting) })
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 2})
}

func TestIsUUID(t *testing.T) {
	t.Parallel()
	require.True(t, isUUID(runID("a")))
	require.True(t, isUUID("01A22F24-8C7A-739B-A5B8-C6977C1D3A28"))
	for _, bad := range []string{"", "r", "01a22f24-8c7a-739b-a5b8-c6977c1d3a2", "01a22f24x8c7a-739b-a5b8-c6977c1d3a28", "01a22f24-8c7a-739b-a5b8-c6977c1d3a2g"} {
		require.False(t, isUUID(bad), bad)
	}
}

// TestLimiterContinuesAsNewUnderSteadyGrants: grants that take a while to
// be acknowledged, and a release (so a new grant) before each is: without
// draining, a grant would always be in flight and the run would never
// continue as new (its history would grow to Temporal's limit, which
// terminates it). A full run grants nothing new, waits for its grants in
// flight and continues, carrying the waiters it did not grant.
func TestLimiterContinuesAsNewUnderSteadyGrants(t *testing.T) {
	t.Parallel()
	var s testsuite.WorkflowTestSuite
	e := s.NewTestWorkflowEnvironment()
	e.RegisterWorkflowWithOptions(AccountLimiter, workflowOptions(contract.AccountLimiterWorkflow))
	e.RegisterActivity(&activities.Activities{})
	e.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testLimiterID})
	e.SetTestTimeout(30 * time.Second)
	// A grant is acknowledged 2 s after it is sent.
	e.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, contract.SlotGrantSignal, mock.Anything).
		Return(nil).After(2 * time.Second)
	// Limit 1: h0 holds and h1..h20 wait; then every second the holder
	// of the moment releases, so a grant is sent every second and each
	// is in flight for two.
	e.RegisterDelayedCallback(func() {
		var b contract.AcquireBatch
		for i := range 21 {
			b.Requests = append(b.Requests, req(fmt.Sprint("h", i), 1, "k"))
		}
		e.UpdateWorkflow(contract.AcquireBatchUpdate, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Error(err) }, OnComplete: func(any, error) {},
		}, b)
	}, time.Second)
	for i := range 20 {
		e.RegisterDelayedCallback(func() {
			e.UpdateWorkflow(contract.AcquireBatchUpdate, "", &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { t.Error(err) }, OnComplete: func(any, error) {},
			}, contract.AcquireBatch{Releases: []contract.ReleaseRequest{{Holder: fmt.Sprint("h", i), RunID: runID(fmt.Sprint("h", i))}}})
		}, time.Duration(i+2)*time.Second)
	}
	e.ExecuteWorkflow(AccountLimiter, contract.LimiterInput{Limit: 1, ContinueAfter: 5})
	require.True(t, e.IsWorkflowCompleted(), "the limiter must continue as new under steady grants")
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "got %v", e.GetWorkflowError())
	next := continuedInput(t, can)
	require.NotNil(t, next.Carry)
	require.LessOrEqual(t, len(next.Carry.Holders), 1, "the limit holds across the continue")
	require.Equal(t, 1, next.Limit)
	var seen []string
	for _, es := range [][]contract.LimiterEntry{next.Carry.Holders, next.Carry.Waiters} {
		for _, e := range es {
			seen = append(seen, e.Holder)
		}
	}
	require.Contains(t, seen, "h20", "continued while the stream went on (h20 still waits), not after it")
	require.Less(t, next.Carry.Admitted, int64(10), "it drained soon after it was full (5 updates)")
}

// continuedInput is the input a limiter continued as new with, its carry
// decoded from CarryGzip (which a batched run sends) into Carry.
func continuedInput(t *testing.T, can *workflow.ContinueAsNewError) contract.LimiterInput {
	t.Helper()
	next := sentInput(t, can)
	c, err := decodeCarry(next.CarryGzip)
	require.NoError(t, err)
	next.Carry, next.CarryGzip = &c, nil
	return next
}

// sentInput is the input a limiter continued as new with, as sent.
func sentInput(t *testing.T, can *workflow.ContinueAsNewError) contract.LimiterInput {
	t.Helper()
	var next contract.LimiterInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Nil(t, next.Carry, "a batched run sends its carry compressed")
	require.NotEmpty(t, next.CarryGzip)
	return next
}

func TestLimiterCarryOf10000WaitersIsSmall(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	q, err := newAccountQueue(contract.LimiterInput{Limit: 5})
	require.NoError(t, err)
	for i := range 10000 {
		batch := fmt.Sprintf("batch-%02d-9f1c2d3e", i%20)
		q.enqueue(contract.AcquireRequest{Holder: fmt.Sprintf("%s-%05d", batch, i), RunID: uuid.NewString(),
			Priority: contract.PriorityBatch, Key: batch}, now.Add(time.Duration(i)*time.Millisecond))
	}
	q.admit(now)
	raw, err := json.Marshal(q.c)
	require.NoError(t, err)
	gz, err := encodeCarry(q.c)
	require.NoError(t, err)
	t.Logf("10,000 entries: %d bytes of JSON, %d gzip-compressed", len(raw), len(gz))
	require.Less(t, len(gz)*4/3, 512<<10, "under Temporal's 512 KB payload warning, in base64")
	back, err := decodeCarry(gz)
	require.NoError(t, err)
	require.Equal(t, q.c.Waiters, back.Waiters)
	require.Equal(t, q.c.Holders, back.Holders)

	_, err = decodeCarry([]byte("not gzip"))
	require.Error(t, err)
}
