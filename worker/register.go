package worker

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/notify"
	"github.com/genflow/genflow/storage"
	"github.com/genflow/genflow/webhookurl"
	"github.com/genflow/genflow/workflows"
)

// RegisterOptions are what genflow's activities need to reach the
// provider, the gateway, the notification receivers and the storage.
// Each optional field's zero value means its documented default.
type RegisterOptions struct {
	// ModelsLabAPIKey is the ModelsLab account key. Required.
	ModelsLabAPIKey string
	// ModelsLabBaseURL is the API root, ending in /api/. Default
	// modelslab.DefaultBaseURL, the real API. Plain http only on
	// loopback, unless ModelsLabAllowHTTP.
	ModelsLabBaseURL string
	// ModelsLabAllowHTTP accepts a plain http ModelsLabBaseURL on a host
	// other than loopback (a fake provider on a private network). Default
	// false: the API key travels in every request.
	ModelsLabAllowHTTP bool
	// ModelsLabEndpointPaths moves endpoints to other paths (enterprise
	// deployments). Default none.
	ModelsLabEndpointPaths map[string]modelslab.EndpointPaths
	// PublicURL is the webhook gateway's root URL as the provider
	// reaches it (cmd/gateway, or package webhookgateway served by the
	// program). Required.
	PublicURL string
	// WebhookSecrets sign the webhook URLs, newest first; the gateway
	// verifies them with the same secrets. Required, each at least
	// webhookurl.MinSecretLen bytes.
	WebhookSecrets []string
	// NotifySecrets sign end-of-run notifications, newest first. Default
	// none: a run that asks for a notification records it as not
	// configured.
	NotifySecrets []notify.Secret
	// Store is where generations that ask for it copy their outputs.
	// Default (zero): none, and such runs record it as not configured.
	Store StoreOptions
	// ProviderMetrics counts the calls to the provider (a
	// *metrics.Provider, say). Default: nothing is counted.
	ProviderMetrics activities.Metrics
	// ResultMetrics counts stored outputs and notifications (a
	// *metrics.Results, say). Default: nothing is counted.
	ResultMetrics activities.ResultMetrics
	// OutboundAllow are address ranges that output downloads and
	// notifications may reach although genflow's outbound policy refuses
	// them (loopback, private, link-local with the cloud metadata
	// service, CGNAT, multicast, ...): 127.0.0.0/8 for a local stack
	// whose fake provider and receivers listen on loopback. Default
	// none: public addresses only.
	OutboundAllow []netip.Prefix
	// AccountQueueLimit is how many requests the account may have queued
	// at the provider (ACCOUNT_QUEUE_LIMIT; ModelsLab: 5, 10 or 15): every
	// run takes one of these slots from the account's limiter workflow
	// before it submits. Zero means contract.DefaultAccountQueueLimit (5,
	// ModelsLab's pay-as-you-go queue); NoAccountLimit turns the limiter
	// off (every run submits at once, a 429 is retried after its
	// retry_after).
	AccountQueueLimit int
}

// NoAccountLimit is RegisterOptions.AccountQueueLimit for no account
// limiter (ACCOUNT_QUEUE_LIMIT=0).
const NoAccountLimit = -1

// StoreOptions are the output storage of RegisterOptions.
type StoreOptions struct {
	// URL is file:///dir (or /dir) or s3://bucket/prefix. Empty: no
	// storage.
	URL string
	// MaxBytes caps one output. Default storage.DefaultMaxBytes (2 GiB).
	MaxBytes int64
	// S3 is the endpoint and credentials of an s3:// URL. A missing
	// bucket is created at the first copy.
	S3 storage.S3Options
}

// providerTimeout bounds each HTTP request to the provider, below the
// Submit activity's 60 s start-to-close timeout.
const providerTimeout = 50 * time.Second

// notifyTimeout bounds each notification attempt, below the Notify
// activity's one-minute start-to-close timeout.
const notifyTimeout = 30 * time.Second

// optionError is an error of one RegisterOptions field.
type optionError struct {
	field string
	err   error
}

func (e *optionError) Error() string { return "RegisterOptions." + e.field + ": " + e.err.Error() }
func (e *optionError) Unwrap() error { return e.err }

