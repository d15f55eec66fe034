package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/config"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/trackid"
)

// BatchSpec is a batch to start.
type BatchSpec struct {
	// ID is the batch ID (= the Batch workflow ID); new when empty.
	ID          string
	Items       []contract.BatchItem
	Concurrency int
	FailFast    bool
	Deadline    time.Duration
	PollGrace   time.Duration
	Owner       string
	// NotifyURL receives the batch's outcome when it ends; empty: none.
	NotifyURL string
	// Store asks every item to store its outputs.
	Store bool
	// PageSize is the items per page and per run; zero means
	// contract.DefaultBatchPageSize.
	PageSize int
}

// NewBatchID returns a fresh batch ID.
func NewBatchID() string { return "batch-" + uuid.NewString()[:13] }

// StartBatch stores the items in page holders and starts the Batch
// workflow. It is idempotent: run again with the same ID it completes a
// start that was interrupted and never starts anything twice.
func StartBatch(ctx context.Context, c client.Client, cfg config.Temporal, spec BatchSpec) (Started, error) {
	if spec.ID == "" {
		spec.ID = NewBatchID()
	}
	if len(spec.Items) == 0 {
		return Started{}, errors.New("batch has no items")
	}
	pages, err := SplitPages(spec.ID, spec.Items, spec.PageSize)
	if err != nil {
		return Started{}, err
	}
	if err := checkBatchID(spec.ID, len(spec.Items), len(pages)); err != nil {
		return Started{}, err
	}
	if err := startPages(ctx, c, cfg, pages); err != nil {
		return Started{}, err
	}
	in := contract.BatchInput{
		Pages: len(pages), Total: len(spec.Items), Concurrency: spec.Concurrency,
		FailFast: spec.FailFast, Deadline: spec.Deadline, PollGrace: spec.PollGrace, Owner: spec.Owner,
		NotifyURL: spec.NotifyURL, Store: spec.Store,
	}
	summary := fmt.Sprintf("batch of %d: %s", len(spec.Items), contract.Summary(spec.Items[0].Endpoint, spec.Items[0].Params))
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       spec.ID,
		TaskQueue:                                cfg.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            summary,
		TypedSearchAttributes:                    batchAttributes(spec.Owner),
	}, contract.BatchWorkflow, in)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &exists):
		return Started{TrackID: spec.ID, RunID: exists.RunId, AlreadyStarted: true, UIURL: UIURL(cfg, spec.ID, "")}, nil
	case err != nil:
		return Started{}, fmt.Errorf("start batch %s: %w", spec.ID, err)
	}
	return Started{TrackID: spec.ID, RunID: run.GetRunID(), UIURL: UIURL(cfg, spec.ID, "")}, nil
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

// batchAttributes are a Batch run's search attributes at start; the
// workflow upserts GenflowState when it ends.
func batchAttributes(owner string) temporal.SearchAttributes {
	ups := []temporal.SearchAttributeUpdate{contract.SAState.ValueSet(contract.BatchRunning)}
	if owner != "" {
		ups = append(ups, contract.SAOwner.ValueSet(owner))
	}
	return temporal.NewSearchAttributes(ups...)
}

func startPages(ctx context.Context, c client.Client, cfg config.Temporal, pages []contract.BatchPage) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan contract.BatchPage)
	errs := make(chan error, len(pages))
	var wg sync.WaitGroup
	for range min(8, len(pages)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID:                                       contract.PageWorkflowID(p.BatchID, p.Index),
					TaskQueue:                                cfg.TaskQueue,
					WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
					WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
					WorkflowExecutionErrorWhenAlreadyStarted: true,
					StaticSummary: fmt.Sprintf("page %d of batch %s: items %d-%d", p.Index+1, p.BatchID,
						p.First, p.First+len(p.Items)-1),
					TypedSearchAttributes: temporal.NewSearchAttributes(contract.SAParentID.ValueSet(p.BatchID)),
				}, contract.BatchPageWorkflow, p)
				var exists *serviceerror.WorkflowExecutionAlreadyStarted
				if err != nil && !errors.As(err, &exists) {
					errs <- fmt.Errorf("store page %d: %w", p.Index, err)
					cancel()
				}
			}
		}()
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
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// QueryBatch asks a batch for its state (the latest run's).
func QueryBatch(ctx context.Context, c client.Client, batchID string) (contract.BatchState, error) {
	return queryRun[contract.BatchState](ctx, c, batchID, "", contract.BatchStateQuery)
}

