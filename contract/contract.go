// Package contract is the workflow contract that the worker, the webhook
// gateway, the starter and the workflows share: the task queue, the
// workflow, signal and query names, and the types that cross them.
//
// Everything here is serialised into Temporal histories, so fields are only
// ever added, never renamed or retyped (running workflows replay old
// payloads).
package contract

import (
	"time"
)

// Names registered with Temporal.
const (
	// DefaultTaskQueue is the task queue used when TEMPORAL_TASK_QUEUE is
	// not set.
	DefaultTaskQueue = "genflow"
	// GenerationWorkflow is the registered name of the workflow that runs
	// one generation. Its workflow ID is the track_id.
	GenerationWorkflow = "Generation"
	// WebhookSignal carries a provider webhook, as a Webhook, to the
	// Generation workflow whose ID is the webhook's track_id.
	WebhookSignal = "modelslab-webhook"
	// StateQuery returns the live State of a Generation workflow.
	StateQuery = "state"
)

// Error types of the Generation workflow's own failures, beside the
// provider's (modelslab.ErrType*).
const (
	// ErrTypeGenerationFailed: the provider reported the generation failed.
	ErrTypeGenerationFailed = "GenerationFailed"
	// ErrTypeGenerationTimeout: no terminal state before the deadline.
	ErrTypeGenerationTimeout = "GenerationTimeout"
	// ErrTypeInvalidInput: the workflow input cannot be run.
	ErrTypeInvalidInput = "InvalidInput"
)

// GenerationInput starts one generation.
type GenerationInput struct {
	// Endpoint is a modelslab catalogue name, such as "images/text2img"
	// or the unambiguous short form "text2img".
	Endpoint string `json:"endpoint"`
	// Params are the endpoint's parameters (prompt, model_id, ...).
	Params map[string]any `json:"params,omitempty"`
	// Deadline bounds the whole generation, submit to result. Zero means
	// the endpoint category's default (DefaultDeadline).
	Deadline time.Duration `json:"deadline,omitempty"`
	// PollGrace is how long after the provider's eta the workflow waits
	// for a webhook before it starts polling. Zero means DefaultPollGrace.
	PollGrace time.Duration `json:"poll_grace,omitempty"`
	// Owner is a free label of who asked (a user or service name).
	Owner string `json:"owner,omitempty"`
	// NotifyURL, when set, receives a signed Notification when the
	// generation ends (succeeded, failed or cancelled), retried until it
	// is taken or NotifyRetryFor has passed.
	NotifyURL string `json:"notify_url,omitempty"`
	// Store, when true, copies every output to the worker's storage
	// (STORE_URL) once the generation succeeded; the result's Stored
	// says where each copy is.
	Store bool `json:"store,omitempty"`
	// Priority orders the runs waiting for a slot of the account: higher
	// first, 1 to PriorityMax. Zero means PriorityInteractive; a batch
	// gives its items their own (BatchItem.Priority), else the batch's
	// (BatchInput.Priority), else PriorityBatch; a pipeline step its
	// PipelineStep.Priority.
	Priority int `json:"priority,omitempty"`
	// Revision is the Generation behaviour its starter asks for:
	// GenerationRevision from this release's client, batches and
	// pipelines. Zero (runs started by earlier releases, or by hand):
	// the run reads its behaviour from a workflow.GetVersion marker
	// instead, which costs each run a marker and a visibility write.
	// Being in the input, it is the same on every replay.
	Revision int `json:"revision,omitempty"`
}

// StoreRetryFor is how long storing the outputs is retried (the store
// down, the provider's links failing) before the result goes out with the
// outputs not stored. The provider's temporary links last 24 hours.
const StoreRetryFor = 6 * time.Hour

