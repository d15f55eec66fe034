package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
)

// Registry is the part of a worker (or replayer) that takes workflows.
type Registry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

var _ Registry = worker.Worker(nil)

// Register registers every workflow under its contract name.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(Generation, workflowOptions(contract.GenerationWorkflow))
	r.RegisterWorkflowWithOptions(Pipeline, workflowOptions(contract.PipelineWorkflow))
	r.RegisterWorkflowWithOptions(Batch, workflowOptions(contract.BatchWorkflow))
	r.RegisterWorkflowWithOptions(BatchPage, workflowOptions(contract.BatchPageWorkflow))
	r.RegisterWorkflowWithOptions(AccountLimiter, workflowOptions(contract.AccountLimiterWorkflow))
	r.RegisterWorkflowWithOptions(WorkflowRunRoute, workflowOptions(contract.WorkflowRunRouteWorkflow))
}

func workflowOptions(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}
