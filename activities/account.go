package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

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
// client: Acquire is an Update-with-Start of the limiter workflow,
// Release and Throttle are signals.
type TemporalAccount struct {
	Client client.Client
	// LimiterID is AccountLimiterID of the key.
	LimiterID string
	// Limit is ACCOUNT_QUEUE_LIMIT, sent with every acquire request.
	// Zero means contract.DefaultAccountQueueLimit.
	Limit int
}

var _ Account = (*TemporalAccount)(nil)

func (t *TemporalAccount) limit() int {
	if t.Limit <= 0 {
		return contract.DefaultAccountQueueLimit
	}
	return t.Limit
}

// Acquire sends the acquire update, starting the limiter with the worker's
// limit when it is not running. The update ID is the run's, so a retried
// attempt is one request.
func (t *TemporalAccount) Acquire(ctx context.Context, taskQueue string, req contract.AcquireRequest) (contract.AcquireReply, error) {
	req.Limit = t.limit()
	start := t.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       t.LimiterID,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            "ModelsLab account limiter",
	}, contract.AccountLimiterWorkflow, contract.LimiterInput{Limit: req.Limit})
	h, err := t.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     "acquire-" + req.Holder + "-" + req.RunID,
			UpdateName:   contract.AcquireUpdate,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return contract.AcquireReply{}, fmt.Errorf("acquire a slot of %s: %w", t.LimiterID, err)
	}
	var reply contract.AcquireReply
	if err := h.Get(ctx, &reply); err != nil {
		return contract.AcquireReply{}, fmt.Errorf("acquire a slot of %s: %w", t.LimiterID, err)
	}
	reply.Limiter = t.LimiterID
	return reply, nil
}

// Release signals the limiter. A limiter that is gone holds no slot.
func (t *TemporalAccount) Release(ctx context.Context, limiter string, req contract.ReleaseRequest) error {
	err := t.Client.SignalWorkflow(ctx, limiter, "", contract.ReleaseSignal, req)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
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
