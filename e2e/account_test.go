package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/workflows"
)

// accountLimit is both the fake's per-key queue and the worker's
// ACCOUNT_QUEUE_LIMIT in these tests.
const accountLimit = 2

// startAccountStack is a stack whose account takes accountLimit requests
// at once, at the fake and at the worker's limiter; each generation takes
// processing at the fake.
func startAccountStack(t *testing.T, processing time.Duration) *stack {
	t.Helper()
	return startStack(t, fakemodelslab.Options{
		ProcessingTime: processing,
		QueueLimit:     accountLimit,
		RetryAfter:     time.Second,
	}, func(c *config.Worker) { c.AccountQueueLimit = accountLimit })
}

// limiterState asks the account's limiter for its state.
func (s *stack) limiterState(t *testing.T) (contract.LimiterState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	v, err := s.client.QueryWorkflow(ctx, activities.AccountLimiterID(apiKey), "", contract.LimiterStateQuery)
	var st contract.LimiterState
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// waitLimiter waits until the limiter holds inUse slots and has waiting
// runs queued.
func (s *stack) waitLimiter(t *testing.T, inUse, waiting int) {
	t.Helper()
	eventually(t, fmt.Sprintf("the limiter at %d in use, %d waiting", inUse, waiting), func() bool {
		st, err := s.limiterState(t)
		return err == nil && st.InUse == inUse && st.Waiting == waiting
	})
}

// writeBatch writes a JSONL batch file of n text2img items.
func writeBatch(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, `{"endpoint":"text2img","params":{"model_id":"flux","prompt":"batch item %d"}}`+"\n", i)
	}
	file := filepath.Join(t.TempDir(), "items.jsonl")
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o600))
	return file
}

// starterRun is the starter run in the background, as a user runs it
// in a shell (not a terminal): its output so far and its exit code.
type starterRun struct {
	mu     sync.Mutex
	stdout bytes.Buffer
	done   chan int
}

func (r *starterRun) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stdout.Write(p)
}

func (r *starterRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stdout.String()
}

// wait returns the exit code and the whole output.
func (r *starterRun) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case code := <-r.done:
		return code, r.output()
	case <-time.After(2 * time.Minute):
		t.Fatalf("the starter did not end; output so far:\n%s", r.output())
		return 0, ""
	}
}

