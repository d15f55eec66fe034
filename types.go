package genflow

import "github.com/genflow/genflow/contract"

// The workflow contract's types a program needs, so that it imports one
// package. Their constants (phases, statuses, error types) are in package
// contract.
type (
	// GenerationInput is the Generation workflow's input.
	GenerationInput = contract.GenerationInput
	// GenerationResult is a succeeded generation's result.
	GenerationResult = contract.GenerationResult
	// State is a generation's live state.
	State = contract.State
	// Phase is where a generation stands.
	Phase = contract.Phase
	// QueuePosition is where a generation stands in its account's queue
	// while it waits for a slot (contract.PhaseQueued).
	QueuePosition = contract.QueuePosition
	// FailureDetails are what a failed or timed-out generation's error
	// carries: the provider's ID and message, and the phase it failed in.
	FailureDetails = contract.FailureDetails
	// StoredOutput is an output's durable copy.
	StoredOutput = contract.StoredOutput
	// Notification is the body POSTed to a NotifyURL.
	Notification = contract.Notification

	// BatchItem is one generation of a batch.
	BatchItem = contract.BatchItem
	// BatchState is a batch's live state.
	BatchState = contract.BatchState
	// BatchResult is a batch's result.
	BatchResult = contract.BatchResult
	// ItemFailure is one failed item of a batch.
	ItemFailure = contract.ItemFailure

	// PipelinePlan is a compiled pipeline, the Pipeline workflow's input
	// (package pipeline compiles pipeline files into plans).
	PipelinePlan = contract.PipelinePlan
	// PipelineStep is one step of a PipelinePlan.
	PipelineStep = contract.PipelineStep
	// PipelineState is a pipeline's live state.
	PipelineState = contract.PipelineState
	// PipelineResult is a pipeline's result.
	PipelineResult = contract.PipelineResult
	// StepState is one step's state.
	StepState = contract.StepState
)

// DefaultTaskQueue is the task queue of ClientOptions and of genflow's
// worker when none is set.
const DefaultTaskQueue = contract.DefaultTaskQueue
