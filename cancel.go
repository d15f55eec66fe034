package genflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/genflow/genflow/contract"
)

// DefaultCancelGrace is CancelOptions.Grace's default.
const DefaultCancelGrace = 10 * time.Second

// CancelOptions tune Cancel. The zero value is valid.
type CancelOptions struct {
	// Grace is how long a batch's or pipeline's child runs get to close
	// after the cancel request before they are terminated. Zero means
	// DefaultCancelGrace.
	Grace time.Duration
	// Poll is how often Cancel looks for child runs still open during
	// the grace. Zero means 250 ms.
	Poll time.Duration
	// By, when set, names who cancelled in the reason a terminated
	// child is given: "... after the cancel request (by <By>)". Default:
	// the reason names nobody.
	By string
}

// CancelReport is what Cancel did.
type CancelReport struct {
	// ID, RunID and Type are the run's: its workflow ID, the latest
	// run's ID and the workflow type (contract.GenerationWorkflow, ...).
	ID    string
	RunID string
	Type  string
	// Status is the run's status when Cancel found it, in lower case:
	// running, completed, failed, canceled, terminated, timed_out or
	// continued_as_new.
	Status string
	// Children is how many child runs (generations) of a batch or
	// pipeline were open when it was cancelled or started after.
	Children int
	// ChildrenCanceled closed by themselves within the grace.
	ChildrenCanceled int
	// ChildrenTerminated were still open when the grace ran out, and
	// were terminated.
	ChildrenTerminated int
}

// Cancel asks the run under id (its latest run) to cancel: a generation
// stops waiting, a batch or a pipeline cancels its running generations.
// For a batch or a pipeline it then makes sure every child run ends,
// whatever its state: a child whose workflow tasks keep failing never acts
// on a cancel request, and its parent, which waits for its children, would
// then never end either. Cancel waits up to opts.Grace for the children
// to close and terminates those still open, with a reason naming the
// parent. A batch or pipeline that has already ended but left children
// open (terminated from outside, say) has those children cancelled, then
// terminated, the same way. Terminating a child while its Submit activity
// runs may lose track of a request the provider accepted: it may still be
// processed, and billed, with nobody waiting for its result.
//
// Cancel returns an error if no run is under id (wrapping ErrNotFound), or
// if it has ended and left nothing open.
func (c *Client) Cancel(ctx context.Context, id string, opts CancelOptions) (CancelReport, error) {
	if opts.Grace <= 0 {
		opts.Grace = DefaultCancelGrace
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	d, err := c.c.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return CancelReport{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	case err != nil:
		return CancelReport{}, fmt.Errorf("describe %s: %w", id, err)
	}
	r := CancelReport{ID: id, RunID: d.WorkflowExecution.RunID, Type: d.WorkflowType.Name, Status: statusText(d.Status)}
	running := d.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	parent := r.Type == contract.BatchWorkflow || r.Type == contract.PipelineWorkflow
	if !parent {
		if !running {
			return r, fmt.Errorf("%s is not running (%s): nothing to cancel", id, r.Status)
		}
		if err := c.c.CancelWorkflow(ctx, id, ""); err != nil {
			return r, fmt.Errorf("cancel %s: %w", id, err)
		}
		return r, nil
	}

	t := &childSweep{c: c, parent: id, kind: strings.ToLower(r.Type), seen: map[string]string{}}
	if running {
		// The latest run: a batch continues as new between pages.
		if err := c.c.CancelWorkflow(ctx, id, ""); err != nil {
			return r, fmt.Errorf("cancel %s: %w", id, err)
		}
	}
	open, err := t.open(ctx)
	if err != nil {
		return r, err
	}
	if !running {
		if len(open) == 0 {
			return r, fmt.Errorf("%s is not running (%s): nothing to cancel", id, r.Status)
		}
		// Nobody is left to pass the cancel request on to the children.
		for _, ch := range open {
			if err := c.c.CancelWorkflow(ctx, ch.id, ch.runID); err != nil && !isGone(err) {
				return r, fmt.Errorf("cancel %s of %s %s: %w", ch.id, t.kind, id, err)
			}
		}
	}
	deadline := time.Now().Add(opts.Grace)
	for len(open) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(min(opts.Poll, time.Until(deadline))):
		}
		if open, err = t.open(ctx); err != nil {
			return r, err
		}
	}
	var errs []error
	reason := fmt.Sprintf("%s %s cancelled: child still open %s after the cancel request", t.kind, id, opts.Grace)
	if opts.By != "" {
		reason += " (by " + opts.By + ")"
	}
	for _, ch := range open {
		err := c.c.TerminateWorkflow(ctx, ch.id, ch.runID, reason)
		switch {
		case err == nil:
			r.ChildrenTerminated++
		case !isGone(err):
			errs = append(errs, fmt.Errorf("terminate %s: %w", ch.id, err))
		}
	}
	r.Children = len(t.seen)
	r.ChildrenCanceled = r.Children - r.ChildrenTerminated - len(errs)
	return r, errors.Join(errs...)
}

// statusText is a run status in lower case: "completed", "timed_out".
func statusText(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed_out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued_as_new"
	}
	return "unknown"
}

// isGone reports whether err says the run has already closed.
func isGone(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// childSweep finds the open child runs of a batch or pipeline.
type childSweep struct {
	c      *Client
	parent string
	kind   string // batch or pipeline
	// seen maps every child ever found open to its run ID.
	seen map[string]string
}

type childRun struct{ id, runID string }

// open returns the parent's child runs that are open, from the parent's
// pending children (exact, while the parent runs) and from visibility
// (Generation runs whose GenflowParentID is the parent, which finds
// children of a parent that has ended, or of an earlier run of it).
func (s *childSweep) open(ctx context.Context) ([]childRun, error) {
	found := map[string]string{}
	desc, err := s.c.c.DescribeWorkflow(ctx, s.parent, "")
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", s.parent, err)
	}
	d := desc.RawResponse
	// A closed run still lists the children pending when it closed.
	if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		for _, p := range d.GetPendingChildren() {
			found[p.GetWorkflowId()] = p.GetRunId()
		}
	}
	// The rule of package trackid lets quotes and backslashes into IDs;
	// a visibility query cannot hold them, so such a parent has only
	// its pending children looked at.
	if !strings.ContainsAny(s.parent, "\"'`\\") {
		query := fmt.Sprintf("%s = %q AND WorkflowType = %q AND ExecutionStatus = \"Running\"",
			contract.SAParentID.GetName(), s.parent, contract.GenerationWorkflow)
		var token []byte
		for {
			// The client fills in its own namespace.
			resp, err := s.c.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				PageSize: 1000, NextPageToken: token, Query: query,
			})
			if err != nil {
				return nil, fmt.Errorf("list the runs of %s %s: %w", s.kind, s.parent, err)
			}
			for _, e := range resp.GetExecutions() {
				if id := e.GetExecution().GetWorkflowId(); found[id] == "" {
					found[id] = e.GetExecution().GetRunId()
				}
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
	}
	out := make([]childRun, 0, len(found))
	for id, runID := range found {
		if runID == "" {
			runID = s.seen[id]
		}
		s.seen[id] = runID
		out = append(out, childRun{id: id, runID: runID})
	}
	slices.SortFunc(out, func(a, b childRun) int { return strings.Compare(a.id, b.id) })
	return out, nil
}
