package genflow

import (
	"context"
	"errors"
	"fmt"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/genflow/genflow/contract"
)

// ItemResult is one item of a batch as its own Generation run tells it.
type ItemResult struct {
	// Index is the item's place in the batch, from 0.
	Index   int    `json:"index"`
	TrackID string `json:"track_id"`
	// Line is the item's line in its batch file, when it came from one.
	Line int `json:"line,omitempty"`
	// Status is one of the ItemStatus* constants.
	Status    string             `json:"status"`
	Output    []string           `json:"output,omitempty"`
	LearnedBy contract.LearnedBy `json:"learned_by,omitempty"`
	// Stored are the item's stored copies, when the batch asked.
	Stored []contract.StoredOutput `json:"stored,omitempty"`
	Error  *Failure                `json:"error,omitempty"`
}

// Item statuses of ItemResult.
const (
	ItemSucceeded  = "succeeded"
	ItemFailed     = "failed"
	ItemCanceled   = "canceled"
	ItemRunning    = "running"
	ItemNotStarted = "not_started"
	ItemUnknown    = "unknown"
)

// ErrPageMissing says a batch page holder does not exist (a wrong batch
// ID, or one past Temporal's retention).
var ErrPageMissing = errors.New("batch page holder missing")

// HistoryReader reads a workflow's history; client.Client is one.
type HistoryReader interface {
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool,
		filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

var _ HistoryReader = client.Client(nil)

// ReadBatchPage reads a page of a batch's items from the input of its
// holder workflow's first history event (contract.PageWorkflowID names
// it). A holder that does not exist is an error wrapping ErrPageMissing.
func ReadBatchPage(ctx context.Context, h HistoryReader, pageWorkflowID string) (contract.BatchPage, error) {
	it := h.GetWorkflowHistory(ctx, pageWorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return contract.BatchPage{}, fmt.Errorf("%w: %s has no history", ErrPageMissing, pageWorkflowID)
	}
	ev, err := it.Next()
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return contract.BatchPage{}, fmt.Errorf("%w: %s not found: %w", ErrPageMissing, pageWorkflowID, err)
		}
		return contract.BatchPage{}, fmt.Errorf("read page %s: %w", pageWorkflowID, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return contract.BatchPage{}, fmt.Errorf("%w: %s has no start event", ErrPageMissing, pageWorkflowID)
	}
	var page contract.BatchPage
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &page); err != nil {
		return contract.BatchPage{}, fmt.Errorf("%w: decode page %s: %w", ErrPageMissing, pageWorkflowID, err)
	}
	return page, nil
}

// Items calls fn with every item's result, in item order, read a page at
// a time from the items' own Generation runs (16 at a time). It needs
// the batch's page holders, which Temporal keeps for the namespace's
// retention after the batch ends. fn's error stops it and is returned.
func (r *BatchRun) Items(ctx context.Context, fn func(ItemResult) error) error {
	c := r.c.c
	for n := 0; ; n++ {
		page, err := ReadBatchPage(ctx, c, contract.PageWorkflowID(r.ID, n))
		if err != nil {
			if n == 0 {
				return fmt.Errorf("batch %s: no item pages found (is the ID right?): %w", r.ID, err)
			}
			if errors.Is(err, ErrPageMissing) {
				return nil
			}
			return err
		}
		results := make([]ItemResult, len(page.Items))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i, it := range page.Items {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = itemResult(ctx, c, r.ID, page.First+i, it)
			}()
		}
		wg.Wait()
		for _, res := range results {
			if err := fn(res); err != nil {
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
	desc, err := c.DescribeWorkflow(ctx, r.TrackID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		r.Status = ItemNotStarted
		return r
	case err != nil:
		r.Status, r.Error = ItemUnknown, &Failure{Type: "Error", Message: err.Error()}
		return r
	}
	if desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		r.Status = ItemRunning
		return r
	}
	var res contract.GenerationResult
	if err := c.GetWorkflow(ctx, r.TrackID, "").Get(ctx, &res); err != nil {
		f := DescribeFailure(err)
		r.Status, r.Error = ItemFailed, &f
		if f.Type == "Canceled" {
			r.Status = ItemCanceled
		}
		return r
	}
	r.Status, r.Output, r.LearnedBy, r.Stored = ItemSucceeded, res.Output, res.LearnedBy, res.Stored
	return r
}
