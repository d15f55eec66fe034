package genflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/pipeline"
	"github.com/genflow/genflow/trackid"
)

// BatchRequest is a batch to run: many generations, a few at a time.
type BatchRequest struct {
	// ID is the batch ID, the Batch workflow's ID. Empty: a new one.
	ID string
	// Items are the generations. An item without a TrackID gets
	// contract.ItemTrackID(ID, index).
	Items []BatchItem
	// Concurrency is the most generations in flight. Zero:
	// contract.DefaultBatchConcurrency.
	Concurrency int
	// FailFast ends the batch at its first failed item, cancelling the
	// others.
	FailFast bool
	// Deadline bounds each item. Zero: by the endpoint's category.
	Deadline time.Duration
	// PollGrace is each item's wait past the eta before polling. Zero:
	// contract.DefaultPollGrace.
	PollGrace time.Duration
	// Owner is a free label of who asked, given to every item.
	Owner string
	// NotifyURL, when set, receives the batch's outcome when it ends.
	NotifyURL string
	// Store asks every item to store its outputs.
	Store bool
	// PageSize is the items per page (and per run of the Batch workflow,
	// which continues as new between pages). Zero:
	// contract.DefaultBatchPageSize.
	PageSize int
	// Priority is the priority, among the runs waiting for a slot of the
	// account, of the items that set none (BatchItem.Priority): 1
	// (contract.PriorityBatch) to contract.PriorityMax, higher first.
	// Zero: contract.PriorityBatch, behind interactive generations.
	Priority int
}

// maxListedItemErrors bounds how many bad items an error lists in full.
const maxListedItemErrors = 20

// NewBatchID returns a fresh batch ID.
func NewBatchID() string { return "batch-" + uuid.NewString()[:13] }

// Check reports what StartBatch would refuse in r, without starting
// anything: no items, an item whose endpoint, parameters or track_id are
// wrong, two items with one track_id, an item too large, and, when r.ID
// is set, an ID that leaves no room for the IDs derived from it
// (errors.Is finds ErrInvalidID in that error).
func (r BatchRequest) Check() error {
	_, _, err := r.prepare(r.ID)
	return err
}

// prepare checks r and returns its items, with the endpoints' full names,
// in pages of batch id. An empty id skips the ID's check.
func (r BatchRequest) prepare(id string) ([]BatchItem, []contract.BatchPage, error) {
	if len(r.Items) == 0 {
		return nil, nil, errors.New("batch has no items")
	}
	if err := contract.CheckPriority(r.Priority); err != nil {
		return nil, nil, fmt.Errorf("batch: %w", err)
	}
	items := make([]BatchItem, len(r.Items))
	var errs []string
	seen := map[string]int{}
	for i, it := range r.Items {
		err := func() error {
			ep, err := pipeline.LookupEndpoint(it.Endpoint)
			if err != nil {
				return err
			}
			it.Endpoint = ep.Name
			if err := ep.Validate(it.Params); err != nil {
				return err
			}
			if err := contract.CheckPriority(it.Priority); err != nil {
				return err
			}
			if it.TrackID == "" {
				return nil
			}
			if err := trackid.Validate(it.TrackID); err != nil {
				return err
			}
			if prev, dup := seen[it.TrackID]; dup {
				return fmt.Errorf("track_id %q is also %s's", it.TrackID, itemName(prev, r.Items[prev]))
			}
			seen[it.TrackID] = i
			return nil
		}()
		if err != nil {
			errs = append(errs, itemName(i, it)+": "+err.Error())
		}
		items[i] = it
	}
	if len(errs) > 0 {
		if n := len(errs) - maxListedItemErrors; n > 0 {
			errs = append(errs[:maxListedItemErrors], fmt.Sprintf("... and %d more", n))
		}
		return nil, nil, errors.New(strings.Join(errs, "\n"))
	}
	pages, err := splitPages(id, items, r.PageSize)
	if err != nil {
		return nil, nil, err
	}
	if id != "" {
		if err := checkBatchID(id, len(items), len(pages)); err != nil {
			return nil, nil, markInvalidID(err)
		}
	}
	return items, pages, nil
}

// itemName names item i in messages: "item 3", or "item 3 (line 4)" for
// an item read from a file.
func itemName(i int, it BatchItem) string {
	if it.Line > 0 {
		return fmt.Sprintf("item %d (line %d)", i, it.Line)
	}
	return fmt.Sprintf("item %d", i)
}

