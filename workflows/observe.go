package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
)

// Metrics recorded by the workflows through workflow.GetMetricsHandler: the
// SDK's handler, which records nothing while a history is replayed, so a
// worker restart never counts an event twice. They reach the worker's
// /metrics with the SDK's tags (namespace, task_queue, workflow_type) and
// the exporter's suffixes: _total on counters, _seconds on timers.
const (
	// MetricGenerationLatency is the time from a generation's start to
	// its outcome, tagged endpoint, outcome (succeeded, failed, canceled)
	// and learned_by (immediate, webhook, poll; empty when it failed).
	// Exported as genflow_generation_latency_seconds.
	MetricGenerationLatency = "genflow_generation_latency"
	// MetricPollFallbacks counts generations that fell back to polling
	// because their webhook was overdue, tagged endpoint. Exported as
	// genflow_poll_fallbacks_total.
	MetricPollFallbacks = "genflow_poll_fallbacks"
	// MetricWebhookDuplicates counts webhooks that reached an open
	// generation and changed nothing (a repeat, or one after the
	// outcome), tagged endpoint. Exported as
	// genflow_webhook_duplicates_total. Duplicates that arrive after the
	// run closed are the gateway's genflow_webhooks_unmatched_total.
	MetricWebhookDuplicates = "genflow_webhook_duplicates"
)

// upsertStateChange is the workflow.GetVersion change ID of the
// Generation's search-attribute behaviour. Each new version bumps its
// maximum rather than adding a change ID: every change ID costs each new
// run a marker and an upsert of TemporalChangeVersion.
//
//   - DefaultVersion: histories recorded before the GenflowState
//     attribute replay without upserts.
//   - stateUpserts (1): each phase change upserts GenflowState at once.
//   - lazyState (2): a phase change is upserted only when the run is about
//     to wait in that phase (before an activity, or before blocking for a
//     webhook); a webhook already at hand is handled with no wait, so
//     neither the "waiting" upsert nor the poll timer is written.
const upsertStateChange = "upsert-state-sa"

const (
	stateUpserts workflow.Version = 1
	lazyState    workflow.Version = 2
)

// stateVersion is the run's version of upsertStateChange. Call it once,
// at the start of the run, before any command.
func stateVersion(ctx workflow.Context) workflow.Version {
	return workflow.GetVersion(ctx, upsertStateChange, workflow.DefaultVersion, lazyState)
}

// upsertSearchAttributes sets the run's search attributes. A failure
// (an attribute not registered on this namespace) is logged, not fatal:
// the generation matters more than its visibility.
func upsertSearchAttributes(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("cannot set search attributes", "error", err)
	}
}

// missingAttributes are the search attributes of a Generation run that
// its starter did not set (a run started by hand, say): endpoint, model
// and owner, as contract.GenerationSearchAttributes has them.
func missingAttributes(ctx workflow.Context, endpoint string, in contract.GenerationInput) []temporal.SearchAttributeUpdate {
	have := workflow.GetTypedSearchAttributes(ctx)
	var ups []temporal.SearchAttributeUpdate
	if !have.ContainsKey(contract.SAEndpoint) {
		ups = append(ups, contract.SAEndpoint.ValueSet(endpoint))
	}
	if m, ok := in.Params["model_id"].(string); ok && m != "" && !have.ContainsKey(contract.SAModel) {
		ups = append(ups, contract.SAModel.ValueSet(m))
	}
	if in.Owner != "" && !have.ContainsKey(contract.SAOwner) {
		ups = append(ups, contract.SAOwner.ValueSet(in.Owner))
	}
	return ups
}
