package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
)

// BatchSpec is a batch to start.
type BatchSpec = genflow.BatchRequest

// NewBatchID returns a fresh batch ID.
func NewBatchID() string { return genflow.NewBatchID() }

// StartBatch stores the items in page holders and starts the Batch
// workflow. It is idempotent: run again with the same ID it completes a
// start that was interrupted and never starts anything twice. It is
// genflow.Client.StartBatch.
func StartBatch(ctx context.Context, c client.Client, cfg config.Temporal, spec BatchSpec) (Started, error) {
	run, err := newClient(c, cfg).StartBatch(ctx, spec)
	if err != nil {
		return Started{}, err
	}
	return Started{TrackID: run.ID, RunID: run.RunID, AlreadyStarted: run.AlreadyStarted, UIURL: UIURL(cfg, run.ID, "")}, nil
}

// QueryBatch asks a batch for its state (the latest run's).
func QueryBatch(ctx context.Context, c client.Client, batchID string) (contract.BatchState, error) {
	return genflow.NewClient(c, genflow.ClientOptions{}).GetBatch(batchID).State(ctx)
}

// WaitBatch blocks until the batch ends, following its continue-as-new
// runs, calling onState with its state about every interval.
func WaitBatch(ctx context.Context, c client.Client, batchID string, interval time.Duration, onState func(contract.BatchState)) (contract.BatchResult, error) {
	return genflow.NewClient(c, genflow.ClientOptions{}).GetBatch(batchID).Follow(ctx, interval, onState)
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
