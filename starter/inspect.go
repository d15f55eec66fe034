package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/pipeline"
)

// ExitRunning is the exit code of `starter result` for a run that has not
// finished yet.
const ExitRunning = 3

// Run statuses, as `starter list` and `show` print them (Temporal's
// execution statuses, in lower case).
const (
	StatusRunning        = "running"
	StatusCompleted      = "completed"
	StatusFailed         = "failed"
	StatusCanceled       = "canceled"
	StatusTerminated     = "terminated"
	StatusTimedOut       = "timed_out"
	StatusContinuedAsNew = "continued_as_new"
)

var statusNames = map[enumspb.WorkflowExecutionStatus]string{
	enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:          StatusRunning,
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        StatusCompleted,
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:           StatusFailed,
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:         StatusCanceled,
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       StatusTerminated,
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        StatusTimedOut,
	enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: StatusContinuedAsNew,
}

// visibilityStatus is the ExecutionStatus value of each status name.
var visibilityStatus = map[string]string{
	StatusRunning: "Running", StatusCompleted: "Completed", StatusFailed: "Failed", StatusCanceled: "Canceled",
	StatusTerminated: "Terminated", StatusTimedOut: "TimedOut", StatusContinuedAsNew: "ContinuedAsNew",
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "unknown"
}

// workflowTypes maps what --type takes to the registered workflow names.
var workflowTypes = map[string]string{
	"generation": contract.GenerationWorkflow,
	"batch":      contract.BatchWorkflow,
	"pipeline":   contract.PipelineWorkflow,
	"page":       contract.BatchPageWorkflow,
	"batchpage":  contract.BatchPageWorkflow,
}

// States are the values of the GenflowState search attribute, which
// ListFilter.State takes: a generation's phases, then a batch's and a
// pipeline's states that are not phases.
var States = []string{
	string(contract.PhaseSubmitting), string(contract.PhaseWaitingWebhook), string(contract.PhasePolling),
	string(contract.PhaseStoring), string(contract.PhaseSucceeded), string(contract.PhaseFailed),
	string(contract.PhaseCanceled), contract.BatchRunning, contract.BatchCompleted, string(contract.PipelinePartial),
}

// ListFilter selects the runs `starter list` shows. Empty fields match
// everything.
type ListFilter struct {
	// State is the GenflowState search attribute: a generation's phase
	// (submitting, waiting_webhook, polling, succeeded, failed, canceled)
	// or a batch's or pipeline's state.
	State string
	// Endpoint is a catalogue name or its unambiguous last part.
	Endpoint string
	Model    string
	Owner    string
	// Parent is a batch or pipeline ID: the runs it started.
	Parent string
	// Status is a Temporal execution status: running, completed, failed,
	// canceled, terminated, timed_out or continued_as_new.
	Status string
	// Type is generation, batch, pipeline or page. Empty lists every
	// type but the batches' page holders and the routes of ModelsLab
	// workflow runs (see All).
	Type string
	// All includes the page holders and the routes when Type is empty.
	All bool
	// Query is a further visibility query, ANDed with the rest.
	Query string
	// Limit is the most runs listed. Zero means 50.
	Limit int
}

// DefaultListLimit is ListFilter.Limit's default.
const DefaultListLimit = 50