// StoredOutput is one output's durable copy.
type StoredOutput struct {
	// Output is the provider's link the copy was made from.
	Output string `json:"output"`
	// Location is the copy: file:///dir/<track_id>/<n>-<name> or
	// s3://bucket/prefix/<track_id>/<n>-<name>. Empty when not stored.
	Location    string `json:"location,omitempty"`
	Size        int64  `json:"size,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// SHA256 is the hex SHA-256 of the copy's bytes.
	SHA256 string `json:"sha256,omitempty"`
	// Reused says the copy was already stored (a retried or re-run
	// generation) and nothing was stored again.
	Reused bool `json:"reused,omitempty"`
	// Error says why the output was not stored: over the size limit,
	// every link expired, storage unreachable for StoreRetryFor, ...
	Error string `json:"error,omitempty"`
}

// Notification types: the Type of a Notification.
const (
	NotifyGenerationSucceeded = "generation.succeeded"
	NotifyGenerationFailed    = "generation.failed"
	NotifyGenerationCanceled  = "generation.canceled"
	NotifyBatchCompleted      = "batch.completed"
	NotifyBatchFailed         = "batch.failed"
	NotifyBatchCanceled       = "batch.canceled"
	// NotifyPipelineCompleted: the pipeline ended succeeded or partial
	// (its data's Pipeline.Status says which).
	NotifyPipelineCompleted = "pipeline.completed"
	NotifyPipelineFailed    = "pipeline.failed"
	NotifyPipelineCanceled  = "pipeline.canceled"
)

// NotifyRetryFor is how long a notification is retried before it is given
// up.
const NotifyRetryFor = 24 * time.Hour

// Notification is the JSON body POSTed to a NotifyURL, in the Standard
// Webhooks shape (type, timestamp, data).
type Notification struct {
	Type      string           `json:"type"`
	Timestamp time.Time        `json:"timestamp"`
	Data      NotificationData `json:"data"`
}

// NotificationData says how a generation or a batch ended.
type NotificationData struct {
	// TrackID and Endpoint are a generation's.
	TrackID  string `json:"track_id,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// Result is set when the generation succeeded.
	Result *GenerationResult `json:"result,omitempty"`
	// BatchID and Batch are a batch's: its counts and failures, also
	// when some items failed.
	BatchID string       `json:"batch_id,omitempty"`
	Batch   *BatchResult `json:"batch,omitempty"`
	// PipelineID and Pipeline are a pipeline's: every step's state,
	// outputs and stored copies, also when it failed or was cancelled.
	PipelineID string          `json:"pipeline_id,omitempty"`
	Pipeline   *PipelineResult `json:"pipeline,omitempty"`
	// Error is set when the run failed or was cancelled: its type and
	// message, as the starter's --json prints them (a plain string
	// before this release; Failure reads both).
	Error *Failure `json:"error,omitempty"`
}

// GenerationRevision is the Generation behaviour this release's starters
// ask for in GenerationInput.Revision: 1 races Submit with the webhook
// and fetches once at an early deadline, 2 ignores webhooks that name
// another provider request, 3 takes a slot of the account first (when
// the worker has a limiter). The workflow package's generationChange
// versions are the same numbers.
const GenerationRevision = 3

// DefaultPollGrace is the wait past the provider's eta before polling.
const DefaultPollGrace = 30 * time.Second

// DefaultDeadline is the deadline of a generation whose input sets none.
// Training takes the provider "up to 30 minutes" after a GPU is found;
// video and 3D queue for long on busy days.
// category is an endpoint category as the catalogue names it
// (modelslab.Category: image, video, audio, 3d, image_editing, training,
// workflow).
func DefaultDeadline(category string) time.Duration {
	switch category {
	case "image", "image_editing":
		return 30 * time.Minute
	case "audio":
		return time.Hour
	case "video", "3d", "workflow":
		return 2 * time.Hour
	case "training":
		return 6 * time.Hour
	default:
		return time.Hour
	}
}

// LearnedBy says how the workflow learned the outcome.
type LearnedBy string

// The ways a result is learned.
const (
	LearnedImmediate LearnedBy = "immediate" // the submit reply was final
	LearnedWebhook   LearnedBy = "webhook"
	LearnedPoll      LearnedBy = "poll"
)

