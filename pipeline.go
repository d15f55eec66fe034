package genflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/pipeline"
)

// NewPipelineID returns a fresh pipeline ID.
func NewPipelineID() string { return "pipe-" + uuid.NewString() }

// PipelineRun is a Pipeline workflow run.
type PipelineRun struct {
	Run
	c *Client
}

// StartPipeline starts a Pipeline workflow that runs plan under the ID id
// (a new one when empty). Package pipeline compiles a pipeline file into
// a plan (pipeline.Parse, then Pipeline.Plan with the input values). The
// ID must leave room for its steps' track_ids (<id>_<step>_<index>). An ID
// that was used before, running or finished, is never started again:
// StartPipeline returns the existing run, with AlreadyStarted set, when
// its plan is the same (its Source aside), else an error that errors.Is
// finds ErrDifferentParameters in.
func (c *Client) StartPipeline(ctx context.Context, id string, plan PipelinePlan) (*PipelineRun, error) {
	if id == "" {
		id = NewPipelineID()
	}
	if err := pipeline.CheckID(id, plan); err != nil {
		return nil, markInvalidID(err)
	}
	for _, s := range plan.Steps {
		if err := contract.CheckPriority(s.Priority); err != nil {
			return nil, fmt.Errorf("step %q: %w", s.Name, err)
		}
	}
	var sas []temporal.SearchAttributeUpdate
	if plan.Owner != "" {
		sas = append(sas, contract.SAOwner.ValueSet(plan.Owner))
	}
	opts := c.startOptions(id)
	opts.StaticSummary = pipelineSummary(plan)
	opts.StaticDetails = pipelineDetails(plan)
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(sas...)
	// The file's path may differ from one directory to another.
	run, err := c.start(ctx, opts, contract.PipelineWorkflow, "pipeline", plan, "source")
	if err != nil {
		return nil, err
	}
	run.UIURL = c.runURL(run.ID, run.RunID)
	return &PipelineRun{Run: run, c: c}, nil
}

// pipelineSummary is the pipeline's one line in the Temporal UI.
func pipelineSummary(plan PipelinePlan) string {
	names := make([]string, len(plan.Steps))
	for i, s := range plan.Steps {
		names[i] = s.Name
	}
	return clip(fmt.Sprintf("pipeline %s: %s", plan.Name, strings.Join(names, ", ")), 120)
}

// pipelineDetails lists the steps for the Temporal UI.
func pipelineDetails(plan PipelinePlan) string {
	var b strings.Builder
	if plan.Source != "" {
		fmt.Fprintf(&b, "from `%s`\n\n", plan.Source)
	}
	for _, s := range plan.Steps {
		fmt.Fprintf(&b, "- **%s**: %s", s.Name, s.Endpoint)
		if len(s.DependsOn) > 0 {
			fmt.Fprintf(&b, ", after %s", strings.Join(s.DependsOn, ", "))
		}
		if s.Mapped() {
			b.WriteString(", mapped")
		}
		if s.ContinueOnError {
			b.WriteString(", continue_on_error")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// clip folds white space and cuts s to max runes.
func clip(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return strings.TrimSpace(string(r[:max])) + "…"
	}
	return s
}

// GetPipeline returns the pipeline id, run runID (its latest run when
// empty), started earlier. It makes no call.
func (c *Client) GetPipeline(id, runID string) *PipelineRun {
	return &PipelineRun{Run: Run{ID: id, RunID: runID, UIURL: c.runURL(id, runID)}, c: c}
}

// Wait blocks until the pipeline ends and returns its result. A pipeline
// that failed (contract.ErrTypePipelineStepFailed) or was cancelled
// returns its result so far with the error: every step's state, outputs
// and stored copies.
func (r *PipelineRun) Wait(ctx context.Context) (PipelineResult, error) {
	return r.Follow(ctx, 0, nil)
}

// Follow is Wait that also calls onState (if not nil) with the live state
// about every interval (zero: 500 ms) while the pipeline runs, and once
// more with the final state.
func (r *PipelineRun) Follow(ctx context.Context, interval time.Duration, onState func(PipelineState)) (PipelineResult, error) {
	res, err := await[PipelineResult](ctx, r.c.c, r.ID, r.RunID, interval, querying(ctx, r.State, onState))
	if err != nil && ctx.Err() == nil {
		res, _ = PipelineResultOf(err)
	}
	if onState != nil && res.PipelineID != "" {
		onState(res.PipelineState)
	}
	return res, err
}

// State asks the pipeline for its live state.
func (r *PipelineRun) State(ctx context.Context) (PipelineState, error) {
	return query[PipelineState](ctx, r.c.c, r.ID, r.RunID, contract.PipelineStateQuery)
}

// Cancel cancels the pipeline: its running steps are cancelled, the
// others skipped, and every step still open after the grace is
// terminated. See Client.Cancel.
func (r *PipelineRun) Cancel(ctx context.Context, opts CancelOptions) (CancelReport, error) {
	return r.c.Cancel(ctx, r.ID, opts)
}
