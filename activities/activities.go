// Package activities holds the Temporal activities of genflow: the calls
// to ModelsLab that a workflow may not make itself.
//
// Activities are methods of one Activities struct that carries their
// dependencies and is registered as a whole. Provider errors leave here as
// Temporal application errors whose type is the modelslab.ErrType
// constant, non-retryable where no retry can help, and with the provider's
// retry_after as the next retry delay on a 429.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/notify"
	"github.com/genflow/genflow/storage"
)

// Provider is the part of the ModelsLab client the activities use.
type Provider interface {
	Submit(ctx context.Context, req modelslab.SubmitRequest) (modelslab.Result, error)
	Fetch(ctx context.Context, ep modelslab.Endpoint, id string, params map[string]any) (modelslab.Result, error)
}

var _ Provider = (*modelslab.Client)(nil)

// WebhookURLs builds the per-request webhook URL, valid until expires;
// *webhookurl.Signer is the implementation, so the URL handed out is the
// one the gateway checks.
type WebhookURLs interface {
	URL(trackID string, expires time.Time) (string, error)
}

// WebhookURLGrace is how long a webhook URL stays valid after its run's
// deadline: long enough for a provider's late or retried delivery to
// reach a run that is still closing, short enough that a leaked URL is
// soon worthless.
const WebhookURLGrace = time.Hour

// DefaultWebhookURLLifetime is how long a webhook URL stays valid when the
// Submit input carries no deadline (a run scheduled by an earlier release):
// the longest default deadline, training's, plus WebhookURLGrace.
const DefaultWebhookURLLifetime = 6*time.Hour + WebhookURLGrace

// Metrics counts the calls to the provider; *metrics.Provider is the
// implementation the worker uses.
type Metrics interface {
	// ProviderCall records one call of operation ("submit" or "fetch");
	// errType is empty when it succeeded, else the error's type.
	ProviderCall(operation, errType string)
}

// ResultMetrics counts what happens once a run is done; *metrics.Results
// is the implementation the worker uses. The outcomes are the
// metrics.Output* and metrics.Notify* constants.
type ResultMetrics interface {
	OutputStored(outcome string, bytes int64)
	StoreAttemptFailed()
	Notification(outcome string)
}

// Activities are the provider calls. Register the struct as a whole.
type Activities struct {
	Provider Provider
	Webhooks WebhookURLs
	// Metrics counts each attempt and its error type. Nil counts nothing.
	Metrics Metrics
	// Notifier delivers end-of-run notifications. Nil: runs that ask for
	// one fail their Notify activity with ErrTypeNotifyNotConfigured.
	Notifier *notify.Sender
	// Store copies outputs to durable storage. Nil: runs that ask for
	// it fail their StoreOutputs activity with ErrTypeStoreNotConfigured.
	Store *storage.Copier
	// Results counts stored outputs and notification attempts. Nil
	// counts nothing.
	Results ResultMetrics
	// Account admits runs through the account limiter. Nil admits every
	// run at once.
	Account Account
	// Routes records which run waits for each ModelsLab workflow run
	// Submit starts, for the gateway to route the webhook configured on
	// the workflow. Nil records none: workflow runs are learned by
	// polling (or by a per-run webhook a provider may honour).
	Routes Routes
}

// Outcomes the activities report to ResultMetrics (the same strings as
// package metrics' constants, which this package does not import).
const (
	outputStored, outputReused, outputNotStored      = "stored", "reused", "not_stored"
	notifyDelivered, notifyRetryable, notifyRejected = "delivered", "retryable", "rejected"
	notifyNotConfigured                              = "not_configured"
)

func (a *Activities) countOutput(outcome string, bytes int64) {
	if a.Results != nil {
		a.Results.OutputStored(outcome, bytes)
	}
}

func (a *Activities) countStoreFailure() {
	if a.Results != nil {
		a.Results.StoreAttemptFailed()
	}
}

func (a *Activities) countNotification(outcome string) {
	if a.Results != nil {
		a.Results.Notification(outcome)
	}
}

