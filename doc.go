// Package genflow is the Go API of genflow, for programs that run
// ModelsLab generations as Temporal workflows: it starts generations,
// batches and pipelines, waits for their results, asks for their live
// state and cancels them, and runs a generation as a child of a workflow
// of the program's own.
//
// # Client
//
// NewClient wraps the program's Temporal client. StartGeneration,
// StartBatch and StartPipeline start a run under an ID the caller may
// choose (a generation's ID is its track_id, the key of its webhooks). An
// ID that was used before, running or finished, is never started again:
// the start returns the existing run with Run.AlreadyStarted set, so a
// start may be retried without submitting anything twice. Each run has
// Wait (its result), Follow (the result, with its live state on the way),
// State and Cancel. A run's error is the Temporal SDK's;
// DescribeFailure reads its type (a provider error type such as
// modelslab.ErrTypeInvalidRequest, or contract.ErrTypeGenerationFailed,
// FailureCanceled, ...) and message, and FailureDetailsOf what the
// provider said.
//
// # Workers
//
// The workflows run on a worker polling the client's task queue: genflow's
// own (cmd/worker), or a worker of the program's, to which Register in
// package github.com/genflow/genflow/worker adds every genflow workflow
// and activity.
//
// # Child workflows
//
// ExecuteGeneration runs a generation as a child workflow of the calling
// workflow, with typed input and result.
//
// # Dependencies
//
// This package links the Temporal SDK and genflow's contract, provider
// catalogue, pipeline plan and track_id packages only: not the starter
// CLI, the webhook gateway (gin), the storage backends or the workflow
// and activity code. A test checks that with go list -deps.
//
// The workflow names, and the constants of the types aliased here, are in
// package contract.
package genflow
