package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
)

// Limiter metrics, tagged account (the limiter's workflow ID), recorded
// through the SDK's replay-safe handler as the Generation's are.
const (
	// MetricAccountSlotsInUse is a gauge of the slots held.
	MetricAccountSlotsInUse = "genflow_account_slots_in_use"
	// MetricAccountWaiters is a gauge of the runs waiting for a slot.
	MetricAccountWaiters = "genflow_account_waiters"
	// MetricAccountLimit is a gauge of the limit in force (lower after a
	// 429 until its retry_after).
	MetricAccountLimit = "genflow_account_limit"
	// MetricAccountWait is the time from a run's acquire to its grant,
	// exported as genflow_account_wait_seconds.
	MetricAccountWait = "genflow_account_wait"
	// MetricAccountThrottles counts 429s reported to the limiter.
	MetricAccountThrottles = "genflow_account_throttles"
	// MetricAccountReclaimed counts slots taken back from holders that
	// closed without a release.
	MetricAccountReclaimed = "genflow_account_reclaimed"
)

// ReclaimInterval is how often the limiter checks that its holders still
// run, while it has any. A holder that closed without a release
// (terminated, its worker's release lost) gives its slot back within
// ReclaimInterval plus one ClosedHolders activity; a grant to a run that
// has closed fails and frees the slot at once.
const ReclaimInterval = time.Minute

// limiterMaxUpdates is how many acquire updates a limiter run handles
// before it continues as new: Temporal allows 2,000 per run.
const limiterMaxUpdates = 1000

// limiterMaxEvents bounds a limiter run's history (about 4 events per
// admission besides the workflow tasks).
const limiterMaxEvents = 8000

