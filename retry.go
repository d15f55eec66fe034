package genflow

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/genflow/genflow/contract"
)

// Retry is an activity of a run that failed and waits to be tried again.
type Retry = contract.Retry

// withRetry adds to st the pending activity of run id that is being
// retried, from the run's description: the workflow itself cannot see
// its activity's attempts. A run that cannot be described keeps st as it
// is. A run waiting for its webhook, or ended and not notifying, runs no
// activity: it is not described.
func (c *Client) withRetry(ctx context.Context, id, runID string, st State) State {
	if (st.Phase.Final() || st.Phase == contract.PhaseWaitingWebhook) && st.Notified != "sending" {
		return st
	}
	qctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	d, err := c.c.DescribeWorkflow(qctx, id, runID)
	if err != nil {
		return st
	}
	st.Retry = RetryOf(d.RawResponse)
	return st
}

// RetryOf returns the pending activity of a described run that has
// failed at least once (the one tried most often, if several), or nil:
// its type, attempt, last failure and when the next attempt is due.
func RetryOf(d *workflowservice.DescribeWorkflowExecutionResponse) *Retry {
	var out *Retry
	for _, pa := range d.GetPendingActivities() {
		f := pa.GetLastFailure()
		if f == nil || pa.GetAttempt() < 2 || pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED {
			continue
		}
		if out != nil && int(pa.GetAttempt()) <= out.Attempt {
			continue
		}
		r := &Retry{Activity: pa.GetActivityType().GetName(), Attempt: int(pa.GetAttempt()), LastFailure: f.GetMessage(),
			LastFailureType: f.GetApplicationFailureInfo().GetType()}
		if t := pa.GetNextAttemptScheduleTime(); t != nil && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
			r.NextAttemptAt = t.AsTime()
		}
		if t := pa.GetLastStartedTime(); t != nil {
			r.LastAttemptAt = t.AsTime()
		}
		out = r
	}
	return out
}
