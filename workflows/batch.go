package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
)

// pageHoldTime bounds how long a page holder waits to be released; a
// batch still running after it reads a closed holder's history, which
// Temporal keeps for the namespace's retention period.
const pageHoldTime = 30 * 24 * time.Hour

var batchActs *activities.BatchActivities

// BatchPage holds one page of a batch's items in its input and waits to
// be released, so the items stay in Temporal, durable and small per
// payload, for as long as the batch needs them.
func BatchPage(ctx workflow.Context, page contract.BatchPage) error {
	release := workflow.GetSignalChannel(ctx, contract.BatchPageReleaseSignal)
	_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      pageHoldTime,
		TimerOptions: workflow.TimerOptions{Summary: "held until the batch releases it"},
	}, func() bool { return release.ReceiveAsync(nil) })
	return err
}

// Batch runs a batch's items as Generation children, at most Concurrency
// at a time, one page per run: it loads the page from its holder, runs
// every item of it, then continues as new with the counts carried over.
// Child workflow IDs are the items' track_ids, so an item is never
// started twice, whatever retries or restarts happen.
func Batch(ctx workflow.Context, in contract.BatchInput) (contract.BatchResult, error) {
	b, err := newBatch(ctx, in)
	if err != nil {
		return contract.BatchResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, contract.BatchStateQuery, func() (contract.BatchState, error) {
		return b.snapshot(ctx), nil
	}); err != nil {
		return contract.BatchResult{}, err
	}
	res, err := b.run(ctx)
	if in.NotifyURL != "" && !workflow.IsContinueAsNewError(err) {
		b.notify(ctx, res, err)
	}
	return res, err
}

// notify POSTs the batch's outcome, from its last run, to its NotifyURL.
func (b *batch) notify(ctx workflow.Context, res contract.BatchResult, runErr error) {
	data := contract.NotificationData{BatchID: b.id}
	if runErr == nil {
		data.Batch = &res
	}
	n := newNotification(ctx, runErr, data,
		contract.NotifyBatchCompleted, contract.NotifyBatchCanceled, contract.NotifyBatchFailed)
	b.notified = "sending"
	b.notified = sendNotification(ctx, b.in.NotifyURL, n)
}

type batch struct {
	id      string
	in      contract.BatchInput
	carry   contract.BatchCarry
	conc    int
	running int
	state   string
	// notified is how the end-of-batch notification went.
	notified string
	// upsertSA is whether this run keeps the GenflowState search
	// attribute up to date (runs started before that change replay
	// without).
	upsertSA bool
}

func newBatch(ctx workflow.Context, in contract.BatchInput) (*batch, error) {
	if in.Pages <= 0 || in.Total <= 0 {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("batch input needs pages and total > 0, got %d and %d", in.Pages, in.Total),
			contract.ErrTypeInvalidInput, nil)
	}
	b := &batch{id: workflow.GetInfo(ctx).WorkflowExecution.ID, in: in, conc: in.Concurrency, state: contract.BatchRunning}
	if b.conc <= 0 {
		b.conc = contract.DefaultBatchConcurrency
	}
	if in.Carry != nil {
		b.carry = *in.Carry
	} else {
		b.carry = contract.BatchCarry{StartedAt: workflow.Now(ctx)}
	}
	b.carry.Runs++
	if b.carry.Learned == nil {
		b.carry.Learned = map[string]int{}
	}
	return b, nil
}

func (b *batch) snapshot(ctx workflow.Context) contract.BatchState {
	done := b.carry.Succeeded + b.carry.Failed + b.carry.Canceled
	st := contract.BatchState{
		BatchID: b.id, Total: b.in.Total, Running: b.running,
		Succeeded: b.carry.Succeeded, Failed: b.carry.Failed, Canceled: b.carry.Canceled,
		Pending:     b.in.Total - done - b.running,
		Concurrency: b.conc, Page: b.carry.Page, Pages: b.in.Pages, Run: b.carry.Runs,
		State: b.state, StartedAt: b.carry.StartedAt, Failures: b.carry.Failures, Learned: b.carry.Learned,
		Notified: b.notified,
	}
	if elapsed := workflow.Now(ctx).Sub(b.carry.StartedAt).Seconds(); elapsed > 0 {
		st.ItemsPerSecond = float64(done) / elapsed
	}
	return st
}

