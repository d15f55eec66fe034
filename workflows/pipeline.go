package workflows

import (
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/pipeline"
)

// Pipeline runs a compiled pipeline (package pipeline): each step is a
// Generation child workflow whose track_id is
// contract.PipelineStepTrackID(pipeline ID, step, index). A step starts
// once every step it references has succeeded, so independent steps run
// in parallel; a mapped step runs one child per element of its list, all
// in parallel. References are resolved as steps complete.
//
// A step that fails fails the pipeline (PipelineStepFailed, naming the
// step and the provider's message) and cancels the steps still running,
// unless it says continue_on_error: then the steps that depend on it,
// and theirs in turn, are skipped and the others go on; the pipeline
// then ends "partial". Cancelling the pipeline cancels its running
// children and waits for them to end. The PipelineStateQuery gives the
// live state; the result maps each step to its outputs.
func Pipeline(ctx workflow.Context, plan contract.PipelinePlan) (contract.PipelineResult, error) {
	r, err := newPipelineRun(ctx, plan)
	if err != nil {
		return contract.PipelineResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, contract.PipelineStateQuery, func() (contract.PipelineState, error) {
		return r.state, nil
	}); err != nil {
		return contract.PipelineResult{}, err
	}
	res, err := r.run(ctx)
	if plan.NotifyURL != "" {
		r.notify(ctx, res, err)
	}
	return res, err
}

// notify POSTs the pipeline's outcome to its NotifyURL, with every step's
// state whatever the outcome.
func (r *pipelineRun) notify(ctx workflow.Context, res contract.PipelineResult, runErr error) {
	n := newNotification(ctx, runErr, contract.NotificationData{PipelineID: r.id, Pipeline: &res},
		contract.NotifyPipelineCompleted, contract.NotifyPipelineCanceled, contract.NotifyPipelineFailed)
	r.state.Notified = "sending"
	r.state.Notified = sendNotification(ctx, r.plan.NotifyURL, n)
}

// pipelineRun is the state of one Pipeline run.
type pipelineRun struct {
	plan  contract.PipelinePlan
	id    string
	state contract.PipelineState
	// pos maps a step name to its position in plan.Steps and
	// state.Steps.
	pos map[string]int
	// outputs holds the outputs of the steps that succeeded, for
	// reference resolution.
	outputs map[string][]string
	// failed is the step that failed the pipeline, if any, and why.
	failed, failMsg string
	// cancelSteps cancels every running step.
	cancelSteps workflow.CancelFunc
	// running counts generations in flight across all steps, at most
	// maxRunning.
	running, maxRunning int
}

func newPipelineRun(ctx workflow.Context, plan contract.PipelinePlan) (*pipelineRun, error) {
	r := &pipelineRun{
		plan:    plan,
		id:      workflow.GetInfo(ctx).WorkflowExecution.ID,
		pos:     make(map[string]int, len(plan.Steps)),
		outputs: make(map[string][]string, len(plan.Steps)),
	}
	r.maxRunning = plan.MaxRunning
	if r.maxRunning <= 0 {
		r.maxRunning = contract.DefaultPipelineMaxRunning
	}
	r.state = contract.PipelineState{
		PipelineID: r.id, Name: plan.Name, Status: contract.PipelineRunning, StartedAt: workflow.Now(ctx),
	}
	var problems []string
	if len(plan.Steps) == 0 {
		problems = append(problems, "the plan has no steps")
	}
	for i, s := range plan.Steps {
		if _, dup := r.pos[s.Name]; dup || s.Name == "" {
			problems = append(problems, fmt.Sprintf("step %d: name %q is empty or used twice", i, s.Name))
		}
		for _, d := range s.DependsOn {
			if _, ok := r.pos[d]; !ok {
				problems = append(problems, fmt.Sprintf("step %q depends on %q, which does not come before it", s.Name, d))
			}
		}
		if _, err := modelslab.Lookup(s.Endpoint); err != nil {
			problems = append(problems, fmt.Sprintf("step %q: %v", s.Name, err))
		}
		r.pos[s.Name] = i
		r.state.Steps = append(r.state.Steps, contract.StepState{
			Name: s.Name, Endpoint: s.Endpoint, State: contract.StepPending,
			DependsOn: s.DependsOn, Mapped: s.Mapped(),
		})
	}
	if len(problems) > 0 {
		msg := "invalid pipeline plan: " + strings.Join(problems, "; ")
		return nil, temporal.NewNonRetryableApplicationError(msg, contract.ErrTypeInvalidInput, nil)
	}
	return r, nil
}

