package activities

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
)

// Account reaches the account limiter, the AccountLimiter workflow of the
// worker's API key; *TemporalAccount is the implementation the worker
// uses. A nil Account (tests, programs that want no limit) admits every
// run at once.
type Account interface {
	// Acquire asks for a slot, starting the limiter if it is not
	// running, and returns at once: granted, or queued.
	Acquire(ctx context.Context, taskQueue string, req contract.AcquireRequest) (contract.AcquireReply, error)
	// Release gives a slot back, or leaves the queue.
	Release(ctx context.Context, limiter string, req contract.ReleaseRequest) error
	// Throttle reports a 429 of the provider to the limiter.
	Throttle(ctx context.Context, req contract.ThrottleRequest) error
	// Closed returns the runs of runs that are no longer running.
	Closed(ctx context.Context, runs []contract.ReleaseRequest) ([]contract.ReleaseRequest, error)
}

// AccountLimiterID is the limiter workflow ID of the ModelsLab API key:
// a hash of it, so the key never appears in an ID, a history or the UI.
func AccountLimiterID(apiKey string) string {
	sum := sha256.Sum256([]byte("genflow-account-limiter\n" + apiKey))
	return "genflow-account-" + hex.EncodeToString(sum[:8])
}

// TemporalAccount is the Account of one API key, through the Temporal
// client. A worker's acquires and releases are gathered into batches: one
// acquire-batch Update-with-Start (the limiter starts if it is not
// running) carries the releases and acquires of the runs that ask while
// the previous batch is in flight. A limiter run recorded before batches
// is asked one run at a time, as it was.
type TemporalAccount struct {
	Client client.Client
	// LimiterID is AccountLimiterID of the key.
	LimiterID string
	// Limit is ACCOUNT_QUEUE_LIMIT, sent with every acquire request.
	// Zero means contract.DefaultAccountQueueLimit.
	Limit int
	// Logger logs the releases that could not be sent (nil:
	// slog.Default()).
	Logger *slog.Logger

	once  sync.Once
	calls *batcher[limiterCall, limiterResult]
	// unbatchedUntil (Unix nanoseconds): the limiter run refused an
	// acquire-batch; runs are asked one at a time until then, when a
	// batch is tried again (the run may have continued as new).
	unbatchedUntil atomic.Int64
}

// unbatchedFor is how long a worker asks one run at a time after a
// limiter run refused an acquire-batch.
const unbatchedFor = time.Minute

// limiterResult is one call's answer in a batch.
type limiterResult struct {
	reply contract.AcquireReply
	err   error
}

func (t *TemporalAccount) unbatched() bool {
	return time.Now().UnixNano() < t.unbatchedUntil.Load()
}

var _ Account = (*TemporalAccount)(nil)

// limiterCall is one run's acquire (with the task queue its limiter
// starts on, if it must be started) or release.
type limiterCall struct {
	taskQueue string
	acquire   *contract.AcquireRequest
	release   *contract.ReleaseRequest
}

// limiterCallTimeout bounds one batch's Update; the runs' local
// activities retry past it.
const limiterCallTimeout = 10 * time.Second

func (t *TemporalAccount) batcher() *batcher[limiterCall, limiterResult] {
	t.once.Do(func() { t.calls = newBatcher(contract.MaxLimiterBatch, t.send) })
	return t.calls
}

func (t *TemporalAccount) limit() int {
	if t.Limit <= 0 {
		return contract.DefaultAccountQueueLimit
	}
	return t.Limit
}

// Acquire asks for a slot in the worker's next batch.
func (t *TemporalAccount) Acquire(ctx context.Context, taskQueue string, req contract.AcquireRequest) (contract.AcquireReply, error) {
	req.Limit = t.limit()
	res, err := t.batcher().do(ctx, limiterCall{taskQueue: taskQueue, acquire: &req})
	reply := res.reply
	if err = cmp.Or(err, res.err); err != nil {
		return contract.AcquireReply{}, fmt.Errorf("acquire a slot of %s: %w", t.LimiterID, err)
	}
	reply.Limiter = t.LimiterID
	return reply, nil
}