// splitPages cuts items into pages of at most size items and
// contract.MaxBatchPageBytes encoded bytes.
func splitPages(batchID string, items []BatchItem, size int) ([]contract.BatchPage, error) {
	if size <= 0 {
		size = contract.DefaultBatchPageSize
	}
	var pages []contract.BatchPage
	cur := contract.BatchPage{BatchID: batchID}
	curBytes := 0
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", itemName(i, it), err)
		}
		if len(b) > contract.MaxBatchPageBytes/2 {
			return nil, fmt.Errorf("%s is %d bytes; an item may be at most %d (pass URLs, not media)", itemName(i, it), len(b), contract.MaxBatchPageBytes/2)
		}
		if len(cur.Items) == size || curBytes+len(b) > contract.MaxBatchPageBytes {
			pages = append(pages, cur)
			cur = contract.BatchPage{BatchID: batchID, Index: len(pages), First: i}
			curBytes = 0
		}
		cur.Items = append(cur.Items, it)
		curBytes += len(b) + 1
	}
	if len(cur.Items) > 0 {
		pages = append(pages, cur)
	}
	return pages, nil
}

// checkBatchID reports why id cannot be the ID of a batch of items items
// held in pages pages. The Batch workflow derives IDs from it, its page
// holders' (<id>-page-0000) and its items' track_ids when they set none
// (<id>-00000), and each must be a track_id as package trackid rules, so
// the ID must leave room for those suffixes.
func checkBatchID(id string, items, pages int) error {
	if err := trackid.Validate(id); err != nil {
		return fmt.Errorf("batch ID: %w", err)
	}
	page := contract.PageWorkflowID(id, max(pages-1, 0))
	item := contract.ItemTrackID(id, max(items-1, 0))
	longest, what := page, "its page holders' IDs"
	if len(item) > len(page) {
		longest, what = item, "its items' track_ids"
	}
	if len(longest) > trackid.MaxLen {
		suffix := longest[len(id):]
		return fmt.Errorf("batch ID is %d bytes; %s add %q and would be %d bytes, past the track_id limit of %d: "+
			"use a batch ID of at most %d bytes", len(id), what, suffix, len(longest), trackid.MaxLen, trackid.MaxLen-len(suffix))
	}
	return nil
}

// BatchRun is a Batch workflow.
type BatchRun struct {
	Run
	c *Client
}

// StartBatch checks the request (see BatchRequest.Check), stores the items
// in page holder workflows and starts the Batch workflow. It is
// idempotent: run again with the same ID, it completes a start that was
// interrupted and never starts anything twice; a batch that exists is
// returned with AlreadyStarted set when it has the same items and
// options, else StartBatch returns a *DifferentParametersError (errors.Is
// finds ErrDifferentParameters) and starts nothing.
func (c *Client) StartBatch(ctx context.Context, req BatchRequest) (*BatchRun, error) {
	if req.ID == "" {
		req.ID = NewBatchID()
	}
	items, pages, err := req.prepare(req.ID)
	if err != nil {
		return nil, err
	}
	prio := req.Priority
	if prio == contract.PriorityBatch {
		prio = 0 // the default: the same input as a request that sets none
	}
	in := contract.BatchInput{
		Pages: len(pages), Total: len(items), Concurrency: req.Concurrency,
		FailFast: req.FailFast, Deadline: req.Deadline, PollGrace: req.PollGrace, Owner: req.Owner,
		NotifyURL: req.NotifyURL, Store: req.Store, Priority: prio,
	}
	// A batch that exists is compared, items included, before any page
	// holder is started for it.
	if run, err := c.existingBatch(ctx, req.ID, in, pages); err != nil || run != nil {
		return run, err
	}
	if err := c.startPages(ctx, pages); err != nil {
		return nil, err
	}
	opts := c.startOptions(req.ID)
	opts.StaticSummary = fmt.Sprintf("batch of %d: %s", len(items), contract.Summary(items[0].Endpoint, items[0].Params))
	opts.TypedSearchAttributes = batchAttributes(req.Owner)
	run, err := c.start(ctx, opts, contract.BatchWorkflow, "batch", in, "carry")
	if err != nil {
		return nil, err
	}
	// The batch's runs follow one another: link the ID, not one run.
	run.UIURL = c.runURL(run.ID, "")
	return &BatchRun{Run: run, c: c}, nil
}