func (r *pipelineRun) run(ctx workflow.Context) (contract.PipelineResult, error) {
	r.setStatus(ctx, contract.PipelineRunning)
	stepsCtx, cancel := workflow.WithCancel(ctx)
	r.cancelSteps = cancel
	defer cancel()
	// Each step's goroutine sends its position here when it ends; the
	// buffer means a send never blocks.
	done := workflow.NewBufferedChannel(ctx, len(r.plan.Steps))
	running := 0
	for {
		if r.failed == "" && ctx.Err() == nil {
			running += r.startReady(ctx, stepsCtx, done)
		}
		if running == 0 {
			break
		}
		var i int
		done.Receive(ctx, &i)
		running--
		r.details(ctx)
	}
	return r.finish(ctx)
}

// startReady starts every pending step whose dependencies have all
// ended, in plan order, and skips those with a dependency that did not
// succeed. It returns how many it started.
func (r *pipelineRun) startReady(ctx, stepsCtx workflow.Context, done workflow.Channel) int {
	started := 0
	for changed := true; changed; {
		changed = false
		for i, step := range r.plan.Steps {
			st := &r.state.Steps[i]
			if st.State != contract.StepPending {
				continue
			}
			ready, why := true, ""
			for _, d := range step.DependsOn {
				dep := r.state.Steps[r.pos[d]]
				if !dep.State.Terminal() {
					ready = false
					break
				}
				if dep.State != contract.StepSucceeded && why == "" {
					why = fmt.Sprintf("step %q %s", d, dep.State)
				}
			}
			if !ready {
				continue
			}
			changed = true
			now := workflow.Now(ctx)
			if why != "" {
				st.State, st.Error, st.CompletedAt = contract.StepSkipped, "skipped: "+why, now
				workflow.GetLogger(ctx).Info("step skipped", "step", step.Name, "reason", why)
				continue
			}
			st.State, st.StartedAt = contract.StepRunning, now
			started++
			workflow.Go(stepsCtx, func(gctx workflow.Context) {
				r.runStep(gctx, i)
				done.Send(gctx, i)
			})
		}
	}
	if started > 0 {
		r.details(ctx)
	}
	return started
}