// Release gives the slot back in the worker's next batch, without
// waiting for it: the run's last workflow task need not wait for the
// limiter's (a release lost with its worker, or that cannot be sent, is
// logged, and the limiter's reclaim takes the slot back within
// workflows.ReclaimInterval; Flush sends what is left at a worker's
// stop). A limiter run that takes no batches (or another key's limiter)
// is sent a release signal, and waited for. A limiter that is gone holds
// no slot.
func (t *TemporalAccount) Release(ctx context.Context, limiter string, req contract.ReleaseRequest) error {
	if limiter == t.LimiterID && !t.unbatched() {
		t.batcher().post(ctx, limiterCall{release: &req}, func(res limiterResult, err error) {
			var nf *serviceerror.NotFound
			if err = cmp.Or(err, res.err); err != nil && !errors.As(err, &nf) {
				cmp.Or(t.Logger, slog.Default()).Warn("account slot not released; the limiter reclaims it",
					"limiter", limiter, "holder", req.Holder, "error", err)
			}
		})
		return nil
	}
	err := t.Client.SignalWorkflow(ctx, limiter, "", contract.ReleaseSignal, req)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// Flush waits until the releases and acquires handed to the batcher have
// been sent, or ctx ends (a worker's stop: the releases of its last runs
// are not left to the limiter's reclaim).
func (t *TemporalAccount) Flush(ctx context.Context) error {
	return t.batcher().idle(ctx)
}

// send sends one batch: an acquire-batch Update (with Start if the
// limiter is not running), or one request per run to a limiter run
// without the acquire-batch handler.
func (t *TemporalAccount) send(ctx context.Context, calls []limiterCall) ([]limiterResult, error) {
	ctx, cancel := context.WithTimeout(ctx, limiterCallTimeout)
	defer cancel()
	if t.unbatched() {
		return t.sendEach(ctx, calls), nil
	}
	var batch contract.AcquireBatch
	taskQueue := ""
	for _, c := range calls {
		if c.acquire != nil {
			batch.Requests = append(batch.Requests, *c.acquire)
			taskQueue = cmp.Or(taskQueue, c.taskQueue)
		} else {
			batch.Releases = append(batch.Releases, *c.release)
		}
	}
	opts := client.UpdateWorkflowOptions{
		UpdateID:     "acquire-batch-" + uuid.NewString(),
		UpdateName:   contract.AcquireBatchUpdate,
		Args:         []any{batch},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	// A plain Update first (the limiter runs: the common case, and the
	// cheaper request); Update-with-Start when it is not running, unless
	// the batch is only releases (a limiter that is not running holds no
	// slot).
	opts.WorkflowID = t.LimiterID
	h, err := t.Client.UpdateWorkflow(ctx, opts)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) && taskQueue != "" {
		opts.WorkflowID = ""
		h, err = t.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: t.startOperation(taskQueue), UpdateOptions: opts,
		})
	}
	var reply contract.AcquireBatchReply
	if err == nil {
		err = h.Get(ctx, &reply)
	}
	if err != nil {
		if isUnknownUpdate(err) {
			t.unbatchedUntil.Store(time.Now().Add(unbatchedFor).UnixNano())
			return t.sendEach(ctx, calls), nil
		}
		return nil, err
	}
	replies := make([]limiterResult, len(calls))
	next := 0
	for i, c := range calls {
		if c.acquire == nil {
			continue
		}
		if next >= len(reply.Replies) {
			return nil, errShortBatchReply
		}
		replies[i].reply = reply.Replies[next]
		next++
	}
	return replies, nil
}

func (t *TemporalAccount) startOperation(taskQueue string) client.WithStartWorkflowOperation {
	return t.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       t.LimiterID,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            "ModelsLab account limiter",
	}, contract.AccountLimiterWorkflow, contract.LimiterInput{Limit: t.limit()})
}

// isUnknownUpdate: the limiter run has no handler for the update (a run
// recorded before acquire-batch).
func isUnknownUpdate(err error) bool {
	return strings.Contains(err.Error(), "unknown update")
}

