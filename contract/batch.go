package contract

import (
	"fmt"
	"time"
)

// Batch names registered with Temporal.
const (
	// BatchWorkflow runs many generations as Generation children, a page
	// per run, continuing as new between pages.
	BatchWorkflow = "Batch"
	// BatchPageWorkflow holds one page of a batch's items in its input,
	// so items live in Temporal without any payload near the 2 MB limit;
	// it stays open until the batch releases it.
	BatchPageWorkflow = "BatchPage"
	// BatchStateQuery returns a batch's BatchState.
	BatchStateQuery = "batch-state"
	// BatchPageReleaseSignal lets a page holder close.
	BatchPageReleaseSignal = "release"
)

// Batch defaults.
const (
	// DefaultBatchConcurrency is ModelsLab's smallest account queue.
	DefaultBatchConcurrency = 5
	// DefaultBatchPageSize keeps each batch run's history near 3,000
	// events (about 10 per item) and each page payload near 100 KB.
	DefaultBatchPageSize = 250
	// MaxBatchPageBytes bounds a page's encoded size, well under the
	// 512 KB warning and the 2 MB limit of a payload.
	MaxBatchPageBytes = 256 << 10
	// MaxReportedFailures bounds the failures a batch result and state
	// list in full; `starter batch results` always has every item.
	MaxReportedFailures = 1000
)

// BatchItem is one generation of a batch.
type BatchItem struct {
	// TrackID is the item's track_id; empty means ItemTrackID(batch,
	// index).
	TrackID  string         `json:"track_id,omitempty"`
	Endpoint string         `json:"endpoint"`
	Params   map[string]any `json:"params,omitempty"`
	// Line is the item's line in the input file, for messages.
	Line int `json:"line,omitempty"`
	// Priority is the item's priority at the account limiter (1 to
	// PriorityMax); zero means the batch's (BatchInput.Priority).
	Priority int `json:"priority,omitempty"`
}

// BatchPage is the input of a BatchPage holder.
type BatchPage struct {
	BatchID string      `json:"batch_id"`
	Index   int         `json:"index"`
	First   int         `json:"first"` // batch index of Items[0]
	Items   []BatchItem `json:"items"`
}

// BatchInput starts (or continues) a Batch workflow.
type BatchInput struct {
	// Pages is how many BatchPage holders hold the items, Total how many
	// items they hold in all.
	Pages int `json:"pages"`
	Total int `json:"total"`
	// Concurrency is the most children in flight. Zero means
	// DefaultBatchConcurrency.
	Concurrency int `json:"concurrency,omitempty"`
	// FailFast stops the batch at the first failed item.
	FailFast bool          `json:"fail_fast,omitempty"`
	Deadline time.Duration `json:"deadline,omitempty"` // per item; zero: by category
	// PollGrace is each item's wait past the eta before polling; zero:
	// DefaultPollGrace.
	PollGrace time.Duration `json:"poll_grace,omitempty"`
	Owner     string        `json:"owner,omitempty"`
	// NotifyURL, when set, receives a signed Notification when the batch
	// ends (its last run), as a generation's NotifyURL does.
	NotifyURL string `json:"notify_url,omitempty"`
	// Store asks every item to store its outputs (GenerationInput.Store).
	Store bool `json:"store,omitempty"`
	// Priority is the priority at the account limiter of the items that
	// set none (1 to PriorityMax). Zero means PriorityBatch, so that
	// interactive runs go before a batch's items.
	Priority int `json:"priority,omitempty"`
	// Carry is the state carried across continue-as-new; nil at start.
	Carry *BatchCarry `json:"carry,omitempty"`
}

// BatchCarry is what one run of a batch hands to the next.
type BatchCarry struct {
	Page      int            `json:"page"` // next page to run
	Succeeded int            `json:"succeeded"`
	Failed    int            `json:"failed"`
	Canceled  int            `json:"canceled,omitempty"` // items cancelled (fail-fast, batch cancel, by hand)
	Failures  []ItemFailure  `json:"failures,omitempty"`
	Dropped   int            `json:"failures_dropped,omitempty"` // failures past MaxReportedFailures
	StartedAt time.Time      `json:"started_at"`
	Runs      int            `json:"runs"`
	Learned   map[string]int `json:"learned,omitempty"` // successes by LearnedBy
}

// ItemFailure is one failed item.
type ItemFailure struct {
	Index   int    `json:"index"`
	TrackID string `json:"track_id"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// BatchState is the BatchStateQuery answer.
type BatchState struct {
	BatchID   string `json:"batch_id"`
	Total     int    `json:"total"`
	Pending   int    `json:"pending"`
	Running   int    `json:"running"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	// Canceled counts items whose generation was cancelled (the batch
	// cancelled, fail-fast, or the item cancelled by hand). Pending
	// items of a batch that has ended will never start.
	Canceled    int `json:"canceled"`
	Concurrency int `json:"concurrency"`
	Page        int `json:"page"`
	Pages       int `json:"pages"`
	Run         int `json:"run"` // continue-as-new generation, from 1
	// State is running, completed, failed (fail-fast) or canceled.
	State     string    `json:"state"`
	StartedAt time.Time `json:"started_at"`
	// ItemsPerSecond is finished items per second since the start.
	ItemsPerSecond float64 `json:"items_per_second"`
	// Notified says how the end-of-batch notification went, when the
	// batch has a NotifyURL: "sending", "delivered" or "failed: ...".
	Notified string         `json:"notified,omitempty"`
	Failures []ItemFailure  `json:"failures,omitempty"`
	Learned  map[string]int `json:"learned,omitempty"`
}

// Done is the number of finished items: succeeded, failed or cancelled.
func (s BatchState) Done() int { return s.Succeeded + s.Failed + s.Canceled }

// BatchResult is the Batch workflow's result.
type BatchResult struct {
	BatchID   string `json:"batch_id"`
	Total     int    `json:"total"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	// Canceled counts items cancelled before they ended (fail-fast
	// cancels the rest; an item can be cancelled by hand).
	Canceled int           `json:"canceled,omitempty"`
	Failures []ItemFailure `json:"failures,omitempty"`
	// FailuresDropped counts failures not listed (past
	// MaxReportedFailures); `starter batch results` lists them all.
	FailuresDropped int            `json:"failures_dropped,omitempty"`
	Runs            int            `json:"runs"`
	Duration        time.Duration  `json:"duration"`
	Learned         map[string]int `json:"learned,omitempty"`
}

// Batch states.
const (
	BatchRunning   = "running"
	BatchCompleted = "completed"
	BatchFailed    = "failed"
	BatchCanceled  = "canceled"
)

// ErrTypeBatchFailFast fails a fail-fast batch at its first failed item.
const ErrTypeBatchFailFast = "BatchFailFast"

// ItemTrackID is the track_id of batch item index when the item sets none.
// It is a pure function of the batch ID and the index, so a retried or
// continued batch never starts an item twice.
func ItemTrackID(batchID string, index int) string {
	return fmt.Sprintf("%s-%05d", batchID, index)
}

// PageWorkflowID is the workflow ID of a batch's page holder.
func PageWorkflowID(batchID string, page int) string {
	return fmt.Sprintf("%s-page-%04d", batchID, page)
}