// setState records the batch's state in the state query and, for runs
// that do, in the GenflowState search attribute.
func (b *batch) setState(ctx workflow.Context, state string) {
	b.state = state
	if !b.upsertSA {
		return
	}
	if cur, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(contract.SAState); ok && cur == state {
		return
	}
	upsertSearchAttributes(ctx, contract.SAState.ValueSet(state))
}

func (b *batch) run(ctx workflow.Context) (contract.BatchResult, error) {
	b.upsertSA = workflow.GetVersion(ctx, upsertStateChange, workflow.DefaultVersion, stateUpserts) >= stateUpserts
	b.setState(ctx, contract.BatchRunning)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("page %d of %d, %d of %d items done",
		b.carry.Page+1, b.in.Pages, b.carry.Succeeded+b.carry.Failed, b.in.Total))
	if b.carry.Page < b.in.Pages {
		page, err := b.loadPage(ctx, b.carry.Page)
		if err != nil {
			return contract.BatchResult{}, err
		}
		failFast, err := b.runPage(ctx, page)
		b.releasePage(ctx, b.carry.Page)
		switch {
		case err != nil: // cancelled
			b.setState(ctx, contract.BatchCanceled)
			b.releaseRest(ctx)
			return contract.BatchResult{}, err
		case failFast != nil:
			b.setState(ctx, contract.BatchFailed)
			b.releaseRest(ctx)
			return contract.BatchResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("fail-fast: item %d (%s) failed: %s", failFast.Index, failFast.TrackID, failFast.Message),
				contract.ErrTypeBatchFailFast, nil, b.result(ctx))
		}
		b.carry.Page++
		if b.carry.Page < b.in.Pages {
			next := b.in
			carry := b.carry
			next.Carry = &carry
			return contract.BatchResult{}, workflow.NewContinueAsNewError(ctx, contract.BatchWorkflow, next)
		}
	}
	b.setState(ctx, contract.BatchCompleted)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("completed: %d succeeded, %d failed", b.carry.Succeeded, b.carry.Failed))
	return b.result(ctx), nil
}

func (b *batch) result(ctx workflow.Context) contract.BatchResult {
	return contract.BatchResult{
		BatchID: b.id, Total: b.in.Total, Succeeded: b.carry.Succeeded, Failed: b.carry.Failed, Canceled: b.carry.Canceled,
		Failures: b.carry.Failures, FailuresDropped: b.carry.Dropped, Runs: b.carry.Runs,
		Duration: workflow.Now(ctx).Sub(b.carry.StartedAt), Learned: b.carry.Learned,
	}
}

func (b *batch) loadPage(ctx workflow.Context, n int) (contract.BatchPage, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 10, NonRetryableErrorTypes: []string{activities.ErrTypePageMissing},
		},
		Summary: fmt.Sprintf("load page %d of %d", n+1, b.in.Pages),
	})
	var page contract.BatchPage
	err := workflow.ExecuteActivity(actx, batchActs.LoadBatchPage, contract.PageWorkflowID(b.id, n)).Get(ctx, &page)
	return page, err
}

// runPage runs the page's items with at most b.conc in flight. It returns
// the first failure when fail-fast stopped the page, or ctx's error when
// the batch was cancelled; either way every started child has closed.
func (b *batch) runPage(ctx workflow.Context, page contract.BatchPage) (*contract.ItemFailure, error) {
	childCtx, cancelChildren := workflow.WithCancel(ctx)
	defer cancelChildren()
	// Waiting for children to close must go on after a cancel.
	waitCtx, _ := workflow.NewDisconnectedContext(ctx)
	sel := workflow.NewSelector(waitCtx)
	var firstFailure *contract.ItemFailure
	stop := false
	next := 0
	for {
		for !stop && ctx.Err() == nil && b.running < b.conc && next < len(page.Items) {
			index := page.First + next
			item := page.Items[next]
			next++
			f := b.startChild(childCtx, index, item)
			b.running++
			sel.AddFuture(f, func(f workflow.Future) {
				b.running--
				fail := b.onChildDone(waitCtx, f, index, item)
				if fail != nil && b.in.FailFast && firstFailure == nil {
					firstFailure = fail
					stop = true
					cancelChildren()
				}
			})
		}
		if b.running == 0 {
			break
		}
		sel.Select(waitCtx)
	}
	if firstFailure != nil {
		return firstFailure, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, temporal.NewCanceledError("batch cancelled")
	}
	return nil, nil
}