// startStarter runs the starter with args in the background.
func (s *stack) startStarter(t *testing.T, args ...string) *starterRun {
	t.Helper()
	r := &starterRun{done: make(chan int, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	var stderr bytes.Buffer
	go func() {
		r.done <- starter.Main(ctx, args, starter.Env{Stdout: r, Stderr: &stderr, Lookup: s.lookup})
	}()
	return r
}

// starterText runs the starter with args and returns its exit code and
// its output.
func (s *stack) starterText(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code := starter.Main(ctx, args, starter.Env{Stdout: &stdout, Stderr: &stderr, Lookup: s.lookup})
	return code, stdout.String() + stderr.String()
}

// TestAccountLimitEndToEnd runs a 6-item batch (priority 2) and three
// generations on one account whose queue takes 2 requests (the fake's
// queue limit, and the worker's ACCOUNT_QUEUE_LIMIT): two interactive
// generations, started while four batch items wait, get the next two
// slots, and a generation of priority 1 goes last, although fairness
// alone would serve it (a key not served yet) before the batch; the fake
// never has more than 2 requests processing and refuses none; the queued
// runs say where they stand (the client's QueuePosition, starter show,
// the status line of generate --wait and wait); everything succeeds.
func TestAccountLimitEndToEnd(t *testing.T) {
	const processing = 5 * time.Second
	s := startAccountStack(t, processing)
	gf := genflow.NewClient(s.client, genflow.ClientOptions{TaskQueue: taskQueue})

	const batchID = "e2e-account-batch"
	code, _ := s.runStarter(t, "batch", writeBatch(t, 6), "--id", batchID, "--concurrency", "6", "--priority", "2", "--poll-grace", "1m", "--json")
	require.Equal(t, starter.ExitOK, code)
	// Two items hold the account's slots; four wait.
	s.waitLimiter(t, 2, 4)

	// A generation of the lowest priority waits behind the batch.
	low := "e2e-account-low"
	code, _ = s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "whenever", "--track-id", low, "--priority", "1", "--poll-grace", "1m", "--json")
	require.Equal(t, starter.ExitOK, code)
	s.waitLimiter(t, 2, 5)
	pos, waiting, err := gf.GetGeneration(low, "").QueuePosition(t.Context())
	require.NoError(t, err)
	require.True(t, waiting, "%s waits for the account", low)
	require.Equal(t, "5th of 5, limit 2", pos.String())

	// Two interactive generations (default priority) arrive behind the
	// four batch items.
	int1, int2 := "e2e-account-interactive-1", "e2e-account-interactive-2"
	code, _ = s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "urgent one", "--track-id", int1, "--poll-grace", "1m", "--json")
	require.Equal(t, starter.ExitOK, code)
	s.waitLimiter(t, 2, 6)
	gen2 := s.startStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "urgent two", "--track-id", int2, "--poll-grace", "1m", "--wait")
	s.waitLimiter(t, 2, 7)

	// Where they stand: first and second, ahead of the batch's items.
	pos, waiting, err = gf.GetGeneration(int1, "").QueuePosition(t.Context())
	require.NoError(t, err)
	require.True(t, waiting, "%s waits for the account", int1)
	require.Equal(t, "1st of 7, limit 2", pos.String())
	st, err := gf.GetGeneration(int2, "").State(t.Context())
	require.NoError(t, err)
	require.Equal(t, contract.PhaseQueued, st.Phase)
	require.NotNil(t, st.Account)
	require.Equal(t, "2nd of 7, limit 2", st.Account.String())
	// The run's own state (the query, without the client's refresh) is
	// queued with the place it had when it was queued.
	raw, err := s.client.QueryWorkflow(t.Context(), int2, "", contract.StateQuery)
	require.NoError(t, err)
	var own contract.State
	require.NoError(t, raw.Get(&own))
	require.Equal(t, contract.PhaseQueued, own.Phase)
	require.Equal(t, activities.AccountLimiterID(apiKey), own.Account.Limiter)
	require.Positive(t, own.Account.Position)
	require.Zero(t, s.fake.Submissions(int2), "a queued run is not submitted")

	code, out := s.starterText(t, "show", int2)
	require.Equal(t, starter.ExitOK, code, out)
	require.Regexp(t, `\n  phase +queued since `, out)
	require.Regexp(t, `\n  account +waiting for the account: 2nd of 7, limit 2\n`, out)
	wait1 := s.startStarter(t, "wait", int1)

	// Everything succeeds.
	code, out = wait1.wait(t)
	require.Equal(t, starter.ExitOK, code, out)
	require.Regexp(t, `(?m)^  \d\d:\d\d:\d\d queued  waiting for the account: 1st of 7, limit 2  webhooks 0  polls 0$`, out)
	require.Contains(t, out, "OK "+int1+" succeeded by webhook")
	code, out = gen2.wait(t)
	require.Equal(t, starter.ExitOK, code, out)
	require.Regexp(t, `(?m)^  \d\d:\d\d:\d\d queued  waiting for the account: 2nd of 7, limit 2  webhooks 0  polls 0$`, out)
	require.Contains(t, out, "OK "+int2+" succeeded by webhook")
	res, err := gf.GetBatch(batchID).Wait(t.Context())
	require.NoError(t, err)
	require.Equal(t, 6, res.Succeeded)
	_, err = gf.GetGeneration(low, "").Wait(t.Context())
	require.NoError(t, err)

	// The fake never had more than the account's 2 requests processing,
	// and refused none.
	fst := s.fake.Stats()
	t.Logf("fake: %d accepted, peak %d in flight, %d answered 429 (%d queue full)", fst.Accepted, fst.PeakInFlight, fst.Rejected429, fst.QueueFull)
	require.Equal(t, 9, fst.Accepted)
	require.Equal(t, accountLimit, fst.PeakInFlight)
	require.Zero(t, fst.Rejected429)
	require.Zero(t, fst.QueueFull)

	// The grants, in order: the two batch items that found the slots
	// free, then the interactive runs, then the four batch items queued
	// before them, then the run of priority 1.
	type grant struct {
		id          string
		queued, got time.Time
	}
	var grants []grant
	for _, id := range []string{contract.ItemTrackID(batchID, 0), contract.ItemTrackID(batchID, 1), contract.ItemTrackID(batchID, 2),
		contract.ItemTrackID(batchID, 3), contract.ItemTrackID(batchID, 4), contract.ItemTrackID(batchID, 5), int1, int2, low} {
		st, err := gf.GetGeneration(id, "").State(t.Context())
		require.NoError(t, err, id)
		require.Equal(t, contract.PhaseSucceeded, st.Phase, id)
		require.NotNil(t, st.Account, id)
		require.False(t, st.Account.GrantedAt.IsZero(), id)
		require.Equal(t, 1, s.fake.Submissions(id), "%s submitted once", id)
		grants = append(grants, grant{id: id, queued: st.Account.QueuedAt, got: st.Account.GrantedAt})
	}
	slices.SortStableFunc(grants, func(a, b grant) int { return a.got.Compare(b.got) })
	order := make([]string, len(grants))
	for i, g := range grants {
		order[i] = g.id
		t.Logf("granted %s after %s", g.id, g.got.Sub(g.queued).Round(time.Millisecond))
	}
	require.Equal(t, []string{int1, int2}, order[2:4], "the interactive runs get the 3rd and 4th slots: %v", order)
	for _, g := range grants[4:8] {
		require.Contains(t, g.id, batchID, "the batch's items before the run of priority 1: %v", order)
		require.True(t, g.queued.Before(grants[2].queued), "%s was queued before the interactive runs", g.id)
	}
	require.Equal(t, low, order[8], "the run of priority 1 last: %v", order)
}

