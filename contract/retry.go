package contract

import "time"

// Retry is an activity of a run that has failed and is waiting to be
// tried again (or is being tried again), as Temporal describes the run's
// pending activity: during a 429 or a provider outage, the Submit
// activity. The workflow cannot see it; the genflow client fills it in
// State from the run's description (State.Retry).
type Retry struct {
	// Activity is the activity's type, such as "Submit".
	Activity string `json:"activity"`
	// Attempt is the attempt now running or scheduled, from 2: Attempt-1
	// attempts have failed.
	Attempt int `json:"attempt"`
	// LastFailure is the last failed attempt's error message, and
	// LastFailureType its type (such as modelslab.ErrTypeRateLimited).
	LastFailure     string `json:"last_failure,omitempty"`
	LastFailureType string `json:"last_failure_type,omitempty"`
	// NextAttemptAt is when the next attempt is due; zero while an
	// attempt runs.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// LastAttemptAt is when the last attempt started.
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
}
