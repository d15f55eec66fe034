package starter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/pipeline"
)

// NewPipelineID returns a fresh pipeline ID.
func NewPipelineID() string { return genflow.NewPipelineID() }

func newPipelineCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Validate, run and inspect pipelines: multi-step generations defined in a file",
		Long: `A pipeline file (YAML or JSON) names inputs and steps; each step is one
generation whose parameters may reference the inputs and earlier steps'
outputs. It runs as one Pipeline workflow with a Generation child per step.
See docs/pipelines.md for the format.`,
	}
	cmd.AddCommand(newPipelineValidateCommand(env), newPipelineRunCommand(env),
		newPipelineStatusCommand(env), newPipelineCancelCommand(env))
	return cmd
}

// loadPipeline parses a file, printing every problem to stderr.
func loadPipeline(env *Env, file string) (*pipeline.Pipeline, error) {
	p, err := pipeline.ParseFile(file)
	if err != nil {
		return nil, reportProblems(env, file, err)
	}
	return p, nil
}

// reportProblems prints a pipeline's problems one a line and returns the
// usage error that ends the command.
func reportProblems(env *Env, file string, err error) error {
	var list pipeline.ErrorList
	if !errors.As(err, &list) {
		return usageErr("%s: %v", file, err)
	}
	for _, e := range list {
		fmt.Fprintln(env.Stderr, e)
	}
	return usageErr("%s: %d problem(s)", file, len(list))
}

func newPipelineValidateCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a pipeline file and show its steps in the order they run",
		Long: `validate checks a pipeline file without starting anything: endpoints, required
parameters, references to inputs and steps, output indexes and dependency
cycles. Every problem is printed as FILE:LINE:COL: FIELD: MESSAGE and the exit
code is 2; a valid file prints its inputs and steps, exit code 0.`,
		Example: `  starter pipeline validate examples/portrait_to_video.yaml`,
		Args:    oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPipeline(env, args[0])
			if err != nil {
				return err
			}
			printPipeline(env.Stdout, p)
			return nil
		},
	}
}

