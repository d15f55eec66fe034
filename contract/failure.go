package contract

import (
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Failure types DescribeFailure reports beside the application error
// types (the provider's modelslab.ErrType*, the workflows' ErrType*).
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

// Failure is a run's error as genflow shows it everywhere: the starter's
// --json output, a notification's data.error.
type Failure struct {
	// Type is the error type: an application error's type (such as
	// ErrTypeGenerationFailed or modelslab.ErrTypeInvalidKey), else
	// FailureCanceled, FailureTimeout, FailureTerminated or FailureError.
	Type string `json:"type"`
	// Message is the error's message; for a failed generation, the
	// provider's.
	Message string `json:"message"`
}

// UnmarshalJSON reads a Failure, or the plain error string that
// notifications of earlier releases carried in data.error (a notification
// still being retried when the worker is upgraded is decoded again): its
// type is then FailureError.
func (f *Failure) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = Failure{Type: FailureError, Message: s}
		return nil
	}
	type plain Failure
	return json.Unmarshal(b, (*plain)(f))
}

// DescribeFailure returns the type and message of a run's error, as a
// client's Get, or a child's, returns it.
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

// MarshalJSON writes the timings with total_seconds beside total, which
// is in nanoseconds (Go's time.Duration) and kept for compatibility.
func (t Timings) MarshalJSON() ([]byte, error) {
	type plain Timings
	return json.Marshal(struct {
		plain
		TotalSeconds float64 `json:"total_seconds"`
	}{plain(t), seconds(t.Total)})
}

// MarshalJSON writes the result with duration_seconds beside duration,
// which is in nanoseconds (Go's time.Duration) and kept for compatibility.
func (r BatchResult) MarshalJSON() ([]byte, error) {
	type plain BatchResult
	return json.Marshal(struct {
		plain
		DurationSeconds float64 `json:"duration_seconds"`
	}{plain(r), seconds(r.Duration)})
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
