package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

// accountLimited is the version of generationChange whose runs take a
// slot of their account from the AccountLimiter before Submit and give it
// back at the provider's terminal state (or any other end). Runs started
// at webhookIDChecked or earlier submit at once, as they did.
const accountLimited workflow.Version = 3

// ErrTypeAccountUnavailable is the error type of a run whose account
// limiter could not be asked for a slot before the deadline (Temporal unreachable from the worker).
const ErrTypeAccountUnavailable = "AccountLimiterUnavailable"

// releaseTimeout bounds the release: past it the limiter's reclaim takes
// the slot back (ReclaimInterval).
const releaseTimeout = time.Minute

// admit takes a slot of the account (accountLimited): the AcquireSlot
// local activity asks the limiter, and a run that is not granted at once
// waits in phase queued for the limiter's grant, its deadline or its
// cancellation. The run's priority is its input's (default interactive);
// its fairness key is its parent's ID (a batch, a pipeline) or its own.
func (g *generation) admit(ctx workflow.Context) error {
	info := workflow.GetInfo(ctx)
	key := info.WorkflowExecution.ID
	if p := info.ParentWorkflowExecution; p != nil && p.ID != "" {
		key = p.ID
	}
	prio := g.in.Priority
	if prio <= 0 {
		prio = contract.PriorityInteractive
	}
	prio = min(prio, contract.PriorityMax)
	left := g.state.Deadline.Sub(workflow.Now(ctx))
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: left,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		},
		Summary: "acquire an account slot",
	})
	var reply contract.AcquireReply
	err := workflow.ExecuteLocalActivity(lctx, acts.AcquireSlot, activities.AcquireInput{Request: contract.AcquireRequest{
		Holder: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Priority: prio, Key: key,
	}}).Get(ctx, &reply)
	if err != nil {
		if ctx.Err() != nil {
			return temporal.NewCanceledError("generation cancelled")
		}
		return temporal.NewNonRetryableApplicationError("no slot of the account: "+err.Error(), ErrTypeAccountUnavailable, err)
	}
	if reply.Limiter == "" {
		return nil // a worker without a limiter
	}
	now := workflow.Now(ctx)
	g.slot = reply.Limiter
	g.state.Account = &contract.AccountWait{Limiter: reply.Limiter, QueuedAt: now, QueuePosition: reply.QueuePosition}
	if reply.Granted {
		g.state.Account.GrantedAt = now
		return nil
	}
	g.setPhase(ctx, contract.PhaseQueued, "waiting for the account: "+reply.String())
	g.flushState(ctx)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, g.state.Deadline.Sub(now), workflow.TimerOptions{Summary: "deadline"})
	granted := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, contract.SlotGrantSignal), func(c workflow.ReceiveChannel, _ bool) {
		var gr contract.SlotGrant
		c.Receive(ctx, &gr)
		granted = true
	})
	sel.AddFuture(timer, func(workflow.Future) {})
	sel.Select(ctx)
	switch {
	case granted:
		g.state.Account.GrantedAt = workflow.Now(ctx)
		g.state.Account.QueuePosition = contract.QueuePosition{Holding: true}
		return nil
	case ctx.Err() != nil:
		return temporal.NewCanceledError("generation cancelled")
	default:
		return g.timeoutError()
	}
}

// releaseSlot gives the run's slot back (or takes it out of the queue),
// once, on a disconnected context so a cancelled run releases too. A
// release that fails is logged: the limiter's reclaim takes the slot back
// once the run has closed.
func (g *generation) releaseSlot(ctx workflow.Context) {
	if g.slot == "" {
		return
	}
	limiter := g.slot
	g.slot = ""
	info := workflow.GetInfo(ctx)
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	lctx := workflow.WithLocalActivityOptions(dctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: releaseTimeout,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2},
		Summary:                "release the account slot",
	})
	err := workflow.ExecuteLocalActivity(lctx, acts.ReleaseSlot, activities.ReleaseInput{
		Limiter: limiter,
		Request: contract.ReleaseRequest{Holder: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID},
	}).Get(dctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("account slot not released; the limiter reclaims it", "limiter", limiter, "error", err)
	}
	if g.state.Account != nil {
		g.state.Account.ReleasedAt = workflow.Now(ctx)
	}
	// A grant that crossed the release is of no use now.
	grants := workflow.GetSignalChannel(ctx, contract.SlotGrantSignal)
	for grants.ReceiveAsync(nil) {
	}
}
