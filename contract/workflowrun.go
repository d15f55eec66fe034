package contract

// Routing the webhooks configured on a ModelsLab workflow.
//
// A ModelsLab workflow takes one webhook URL, set on the workflow, not
// one per run, and its payload names the workflow and the execution, not
// genflow's track_id. When a workflows/run generation's Submit learns
// its execution id, it starts a WorkflowRunRoute workflow whose ID is
// WorkflowRunRouteID(workflow id, execution id) and whose memo holds the
// track_id; the gateway reads that memo by ID (a strongly consistent
// read, unlike a visibility query) to find the run a webhook belongs to,
// then signals it as any other webhook.
const (
	// WorkflowRunRouteWorkflow is the registered name of the route
	// workflow. It does nothing and completes at once: its ID and memo
	// are the record, kept for the namespace's retention.
	WorkflowRunRouteWorkflow = "WorkflowRunRoute"
	// WorkflowRunRouteMemo is the memo key of the route's track_id.
	WorkflowRunRouteMemo = "track_id"
	// workflowRunRoutePrefix starts every route's workflow ID.
	workflowRunRoutePrefix = "modelslab-workflow-run/"
)

// WorkflowRunRouteID is the workflow ID of the route of execution
// executionID of ModelsLab workflow workflowID. The slashes keep any two
// pairs apart: a workflow id that may be routed holds none (the gateway
// refuses such ids, as the track_id rule does), nor does an execution id.
func WorkflowRunRouteID(workflowID, executionID string) string {
	return workflowRunRoutePrefix + workflowID + "/" + executionID
}

// WorkflowRunRoute is the input of a route workflow: which genflow run
// (TrackID) waits for execution ExecutionID of ModelsLab workflow
// WorkflowID.
type WorkflowRunRoute struct {
	WorkflowID  string `json:"workflow_id"`
	ExecutionID string `json:"execution_id"`
	TrackID     string `json:"track_id"`
}