// Operations, as Metrics records them.
const (
	OpSubmit = "submit"
	OpFetch  = "fetch"
)

// record counts one provider call. Errors are counted here, on the
// activity side, so that every attempt is seen, retried ones included, and
// nothing depends on workflow replay.
func (a *Activities) record(operation string, err error) {
	if a.Metrics == nil {
		return
	}
	a.Metrics.ProviderCall(operation, ErrorType(err))
}

// ErrorType names a provider call's error for metrics: the
// modelslab.ErrType* constant, "Canceled" when the activity was cancelled
// or timed out, "Other" for anything else, and "" for no error.
func ErrorType(err error) string {
	var pe *modelslab.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		return pe.Type
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "Canceled"
	default:
		return "Other"
	}
}

// SubmitInput is the Submit activity's input.
type SubmitInput struct {
	TrackID  string         `json:"track_id"`
	Endpoint string         `json:"endpoint"`
	Params   map[string]any `json:"params,omitempty"`
	// Deadline is the run's deadline; the webhook URL expires
	// WebhookURLGrace after it. Zero (an input scheduled by an earlier
	// release): DefaultWebhookURLLifetime from now.
	Deadline time.Time `json:"deadline,omitzero"`
}

// webhookExpiry is when the webhook URL of a submit of in, made at now,
// expires.
func (in SubmitInput) webhookExpiry(now time.Time) time.Time {
	if in.Deadline.IsZero() {
		return now.Add(DefaultWebhookURLLifetime)
	}
	return in.Deadline.Add(WebhookURLGrace)
}

// Submit sends one generation request with a webhook URL for its track_id.
// The reply is "processing" (wait for the webhook) or "success" (the
// provider finished at once).
//
// It heartbeats while the request is in flight, so that with a heartbeat
// timeout an attempt lost with its worker is retried within seconds
// rather than at the end of its start-to-close timeout, and so that a
// cancellation by the workflow (its webhook came first) reaches the call.
func (a *Activities) Submit(ctx context.Context, in SubmitInput) (modelslab.Result, error) {
	ep, err := modelslab.Lookup(in.Endpoint)
	if err != nil {
		return modelslab.Result{}, temporal.NewNonRetryableApplicationError(err.Error(), modelslab.ErrTypeInvalidRequest, err)
	}
	hook, err := a.Webhooks.URL(in.TrackID, in.webhookExpiry(time.Now()))
	if err != nil {
		return modelslab.Result{}, temporal.NewNonRetryableApplicationError("build webhook URL: "+err.Error(), modelslab.ErrTypeInvalidRequest, err)
	}
	info := activity.GetInfo(ctx)
	activity.GetLogger(ctx).Info("submitting to ModelsLab", "track_id", in.TrackID, "endpoint", ep.Name, "attempt", info.Attempt)
	stop := keepHeartbeating(ctx, heartbeatEvery(info.HeartbeatTimeout))
	res, err := a.Provider.Submit(ctx, modelslab.SubmitRequest{Endpoint: ep, Params: in.Params, WebhookURL: hook, TrackID: in.TrackID})
	stop()
	a.record(OpSubmit, err)
	if err != nil {
		a.reportThrottle(ctx, in.TrackID, err)
		return modelslab.Result{}, toTemporal(err)
	}
	a.recordRoute(ctx, ep, in, res)
	return res, nil
}

// maxHeartbeatEvery is how often Submit heartbeats at most: a third of a
// 10 s heartbeat timeout, and the interval when the activity has none.
const maxHeartbeatEvery = 3 * time.Second

// heartbeatEvery is the heartbeat interval under heartbeat timeout t: a
// third of it, so that two may be lost, and at most maxHeartbeatEvery.
func heartbeatEvery(t time.Duration) time.Duration {
	if t <= 0 {
		return maxHeartbeatEvery
	}
	return max(min(t/3, maxHeartbeatEvery), 10*time.Millisecond)
}

