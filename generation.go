package genflow

import (
	"context"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/pipeline"
	"github.com/genflow/genflow/trackid"
)

// GenerationRequest is one generation to run.
type GenerationRequest struct {
	// TrackID is the generation's track_id: its workflow ID and the key
	// of its webhooks, within the rule of package trackid. Empty: a new
	// one (StartGeneration); ExecuteGeneration requires one.
	TrackID string
	// Endpoint is a modelslab catalogue name, such as "images/text2img",
	// or its unambiguous short form, "text2img".
	Endpoint string
	// Params are the endpoint's parameters (prompt, model_id, ...); the
	// endpoint's required ones are checked before anything starts.
	Params map[string]any
	// Deadline bounds the generation, submit to result. Zero: the
	// endpoint category's default (contract.DefaultDeadline).
	Deadline time.Duration
	// PollGrace is how long past the provider's eta the generation waits
	// for a webhook before it polls. Zero: contract.DefaultPollGrace.
	PollGrace time.Duration
	// Owner is a free label of who asked, searchable as GenflowOwner.
	Owner string
	// NotifyURL, when set, receives a signed Notification when the
	// generation ends.
	NotifyURL string
	// Store asks the worker to copy the outputs to its storage; the
	// result's Stored says where.
	Store bool
	// Priority orders the generation among the runs waiting for a slot
	// of the account (when the worker has ACCOUNT_QUEUE_LIMIT): 1
	// (contract.PriorityBatch, the lowest) to contract.PriorityMax,
	// higher first. Zero: contract.PriorityInteractive (5), ahead of
	// batch items.
	Priority int
}

// input checks the request against the catalogue and returns the
// workflow input, with the endpoint's full name. It does no I/O, so
// workflow code may call it.
func (r GenerationRequest) input() (contract.GenerationInput, error) {
	ep, err := pipeline.LookupEndpoint(r.Endpoint)
	if err != nil {
		return contract.GenerationInput{}, err
	}
	if err := ep.Validate(r.Params); err != nil {
		return contract.GenerationInput{}, err
	}
	if err := contract.CheckPriority(r.Priority); err != nil {
		return contract.GenerationInput{}, err
	}
	prio := r.Priority
	if prio == contract.PriorityInteractive {
		prio = 0 // the default: the same input as a request that sets none
	}
	return contract.GenerationInput{
		Endpoint: ep.Name, Params: r.Params, Deadline: r.Deadline, PollGrace: r.PollGrace,
		Owner: r.Owner, NotifyURL: r.NotifyURL, Store: r.Store, Priority: prio, Revision: contract.GenerationRevision,
	}, nil
}

// NewTrackID returns a fresh track_id.
func NewTrackID() string { return "gen-" + uuid.NewString() }

// GenerationRun is a Generation workflow run.
type GenerationRun struct {
	Run
	c *Client
}

// StartGeneration starts a Generation workflow whose ID is req.TrackID (a
// new one when empty), after checking the endpoint and its required
// parameters. A track_id that was used before, running or finished, is
// never started again: StartGeneration returns the existing run, with
// AlreadyStarted set, when it was started with the same endpoint,
// parameters, deadline, poll grace, owner, notify URL, store flag and
// priority; with
// anything else it returns a *DifferentParametersError (errors.Is finds
// ErrDifferentParameters) naming what differs.
func (c *Client) StartGeneration(ctx context.Context, req GenerationRequest) (*GenerationRun, error) {
	in, err := req.input()
	if err != nil {
		return nil, err
	}
	id := req.TrackID
	if id == "" {
		id = NewTrackID()
	}
	if err := trackid.Validate(id); err != nil {
		return nil, markInvalidID(err)
	}
	opts := c.startOptions(id)
	opts.StaticSummary = contract.Summary(in.Endpoint, in.Params)
	opts.StaticDetails = contract.Details(in.Endpoint, in.Params, in.Owner)
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(contract.GenerationSearchAttributes(in.Endpoint, in.Params, in.Owner)...)
	run, err := c.start(ctx, opts, contract.GenerationWorkflow, "generation", in)
	if err != nil {
		return nil, err
	}
	run.UIURL = c.runURL(run.ID, run.RunID)
	return &GenerationRun{Run: run, c: c}, nil
}

