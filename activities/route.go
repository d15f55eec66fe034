package activities

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
)

// Routes records which run waits for a ModelsLab workflow run, so that
// the gateway can route the webhook configured on the workflow (which
// names the execution, not the track_id) to it; *TemporalRoutes is the
// implementation the worker uses.
type Routes interface {
	// RecordWorkflowRun records route, starting its route workflow on
	// taskQueue. A route that is already recorded is no error.
	RecordWorkflowRun(ctx context.Context, taskQueue string, route contract.WorkflowRunRoute) error
}

// TemporalRoutes records routes as contract.WorkflowRunRouteWorkflow
// workflows, whose ID (contract.WorkflowRunRouteID) the gateway reads
// back by a strongly consistent DescribeWorkflowExecution.
type TemporalRoutes struct {
	Client client.Client
}

var _ Routes = (*TemporalRoutes)(nil)

// RecordWorkflowRun starts the route workflow of route, with its
// track_id in the memo (contract.WorkflowRunRouteMemo).
func (t *TemporalRoutes) RecordWorkflowRun(ctx context.Context, taskQueue string, route contract.WorkflowRunRoute) error {
	_, err := t.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       contract.WorkflowRunRouteID(route.WorkflowID, route.ExecutionID),
		TaskQueue:                                taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{contract.WorkflowRunRouteMemo: route.TrackID},
		StaticSummary:                            "routes the webhooks of ModelsLab workflow run " + route.ExecutionID + " to " + route.TrackID,
	}, contract.WorkflowRunRouteWorkflow, route)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// routeTimeout bounds recording a route. Submit has its reply by then:
// the time is taken from the attempt, which must not fail for it.
const routeTimeout = 10 * time.Second

// recordRoute records, for a workflow run Submit just started, which run
// waits for it. It never fails Submit: the provider took the request, and
// a retry would run the workflow twice. Without a route the run learns
// its result by polling, as it does when no webhook is configured on the
// workflow.
func (a *Activities) recordRoute(ctx context.Context, ep modelslab.Endpoint, in SubmitInput, res modelslab.Result) {
	if a.Routes == nil || ep.Protocol != modelslab.ProtocolWorkflow || res.ID == "" {
		return
	}
	workflowID, _ := in.Params["workflow_id"].(string)
	if workflowID == "" {
		return
	}
	route := contract.WorkflowRunRoute{WorkflowID: workflowID, ExecutionID: res.ID, TrackID: in.TrackID}
	rctx, cancel := context.WithTimeout(ctx, routeTimeout)
	defer cancel()
	log := activity.GetLogger(ctx)
	if err := a.Routes.RecordWorkflowRun(rctx, activity.GetInfo(ctx).TaskQueue, route); err != nil {
		log.Warn("route of the workflow run not recorded: its webhook cannot be routed, the run will poll",
			"track_id", in.TrackID, "workflow_id", workflowID, "execution_id", res.ID, "error", err)
		return
	}
	log.Info("route of the workflow run recorded", "track_id", in.TrackID, "workflow_id", workflowID, "execution_id", res.ID)
}
