package genflow

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/trackid"
)

// ChildOptions tune ExecuteGeneration. The zero value is valid.
type ChildOptions struct {
	// TaskQueue is the task queue genflow's workflows are registered on.
	// Default: the calling workflow's task queue (worker.Register put
	// them on the caller's worker).
	TaskQueue string
	// ParentClosePolicy says what becomes of the generation when the
	// calling workflow closes before it (completes, fails, times out or
	// is terminated). Default PARENT_CLOSE_POLICY_REQUEST_CANCEL: the
	// generation is cancelled, as a batch's or a pipeline's are. ABANDON
	// lets it run to its end; TERMINATE ends it at once, which may lose
	// track of a request the provider accepted.
	ParentClosePolicy enumspb.ParentClosePolicy
}

// ExecuteGeneration runs req as a Generation child workflow of the
// calling workflow and returns its future. Call it from workflow code
// only.
//
// req.TrackID is required: it is the child's workflow ID and the key of
// its webhooks, so it must be known before the child starts and the same
// on every replay. Derive it from your workflow's own ID and a name
// (workflow.GetInfo(ctx).WorkflowExecution.ID + "-cover"), never from a
// random or time-based value. A track_id that was used before, running or
// finished, is refused (WorkflowIDReusePolicy RejectDuplicate), so a
// generation is never submitted twice: Get then returns the SDK's
// *temporal.ChildWorkflowExecutionAlreadyStartedError.
//
// ExecuteGeneration checks the request as StartGeneration does (the
// endpoint and its required parameters, the track_id) without I/O; a bad
// request fails the future with a non-retryable contract.ErrTypeInvalidInput
// error and starts nothing. When the calling workflow is cancelled, the
// generation is cancelled and Get returns once it has closed. The child
// is searchable by the caller's ID as GenflowParentID.
func ExecuteGeneration(ctx workflow.Context, req GenerationRequest, opts ChildOptions) GenerationFuture {
	in, err := req.input()
	if err == nil {
		err = trackid.Validate(req.TrackID)
	}
	if err != nil {
		f, set := workflow.NewFuture(ctx)
		msg := fmt.Sprintf("child generation %q: %v", req.TrackID, err)
		set.SetError(temporal.NewNonRetryableApplicationError(msg, contract.ErrTypeInvalidInput, err))
		return GenerationFuture{result: f, started: f}
	}
	policy := opts.ParentClosePolicy
	if policy == enumspb.PARENT_CLOSE_POLICY_UNSPECIFIED {
		policy = enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL
	}
	sas := append(contract.GenerationSearchAttributes(in.Endpoint, in.Params, in.Owner),
		contract.SAParentID.ValueSet(workflow.GetInfo(ctx).WorkflowExecution.ID))
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            req.TrackID,
		TaskQueue:             opts.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     policy,
		WaitForCancellation:   true,
		StaticSummary:         contract.Summary(in.Endpoint, in.Params),
		TypedSearchAttributes: temporal.NewSearchAttributes(sas...),
	})
	child := workflow.ExecuteChildWorkflow(cctx, contract.GenerationWorkflow, in)
	return GenerationFuture{result: child, started: child.GetChildWorkflowExecution()}
}

// GenerationFuture is a generation run as a child workflow.
type GenerationFuture struct {
	result  workflow.Future
	started workflow.Future
}

// Get blocks until the generation ends and returns its result, or its
// error: a *temporal.ChildWorkflowExecutionError around the generation's
// own, which DescribeFailure and FailureDetailsOf read.
func (f GenerationFuture) Get(ctx workflow.Context) (GenerationResult, error) {
	var res GenerationResult
	err := f.result.Get(ctx, &res)
	return res, err
}

// Started blocks until the generation's workflow has started (or failed
// to start) and returns its execution.
func (f GenerationFuture) Started(ctx workflow.Context) (workflow.Execution, error) {
	var ex workflow.Execution
	err := f.started.Get(ctx, &ex)
	return ex, err
}

// IsReady reports whether the generation has ended, so Get will not
// block.
func (f GenerationFuture) IsReady() bool { return f.result.IsReady() }

// Future returns the future that is ready when the generation ends, for
// a workflow.Selector (Selector.AddFuture); read it with Get.
func (f GenerationFuture) Future() workflow.Future { return f.result }
