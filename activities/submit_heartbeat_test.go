package activities_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/modelslab"
)

// slowProvider answers a submit after delay (wall clock), or when the
// call's context ends.
type slowProvider struct{ delay time.Duration }

func (p slowProvider) Submit(ctx context.Context, _ modelslab.SubmitRequest) (modelslab.Result, error) {
	select {
	case <-time.After(p.delay):
		return modelslab.Result{Status: modelslab.StatusProcessing, ID: "1"}, nil
	case <-ctx.Done():
		return modelslab.Result{}, ctx.Err()
	}
}

func (slowProvider) Fetch(context.Context, modelslab.Endpoint, string, map[string]any) (modelslab.Result, error) {
	return modelslab.Result{}, nil
}

type fixedURL struct{}

func (fixedURL) URL(string, time.Time) (string, error) { return "https://gw.example/hook", nil }

// submitOnce runs the Submit activity once with heartbeatTimeout, as the
// Generation workflow schedules it.
func submitOnce(heartbeatTimeout time.Duration) func(ctx workflow.Context) (modelslab.Result, error) {
	return func(ctx workflow.Context) (modelslab.Result, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			HeartbeatTimeout:    heartbeatTimeout,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		var a *activities.Activities
		var res modelslab.Result
		err := workflow.ExecuteActivity(ctx, a.Submit, activities.SubmitInput{
			TrackID: "hb-1", Endpoint: "text2img", Params: map[string]any{"model_id": "flux", "prompt": "p"},
		}).Get(ctx, &res)
		return res, err
	}
}

// A provider call that outlasts the heartbeat timeout is kept alive by
// Submit's heartbeats: only a worker that stopped heartbeating (killed
// mid-call) loses its attempt to the heartbeat timeout.
func TestSubmitHeartbeatsWhileTheCallIsInFlight(t *testing.T) {
	t.Parallel()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	wf := submitOnce(600 * time.Millisecond)
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "submit-once"})
	env.RegisterActivity(&activities.Activities{Provider: slowProvider{delay: 2 * time.Second}, Webhooks: fixedURL{}})
	var beats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })

	env.ExecuteWorkflow("submit-once")

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res modelslab.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "1", res.ID)
	require.GreaterOrEqual(t, beats.Load(), int32(3))
}