// AccountLimiter is the limiter of one ModelsLab account (its workflow
// ID is activities.AccountLimiterID of the key). Generations ask it for a
// slot with the acquire Update before they submit, and give the slot back
// with the release signal once the provider's request is over; it grants
// waiters with a signal as slots free, lowers its limit for a while after
// the provider's 429, takes back the slots of holders that closed without
// a release, and continues as new carrying its holders and waiters.
func AccountLimiter(ctx workflow.Context, in contract.LimiterInput) error {
	q, err := newAccountQueue(in) //workflowcheck:ignore JSON and gzip of the input: a pure function of it (json caches types by reflection, which workflowcheck flags)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "LimiterCarry", err)
	}
	l := &limiter{
		q:       q,
		id:      workflow.GetInfo(ctx).WorkflowExecution.ID,
		wake:    workflow.NewBufferedChannel(ctx, 1),
		metrics: workflow.GetMetricsHandler(ctx),

		continueAfter: in.ContinueAfter,
	}
	l.metrics = l.metrics.WithTags(map[string]string{"account": l.id})
	if err := workflow.SetQueryHandler(ctx, contract.LimiterStateQuery, func() (contract.LimiterState, error) {
		return l.q.state(workflow.Now(ctx)), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, contract.PositionQuery, func(holder string) (contract.QueuePosition, error) {
		return l.q.position(holder, workflow.Now(ctx)), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.AcquireUpdate, l.acquire, workflow.UpdateHandlerOptions{
		Validator: func(r contract.AcquireRequest) error { return validAcquire(r) },
	}); err != nil {
		return err
	}
	// Limiter runs recorded before batches (DefaultVersion) have no
	// acquire-batch handler; workers then ask them one run at a time.
	l.batches = workflow.GetVersion(ctx, limiterBatchesChange, workflow.DefaultVersion, limiterBatches) >= limiterBatches
	if !l.batches {
		return l.run(ctx)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.AcquireBatchUpdate, l.acquireBatch, workflow.UpdateHandlerOptions{
		Validator: func(b contract.AcquireBatch) error {
			if n := len(b.Requests) + len(b.Releases); n == 0 || n > contract.MaxLimiterBatch {
				return fmt.Errorf("acquire-batch: %d requests and releases (1 to %d)", n, contract.MaxLimiterBatch)
			}
			for _, r := range b.Requests {
				if err := validAcquire(r); err != nil {
					return err
				}
			}
			return nil
		},
	}); err != nil {
		return err
	}
	return l.run(ctx)
}

// validAcquire refuses a request the limiter could not grant: a grant is
// a signal to the holder's run, and Temporal fails the whole workflow
// task of a signal to a malformed run ID.
func validAcquire(r contract.AcquireRequest) error {
	if r.Holder == "" {
		return errors.New("acquire: no holder")
	}
	if !isUUID(r.RunID) {
		return fmt.Errorf("acquire: holder %s: run ID %q is not a UUID", r.Holder, r.RunID)
	}
	return nil
}

// isUUID: s is a UUID in its 36-character form, as Temporal's run IDs.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// limiterBatchesChange is the GetVersion change of the limiter runs that
// take acquire-batch updates (limiterBatches).
const (
	limiterBatchesChange = "limiter-batches"
	limiterBatches       = workflow.Version(1)
)

type limiter struct {
	// batches: this run takes acquire-batch.
	batches bool
	q       *accountQueue
	id      string
	// wake is written when state changed outside the main loop (an
	// update, a failed grant), so the loop re-arms its timers.
	wake    workflow.Channel
	metrics client.MetricsHandler
	updates int
	// continueAfter is LimiterInput.ContinueAfter.
	continueAfter int
	// pendingGrants counts grant signals not yet acknowledged.
	pendingGrants int
	// draining: the run is full and waits for its grants in flight
	// before it continues as new; it grants no slot meanwhile (acquires
	// queue, and the next run admits them), or a steady stream of
	// releases and grants would keep a grant in flight and the run
	// would never continue (batched runs only: runs recorded before
	// batches grant as they did).
	draining      bool
	reclaimTimer  workflow.Future
	reclaiming    workflow.Future
	throttleTimer workflow.Future
	throttleFor   time.Time
}

// acquire is the acquire update's handler: it queues the run and admits
// what the free slots allow; the reply says whether the asking run is
// among them.
func (l *limiter) acquire(ctx workflow.Context, r contract.AcquireRequest) (contract.AcquireReply, error) {
	l.updates++
	return l.acquireAll(ctx, []contract.AcquireRequest{r})[0], nil
}

// acquireBatch is the acquire-batch update's handler: the releases
// first, then acquire for each request, all queued before any is
// admitted, so the batch's runs are ordered among themselves by the rules
// and not by their place in it.
func (l *limiter) acquireBatch(ctx workflow.Context, b contract.AcquireBatch) (contract.AcquireBatchReply, error) {
	l.updates++
	for _, r := range b.Releases {
		l.q.release(r)
	}
	if len(b.Requests) == 0 {
		l.dispatch(ctx)
		l.changed(ctx)
		return contract.AcquireBatchReply{}, nil
	}
	return contract.AcquireBatchReply{Replies: l.acquireAll(ctx, b.Requests)}, nil
}

func (l *limiter) acquireAll(ctx workflow.Context, rs []contract.AcquireRequest) []contract.AcquireReply {
	now := workflow.Now(ctx)
	asking := make(map[string]bool, len(rs))
	for _, r := range rs {
		l.q.enqueue(r, now)
		asking[r.Holder+"\n"+r.RunID] = true
	}
	var admitted []contract.LimiterEntry
	if !l.draining {
		admitted = l.q.admit(now)
	}
	for _, w := range admitted {
		if asking[w.Holder+"\n"+w.RunID] {
			// Granted in the reply: no signal, and no wait.
			l.metrics.Timer(MetricAccountWait).Record(0)
			continue
		}
		l.grant(ctx, w)
	}
	l.changed(ctx)
	replies := make([]contract.AcquireReply, len(rs))
	for i, r := range rs {
		pos := l.q.position(r.Holder, now)
		replies[i] = contract.AcquireReply{Limiter: l.id, Granted: l.q.holds(r.Holder, r.RunID), QueuePosition: pos}
	}
	return replies
}

// grant tells a waiter it holds a slot. A grant that cannot be delivered
// (the run has closed) gives the slot back at once.
func (l *limiter) grant(ctx workflow.Context, w contract.LimiterEntry) {
	now := workflow.Now(ctx)
	waited := now.Sub(w.Since)
	l.metrics.Timer(MetricAccountWait).Record(waited)
	l.pendingGrants++
	f := workflow.SignalExternalWorkflow(ctx, w.Holder, w.RunID, contract.SlotGrantSignal,
		contract.SlotGrant{Limiter: l.id, Waited: waited})
	workflow.Go(ctx, func(ctx workflow.Context) {
		err := f.Get(ctx, nil)
		l.pendingGrants--
		if err != nil {
			workflow.GetLogger(ctx).Info("grant not delivered: slot given back", "holder", w.Holder, "error", err)
			if held, _ := l.q.release(contract.ReleaseRequest{Holder: w.Holder, RunID: w.RunID}); held {
				l.q.c.Reclaimed++
				l.metrics.Counter(MetricAccountReclaimed).Inc(1)
			}
			l.dispatch(ctx)
		}
		l.changed(ctx)
	})
}

// dispatch grants the waiters that free slots allow.
func (l *limiter) dispatch(ctx workflow.Context) {
	if l.draining {
		return
	}
	for _, w := range l.q.admit(workflow.Now(ctx)) {
		l.grant(ctx, w)
	}
}

// changed reports the gauges and the UI's details and wakes the loop.
func (l *limiter) changed(ctx workflow.Context) {
	now := workflow.Now(ctx)
	eff := l.q.effective(now)
	l.metrics.Gauge(MetricAccountSlotsInUse).Update(float64(len(l.q.c.Holders)))
	l.metrics.Gauge(MetricAccountWaiters).Update(float64(len(l.q.c.Waiters)))
	l.metrics.Gauge(MetricAccountLimit).Update(float64(eff))
	details := fmt.Sprintf("**%d of %d** slots in use, **%d** waiting  \n%d admitted, %d reclaimed",
		len(l.q.c.Holders), eff, len(l.q.c.Waiters), l.q.c.Admitted, l.q.c.Reclaimed)
	if eff < l.q.limit {
		details += fmt.Sprintf("  \nthrottled by the provider's 429: limit %d of %d until %s",
			eff, l.q.limit, l.q.c.ThrottledUntil.UTC().Format(time.RFC3339))
	}
	workflow.SetCurrentDetails(ctx, details)
	l.wake.SendAsync(struct{}{})
}

func (l *limiter) onRelease(ctx workflow.Context, r contract.ReleaseRequest) {
	l.q.release(r)
	l.dispatch(ctx)
	l.changed(ctx)
}

func (l *limiter) onThrottle(ctx workflow.Context, r contract.ThrottleRequest) {
	now := workflow.Now(ctx)
	l.q.throttle(r.Holder, r.RetryAfter, now)
	l.metrics.Counter(MetricAccountThrottles).Inc(1)
	workflow.GetLogger(ctx).Warn("provider answered 429: limit lowered",
		"holder", r.Holder, "limit", l.q.effective(now), "until", l.q.c.ThrottledUntil)
	l.changed(ctx)
}

// arm starts the timers the state needs: the reclaim check while slots
// are held, the end of a throttle while runs wait.
func (l *limiter) arm(ctx workflow.Context) {
	if len(l.q.c.Holders) > 0 && l.reclaimTimer == nil && l.reclaiming == nil {
		l.reclaimTimer = workflow.NewTimerWithOptions(ctx, ReclaimInterval, workflow.TimerOptions{Summary: "check holders"})
	}
	now := workflow.Now(ctx)
	if l.throttleTimer == nil && len(l.q.c.Waiters) > 0 && now.Before(l.q.c.ThrottledUntil) {
		l.throttleFor = l.q.c.ThrottledUntil
		l.throttleTimer = workflow.NewTimerWithOptions(ctx, l.throttleFor.Sub(now), workflow.TimerOptions{Summary: "throttle ends"})
	}
}

// startReclaim asks which holders have closed.
func (l *limiter) startReclaim(ctx workflow.Context) {
	runs := make([]contract.ReleaseRequest, 0, len(l.q.c.Holders))
	for _, h := range l.q.c.Holders {
		runs = append(runs, contract.ReleaseRequest{Holder: h.Holder, RunID: h.RunID})
	}
	if len(runs) == 0 {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             fmt.Sprintf("check %d holder(s)", len(runs)),
	})
	l.reclaiming = workflow.ExecuteActivity(actx, acts.ClosedHolders, runs)
}