// VisibilityQuery is the Temporal visibility query that f stands for, as
// the Temporal UI and `temporal workflow list --query` take it.
func (f ListFilter) VisibilityQuery() (string, error) {
	var parts []string
	add := func(field, flag, value string) error {
		if value == "" {
			return nil
		}
		if strings.ContainsAny(value, "\"'\\`") || strings.ContainsFunc(value, func(r rune) bool { return r < ' ' }) {
			return fmt.Errorf("--%s %q: quotes, backslashes and control characters are not allowed", flag, value)
		}
		parts = append(parts, fmt.Sprintf("%s = %q", field, value))
		return nil
	}
	typ := ""
	if f.Type != "" {
		t, ok := workflowTypes[strings.ToLower(f.Type)]
		if !ok {
			return "", fmt.Errorf("--type %q: want generation, batch, pipeline or page", f.Type)
		}
		typ = t
	}
	status := ""
	if f.Status != "" {
		s, ok := visibilityStatus[strings.ToLower(f.Status)]
		if !ok {
			return "", fmt.Errorf("--status %q: want running, completed, failed, canceled, terminated, timed_out or continued_as_new", f.Status)
		}
		status = s
	}
	if f.State != "" && !slices.Contains(States, strings.ToLower(f.State)) {
		return "", fmt.Errorf("--state %q: want one of %s", f.State, strings.Join(States, ", "))
	}
	endpoint := f.Endpoint
	if endpoint != "" {
		ep, err := pipeline.LookupEndpoint(endpoint)
		if err != nil {
			return "", fmt.Errorf("--endpoint: %w", err)
		}
		endpoint = ep.Name
	}
	if err := errors.Join(
		add("WorkflowType", "type", typ),
		add("ExecutionStatus", "status", status),
		add(contract.SAState.GetName(), "state", strings.ToLower(f.State)),
		add(contract.SAEndpoint.GetName(), "endpoint", endpoint),
		add(contract.SAModel.GetName(), "model", f.Model),
		add(contract.SAOwner.GetName(), "owner", f.Owner),
		add(contract.SAParentID.GetName(), "parent", f.Parent),
	); err != nil {
		return "", err
	}
	if typ == "" && !f.All {
		parts = append(parts, fmt.Sprintf("WorkflowType != %q", contract.BatchPageWorkflow),
			fmt.Sprintf("WorkflowType != %q", contract.WorkflowRunRouteWorkflow))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		parts = append(parts, "("+q+")")
	}
	return strings.Join(parts, " AND "), nil
}

// RunInfo is one run as `starter list` and `starter show` report it.
type RunInfo struct {
	// TrackID is the workflow ID: a generation's track_id, a batch's or
	// pipeline's ID.
	TrackID string `json:"track_id"`
	RunID   string `json:"run_id"`
	// Type is the workflow type: Generation, Batch, Pipeline, BatchPage.
	Type string `json:"type"`
	// Status is Temporal's execution status (StatusRunning, ...).
	Status string `json:"status"`
	// State is the GenflowState search attribute.
	State    string     `json:"state,omitempty"`
	Endpoint string     `json:"endpoint,omitempty"`
	Model    string     `json:"model,omitempty"`
	Owner    string     `json:"owner,omitempty"`
	Parent   string     `json:"parent,omitempty"`
	Summary  string     `json:"summary,omitempty"`
	Started  time.Time  `json:"started_at"`
	Closed   *time.Time `json:"closed_at,omitempty"`
	UIURL    string     `json:"ui_url"`
}

// Duration is how long the run took, or has been running at now.
func (r RunInfo) Duration(now time.Time) time.Duration {
	if r.Closed != nil {
		return r.Closed.Sub(r.Started)
	}
	return now.Sub(r.Started)
}

// ListRuns lists the runs f selects, newest first, with their summaries
// (one DescribeWorkflowExecution per run: the list API does not return
// them).
func ListRuns(ctx context.Context, c client.Client, cfg config.Temporal, f ListFilter) ([]RunInfo, error) {
	return listRuns(ctx, c, cfg, f, true)
}

