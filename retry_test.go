package genflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/genflow/genflow"
)

// RetryOf reads the pending activity that failed and waits to be tried
// again; an activity on its first attempt, or being cancelled, is none.
func TestRetryOf(t *testing.T) {
	t.Parallel()
	next := time.Date(2026, 11, 27, 5, 40, 12, 0, time.UTC)
	started := next.Add(-3 * time.Second)
	d := &workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: []*workflowpb.PendingActivityInfo{
		{ActivityType: &commonpb.ActivityType{Name: "Fetch"}, Attempt: 1, State: enumspb.PENDING_ACTIVITY_STATE_STARTED},
		{ActivityType: &commonpb.ActivityType{Name: "Submit"}, Attempt: 3, State: enumspb.PENDING_ACTIVITY_STATE_SCHEDULED,
			LastFailure: &failurepb.Failure{Message: "rate limited", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
				ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "ModelsLabRateLimited"}}},
			NextAttemptScheduleTime: timestamppb.New(next), LastStartedTime: timestamppb.New(started)},
	}}
	require.Equal(t, &genflow.Retry{Activity: "Submit", Attempt: 3, LastFailure: "rate limited", LastFailureType: "ModelsLabRateLimited",
		NextAttemptAt: next, LastAttemptAt: started}, genflow.RetryOf(d))

	// Running again: no next attempt time.
	d.PendingActivities[1].State = enumspb.PENDING_ACTIVITY_STATE_STARTED
	require.True(t, genflow.RetryOf(d).NextAttemptAt.IsZero())

	d.PendingActivities[1].State = enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
	require.Nil(t, genflow.RetryOf(d))
	require.Nil(t, genflow.RetryOf(&workflowservice.DescribeWorkflowExecutionResponse{}))
}