// runStep runs one step to its end and records the outcome in its
// state.
func (r *pipelineRun) runStep(ctx workflow.Context, i int) {
	step := r.plan.Steps[i]
	st := &r.state.Steps[i]
	scope := pipeline.Scope{Inputs: r.plan.Inputs, Outputs: r.outputs}

	items := []any{nil}
	if step.Mapped() {
		v, err := pipeline.Resolve(step.Map, scope)
		if err != nil {
			r.endStep(ctx, i, contract.StepFailed, "map: "+err.Error())
			return
		}
		list, ok := v.([]any)
		switch {
		case !ok:
			r.endStep(ctx, i, contract.StepFailed, fmt.Sprintf("map: want a list, found %T", v))
			return
		case len(list) > pipeline.MaxMapItems:
			r.endStep(ctx, i, contract.StepFailed, fmt.Sprintf("map: %d elements; a mapped step runs over at most %d", len(list), pipeline.MaxMapItems))
			return
		}
		items = list
	}

	ep, _ := modelslab.Lookup(step.Endpoint)
	inputs := make([]contract.GenerationInput, len(items))
	for j, item := range items {
		sc := scope
		if step.Mapped() {
			sc.Mapped, sc.Item, sc.Index = true, item, j
		}
		params, err := pipeline.ResolveParams(step.Params, sc)
		if err == nil {
			err = ep.Validate(params)
		}
		if err != nil {
			r.endStep(ctx, i, contract.StepFailed, pipelineItemPrefix(step, j)+"params: "+err.Error())
			return
		}
		inputs[j] = contract.GenerationInput{Endpoint: ep.Name, Params: params, Deadline: step.Deadline, Owner: r.plan.Owner,
			Store: r.plan.Store, Priority: step.Priority, Revision: contract.GenerationRevision}
	}

	index := func(j int) int {
		if step.Mapped() {
			return j
		}
		return -1
	}
	if step.Mapped() {
		st.Items = make([]contract.ItemState, len(items))
		for j := range items {
			st.Items[j] = contract.ItemState{Index: j, TrackID: contract.PipelineStepTrackID(r.id, step.Name, j), State: contract.StepRunning}
		}
	} else {
		st.TrackID = contract.PipelineStepTrackID(r.id, step.Name, -1)
	}
	if len(items) == 0 {
		r.endStep(ctx, i, contract.StepSucceeded, "")
		return
	}

	results := make([]contract.GenerationResult, len(items))
	errs := make([]error, len(items))
	sel := workflow.NewSelector(ctx)
	launched, finished := 0, 0
	for j := range items {
		if !r.takeSlot(ctx, sel, &launched, &finished) {
			// Cancelled while waiting for a slot: this item and the
			// rest never start.
			for k := j; k < len(items); k++ {
				errs[k] = temporal.NewCanceledError("cancelled before it started")
				r.endItem(ctx, i, k, results[k], errs[k])
			}
			break
		}
		trackID := contract.PipelineStepTrackID(r.id, step.Name, index(j))
		cctx := workflow.WithChildOptions(ctx, r.childOptions(step, index(j), trackID, inputs[j]))
		f := workflow.ExecuteChildWorkflow(cctx, contract.GenerationWorkflow, inputs[j])
		launched++
		sel.AddFuture(f, func(f workflow.Future) {
			finished++
			r.running--
			errs[j] = f.Get(ctx, &results[j])
			r.endItem(ctx, i, j, results[j], errs[j])
		})
	}
	for finished < launched {
		sel.Select(ctx)
	}

	// The step's outcome: every item succeeded, or the first failure
	// (in list order) explains it.
	var output []string
	var stored []contract.StoredOutput
	state, msg := contract.StepSucceeded, ""
	for j := range items {
		output = append(output, results[j].Output...)
		stored = append(stored, results[j].Stored...)
		if errs[j] == nil || state == contract.StepFailed {
			continue
		}
		canceled, why := describePipelineChildError(errs[j])
		if canceled && r.cancelledByPipeline(ctx) {
			if state == contract.StepSucceeded {
				state, msg = contract.StepCanceled, r.cancelReason()
			}
			continue
		}
		state, msg = contract.StepFailed, r.itemMessage(step, j, why)
	}
	st.Output, st.Stored = output, stored
	r.endStep(ctx, i, state, msg)
}

// takeSlot waits until fewer than maxRunning generations are in flight
// across the pipeline and takes a slot. While this step has children of
// its own in flight it waits on them (their completions run in this
// goroutine); otherwise on the other steps'. It reports false when the
// pipeline was cancelled while waiting. Under the cap it adds no command,
// so runs recorded before the cap existed replay unchanged.
func (r *pipelineRun) takeSlot(ctx workflow.Context, sel workflow.Selector, launched, finished *int) bool {
	for r.running >= r.maxRunning {
		if *launched > *finished {
			sel.Select(ctx)
			continue
		}
		if err := workflow.Await(ctx, func() bool { return r.running < r.maxRunning }); err != nil {
			return false
		}
	}
	r.running++
	return true
}