func printPipeline(w io.Writer, p *pipeline.Pipeline) {
	fmt.Fprintf(w, "%s: pipeline %q is valid: %d step(s)\n", p.File, p.Name, len(p.Steps))
	if p.Description != "" {
		fmt.Fprintf(w, "  %s\n", p.Description)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(p.Inputs) > 0 {
		fmt.Fprintln(tw, "\nINPUT\tTYPE\tDEFAULT\tDESCRIPTION")
		for _, in := range p.Inputs {
			def := "(required)"
			if in.HasDefault {
				def = clipPipelineText(fmt.Sprintf("%v", in.Default), 40)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.Name, in.Type, def, in.Description)
		}
	}
	fmt.Fprintln(tw, "\nLEVEL\tSTEP\tENDPOINT\tAFTER\tNOTES")
	for _, s := range p.Steps {
		after := strings.Join(s.DependsOn, ", ")
		if after == "" {
			after = "-"
		}
		var notes []string
		if s.Mapped() {
			switch m := s.Map().(type) {
			case string:
				notes = append(notes, "once per element of "+m)
			case []any:
				notes = append(notes, fmt.Sprintf("once per element of a %d-element list", len(m)))
			}
		}
		if s.ContinueOnError {
			notes = append(notes, "continue_on_error")
		}
		if s.Deadline > 0 {
			notes = append(notes, "deadline "+s.Deadline.String())
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", s.Level+1, s.Name, s.Endpoint, after, strings.Join(notes, "; "))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nSteps on the same level run in parallel; each starts once the steps it references have succeeded.")
}

type pipelineRunFlags struct {
	inputs     []string
	inputFiles []string
	id         string
	owner      string
	priority   int
	outcome    outcomeFlags
	wait       bool
	json       bool
}

// PipelineOutput is the --json document of pipeline run and status.
type PipelineOutput struct {
	PipelineID string `json:"pipeline_id"`
	RunID      string `json:"run_id"`
	// AlreadyStarted is true when a pipeline with this ID existed: it
	// was not started again.
	AlreadyStarted bool   `json:"already_started"`
	UIURL          string `json:"ui_url"`
	Name           string `json:"name,omitempty"`
	// Status is "started" (run without --wait), or the pipeline's
	// status: running, succeeded, partial, failed or canceled.
	Status string                   `json:"status"`
	Result *contract.PipelineResult `json:"result,omitempty"`
	Error  *Failure                 `json:"error,omitempty"`
}

func newPipelineRunCommand(env *Env) *cobra.Command {
	var f pipelineRunFlags
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Validate a pipeline file and run it as one Pipeline workflow",
		Long: `run validates the file and its inputs (exit code 2 and every problem when they
are wrong), then starts the Pipeline workflow and prints its Temporal UI link.
With --wait it prints a line each time a step changes state, then every step's
outputs; the exit code is 1 if the pipeline failed, was cancelled, or ended
partial (a step with continue_on_error failed).`,
		Example: `  starter pipeline run examples/portrait_to_video.yaml --input subject="a lighthouse keeper" --wait
  starter pipeline run examples/voiceover_and_music.yaml --input-file script=script.txt --id promo-7 --wait
  starter pipeline run examples/four_views_to_3d.yaml --wait --json`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd.Context(), env, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.inputs, "input", "i", nil, "an input as key=value (repeatable); typed as the file declares it")
	fl.StringArrayVar(&f.inputFiles, "input-file", nil, "an input as key=PATH: the file's content (repeatable)")
	fl.StringVar(&f.id, "id", "", "the pipeline ID (= workflow ID; steps' track_ids <id>_<step>[_<index>] start with it, so it leaves them room); a new one when empty")
	fl.StringVar(&f.owner, "owner", "", "who asked, a free label passed to every generation")
	fl.IntVar(&f.priority, "priority", 0, "priority, 1 to 9, higher first, at the account's queue (ACCOUNT_QUEUE_LIMIT) of the steps whose file sets none (default: the file's priority, else 5)")
	f.outcome.add(cmd, "the pipeline's outcome", "every step's outputs")
	fl.BoolVar(&f.wait, "wait", false, "wait for the pipeline, printing each step's state as it changes")
	fl.BoolVar(&f.json, "json", false, "print one JSON document for scripts")
	return cmd
}

// pipelineInputs reads --input and --input-file into typed values.
func pipelineInputs(p *pipeline.Pipeline, f pipelineRunFlags) (map[string]any, error) {
	values := map[string]any{}
	var problems []string
	add := func(flag, pair string, read func(string) (string, error)) {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			problems = append(problems, fmt.Sprintf("--%s %q: want key=value", flag, pair))
			return
		}
		text, err := read(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("--%s %s: %v", flag, k, err))
			return
		}
		val, err := p.ParseInput(k, text)
		if err != nil {
			problems = append(problems, fmt.Sprintf("--%s: %v", flag, err))
			return
		}
		values[k] = val
	}
	for _, pair := range f.inputs {
		add("input", pair, func(v string) (string, error) { return v, nil })
	}
	for _, pair := range f.inputFiles {
		add("input-file", pair, func(path string) (string, error) {
			b, err := os.ReadFile(path)
			return strings.TrimRight(string(b), "\r\n"), err
		})
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return values, nil
}