func (l *limiter) onReclaimed(ctx workflow.Context, f workflow.Future) {
	var closed []contract.ReleaseRequest
	if err := f.Get(ctx, &closed); err != nil {
		workflow.GetLogger(ctx).Warn("cannot check holders", "error", err)
		return
	}
	for _, r := range closed {
		if held, _ := l.q.release(r); held {
			l.q.c.Reclaimed++
			l.metrics.Counter(MetricAccountReclaimed).Inc(1)
			workflow.GetLogger(ctx).Warn("slot of a closed holder reclaimed", "holder", r.Holder)
		}
	}
	l.dispatch(ctx)
	l.changed(ctx)
}

// shouldContinue: the run has handled enough to continue as new, and no
// grant or check is in flight. A full batched run drains: it grants
// nothing new until it continues.
func (l *limiter) shouldContinue(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	maxUpdates := l.continueAfter
	if maxUpdates <= 0 {
		maxUpdates = limiterMaxUpdates
	}
	full := l.updates >= maxUpdates || info.GetCurrentHistoryLength() >= limiterMaxEvents ||
		info.GetContinueAsNewSuggested()
	if full && l.batches {
		l.draining = true
	}
	return full && l.pendingGrants == 0 && l.reclaiming == nil && workflow.AllHandlersFinished(ctx)
}