func (b *batch) trackID(index int, item contract.BatchItem) string {
	if item.TrackID != "" {
		return item.TrackID
	}
	return contract.ItemTrackID(b.id, index)
}

func (b *batch) startChild(ctx workflow.Context, index int, item contract.BatchItem) workflow.ChildWorkflowFuture {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            b.trackID(index, item),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WaitForCancellation:   true,
		StaticSummary:         fmt.Sprintf("#%d %s", index, contract.Summary(item.Endpoint, item.Params)),
		TypedSearchAttributes: temporal.NewSearchAttributes(append(
			contract.GenerationSearchAttributes(item.Endpoint, item.Params, b.in.Owner),
			contract.SAParentID.ValueSet(b.id))...),
	})
	return workflow.ExecuteChildWorkflow(cctx, contract.GenerationWorkflow, contract.GenerationInput{
		Endpoint: item.Endpoint, Params: item.Params, Deadline: b.in.Deadline, PollGrace: b.in.PollGrace, Owner: b.in.Owner,
		Store: b.in.Store, Priority: b.priority(item), Revision: contract.GenerationRevision,
	})
}

// priority is an item's priority at the account limiter: its own, else
// the batch's, else PriorityBatch (batches of earlier releases set
// neither, so their items keep PriorityBatch on replay).
func (b *batch) priority(item contract.BatchItem) int {
	switch {
	case item.Priority > 0:
		return item.Priority
	case b.in.Priority > 0:
		return b.in.Priority
	}
	return contract.PriorityBatch
}

// onChildDone counts a finished child and returns its failure, if any.
// A cancelled child (fail-fast or batch cancel) is neither a success nor
// a failure of its own.
func (b *batch) onChildDone(ctx workflow.Context, f workflow.Future, index int, item contract.BatchItem) *contract.ItemFailure {
	var res contract.GenerationResult
	err := f.Get(ctx, &res)
	if err == nil {
		b.carry.Succeeded++
		b.carry.Learned[string(res.LearnedBy)]++
		return nil
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		// Counted, so the state adds up; no command depends on it.
		b.carry.Canceled++
		return nil
	}
	fail := contract.ItemFailure{Index: index, TrackID: b.trackID(index, item), Type: "Error", Message: err.Error()}
	var appErr *temporal.ApplicationError
	var already *temporal.ChildWorkflowExecutionAlreadyStartedError
	switch {
	case errors.As(err, &appErr):
		fail.Type, fail.Message = appErr.Type(), appErr.Message()
	case errors.As(err, &already):
		fail.Type, fail.Message = "TrackIDInUse", "track_id was used by an earlier run; not started again"
	}
	b.carry.Failed++
	if len(b.carry.Failures) < contract.MaxReportedFailures {
		b.carry.Failures = append(b.carry.Failures, fail)
	} else {
		b.carry.Dropped++
	}
	return &fail
}

// releasePage lets a page holder close; a missing holder is no error.
func (b *batch) releasePage(ctx workflow.Context, n int) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	_ = workflow.SignalExternalWorkflow(dctx, contract.PageWorkflowID(b.id, n), "", contract.BatchPageReleaseSignal, nil).Get(dctx, nil)
}

// releaseRest releases the holders of pages the batch will not run.
func (b *batch) releaseRest(ctx workflow.Context) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	futures := make([]workflow.Future, 0, b.in.Pages)
	for n := b.carry.Page + 1; n < b.in.Pages; n++ {
		futures = append(futures, workflow.SignalExternalWorkflow(dctx, contract.PageWorkflowID(b.id, n), "", contract.BatchPageReleaseSignal, nil))
	}
	for _, f := range futures {
		_ = f.Get(dctx, nil)
	}
}