// endItem records the end of one item of a mapped step. A failure that
// is not allowed to continue fails the pipeline at once, so that the
// other items and steps are cancelled without waiting for this step's
// slower items.
func (r *pipelineRun) endItem(ctx workflow.Context, i, j int, res contract.GenerationResult, err error) {
	step := r.plan.Steps[i]
	st := &r.state.Steps[i]
	var why string
	canceled := false
	if err != nil {
		canceled, why = describePipelineChildError(err)
	}
	if step.Mapped() {
		it := &st.Items[j]
		switch {
		case err == nil:
			it.State, it.Output, it.Stored = contract.StepSucceeded, res.Output, res.Stored
		case canceled:
			it.State, it.Error = contract.StepCanceled, why
		default:
			it.State, it.Error = contract.StepFailed, why
		}
		r.details(ctx)
	}
	if err != nil && !canceled && !step.ContinueOnError {
		r.fail(step.Name, r.itemMessage(step, j, why))
	}
}

// endStep ends step i in state with msg as its error.
func (r *pipelineRun) endStep(ctx workflow.Context, i int, state contract.StepStatus, msg string) {
	step := r.plan.Steps[i]
	st := &r.state.Steps[i]
	st.State, st.Error, st.CompletedAt = state, msg, workflow.Now(ctx)
	switch state {
	case contract.StepSucceeded:
		if st.Output == nil {
			st.Output = []string{}
		}
		r.outputs[step.Name] = st.Output
	case contract.StepFailed:
		workflow.GetLogger(ctx).Warn("step failed", "step", step.Name, "error", msg)
		if !step.ContinueOnError {
			r.fail(step.Name, msg)
		}
	}
}

// fail records the step that fails the pipeline (the first one) and
// cancels every running step.
func (r *pipelineRun) fail(step, msg string) {
	if r.failed != "" {
		return
	}
	r.failed, r.failMsg = step, msg
	r.cancelSteps()
}

// cancelledByPipeline reports whether the pipeline itself cancelled its
// steps: it was cancelled, or a step failed it.
func (r *pipelineRun) cancelledByPipeline(ctx workflow.Context) bool {
	return r.failed != "" || ctx.Err() != nil
}

func (r *pipelineRun) cancelReason() string {
	if r.failed != "" {
		return fmt.Sprintf("canceled: step %q failed", r.failed)
	}
	return "canceled: the pipeline was canceled"
}

func pipelineItemPrefix(step contract.PipelineStep, j int) string {
	if step.Mapped() {
		return fmt.Sprintf("item %d: ", j)
	}
	return ""
}

// itemMessage is the error of a step whose generation j failed with why;
// a mapped step's names the item and its track_id.
func (r *pipelineRun) itemMessage(step contract.PipelineStep, j int, why string) string {
	if step.Mapped() {
		return fmt.Sprintf("item %d (%s): %s", j, contract.PipelineStepTrackID(r.id, step.Name, j), why)
	}
	return why
}

func (r *pipelineRun) childOptions(step contract.PipelineStep, index int, trackID string, in contract.GenerationInput) workflow.ChildWorkflowOptions {
	sas := []temporal.SearchAttributeUpdate{
		contract.SAParentID.ValueSet(r.id),
		contract.SAEndpoint.ValueSet(in.Endpoint),
	}
	if m, ok := in.Params["model_id"].(string); ok && m != "" {
		sas = append(sas, contract.SAModel.ValueSet(m))
	}
	if in.Owner != "" {
		sas = append(sas, contract.SAOwner.ValueSet(in.Owner))
	}
	return workflow.ChildWorkflowOptions{
		WorkflowID:            trackID,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// The pipeline cancels its children when it is cancelled (the
		// context) and, should it end any other way, Temporal does.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WaitForCancellation:   true,
		StaticSummary:         pipeline.StepSummary(step.Name, index, in.Endpoint, in.Params),
		TypedSearchAttributes: temporal.NewSearchAttributes(sas...),
	}
}