func runPipeline(ctx context.Context, env *Env, file string, f pipelineRunFlags) error {
	p, err := loadPipeline(env, file)
	if err != nil {
		return err
	}
	values, err := pipelineInputs(p, f)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.priority != 0 && (f.priority < 1 || f.priority > contract.PriorityMax) {
		return usageErr("--priority %d: want 1 (lowest) to %d (highest)", f.priority, contract.PriorityMax)
	}
	plan, err := planWithPriority(p, values, f.priority)
	if err != nil {
		return reportProblems(env, file, err)
	}
	plan.Owner = f.owner
	if plan.NotifyURL, plan.Store, err = f.outcome.resolve(env); err != nil {
		return err
	}
	if f.id == "" {
		f.id = NewPipelineID()
	}
	if err := pipeline.CheckID(f.id, plan); err != nil {
		return usageErr("--id: %v", err)
	}
	tcfg, c, err := env.connect()
	if err != nil {
		return err
	}
	defer c.Close()

	out, err := StartPipeline(ctx, c, tcfg, f.id, plan)
	if err != nil {
		return startError(err)
	}
	if !f.json {
		if out.AlreadyStarted {
			fmt.Fprintf(env.Stdout, "pipeline %s already exists: not started again, following the existing run\n", out.PipelineID)
		} else {
			fmt.Fprintf(env.Stdout, "started pipeline %s  %s (%d steps)\n", out.PipelineID, plan.Name, len(plan.Steps))
		}
		fmt.Fprintf(env.Stdout, "  Temporal UI: %s\n", out.UIURL)
	}
	if !f.wait {
		if f.json {
			return writeJSON(env.Stdout, out)
		}
		return nil
	}
	return followPipeline(ctx, env, c, out, f.json)
}

// planWithPriority compiles p; a priority (--priority, when not 0) goes
// to the steps whose file sets none, in place of the file's default.
func planWithPriority(p *pipeline.Pipeline, values map[string]any, priority int) (contract.PipelinePlan, error) {
	if priority != 0 {
		q := *p
		q.Priority = priority
		p = &q
	}
	return p.Plan(values)
}

// StartPipeline starts a Pipeline workflow whose ID is id. An ID that was
// used before, running or finished, is never started again: StartPipeline
// reports the existing run instead. It is genflow.Client.StartPipeline.
func StartPipeline(ctx context.Context, c client.Client, cfg config.Temporal, id string, plan contract.PipelinePlan) (PipelineOutput, error) {
	run, err := newClient(c, cfg).StartPipeline(ctx, id, plan)
	if err != nil {
		return PipelineOutput{}, err
	}
	return PipelineOutput{PipelineID: run.ID, Name: plan.Name, Status: "started", RunID: run.RunID,
		AlreadyStarted: run.AlreadyStarted, UIURL: UIURL(cfg, run.ID, run.RunID)}, nil
}

// WaitPipeline blocks until the pipeline ends, calling onState (if not
// nil) with its live state about every interval while it runs, and once
// more with the final state. The result is also there when the pipeline
// failed or was cancelled, with the error.
func WaitPipeline(ctx context.Context, c client.Client, id, runID string, interval time.Duration, onState func(contract.PipelineState)) (contract.PipelineResult, error) {
	return genflow.NewClient(c, genflow.ClientOptions{}).GetPipeline(id, runID).Follow(ctx, interval, onState)
}

// pipelineResultOf digs the PipelineResult out of a pipeline's error
// (the details of PipelineStepFailed and of a cancellation).
func pipelineResultOf(err error) (contract.PipelineResult, bool) {
	return genflow.PipelineResultOf(err)
}

// QueryPipeline asks a Pipeline run for its live state.
func QueryPipeline(ctx context.Context, c client.Client, id, runID string) (contract.PipelineState, error) {
	return genflow.NewClient(c, genflow.ClientOptions{}).GetPipeline(id, runID).State(ctx)
}

// followPipeline waits for a pipeline, printing step changes, then its
// outcome.
func followPipeline(ctx context.Context, env *Env, c client.Client, out PipelineOutput, asJSON bool) error {
	changes := newPipelineStepChanges(env.Stdout, asJSON)
	res, err := WaitPipeline(ctx, c, out.PipelineID, out.RunID, 500*time.Millisecond, changes.update)
	if ctx.Err() != nil {
		out.Status = string(contract.PipelineRunning)
		return interrupted(env, "pipeline", out.PipelineID, asJSON, out)
	}
	if res.PipelineID != "" {
		out.Result = &res
		out.Name = res.Name
		out.Status = string(res.Status)
	}
	if err != nil {
		fail := DescribeFailure(err)
		out.Error = &fail
		if out.Result == nil {
			out.Status = "failed"
		}
	}
	if asJSON {
		if werr := writeJSON(env.Stdout, out); werr != nil {
			return werr
		}
	} else {
		printPipelineOutcome(env.Stdout, out, env.IsTerminal)
	}
	if err != nil || out.Status == string(contract.PipelinePartial) {
		return &ExitError{Code: ExitFailed}
	}
	return nil
}