// keepHeartbeating records a heartbeat every interval until stop is
// called; stop returns once no more will be recorded. The first comes
// after one interval, not at once: most calls return well within it, and
// a heartbeat per Submit was a server request per generation for nothing
// (the heartbeat timeout runs from the attempt's start either way). The
// SDK throttles what it sends to the server.
func keepHeartbeating(ctx context.Context, every time.Duration) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// FetchInput is the Fetch activity's input.
type FetchInput struct {
	Endpoint   string         `json:"endpoint"`
	ProviderID string         `json:"provider_id"`
	Params     map[string]any `json:"params,omitempty"`
}

// Fetch asks the provider for the state of a submitted request.
func (a *Activities) Fetch(ctx context.Context, in FetchInput) (modelslab.Result, error) {
	ep, err := modelslab.Lookup(in.Endpoint)
	if err != nil {
		return modelslab.Result{}, temporal.NewNonRetryableApplicationError(err.Error(), modelslab.ErrTypeInvalidRequest, err)
	}
	res, err := a.Provider.Fetch(ctx, ep, in.ProviderID, in.Params)
	a.record(OpFetch, err)
	if err != nil {
		return modelslab.Result{}, toTemporal(err)
	}
	return res, nil
}

// toTemporal turns a provider error into an application error the retry
// policy understands.
func toTemporal(err error) error {
	var pe *modelslab.Error
	if !errors.As(err, &pe) {
		// Context cancellation and the like: let Temporal treat it as is.
		return err
	}
	if !pe.Retryable() {
		return temporal.NewNonRetryableApplicationError(pe.Message, pe.Type, err, pe.HTTPStatus)
	}
	return temporal.NewApplicationErrorWithOptions(fmt.Sprint(pe.Error()), pe.Type, temporal.ApplicationErrorOptions{
		Cause:          err,
		NextRetryDelay: pe.RetryAfter,
		Details:        []any{pe.HTTPStatus},
	})
}

// Error types of the Notify activity.
const (
	// ErrTypeNotifyRejected: the receiver answered a non-retryable status.
	ErrTypeNotifyRejected = "NotifyRejected"
	// ErrTypeNotifyFailed: no answer or a retryable status; retried.
	ErrTypeNotifyFailed = "NotifyFailed"
	// ErrTypeNotifyNotConfigured: the worker has no NOTIFY_SECRETS.
	ErrTypeNotifyNotConfigured = "NotifyNotConfigured"
	// ErrTypeNotifyRefused: the outbound policy refused the URL (not http
	// or https, or an internal address); nothing was sent, and the
	// error is non-retryable.
	ErrTypeNotifyRefused = "NotifyRefused"
)

// NotifyInput is one notification. MessageID is the same on every retry,
// and so is the body: the JSON of Notification.
type NotifyInput struct {
	URL          string                `json:"url"`
	MessageID    string                `json:"message_id"`
	Notification contract.Notification `json:"notification"`
}

// Notify makes one signed delivery attempt; Temporal retries it.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) error {
	if a.Notifier == nil {
		a.countNotification(notifyNotConfigured)
		return temporal.NewNonRetryableApplicationError(
			"the worker has no notification secret (NOTIFY_SECRETS)", ErrTypeNotifyNotConfigured, nil)
	}
	body, err := json.Marshal(in.Notification)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotifyRejected, err)
	}
	err = a.Notifier.Send(ctx, in.URL, notify.Message{ID: in.MessageID, Time: in.Notification.Timestamp, Body: body})
	var e *notify.Error
	switch {
	case err == nil:
		a.countNotification(notifyDelivered)
		activity.GetLogger(ctx).Info("notification delivered", "url", egress.Redact(in.URL), "message_id", in.MessageID)
		return nil
	case errors.As(err, &e) && e.Outcome == notify.Refused:
		a.countNotification(notifyRejected)
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotifyRefused, err)
	case errors.As(err, &e) && e.Outcome == notify.Retryable:
		a.countNotification(notifyRetryable)
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeNotifyFailed,
			temporal.ApplicationErrorOptions{NextRetryDelay: e.RetryAfter, Cause: err})
	default:
		a.countNotification(notifyRejected)
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotifyRejected, err)
	}
}