// existingBatch returns the batch id when it exists with the input in and
// the items of pages, nil when no batch has the ID, and a
// *DifferentParametersError when it exists with others.
func (c *Client) existingBatch(ctx context.Context, id string, in contract.BatchInput, pages []contract.BatchPage) (*BatchRun, error) {
	d, err := c.c.DescribeWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("start batch %s: %w", id, err)
	}
	run := Run{ID: id, RunID: d.WorkflowExecution.RunID, AlreadyStarted: true, UIURL: c.runURL(id, "")}
	var fields []string
	var diff *DifferentParametersError
	switch err := c.checkSame(ctx, "batch", run, in, "carry"); {
	case errors.As(err, &diff):
		fields = diff.Fields
	case err != nil:
		return nil, err
	}
	if !slices.Contains(fields, "total") {
		more, err := c.checkSameItems(ctx, id, pages)
		if err != nil {
			return nil, fmt.Errorf("batch %s exists; read its items to compare: %w", id, err)
		}
		fields = append(fields, more...)
	}
	if len(fields) > 0 {
		return nil, &DifferentParametersError{What: "batch", Run: run, Fields: fields}
	}
	return &BatchRun{Run: run, c: c}, nil
}

// batchAttributes are a Batch run's search attributes at start; the
// workflow upserts GenflowState when it ends.
func batchAttributes(owner string) temporal.SearchAttributes {
	ups := []temporal.SearchAttributeUpdate{contract.SAState.ValueSet(contract.BatchRunning)}
	if owner != "" {
		ups = append(ups, contract.SAOwner.ValueSet(owner))
	}
	return temporal.NewSearchAttributes(ups...)
}

// startPages starts the page holders, eight at a time; a holder that
// exists (an interrupted start run again) is left as it is.
func (c *Client) startPages(ctx context.Context, pages []contract.BatchPage) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan contract.BatchPage)
	errs := make(chan error, len(pages))
	var wg sync.WaitGroup
	for range min(8, len(pages)) {
		wg.Go(func() {
			for p := range work {
				opts := c.startOptions(contract.PageWorkflowID(p.BatchID, p.Index))
				opts.StaticSummary = fmt.Sprintf("page %d of batch %s: items %d-%d", p.Index+1, p.BatchID,
					p.First, p.First+len(p.Items)-1)
				opts.TypedSearchAttributes = temporal.NewSearchAttributes(contract.SAParentID.ValueSet(p.BatchID))
				_, err := c.c.ExecuteWorkflow(ctx, opts, contract.BatchPageWorkflow, p)
				var exists *serviceerror.WorkflowExecutionAlreadyStarted
				if err != nil && !errors.As(err, &exists) {
					errs <- fmt.Errorf("store page %d: %w", p.Index, err)
					cancel()
				}
			}
		})
	}
	for _, p := range pages {
		select {
		case work <- p:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// GetBatch returns the batch batchID, started earlier. It makes no call.
func (c *Client) GetBatch(batchID string) *BatchRun {
	return &BatchRun{Run: Run{ID: batchID, UIURL: c.runURL(batchID, "")}, c: c}
}

// Wait blocks until the batch ends, following its continue-as-new runs,
// and returns its result. A batch whose items failed still completes, with
// the failures in its result; a fail-fast batch fails with
// contract.ErrTypeBatchFailFast.
func (r *BatchRun) Wait(ctx context.Context) (BatchResult, error) {
	return r.Follow(ctx, 0, nil)
}

// Follow is Wait that also calls onState (if not nil) with the live state
// about every interval (zero: 500 ms) while the batch runs.
func (r *BatchRun) Follow(ctx context.Context, interval time.Duration, onState func(BatchState)) (BatchResult, error) {
	return await[BatchResult](ctx, r.c.c, r.ID, "", interval, querying(ctx, r.State, onState))
}

// State asks the batch (its latest run) for its live state.
func (r *BatchRun) State(ctx context.Context) (BatchState, error) {
	return query[BatchState](ctx, r.c.c, r.ID, "", contract.BatchStateQuery)
}

// Cancel cancels the batch and makes sure every item still running ends:
// see Client.Cancel.
func (r *BatchRun) Cancel(ctx context.Context, opts CancelOptions) (CancelReport, error) {
	return r.c.Cancel(ctx, r.ID, opts)
}