// TestAccountCancelQueuedRun: cancelling a run that waits for the
// account takes it out of the queue at once (the next waiter moves up,
// before any slot is given back), and the batch goes on without it.
func TestAccountCancelQueuedRun(t *testing.T) {
	s := startAccountStack(t, 5*time.Second)
	gf := genflow.NewClient(s.client, genflow.ClientOptions{TaskQueue: taskQueue})

	const batchID = "e2e-account-cancel"
	code, _ := s.runStarter(t, "batch", writeBatch(t, 4), "--id", batchID, "--concurrency", "4", "--poll-grace", "1m", "--json")
	require.Equal(t, starter.ExitOK, code)
	s.waitLimiter(t, 2, 2)

	// Two items wait (which two depends on the order the children
	// started): first and second.
	var first, second string
	for i := range 4 {
		id := contract.ItemTrackID(batchID, i)
		pos, waiting, err := gf.GetGeneration(id, "").QueuePosition(t.Context())
		require.NoError(t, err)
		switch {
		case !waiting:
		case pos.String() == "1st of 2, limit 2":
			first = id
		case pos.String() == "2nd of 2, limit 2":
			second = id
		default:
			t.Fatalf("%s: %s", id, pos)
		}
	}
	require.NotEmpty(t, first, "no item is 1st in the queue")
	require.NotEmpty(t, second, "no item is 2nd in the queue")

	code, out := s.starterText(t, "cancel", first)
	require.Equal(t, starter.ExitOK, code, out)
	eventually(t, second+" first in the queue", func() bool {
		pos, waiting, err := gf.GetGeneration(second, "").QueuePosition(t.Context())
		return err == nil && waiting && pos.String() == "1st of 1, limit 2"
	})
	require.Zero(t, s.fake.Stats().Succeeded, "the queue moved before any slot was given back")

	res, err := gf.GetBatch(batchID).Wait(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, res.Succeeded)
	require.Equal(t, 1, res.Canceled)
	require.Zero(t, s.fake.Submissions(first), "the cancelled run was never submitted")
	require.Equal(t, 1, s.fake.Submissions(second))
	fst := s.fake.Stats()
	require.Zero(t, fst.Rejected429)
	require.LessOrEqual(t, fst.PeakInFlight, accountLimit)
	lst, err := s.limiterState(t)
	require.NoError(t, err)
	require.Zero(t, lst.InUse, "every slot given back")
	require.Zero(t, lst.Waiting)
}

// TestAccountReclaimsATerminatedHolder: a run terminated while it holds
// a slot gives nothing back; the limiter finds it closed at its next
// check of the holders (workflows.ReclaimInterval, a minute, fixed) and
// gives its slot to the next waiter. It takes over a minute, so it runs
// only with E2E_RECLAIM=1; workflows' TestLimiterReclaimsTheSlotOfAClosedHolder
// covers the same in workflow time on every run.
func TestAccountReclaimsATerminatedHolder(t *testing.T) {
	if os.Getenv("E2E_RECLAIM") == "" {
		t.Skip("over a minute (workflows.ReclaimInterval); E2E_RECLAIM=1 runs it")
	}
	// The fake's queue is larger than the account's: the terminated run's
	// request goes on at the provider, which is not what this test is
	// about.
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 3 * time.Minute, QueueLimit: 5, RetryAfter: time.Second},
		func(c *config.Worker) { c.AccountQueueLimit = accountLimit })
	gf := genflow.NewClient(s.client, genflow.ClientOptions{TaskQueue: taskQueue})
	start := func(id string) *genflow.GenerationRun {
		run, err := gf.StartGeneration(t.Context(), genflow.GenerationRequest{TrackID: id, Endpoint: "text2img",
			Params: map[string]any{"model_id": "flux", "prompt": id}, PollGrace: time.Hour})
		require.NoError(t, err)
		return run
	}
	holder, other := start("e2e-reclaim-holder"), start("e2e-reclaim-other")
	s.waitLimiter(t, 2, 0)
	waiter := start("e2e-reclaim-waiter")
	s.waitLimiter(t, 2, 1)

	require.NoError(t, s.client.TerminateWorkflow(t.Context(), holder.ID, "", "e2e: a crashed holder"))
	terminated := time.Now()
	var granted time.Time
	deadline := terminated.Add(workflows.ReclaimInterval + 30*time.Second)
	for granted.IsZero() {
		require.True(t, time.Now().Before(deadline), "the slot was not reclaimed within %s", workflows.ReclaimInterval+30*time.Second)
		if _, waiting, err := waiter.QueuePosition(t.Context()); err == nil && !waiting {
			granted = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	lst, err := s.limiterState(t)
	require.NoError(t, err)
	t.Logf("the waiter got the terminated holder's slot %s after the termination; limiter: %d reclaimed, holders %v",
		granted.Sub(terminated).Round(100*time.Millisecond), lst.Reclaimed, lst.Holders)
	require.Equal(t, int64(1), lst.Reclaimed)
	require.ElementsMatch(t, []string{other.ID, waiter.ID}, lst.Holders)
	require.LessOrEqual(t, granted.Sub(terminated), workflows.ReclaimInterval+15*time.Second, "within the reclaim bound")
}