// WaitBatch blocks until the batch ends, following its continue-as-new
// runs, calling onState with its state about every interval.
func WaitBatch(ctx context.Context, c client.Client, batchID string, interval time.Duration, onState func(contract.BatchState)) (contract.BatchResult, error) {
	query := func(ctx context.Context) (contract.BatchState, error) { return QueryBatch(ctx, c, batchID) }
	return awaitRun[contract.BatchResult](ctx, c, batchID, "", interval, querying(ctx, query, onState))
}

// ItemResult is one line of `starter batch results`.
type ItemResult struct {
	Index     int                `json:"index"`
	TrackID   string             `json:"track_id"`
	Line      int                `json:"line,omitempty"`
	Status    string             `json:"status"` // succeeded, failed, canceled, running, not_started
	Output    []string           `json:"output,omitempty"`
	LearnedBy contract.LearnedBy `json:"learned_by,omitempty"`
	// Stored are the item's stored copies, when the batch asked.
	Stored []contract.StoredOutput `json:"stored,omitempty"`
	Error  *Failure                `json:"error,omitempty"`
}

// BatchResults writes one JSON line per item, in item order, read from
// the items' own Generation workflows. It needs the page holders, which
// Temporal keeps for the namespace's retention after the batch ends.
func BatchResults(ctx context.Context, c client.Client, batchID string, w io.Writer) (counts map[string]int, err error) {
	enc := json.NewEncoder(w)
	counts = map[string]int{}
	err = eachBatchItem(ctx, c, batchID, func(r ItemResult) error {
		counts[r.Status]++
		return enc.Encode(r)
	})
	return counts, err
}

// eachBatchItem calls fn with every item's result, in item order, read a
// page at a time from the items' own Generation workflows.
func eachBatchItem(ctx context.Context, c client.Client, batchID string, fn func(ItemResult) error) error {
	loader := &activities.BatchActivities{History: c}
	for n := 0; ; n++ {
		page, err := loader.LoadBatchPage(ctx, contract.PageWorkflowID(batchID, n))
		if err != nil {
			if n == 0 {
				return fmt.Errorf("batch %s: no item pages found (is the ID right?): %w", batchID, err)
			}
			return nil
		}
		results := make([]ItemResult, len(page.Items))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i, it := range page.Items {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = itemResult(ctx, c, batchID, page.First+i, it)
			}()
		}
		wg.Wait()
		for _, r := range results {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
}

func itemResult(ctx context.Context, c client.Client, batchID string, index int, it contract.BatchItem) ItemResult {
	r := ItemResult{Index: index, TrackID: it.TrackID, Line: it.Line}
	if r.TrackID == "" {
		r.TrackID = contract.ItemTrackID(batchID, index)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, r.TrackID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		r.Status = "not_started"
		return r
	case err != nil:
		r.Status, r.Error = "unknown", &Failure{Type: "Error", Message: err.Error()}
		return r
	}
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		r.Status = "running"
		return r
	}
	var res contract.GenerationResult
	if err := c.GetWorkflow(ctx, r.TrackID, "").Get(ctx, &res); err != nil {
		f := DescribeFailure(err)
		r.Status, r.Error = "failed", &f
		if f.Type == "Canceled" {
			r.Status = "canceled"
		}
		return r
	}
	r.Status, r.Output, r.LearnedBy, r.Stored = "succeeded", res.Output, res.LearnedBy, res.Stored
	return r
}
