package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
)

// WorkflowRunRoute is the route of a ModelsLab workflow run (see
// contract.WorkflowRunRouteWorkflow): the Submit activity starts it with
// the track_id in its memo, and the gateway reads that memo by the
// route's ID. The workflow itself has nothing to do and completes at
// once; its record stays readable for the namespace's retention.
func WorkflowRunRoute(_ workflow.Context, _ contract.WorkflowRunRoute) error {
	return nil
}
