package genflow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// ClientOptions configure a Client. The zero value is valid.
type ClientOptions struct {
	// TaskQueue is the task queue genflow's workflows are registered on
	// (genflow's worker, or the worker worker.Register was given).
	// Default DefaultTaskQueue ("genflow").
	TaskQueue string
	// UIURL is the root URL of the Temporal Web UI, such as
	// http://localhost:8233, for the runs' UIURL. Default empty: runs
	// carry no link.
	UIURL string
	// Namespace is the Temporal client's namespace, used in the links
	// only (the client itself knows its namespace). Default "default".
	Namespace string
}

// Client starts and follows genflow runs through a Temporal client. It is
// safe for concurrent use; it does not own the Temporal client, which the
// program closes.
type Client struct {
	c         client.Client
	taskQueue string
	uiURL     string
	namespace string
}

// NewClient returns a Client that uses c.
func NewClient(c client.Client, opts ClientOptions) *Client {
	if opts.TaskQueue == "" {
		opts.TaskQueue = DefaultTaskQueue
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	return &Client{c: c, taskQueue: opts.TaskQueue, uiURL: opts.UIURL, namespace: opts.Namespace}
}

// Run identifies one run of a genflow workflow.
type Run struct {
	// ID is the workflow ID: a generation's track_id, a batch's or a
	// pipeline's ID.
	ID string `json:"id"`
	// RunID is Temporal's ID of the run (of its first run, for a batch,
	// which continues as new between pages).
	RunID string `json:"run_id"`
	// AlreadyStarted says a run with this ID existed when the start was
	// asked: nothing was started again and nothing submitted twice.
	AlreadyStarted bool `json:"already_started"`
	// UIURL is the run's page in the Temporal Web UI; empty without
	// ClientOptions.UIURL.
	UIURL string `json:"ui_url,omitempty"`
}

// ErrNotFound is returned (wrapped) for an ID that no run has.
var ErrNotFound = errors.New("no run has this ID")

// ErrInvalidID is what errors.Is finds in the error of a start refused
// because of its ID: a track_id, batch or pipeline ID outside the rule of
// package trackid, or one that leaves no room for the IDs derived from
// it.
var ErrInvalidID = errors.New("invalid ID")

// invalidID marks err as an ErrInvalidID without changing its message.
type invalidID struct{ err error }

func (e invalidID) Error() string   { return e.err.Error() }
func (e invalidID) Unwrap() []error { return []error{e.err, ErrInvalidID} }

func markInvalidID(err error) error {
	if err == nil {
		return nil
	}
	return invalidID{err}
}

// UIURL is the Temporal Web UI page of run runID of workflow id (its
// latest run when runID is empty), under the UI at uiURL, in namespace.
func UIURL(uiURL, namespace, id, runID string) string {
	u := fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimSuffix(uiURL, "/"),
		url.PathEscape(namespace), url.PathEscape(id))
	if runID != "" {
		u += "/" + url.PathEscape(runID) + "/history"
	}
	return u
}

// runURL is UIURL under the client's options, or "" without a UI.
func (c *Client) runURL(id, runID string) string {
	if c.uiURL == "" {
		return ""
	}
	return UIURL(c.uiURL, c.namespace, id, runID)
}

// startOptions are the options every genflow start shares: an ID used
// before, running or closed, is refused, so nothing runs twice.
func (c *Client) startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
}

// start starts workflow with arg, or finds the run that already has the
// ID: that run is returned when it was started with the same input (the
// top-level fields in ignore left out), else a *DifferentParametersError.
// what names the run in errors ("generation", "batch", "pipeline").
func (c *Client) start(ctx context.Context, opts client.StartWorkflowOptions, workflow, what string, arg any, ignore ...string) (Run, error) {
	run, err := c.c.ExecuteWorkflow(ctx, opts, workflow, arg)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &exists):
		r := Run{ID: opts.ID, RunID: exists.RunId, AlreadyStarted: true}
		if err := c.checkSame(ctx, what, r, arg, ignore...); err != nil {
			return Run{}, err
		}
		return r, nil
	case err != nil:
		return Run{}, fmt.Errorf("start %s %s: %w", what, opts.ID, err)
	}
	return Run{ID: opts.ID, RunID: run.GetRunID()}, nil
}

// await blocks until run id ends and returns its result, calling tick
// about every interval while it runs (to show live state). runID empty
// follows the run chain through continue-as-new.
func await[R any](ctx context.Context, c client.Client, id, runID string, interval time.Duration, tick func()) (R, error) {
	type outcome struct {
		res R
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		o.err = c.GetWorkflow(ctx, id, runID).Get(ctx, &o.res)
		done <- o
	}()
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case o := <-done:
			return o.res, o.err
		case <-ctx.Done():
			var zero R
			return zero, ctx.Err()
		case <-ticker.C:
			if tick != nil {
				tick()
			}
		}
	}
}

// querying returns a tick that queries the run's state and hands it to
// onState, or nil when there is no onState.
func querying[S any](ctx context.Context, query func(context.Context) (S, error), onState func(S)) func() {
	if onState == nil {
		return nil
	}
	return func() {
		if st, err := query(ctx); err == nil {
			onState(st)
		}
	}
}

// QueryTimeout bounds each state query, so a run that no worker serves
// cannot hang the caller.
const QueryTimeout = 5 * time.Second

// query asks run id for its state through the named query, with args.
func query[S any](ctx context.Context, c client.Client, id, runID, name string, args ...any) (S, error) {
	var st S
	qctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, runID, name, args...)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}
