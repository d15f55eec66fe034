package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
)

func newWaitCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "wait TRACK_ID",
		Short: "Wait for a run (generation, batch or pipeline) to end and print its outcome",
		Long: `wait follows a run until it ends: a generation with its live status line, a
batch with its progress, a pipeline with its steps' changes. It then prints
the outcome as "starter result" does: a generation's outputs, a batch's counts
and failures, a pipeline's steps. The exit code is 0 when everything
succeeded, 1 when the run failed, was cancelled or terminated, or when any of
a batch's items or a pipeline's steps failed. Interrupted (Ctrl-C), it says so
and exits 130: the run goes on, and "starter wait ID" follows it again.`,
		Example: `  starter wait gen-1f0c...
  starter wait launch-42 --json`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWait(cmd.Context(), env, args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document for scripts")
	return cmd
}

func runWait(ctx context.Context, env *Env, id string, asJSON bool) error {
	tcfg, c, err := env.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	desc, err := c.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%s: %w", id, ErrNotFound)}
	case err != nil:
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("describe %s: %w", id, err)}
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	switch typ := info.GetType().GetName(); typ {
	case contract.GenerationWorkflow:
		out := generateOutput{Started: Started{TrackID: id, RunID: runID, UIURL: UIURL(tcfg, id, runID)}, Status: "started"}
		if !asJSON {
			fmt.Fprintf(env.Stdout, "  Temporal UI: %s\n", out.UIURL)
		}
		return follow(ctx, env, c, out, asJSON)
	case contract.BatchWorkflow:
		total := 0
		if st, err := QueryBatch(ctx, c, id); err == nil {
			total = st.Total
		}
		prog := newBatchProgress(env.Stdout, total, env.IsTerminal && !asJSON && total > 0, asJSON)
		// The latest run: a batch continues as new between pages.
		res, werr := WaitBatch(ctx, c, id, time.Second, prog.update)
		if werr == nil {
			prog.update(finalBatchState(res))
		}
		prog.finish()
		if ctx.Err() != nil {
			return interrupted(env, "batch", id, asJSON, nil)
		}
	case contract.PipelineWorkflow:
		changes := newPipelineStepChanges(env.Stdout, asJSON)
		if _, err := WaitPipeline(ctx, c, id, "", 500*time.Millisecond, changes.update); err != nil && ctx.Err() != nil {
			return interrupted(env, "pipeline", id, asJSON, nil)
		}
	default:
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil && ctx.Err() != nil {
			return interrupted(env, typ, id, asJSON, nil)
		}
	}
	return runResult(ctx, env, c, tcfg, id, asJSON, "")
}

// interrupted reports that waiting for run id (a kind: generation,
// batch, pipeline) stopped before it ended, and how to follow it again,
// and returns the ExitInterrupted error. In JSON mode doc, when not nil,
// is printed, saying the run is still running.
func interrupted(env *Env, kind, id string, asJSON bool, doc any) error {
	msg := fmt.Sprintf("stopped waiting; %s %s goes on: `starter wait %s` follows it again, `starter cancel %s` stops it",
		kind, id, id, id)
	if asJSON {
		if doc != nil {
			_ = writeJSON(env.Stdout, doc)
		}
		fmt.Fprintln(env.Stderr, msg)
	} else {
		fmt.Fprintln(env.Stdout, msg)
	}
	return &ExitError{Code: ExitInterrupted}
}

// failedStatus is the status word of a run that ended with fail:
// canceled, terminated or failed, as `starter result` says it.
func failedStatus(fail Failure) string {
	switch fail.Type {
	case genflow.FailureCanceled:
		return StatusCanceled
	case genflow.FailureTerminated:
		return StatusTerminated
	}
	return StatusFailed
}