// GetGeneration returns the generation trackID, run runID (its latest run
// when empty), started earlier. It makes no call: Wait or State find out
// whether the run exists.
func (c *Client) GetGeneration(trackID, runID string) *GenerationRun {
	return &GenerationRun{Run: Run{ID: trackID, RunID: runID, UIURL: c.runURL(trackID, runID)}, c: c}
}

// Wait blocks until the generation ends and returns its result. A failed,
// timed-out or cancelled generation returns the SDK's error, which
// DescribeFailure and FailureDetailsOf read.
func (r *GenerationRun) Wait(ctx context.Context) (GenerationResult, error) {
	return r.Follow(ctx, 0, nil)
}

// Follow is Wait that also calls onState (if not nil) with the live state
// about every interval (zero: 500 ms) while the generation runs.
func (r *GenerationRun) Follow(ctx context.Context, interval time.Duration, onState func(State)) (GenerationResult, error) {
	return await[GenerationResult](ctx, r.c.c, r.ID, r.RunID, interval, querying(ctx, r.State, onState))
}

// State asks the generation for its live state (a worker answers, within
// QueryTimeout). While an activity is being retried (Submit during a 429,
// say), State.Retry says which, its attempt, its last failure and when
// the next attempt is due, from the run's description. While the run
// waits for a slot of its account (phase contract.PhaseQueued),
// State.Account's place is the account limiter's live answer (see
// QueuePosition).
func (r *GenerationRun) State(ctx context.Context) (State, error) {
	st, err := query[State](ctx, r.c.c, r.ID, r.RunID, contract.StateQuery)
	if err != nil {
		return st, err
	}
	st = r.c.withPosition(ctx, r.ID, st)
	return r.c.withRetry(ctx, r.ID, r.RunID, st), nil
}

// QueuePosition says where the generation stands in its account's
// queue: while it waits for a slot (phase contract.PhaseQueued), waiting
// is true and pos is the account limiter's live answer, such as "3rd of
// 12, limit 5" (pos.String()). Once the run holds a slot, has ended, or
// never waited (a worker without ACCOUNT_QUEUE_LIMIT), waiting is false.
// Should the limiter not answer within QueryTimeout, pos is where the run
// stood when it was queued.
func (r *GenerationRun) QueuePosition(ctx context.Context) (pos QueuePosition, waiting bool, err error) {
	st, err := query[State](ctx, r.c.c, r.ID, r.RunID, contract.StateQuery)
	if err != nil {
		return QueuePosition{}, false, err
	}
	st = r.c.withPosition(ctx, r.ID, st)
	if st.Phase != contract.PhaseQueued || st.Account == nil {
		return QueuePosition{}, false, nil
	}
	return st.Account.QueuePosition, true, nil
}

// withPosition refreshes the place of queued run id (st, its state) from
// its account limiter's position query: the run's own state holds the
// place it had when it was queued.
func (c *Client) withPosition(ctx context.Context, id string, st State) State {
	if st.Phase != contract.PhaseQueued || st.Account == nil || st.Account.Limiter == "" {
		return st
	}
	p, err := query[QueuePosition](ctx, c.c, st.Account.Limiter, "", contract.PositionQuery, id)
	// A limiter that does not know the run (its acquire not yet taken,
	// say) leaves the place the run recorded.
	if err != nil || (p.Position == 0 && !p.Holding) {
		return st
	}
	acct := *st.Account
	acct.QueuePosition = p
	st.Account = &acct
	return st
}

// Cancel asks the generation to cancel: it stops waiting and ends
// canceled (a request the provider accepted is not recalled). Wait then
// returns a cancellation error. It is an error to cancel a run that has
// ended.
func (r *GenerationRun) Cancel(ctx context.Context) error {
	return r.c.c.CancelWorkflow(ctx, r.ID, r.RunID)
}