func printPipelineOutcome(w io.Writer, out PipelineOutput, tty bool) {
	mark := newStatusLine(w, tty, false).mark
	res := out.Result
	switch {
	case out.Error != nil:
		fmt.Fprintf(w, "%s pipeline %s %s: %s: %s\n", mark(false), out.PipelineID, out.Status, out.Error.Type, out.Error.Message)
	case res != nil && res.Status == contract.PipelinePartial:
		fmt.Fprintf(w, "%s pipeline %s partial in %s: %d step(s) failed with continue_on_error; their dependents were skipped\n",
			mark(false), out.PipelineID, res.CompletedAt.Sub(res.StartedAt).Round(10*time.Millisecond), len(res.Failed))
	case res != nil:
		fmt.Fprintf(w, "%s pipeline %s succeeded in %s\n", mark(true), out.PipelineID,
			res.CompletedAt.Sub(res.StartedAt).Round(10*time.Millisecond))
	}
	if res != nil {
		printPipelineStepOutputs(w, res.PipelineState)
	}
}

// printPipelineStepOutputs lists each step's outputs, or why it has none.
func printPipelineStepOutputs(w io.Writer, st contract.PipelineState) {
	for _, s := range st.Steps {
		switch s.State {
		case contract.StepSucceeded:
			fmt.Fprintf(w, "  %s:\n", s.Name)
			for _, o := range s.Output {
				fmt.Fprintf(w, "    %s\n", o)
			}
			if len(s.Output) == 0 {
				fmt.Fprintln(w, "    (no outputs)")
			}
			printStored(w, "    ", s.Stored)
		default:
			fmt.Fprintf(w, "  %s: %s", s.Name, s.State)
			if s.Error != "" {
				fmt.Fprintf(w, ": %s", s.Error)
			}
			fmt.Fprintln(w)
		}
	}
}

// pipelineStepChanges prints a line each time a step's state (or a mapped step's
// item count) changes.
type pipelineStepChanges struct {
	w     io.Writer
	quiet bool
	last  map[string]string
}

func newPipelineStepChanges(w io.Writer, quiet bool) *pipelineStepChanges {
	return &pipelineStepChanges{w: w, quiet: quiet, last: map[string]string{}}
}

func (s *pipelineStepChanges) update(st contract.PipelineState) {
	if s.quiet {
		return
	}
	for _, step := range st.Steps {
		line := pipelineStepLine(step)
		if s.last[step.Name] == line {
			continue
		}
		s.last[step.Name] = line
		if step.State == contract.StepPending {
			continue
		}
		fmt.Fprintf(s.w, "  %s  %-12s %-10s %s\n", time.Now().Format("15:04:05"), step.Name, step.State, line)
	}
}

// pipelineStepLine describes a step's state in a few words.
func pipelineStepLine(s contract.StepState) string {
	var parts []string
	if s.Mapped && len(s.Items) > 0 {
		counts := map[contract.StepStatus]int{}
		for _, it := range s.Items {
			counts[it.State]++
		}
		part := fmt.Sprintf("%d item(s): %d succeeded", len(s.Items), counts[contract.StepSucceeded])
		if n := counts[contract.StepFailed]; n > 0 {
			part += fmt.Sprintf(", %d failed", n)
		}
		if n := counts[contract.StepCanceled]; n > 0 {
			part += fmt.Sprintf(", %d canceled", n)
		}
		parts = append(parts, part, s.Items[0].TrackID+"…")
	} else if s.TrackID != "" {
		parts = append(parts, s.TrackID)
	}
	if s.State == contract.StepSucceeded {
		parts = append(parts, fmt.Sprintf("%d output(s)", len(s.Output)))
	}
	if s.Error != "" {
		parts = append(parts, s.Error)
	}
	return strings.Join(parts, "  ")
}

func newPipelineStatusCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status PIPELINE_ID",
		Short: "Show a pipeline's steps: state, track_id, outputs or error",
		Args:  oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			tcfg, c, err := env.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			out, err := PipelineStatus(cmd.Context(), c, tcfg, args[0])
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			if asJSON {
				return writeJSON(env.Stdout, out)
			}
			printPipelineStatus(env.Stdout, out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document for scripts")
	return cmd
}

// PipelineStatus describes a pipeline: live state while it runs (which
// needs a worker to answer the query), its result once it has ended.
func PipelineStatus(ctx context.Context, c client.Client, cfg config.Temporal, id string) (PipelineOutput, error) {
	desc, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return PipelineOutput{}, fmt.Errorf("pipeline %s: %w", id, err)
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if name := info.GetType().GetName(); name != contract.PipelineWorkflow {
		return PipelineOutput{}, fmt.Errorf("%s is a %s workflow, not a pipeline", id, name)
	}
	runID := info.GetExecution().GetRunId()
	out := PipelineOutput{PipelineID: id, RunID: runID, UIURL: UIURL(cfg, id, runID)}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		st, err := QueryPipeline(ctx, c, id, runID)
		if err != nil {
			return PipelineOutput{}, fmt.Errorf("pipeline %s is running but did not answer (is a worker up?): %w", id, err)
		}
		res := pipelineResultFromState(st)
		out.Result, out.Name, out.Status = &res, st.Name, string(st.Status)
		return out, nil
	}
	var res contract.PipelineResult
	err = c.GetWorkflow(ctx, id, runID).Get(ctx, &res)
	if err != nil {
		fail := DescribeFailure(err)
		out.Error = &fail
		out.Status = "failed"
		if r, ok := pipelineResultOf(err); ok {
			res = r
		} else {
			return out, nil
		}
	}
	out.Result, out.Name, out.Status = &res, res.Name, string(res.Status)
	return out, nil
}

// pipelineResultFromState builds a result from a live state.
func pipelineResultFromState(st contract.PipelineState) contract.PipelineResult {
	res := contract.PipelineResult{PipelineState: st, Outputs: map[string][]string{}}
	for _, s := range st.Steps {
		switch s.State {
		case contract.StepSucceeded:
			res.Outputs[s.Name] = s.Output
		case contract.StepFailed:
			if res.Failed == nil {
				res.Failed = map[string]string{}
			}
			res.Failed[s.Name] = s.Error
		}
	}
	return res
}

func printPipelineStatus(w io.Writer, out PipelineOutput) {
	fmt.Fprintf(w, "pipeline %s  %s: %s\n", out.PipelineID, out.Name, out.Status)
	fmt.Fprintf(w, "  Temporal UI: %s\n", out.UIURL)
	if out.Error != nil {
		fmt.Fprintf(w, "  error: %s: %s\n", out.Error.Type, out.Error.Message)
	}
	if out.Result == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATE\tTRACK_ID\tOUTPUT / ERROR")
	row := func(name string, state contract.StepStatus, trackID string, output []string, errMsg string) {
		detail := errMsg
		if detail == "" {
			detail = strings.Join(output, " ")
		}
		if trackID == "" {
			trackID = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, state, trackID, detail)
	}
	for _, s := range out.Result.Steps {
		if !s.Mapped || len(s.Items) == 0 {
			row(s.Name, s.State, s.TrackID, s.Output, s.Error)
			continue
		}
		row(s.Name, s.State, "", nil, s.Error)
		for _, it := range s.Items {
			row(fmt.Sprintf("  %s[%d]", s.Name, it.Index), it.State, it.TrackID, it.Output, it.Error)
		}
	}
	_ = tw.Flush()
}

func newPipelineCancelCommand(env *Env) *cobra.Command {
	return newCancelCommandFor(env, "cancel PIPELINE_ID", "Cancel a pipeline: its running steps are cancelled, the others skipped")
}

func clipPipelineText(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return strings.TrimSpace(string(r[:max])) + "…"
	}
	return s
}