// listRuns is ListRuns, with the summaries only when summaries is true.
func listRuns(ctx context.Context, c client.Client, cfg config.Temporal, f ListFilter, summaries bool) ([]RunInfo, error) {
	query, err := f.VisibilityQuery()
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	var runs []RunInfo
	var token []byte
	for len(runs) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: cfg.Namespace, PageSize: int32(min(limit-len(runs), 1000)), NextPageToken: token, Query: query,
		})
		if err != nil {
			return nil, fmt.Errorf("list runs (query %q): %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			if len(runs) == limit {
				break
			}
			r := RunInfo{
				TrackID: e.GetExecution().GetWorkflowId(),
				RunID:   e.GetExecution().GetRunId(),
				Type:    e.GetType().GetName(),
				Status:  statusName(e.GetStatus()),
				Started: e.GetStartTime().AsTime(),
			}
			if e.GetCloseTime() != nil && r.Status != StatusRunning {
				t := e.GetCloseTime().AsTime()
				r.Closed = &t
			}
			sa := e.GetSearchAttributes()
			r.State = keyword(sa, contract.SAState.GetName())
			r.Endpoint = keyword(sa, contract.SAEndpoint.GetName())
			r.Model = keyword(sa, contract.SAModel.GetName())
			r.Owner = keyword(sa, contract.SAOwner.GetName())
			r.Parent = keyword(sa, contract.SAParentID.GetName())
			r.UIURL = UIURL(cfg, r.TrackID, r.RunID)
			runs = append(runs, r)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	if summaries {
		addSummaries(ctx, c, runs)
	}
	return runs, nil
}

// addSummaries fills in each run's static summary, a few at a time; a run
// that cannot be described keeps an empty one.
func addSummaries(ctx context.Context, c client.Client, runs []RunInfo) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if d, err := c.DescribeWorkflow(dctx, runs[i].TrackID, runs[i].RunID); err == nil {
				runs[i].Summary, _ = d.GetStaticSummary()
			}
		}()
	}
	wg.Wait()
}

// keyword decodes a Keyword search attribute; "" when it is not set.
func keyword(sa *commonpb.SearchAttributes, name string) string {
	p, ok := sa.GetIndexedFields()[name]
	if !ok {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

// ListUIURL is the Temporal UI's workflow list filtered by query.
func ListUIURL(cfg config.Temporal, query string) string {
	u := fmt.Sprintf("%s/namespaces/%s/workflows", strings.TrimSuffix(cfg.UIURL, "/"), url.PathEscape(cfg.Namespace))
	if query != "" {
		u += "?query=" + strings.ReplaceAll(url.QueryEscape(query), "+", "%20")
	}
	return u
}

// RunDetails is what `starter show` reports of one run.
type RunDetails struct {
	RunInfo
	HistoryLength int `json:"history_length"`
	// State is the run's live state, from its query, while it runs:
	// contract.State for a generation, contract.BatchState for a batch,
	// the pipeline's state for a pipeline.
	LiveState any `json:"live_state,omitempty"`
	// Result is a closed run's result: contract.GenerationResult for a
	// generation, contract.BatchResult for a batch, as JSON otherwise.
	Result any `json:"result,omitempty"`
	// Error is a failed run's error.
	Error *Failure `json:"error,omitempty"`
	// Failure is a failed generation's details (provider ID, phase).
	Failure *contract.FailureDetails `json:"failure_details,omitempty"`
	// QueryError says why the live state could not be read (no worker
	// polling the task queue, say).
	QueryError string `json:"query_error,omitempty"`
	// Notified is how a closed generation's notification went, when it
	// had a notify URL ("delivered", "failed: ..."), from its state
	// query (a worker answers); a running one's is in LiveState.
	Notified string `json:"notified,omitempty"`
}

// ErrNotFound is returned for a track_id that no run has.
var ErrNotFound = genflow.ErrNotFound

// Describe returns a run's details: its search attributes and summary,
// its live state while it runs, its result or error once closed. An empty
// runID means the latest run.
func Describe(ctx context.Context, c client.Client, cfg config.Temporal, id, runID string) (RunDetails, error) {
	d, err := c.DescribeWorkflow(ctx, id, runID)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return RunDetails{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	case err != nil:
		return RunDetails{}, fmt.Errorf("describe %s: %w", id, err)
	}
	out := RunDetails{HistoryLength: d.HistoryLength}
	out.TrackID = d.WorkflowExecution.ID
	out.RunID = d.WorkflowExecution.RunID
	out.Type = d.WorkflowType.Name
	out.Status = statusName(d.Status)
	out.Started = d.WorkflowStartTime
	if d.WorkflowCloseTime != nil && out.Status != StatusRunning {
		out.Closed = d.WorkflowCloseTime
	}
	sa := d.TypedSearchAttributes
	out.State, _ = sa.GetKeyword(contract.SAState)
	out.Endpoint, _ = sa.GetKeyword(contract.SAEndpoint)
	out.Model, _ = sa.GetKeyword(contract.SAModel)
	out.Owner, _ = sa.GetKeyword(contract.SAOwner)
	out.Parent, _ = sa.GetKeyword(contract.SAParentID)
	out.Summary, _ = d.GetStaticSummary()
	out.UIURL = UIURL(cfg, out.TrackID, out.RunID)

	if out.Status == StatusRunning {
		state, err := liveState(ctx, c, out.TrackID, out.RunID, out.Type)
		if err != nil {
			out.QueryError = err.Error()
		}
		out.LiveState = state
		return out, nil
	}
	if out.Status == StatusContinuedAsNew {
		return out, nil
	}
	out.Result, out.Error, out.Failure = outcome(ctx, c, out.TrackID, out.RunID, out.Type)
	if out.Type == contract.GenerationWorkflow {
		out.Notified = closedNotified(ctx, c, out.TrackID, out.RunID)
	}
	return out, nil
}

// closedNotified is how the notification of a closed generation went,
// when its input has a notify URL: its state query, which a worker
// answers by replaying the run. "" when it has none or no worker answers.
func closedNotified(ctx context.Context, c client.Client, id, runID string) string {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return ""
	}
	ev, err := it.Next()
	var in contract.GenerationInput
	if err != nil || ev.GetWorkflowExecutionStartedEventAttributes() == nil ||
		converter.GetDefaultDataConverter().FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in) != nil ||
		in.NotifyURL == "" {
		return ""
	}
	st, err := queryRun[contract.State](ctx, c, id, runID, contract.StateQuery)
	if err != nil {
		return ""
	}
	return st.Notified
}