// describePipelineChildError says whether a child's error is a cancellation and
// gives its message: "<error type>: <provider's message>".
func describePipelineChildError(err error) (canceled bool, msg string) {
	var canceledErr *temporal.CanceledError
	if errors.As(err, &canceledErr) {
		return true, "canceled"
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return false, appErr.Type() + ": " + appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return false, "timeout: " + timeoutErr.Error()
	}
	var terminated *temporal.TerminatedError
	if errors.As(err, &terminated) {
		return false, "terminated"
	}
	return false, err.Error()
}

// finish marks what never ran and returns the pipeline's outcome.
func (r *pipelineRun) finish(ctx workflow.Context) (contract.PipelineResult, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	now := workflow.Now(dctx)
	why := "skipped: the pipeline was canceled"
	if r.failed != "" {
		why = fmt.Sprintf("skipped: step %q failed the pipeline", r.failed)
	}
	for i := range r.state.Steps {
		if st := &r.state.Steps[i]; st.State == contract.StepPending {
			st.State, st.Error, st.CompletedAt = contract.StepSkipped, why, now
		}
	}
	r.state.CompletedAt = now
	switch {
	case r.failed != "":
		r.state.Error = fmt.Sprintf("step %q failed: %s", r.failed, r.failMsg)
		r.setStatus(dctx, contract.PipelineFailed)
		res := r.result()
		return res, temporal.NewNonRetryableApplicationError(r.state.Error, contract.ErrTypePipelineStepFailed, nil, res)
	case ctx.Err() != nil:
		r.state.Error = "the pipeline was canceled"
		r.setStatus(dctx, contract.PipelineCanceled)
		return r.result(), temporal.NewCanceledError(r.result())
	}
	status := contract.PipelineSucceeded
	for _, st := range r.state.Steps {
		if st.State != contract.StepSucceeded {
			status = contract.PipelinePartial
		}
	}
	r.setStatus(dctx, status)
	return r.result(), nil
}

func (r *pipelineRun) result() contract.PipelineResult {
	res := contract.PipelineResult{PipelineState: r.state, Outputs: map[string][]string{}}
	for _, st := range r.state.Steps {
		switch st.State {
		case contract.StepSucceeded:
			res.Outputs[st.Name] = st.Output
		case contract.StepFailed:
			if res.Failed == nil {
				res.Failed = map[string]string{}
			}
			res.Failed[st.Name] = st.Error
		}
	}
	return res
}

// setStatus records the pipeline's status in its state, its search
// attributes and its current details.
func (r *pipelineRun) setStatus(ctx workflow.Context, s contract.PipelineStatus) {
	r.state.Status = s
	upsertSearchAttributes(ctx, contract.SAState.ValueSet(string(s)))
	r.details(ctx)
}

// details shows the steps' states in the Temporal UI. (Lines joined, not
// fmt.Fprintf into a builder: workflowcheck takes any writer for I/O.)
func (r *pipelineRun) details(ctx workflow.Context) {
	ended := 0
	for _, st := range r.state.Steps {
		if st.State.Terminal() {
			ended++
		}
	}
	lines := []string{fmt.Sprintf("**%s**: %d of %d steps ended  ", r.state.Status, ended, len(r.state.Steps))}
	for _, st := range r.state.Steps {
		line := fmt.Sprintf("- %s (%s): **%s**", st.Name, st.Endpoint, st.State)
		if st.Mapped && len(st.Items) > 0 {
			n := 0
			for _, it := range st.Items {
				if it.State.Terminal() {
					n++
				}
			}
			line += fmt.Sprintf(", %d/%d items ended", n, len(st.Items))
		}
		if len(st.Output) > 0 {
			line += fmt.Sprintf(", %d output(s)", len(st.Output))
		}
		if st.Error != "" {
			line += " — " + st.Error
		}
		lines = append(lines, line)
	}
	workflow.SetCurrentDetails(ctx, strings.Join(lines, "\n")+"\n")
}
