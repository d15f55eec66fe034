package fakemodelslab

import (
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultQueueLimit      = 5
	DefaultRetryAfter      = 30 * time.Second
	DefaultProcessingTime  = 2 * time.Second
	DefaultAuthErrorStatus = http.StatusOK
	DefaultWebhookAttempts = 3
	DefaultWebhookBackoff  = 500 * time.Millisecond
	DefaultWebhookTimeout  = 30 * time.Second
)

// Options configure a Server. The zero value of every field means its
// default.
type Options struct {
	// Keys are the valid API keys. Default (empty): any non-empty key is
	// valid.
	Keys []string
	// QueueLimit is how many requests one key may have processing at
	// once, across generation and training endpoints; the next submit is
	// rejected with HTTP 429 and retry_after. Workflow runs are not
	// counted. Default 5, the pay-as-you-go plan.
	QueueLimit int
	// RetryAfter is the retry_after a 429 reports, rounded up to whole
	// seconds. Default 30 s.
	RetryAfter time.Duration
	// ProcessingTime is the time from an accepted submit to its result.
	// The submit reply's eta is this, in seconds. Default 2 s.
	ProcessingTime time.Duration
	// AuthErrorStatus is the HTTP status of the "Invalid API key" and
	// "API key required" error bodies. Default 200, because whether the
	// real API answers 200 or 401 is unverified.
	AuthErrorStatus int
	// WebhookAttempts is how many times one webhook is tried when the
	// receiver answers non-2xx or cannot be reached. Default 3.
	WebhookAttempts int
	// WebhookBackoff is the wait before the second attempt; it doubles
	// for each further attempt. Default 500 ms.
	WebhookBackoff time.Duration
	// PublicURL is the root URL, without a trailing slash, the fake puts
	// in fetch_result, status_url and output file links. NewServer sets
	// it to the server's URL. Default (empty): http:// plus the Host
	// header of the request being answered.
	PublicURL string
	// Faults is the initial fault injection; SetFaults replaces it.
	// Default: none.
	Faults Faults
	// Logger receives one line per request and webhook. Default: discard.
	Logger *slog.Logger
	// HTTPClient sends webhooks. Default: a client of its own with a
	// 30 s timeout (the provider's documented webhook timeout), whose
	// idle connections Close releases.
	HTTPClient *http.Client
	// Workflows are the ModelsLab workflows as their owner set them up
	// (in ModelsLab's workflow editor), by workflow id; SetWorkflow and
	// PUT /_fake/workflows/{workflow_id} change them. A run of a workflow
	// with a WebhookURL sends its webhook there. Default: none, and every
	// workflow id runs, without a configured webhook.
	Workflows map[string]Workflow
	// IgnoreRunWebhookURL ignores the webhook_url field of a workflow
	// run's body, which the workflows docs do not document (the webhook
	// is the workflow's): a run of a workflow without a configured
	// webhook then sends none. Default false: the fake POSTs to a run's
	// webhook_url when its workflow has no webhook of its own.
	IgnoreRunWebhookURL bool
}

// Workflow is a ModelsLab workflow's setup, as far as the fake needs it.
type Workflow struct {
	// Name is the workflow's name, shown by GET v1/workflows/{id}.
	Name string `json:"name,omitempty"`
	// WebhookURL receives the webhook of each of the workflow's runs,
	// when it completes or fails, whatever the run's body says.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// withDefaults returns o with every zero field set to its default, and
// whether the HTTP client is the fake's own.
func (o Options) withDefaults() (Options, bool) {
	if o.QueueLimit <= 0 {
		o.QueueLimit = DefaultQueueLimit
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.ProcessingTime <= 0 {
		o.ProcessingTime = DefaultProcessingTime
	}
	if o.AuthErrorStatus == 0 {
		o.AuthErrorStatus = DefaultAuthErrorStatus
	}
	if o.WebhookAttempts <= 0 {
		o.WebhookAttempts = DefaultWebhookAttempts
	}
	if o.WebhookBackoff <= 0 {
		o.WebhookBackoff = DefaultWebhookBackoff
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	owned := false
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		o.HTTPClient = &http.Client{Timeout: DefaultWebhookTimeout, Transport: t}
		owned = true
	}
	o.Keys = append([]string(nil), o.Keys...)
	o.Workflows = maps.Clone(o.Workflows)
	if o.Workflows == nil {
		o.Workflows = map[string]Workflow{}
	}
	return o, owned
}
