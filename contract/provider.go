package contract

// ProviderStatus is the normalised state of a provider request, as the
// provider client (package modelslab, where it is modelslab.Status) makes
// it out of every reply and webhook shape.
type ProviderStatus string

// The normalised states. The provider's "error" and the workflow API's
// "cancelled" become ProviderFailed; "pending", "running", "queued" and
// the training stages before model_ready become ProviderProcessing;
// "completed" and "model_ready" become ProviderSuccess.
const (
	ProviderSuccess    ProviderStatus = "success"
	ProviderProcessing ProviderStatus = "processing"
	ProviderFailed     ProviderStatus = "failed"
)

// Terminal reports whether no later update can change the outcome.
func (s ProviderStatus) Terminal() bool { return s == ProviderSuccess || s == ProviderFailed }

// ProviderUpdate is one normalised reply or webhook from the provider: a
// submit reply, a fetch reply or a webhook payload, whatever its wire
// shape. Package modelslab calls it Result and makes it; it is defined
// here because it travels in the workflow contract (the Webhook signal,
// the activities' results), whose package imports no other genflow
// package. Its JSON is part of every recorded history: add fields, never
// rename them.
type ProviderUpdate struct {
	Status ProviderStatus `json:"status"`
	// ID is the provider's request id: "id" of generations, "training_id"
	// of training, "execution_id" of workflow runs. Always a string.
	ID      string `json:"id,omitempty"`
	TrackID string `json:"track_id,omitempty"`
	// Output holds result URLs; empty while processing.
	Output      []string `json:"output,omitempty"`
	ProxyLinks  []string `json:"proxy_links,omitempty"`
	FutureLinks []string `json:"future_links,omitempty"`
	// ETA is the provider's estimate in seconds, zero when not given.
	ETA            float64 `json:"eta,omitempty"`
	FetchURL       string  `json:"fetch_url,omitempty"`
	Message        string  `json:"message,omitempty"`
	GenerationTime float64 `json:"generation_time,omitempty"`
	// Stage is the provider's finer state: a training stage
	// (deploying_gpu ... model_ready) or a workflow run status.
	Stage string         `json:"stage,omitempty"`
	Meta  map[string]any `json:"meta,omitempty"`
}
