package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
)

// ErrTypePageMissing is the error type of a batch page holder that does
// not exist.
const ErrTypePageMissing = "BatchPageMissing"

// BatchActivities serve the Batch workflow. Register the struct as a
// whole.
type BatchActivities struct {
	History genflow.HistoryReader
}

// LoadBatchPage reads a page of items from the input of its holder
// workflow's first history event (genflow.ReadBatchPage); a holder that
// is not there fails the activity for good.
func (a *BatchActivities) LoadBatchPage(ctx context.Context, pageWorkflowID string) (contract.BatchPage, error) {
	page, err := genflow.ReadBatchPage(ctx, a.History, pageWorkflowID)
	if errors.Is(err, genflow.ErrPageMissing) {
		return contract.BatchPage{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePageMissing, err)
	}
	return page, err
}
