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
	FailureCanceled = contract.FailureCanceled
	// FailureTimeout: a Temporal timeout ended the run.
	FailureTimeout = contract.FailureTimeout
	// FailureTerminated: the run was terminated.
	FailureTerminated = contract.FailureTerminated
	// FailureError: any other error, such as a lost connection.
	FailureError = contract.FailureError
)

// Failure is a run's error in a form fit for printing and JSON: its Type
// (an application error's type, such as contract.ErrTypeGenerationFailed
// or modelslab.ErrTypeInvalidKey, else FailureCanceled, FailureTimeout,
// FailureTerminated or FailureError) and Message (for a failed
// generation, the provider's). A notification's data.error is one too.
type Failure = contract.Failure

// DescribeFailure returns the type and message of a run's error, as
// Wait, or a child's Get, returns it.
func DescribeFailure(err error) Failure { return contract.DescribeFailure(err) }

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
