package workflows

import (
	"fmt"
	"slices"

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
	// MetricWebhookIDMismatches counts webhooks that reached an open
	// generation naming a provider request other than its own and were
	// not taken as its result (the poll decides), tagged endpoint.
	// Exported as genflow_webhook_id_mismatches_total.
	MetricWebhookIDMismatches = "genflow_webhook_id_mismatches"
)

// upsertStateChange is the workflow.GetVersion change ID under which the
// first workers with the GenflowState attribute recorded stateUpserts.
// Batch runs still ask it (once per run of a page). Generation runs no
// longer do: each GetVersion costs a run a marker and an upsert of
// TemporalChangeVersion (a visibility write, as dear as GenflowState's),
// and the one difference that needs telling apart, the handling of a
// webhook already at hand, is told by startedAsV1.
const upsertStateChange = "upsert-state-sa"

// stateUpserts is the version of upsertStateChange whose runs upsert
// GenflowState as they move.
const stateUpserts workflow.Version = 1

// changeVersionKey is the search attribute in which the SDK's GetVersion
// lists the change IDs and versions a run recorded.
var changeVersionKey = temporal.NewSearchAttributeKeyKeywordList("TemporalChangeVersion")

// startedAsV1 reports whether this Generation run was started by a worker
// that recorded upsert-state-sa version 1 with GetVersion. Such a run
// upserted each phase as soon as it was set and always waited for a
// webhook with a timer; from its first workflow task on, its search
// attributes (which history events alone set, on replay too) carry that
// change version. The marker and the upsert GetVersion wrote are skipped
// by the SDK's replay checks, so the call itself is not needed to replay.
func startedAsV1(ctx workflow.Context) bool {
	v, _ := workflow.GetTypedSearchAttributes(ctx).GetKeywordList(changeVersionKey)
	return slices.Contains(v, fmt.Sprintf("%s-%d", upsertStateChange, stateUpserts))
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