// Register adds every genflow workflow (Generation, Batch, BatchPage,
// Pipeline, AccountLimiter, WorkflowRunRoute, under their contract
// names) and activity to r, a worker of the program's own, so that it
// runs genflow's runs beside the program's workflows: start them with
// package genflow's Client on that worker's task queue, or as children
// with genflow.ExecuteGeneration. c is the Temporal client the worker was
// built with; the batch activities read their page holders' histories
// with it, and Submit records the routes of ModelsLab workflow runs.
//
// Register checks opts first and registers nothing when they are wrong;
// the error names the field. It makes no network request. A worker takes
// each name once, so Register panics, as the SDK does, if r already has a
// workflow or activity of the same name (a workflow called Generation,
// say), and Register may be called once per worker.
func Register(r sdkworker.Registry, c client.Client, opts RegisterOptions) error {
	if c == nil {
		return errors.New("worker.Register: the Temporal client is nil")
	}
	acts, err := newActivities(opts)
	if err != nil {
		return fmt.Errorf("worker.Register: %w", err)
	}
	register(r, c, acts)
	return nil
}

// register adds the workflows, acts and the batch activities to r.
func register(r sdkworker.Registry, c client.Client, acts *activities.Activities) {
	if account, ok := acts.Account.(*activities.TemporalAccount); ok && account.Client == nil {
		account.Client = c
	}
	if routes, ok := acts.Routes.(*activities.TemporalRoutes); ok && routes.Client == nil {
		routes.Client = c
	}
	workflows.Register(r)
	r.RegisterActivity(acts)
	r.RegisterActivity(&activities.BatchActivities{History: c})
}

// newActivities builds the activities from opts. Its errors are
// *optionError.
func newActivities(o RegisterOptions) (*activities.Activities, error) {
	if strings.TrimSpace(o.ModelsLabAPIKey) == "" {
		return nil, &optionError{"ModelsLabAPIKey", errors.New("required")}
	}
	provider, err := modelslab.New(modelslab.Options{
		BaseURL:    o.ModelsLabBaseURL,
		APIKey:     o.ModelsLabAPIKey,
		HTTPClient: &http.Client{Timeout: providerTimeout},
		AllowHTTP:  o.ModelsLabAllowHTTP,
		// Enterprise deployments: see MODELSLAB_ENDPOINT_PATHS.
		EndpointPaths: o.ModelsLabEndpointPaths,
	})
	if err != nil {
		return nil, &optionError{"ModelsLabBaseURL", err}
	}
	if len(o.WebhookSecrets) == 0 {
		return nil, &optionError{"WebhookSecrets", errors.New("required")}
	}
	if _, err := webhookurl.NewSigner(webhookurl.Options{Secrets: o.WebhookSecrets}); err != nil {
		return nil, &optionError{"WebhookSecrets", err}
	}
	if strings.TrimSpace(o.PublicURL) == "" {
		return nil, &optionError{"PublicURL", errors.New("required")}
	}
	signer, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: o.PublicURL, Secrets: o.WebhookSecrets})
	if err != nil {
		return nil, &optionError{"PublicURL", err}
	}
	for _, p := range o.OutboundAllow {
		if !p.IsValid() {
			return nil, &optionError{"OutboundAllow", fmt.Errorf("%v is an invalid range", p)}
		}
	}
	// One policy for every request made on a user's or the provider's
	// word: output links, notify URLs (those follow no redirect).
	policy := egress.Policy{Allow: o.OutboundAllow}
	notifyPolicy := policy
	notifyPolicy.MaxRedirects, notifyPolicy.Timeout = egress.NoRedirects, notifyTimeout
	acts := &activities.Activities{Provider: provider, Webhooks: signer, Metrics: o.ProviderMetrics, Results: o.ResultMetrics,
		// The client is the worker's, set by register.
		Routes: &activities.TemporalRoutes{}}
	if o.AccountQueueLimit == 0 {
		o.AccountQueueLimit = contract.DefaultAccountQueueLimit
	}
	if o.AccountQueueLimit > 0 {
		// The client is the worker's, set by register.
		acts.Account = &activities.TemporalAccount{
			LimiterID: activities.AccountLimiterID(o.ModelsLabAPIKey), Limit: o.AccountQueueLimit,
		}
	}
	if len(o.NotifySecrets) > 0 {
		acts.Notifier = &notify.Sender{Secrets: o.NotifySecrets, Client: notifyPolicy.Client()}
	}
	if o.Store.URL != "" {
		backend, err := storage.New(storage.Config{URL: o.Store.URL, S3: o.Store.S3})
		if err != nil {
			return nil, &optionError{"Store.URL", err}
		}
		acts.Store = &storage.Copier{Backend: backend, MaxBytes: o.Store.MaxBytes, HTTP: policy.Client()}
	}
	return acts, nil
}
