package starter

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow"
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
type ItemResult = genflow.ItemResult

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

// eachBatchItem calls fn with every item's result, in item order.
func eachBatchItem(ctx context.Context, c client.Client, batchID string, fn func(ItemResult) error) error {
	return genflow.NewClient(c, genflow.ClientOptions{}).GetBatch(batchID).Items(ctx, fn)
}
