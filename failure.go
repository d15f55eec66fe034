package genflow

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
)

// Failure types DescribeFailure reports beside the application error
// types (the provider's modelslab.ErrType*, the workflows'
// contract.ErrType*).
const (
	// FailureCanceled: the run was cancelled.
	FailureCanceled = "Canceled"
	// FailureTimeout: a Temporal timeout ended the run.
	FailureTimeout = "Timeout"
	// FailureTerminated: the run was terminated.
	FailureTerminated = "Terminated"
	// FailureError: any other error, such as a lost connection.
	FailureError = "Error"
)

// Failure is a run's error in a form fit for printing and JSON.
type Failure struct {
	// Type is the error type: an application error's type (such as
	// contract.ErrTypeGenerationFailed or modelslab.ErrTypeInvalidKey),
	// else FailureCanceled, FailureTimeout, FailureTerminated or
	// FailureError.
	Type string `json:"type"`
	// Message is the error's message; for a failed generation, the
	// provider's.
	Message string `json:"message"`
}

// DescribeFailure returns the type and message of a run's error, as
// Wait, or a child's Get, returns it.
func DescribeFailure(err error) Failure {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return Failure{Type: appErr.Type(), Message: appErr.Message()}
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return Failure{Type: FailureCanceled, Message: "the generation was cancelled"}
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return Failure{Type: FailureTimeout, Message: timeout.Error()}
	}
	var terminated *temporal.TerminatedError
	if errors.As(err, &terminated) {
		return Failure{Type: FailureTerminated, Message: "the workflow was terminated"}
	}
	return Failure{Type: FailureError, Message: err.Error()}
}

// FailureDetailsOf returns the details a failed or timed-out generation's
// error carries (its provider ID, the provider's message, its phase), and
// whether there are any.
func FailureDetailsOf(err error) (FailureDetails, bool) {
	var d contract.FailureDetails
	var appErr *temporal.ApplicationError
	ok := errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&d) == nil && d.TrackID != ""
	return d, ok
}

// PipelineResultOf returns the result a failed or cancelled pipeline's
// error carries (every step's state, outputs and stored copies), and
// whether there is one.
func PipelineResultOf(err error) (PipelineResult, bool) {
	var res contract.PipelineResult
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&res) == nil {
		return res, true
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) && canceled.HasDetails() && canceled.Details(&res) == nil {
		return res, true
	}
	return contract.PipelineResult{}, false
}
