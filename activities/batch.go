package activities

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
)

// ErrTypePageMissing is the error type of a batch page holder that does
// not exist.
const ErrTypePageMissing = "BatchPageMissing"

// HistoryReader reads a workflow's history; client.Client is one.
type HistoryReader interface {
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool,
		filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

var _ HistoryReader = client.Client(nil)

// BatchActivities serve the Batch workflow. Register the struct as a
// whole.
type BatchActivities struct {
	History HistoryReader
}

// LoadBatchPage reads a page of items from the input of its holder
// workflow's first history event.
func (a *BatchActivities) LoadBatchPage(ctx context.Context, pageWorkflowID string) (contract.BatchPage, error) {
	it := a.History.GetWorkflowHistory(ctx, pageWorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return contract.BatchPage{}, temporal.NewNonRetryableApplicationError("page holder "+pageWorkflowID+" has no history", ErrTypePageMissing, nil)
	}
	ev, err := it.Next()
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return contract.BatchPage{}, temporal.NewNonRetryableApplicationError("page holder "+pageWorkflowID+" not found", ErrTypePageMissing, err)
		}
		return contract.BatchPage{}, fmt.Errorf("read page %s: %w", pageWorkflowID, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return contract.BatchPage{}, temporal.NewNonRetryableApplicationError("page holder "+pageWorkflowID+" has no start event", ErrTypePageMissing, nil)
	}
	var page contract.BatchPage
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &page); err != nil {
		return contract.BatchPage{}, temporal.NewNonRetryableApplicationError("decode page "+pageWorkflowID+": "+err.Error(), ErrTypePageMissing, err)
	}
	return page, nil
}