func (l *limiter) run(ctx workflow.Context) error {
	releases := workflow.GetSignalChannel(ctx, contract.ReleaseSignal)
	throttles := workflow.GetSignalChannel(ctx, contract.ThrottleSignal)
	l.dispatch(ctx) // a continued run may have free slots and waiters
	l.changed(ctx)
	for {
		if l.shouldContinue(ctx) {
			// Take every signal already here first: a continued run
			// would not see them.
			for drained := false; !drained; {
				drained = true
				var r contract.ReleaseRequest
				for releases.ReceiveAsync(&r) {
					l.onRelease(ctx, r)
					drained = false
				}
				var t contract.ThrottleRequest
				for throttles.ReceiveAsync(&t) {
					l.onThrottle(ctx, t)
					drained = false
				}
			}
			if l.pendingGrants == 0 {
				l.q.prune()
				l.q.c.Runs++
				carry := l.q.c
				next := contract.LimiterInput{Limit: l.q.limit, ContinueAfter: l.continueAfter, Carry: &carry}
				if l.batches {
					gz, err := encodeCarry(carry) //workflowcheck:ignore JSON and gzip of the state: a pure function of it
					if err != nil {
						return err
					}
					next.Carry, next.CarryGzip = nil, gz
				}
				return workflow.NewContinueAsNewError(ctx, AccountLimiter, next)
			}
		}
		l.arm(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(releases, func(c workflow.ReceiveChannel, _ bool) {
			var r contract.ReleaseRequest
			c.Receive(ctx, &r)
			l.onRelease(ctx, r)
		})
		sel.AddReceive(throttles, func(c workflow.ReceiveChannel, _ bool) {
			var t contract.ThrottleRequest
			c.Receive(ctx, &t)
			l.onThrottle(ctx, t)
		})
		sel.AddReceive(l.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		if l.reclaimTimer != nil {
			sel.AddFuture(l.reclaimTimer, func(workflow.Future) {
				l.reclaimTimer = nil
				l.startReclaim(ctx)
			})
		}
		if l.reclaiming != nil {
			sel.AddFuture(l.reclaiming, func(f workflow.Future) {
				l.reclaiming = nil
				l.onReclaimed(ctx, f)
			})
		}
		if l.throttleTimer != nil {
			sel.AddFuture(l.throttleTimer, func(workflow.Future) {
				l.throttleTimer = nil
				l.dispatch(ctx)
				l.changed(ctx)
			})
		}
		sel.Select(ctx)
		if ctx.Err() != nil {
			return temporal.NewCanceledError("account limiter cancelled")
		}
	}
}