// liveState asks a running run for its state with the query of its type.
func liveState(ctx context.Context, c client.Client, id, runID, typ string) (any, error) {
	var (
		state any
		err   error
	)
	switch typ {
	case contract.GenerationWorkflow:
		// With the pending activity's retry, which the query cannot see.
		st, qerr := genflow.NewClient(c, genflow.ClientOptions{}).GetGeneration(id, runID).State(ctx)
		if err = qerr; err == nil {
			state = &st
		}
	case contract.BatchWorkflow:
		state, err = queryRun[*contract.BatchState](ctx, c, id, runID, contract.BatchStateQuery)
	case contract.PipelineWorkflow:
		state, err = queryRun[*json.RawMessage](ctx, c, id, runID, contract.PipelineStateQuery)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("query %s state: %w", typ, err)
	}
	return state, nil
}

// outcome reads a closed run's result or error.
func outcome(ctx context.Context, c client.Client, id, runID, typ string) (any, *Failure, *contract.FailureDetails) {
	var res any
	switch typ {
	case contract.GenerationWorkflow:
		res = &contract.GenerationResult{}
	case contract.BatchWorkflow:
		res = &contract.BatchResult{}
	case contract.PipelineWorkflow:
		res = &contract.PipelineResult{}
	default:
		res = &json.RawMessage{}
	}
	err := c.GetWorkflow(ctx, id, runID).Get(ctx, res)
	if err == nil {
		return res, nil, nil
	}
	f := DescribeFailure(err)
	// A failed or cancelled pipeline carries its result (every step's
	// state, outputs and stored copies) in its error.
	if pres, ok := pipelineResultOf(err); ok && typ == contract.PipelineWorkflow {
		return &pres, &f, nil
	}
	var details contract.FailureDetails
	if typ == contract.GenerationWorkflow && failureDetails(err, &details) {
		return nil, &f, &details
	}
	return nil, &f, nil
}

// failureDetails reads the contract.FailureDetails a generation's error
// carries, if any.
func failureDetails(err error, d *contract.FailureDetails) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(d) == nil && d.TrackID != ""
}