// sendEach asks a limiter run without acquire-batch: one acquire Update
// per run (update ID = the run's, so a retried attempt is one request)
// and one release signal per run, all at once.
func (t *TemporalAccount) sendEach(ctx context.Context, calls []limiterCall) []limiterResult {
	res := make([]limiterResult, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			if c.release != nil {
				res[i].err = t.Client.SignalWorkflow(ctx, t.LimiterID, "", contract.ReleaseSignal, *c.release)
				return
			}
			h, err := t.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID:   t.LimiterID,
				UpdateID:     "acquire-" + c.acquire.Holder + "-" + c.acquire.RunID,
				UpdateName:   contract.AcquireUpdate,
				Args:         []any{*c.acquire},
				WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				err = h.Get(ctx, &res[i].reply)
			}
			res[i].err = err
		})
	}
	wg.Wait()
	return res
}

// Throttle signals the limiter, if it runs.
func (t *TemporalAccount) Throttle(ctx context.Context, req contract.ThrottleRequest) error {
	err := t.Client.SignalWorkflow(ctx, t.LimiterID, "", contract.ThrottleSignal, req)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// Closed describes each run; a run not found or not running is closed.
func (t *TemporalAccount) Closed(ctx context.Context, runs []contract.ReleaseRequest) ([]contract.ReleaseRequest, error) {
	var closed []contract.ReleaseRequest
	for _, r := range runs {
		d, err := t.Client.DescribeWorkflow(ctx, r.Holder, r.RunID)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			closed = append(closed, r)
		case err != nil:
			return nil, fmt.Errorf("describe %s: %w", r.Holder, err)
		case d.RawResponse.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			closed = append(closed, r)
		}
	}
	return closed, nil
}

// AcquireInput is the AcquireSlot local activity's input.
type AcquireInput struct {
	Request contract.AcquireRequest `json:"request"`
}

// AcquireSlot asks the account limiter for a slot (a local activity of
// the Generation: one marker in its history, no workflow task of its
// own). Without an Account it grants at once and names no limiter.
func (a *Activities) AcquireSlot(ctx context.Context, in AcquireInput) (contract.AcquireReply, error) {
	if a.Account == nil {
		return contract.AcquireReply{Granted: true}, nil
	}
	return a.Account.Acquire(ctx, activity.GetInfo(ctx).TaskQueue, in.Request)
}

// ReleaseInput is the ReleaseSlot local activity's input.
type ReleaseInput struct {
	Limiter string                  `json:"limiter"`
	Request contract.ReleaseRequest `json:"request"`
}

// ReleaseSlot gives a slot back (a local activity of the Generation).
func (a *Activities) ReleaseSlot(ctx context.Context, in ReleaseInput) error {
	if a.Account == nil || in.Limiter == "" {
		return nil
	}
	return a.Account.Release(ctx, in.Limiter, in.Request)
}

// ClosedHolders returns the runs among runs that have closed (the
// limiter's reclaim: a holder that ended without a release, terminated
// say, gives its slot back).
func (a *Activities) ClosedHolders(ctx context.Context, runs []contract.ReleaseRequest) ([]contract.ReleaseRequest, error) {
	if a.Account == nil {
		return nil, nil
	}
	return a.Account.Closed(ctx, runs)
}

// throttleTimeout bounds the best-effort signal of a 429 to the limiter.
const throttleTimeout = 5 * time.Second

// reportThrottle tells the limiter of a 429 from the provider, best
// effort: the Submit is retried after retry_after whatever happens here.
func (a *Activities) reportThrottle(ctx context.Context, trackID string, err error) {
	var pe *modelslab.Error
	if a.Account == nil || !errors.As(err, &pe) || pe.Type != modelslab.ErrTypeRateLimited {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), throttleTimeout)
	defer cancel()
	retryAfter := pe.RetryAfter
	if retryAfter <= 0 {
		retryAfter = 30 * time.Second
	}
	if terr := a.Account.Throttle(ctx, contract.ThrottleRequest{Holder: trackID, RetryAfter: retryAfter, At: time.Now()}); terr != nil {
		activity.GetLogger(ctx).Warn("cannot report a 429 to the account limiter", "error", terr)
	}
}