// GenerationResult is the Generation workflow's result.
type GenerationResult struct {
	TrackID    string         `json:"track_id"`
	Endpoint   string         `json:"endpoint"`
	ProviderID string         `json:"provider_id,omitempty"`
	Output     []string       `json:"output"`
	ProxyLinks []string       `json:"proxy_links,omitempty"`
	Meta       map[string]any `json:"meta,omitempty"`
	LearnedBy  LearnedBy      `json:"learned_by"`
	// GenerationTime is the provider's own figure, in seconds.
	GenerationTime float64 `json:"generation_time,omitempty"`
	Timings        Timings `json:"timings"`
	// WebhooksReceived counts every webhook signal, duplicates included.
	WebhooksReceived int `json:"webhooks_received"`
	// DuplicatesIgnored counts webhooks that changed nothing.
	DuplicatesIgnored int `json:"duplicates_ignored"`
	Polls             int `json:"polls"`
	// Stored are the outputs' durable copies, in Output's order, when
	// the input asked to Store them.
	Stored []StoredOutput `json:"stored,omitempty"`
}

// Timings are workflow-clock times of a generation.
type Timings struct {
	StartedAt   time.Time `json:"started_at"`
	SubmittedAt time.Time `json:"submitted_at,omitempty"`
	CompletedAt time.Time `json:"completed_at,omitempty"`
	// Total is in nanoseconds (Go's time.Duration), kept for
	// compatibility; the JSON also carries total_seconds.
	Total time.Duration `json:"total"`
}

// Webhook is the WebhookSignal payload: the normalised provider update
// and when the gateway received it.
type Webhook struct {
	Update     ProviderUpdate `json:"update"`
	ReceivedAt time.Time      `json:"received_at"`
}

// Phase is where a generation stands.
type Phase string

// The phases of a generation, in order.
const (
	PhaseSubmitting     Phase = "submitting"
	PhaseWaitingWebhook Phase = "waiting_webhook"
	PhasePolling        Phase = "polling"
	// PhaseStoring: the provider is done; the outputs are being copied
	// to storage (GenerationInput.Store).
	PhaseStoring   Phase = "storing"
	PhaseSucceeded Phase = "succeeded"
	PhaseFailed    Phase = "failed"
	// PhaseCanceled: the run was cancelled (starter cancel, a batch's
	// fail-fast or cancel, a pipeline's failed step).
	PhaseCanceled Phase = "canceled"
)

// Final reports whether p is an outcome: succeeded, failed or canceled.
func (p Phase) Final() bool {
	return p == PhaseSucceeded || p == PhaseFailed || p == PhaseCanceled
}

// State is the StateQuery answer.
type State struct {
	TrackID    string    `json:"track_id"`
	Endpoint   string    `json:"endpoint"`
	Phase      Phase     `json:"phase"`
	Since      time.Time `json:"since"`
	ProviderID string    `json:"provider_id,omitempty"`
	// ETA is the provider's estimate, in seconds.
	ETA               float64   `json:"eta,omitempty"`
	PollAfter         time.Time `json:"poll_after,omitempty"`
	Deadline          time.Time `json:"deadline"`
	Stage             string    `json:"stage,omitempty"`
	WebhooksReceived  int       `json:"webhooks_received"`
	DuplicatesIgnored int       `json:"duplicates_ignored"`
	Polls             int       `json:"polls"`
	Error             string    `json:"error,omitempty"`
	// Notified says how the end-of-run notification went, when the run
	// has a NotifyURL: "sending", "delivered" or "failed: ...".
	Notified string `json:"notified,omitempty"`
	// WebhookIDMismatches counts the webhooks (within WebhooksReceived)
	// that named a provider request other than the run's and were not
	// taken: the poll decides such a run.
	WebhookIDMismatches int `json:"webhook_id_mismatches,omitempty"`
	// Account is the run's place at its account's limiter: where it
	// stands while PhaseQueued, when it got and gave back its slot.
	Account *AccountWait `json:"account,omitempty"`
	// Retry is the pending activity that failed and waits to be tried
	// again (a Submit during a 429, say). The workflow never sets it:
	// the genflow client fills it in from the run's description.
	Retry *Retry `json:"retry,omitempty"`
}

// FailureDetails ride on GenerationFailed and GenerationTimeout errors so
// callers can show what the provider said and where things stood.
type FailureDetails struct {
	TrackID    string `json:"track_id"`
	Endpoint   string `json:"endpoint"`
	ProviderID string `json:"provider_id,omitempty"`
	Message    string `json:"message"`
	Phase      Phase  `json:"phase"`
}
