package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
)

// The floor: the least Temporal work that has the shape of a generation,
// so that genflow's numbers can be read against what Temporal itself
// costs on the same server, in the same process, at the same moment.
const (
	floorSignalName   = "done"
	floorReadyQuery   = "ready"
	floorSignalWF     = "FloorWaitForSignal"
	floorActivitySig  = "FloorActivityThenSignal"
	floorAttributed   = "FloorActivityThenSignalAttributed"
	floorNoopActivity = "FloorNoop"
)

// floorWaitForSignal waits for one signal and returns its value: the floor
// of result latency.
func floorWaitForSignal(ctx workflow.Context) (string, error) {
	if err := workflow.SetQueryHandler(ctx, floorReadyQuery, func() (bool, error) { return true, nil }); err != nil {
		return "", err
	}
	var v string
	workflow.GetSignalChannel(ctx, floorSignalName).Receive(ctx, &v)
	return v, nil
}

// floorActivityThenSignal runs one no-op activity and waits for one
// signal: the floor of a generation's shape (submit, then the webhook).
// The activity has the signal sent, as a provider calls back after
// accepting a request.
func floorActivityThenSignal(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	if err := workflow.ExecuteActivity(ctx, floorNoopActivity).Get(ctx, nil); err != nil {
		return "", err
	}
	var v string
	workflow.GetSignalChannel(ctx, floorSignalName).Receive(ctx, &v)
	return v, nil
}

// floorActivityThenSignalAttributed is floorActivityThenSignal that, like
// a generation, ends by upserting GenflowState; started with a
// generation's search attributes and summary, it tells how much of
// genflow's cost is those.
func floorActivityThenSignalAttributed(ctx workflow.Context) (string, error) {
	v, err := floorActivityThenSignal(ctx)
	if err != nil {
		return "", err
	}
	return v, workflow.UpsertTypedSearchAttributes(ctx, contract.SAState.ValueSet(string(contract.PhaseSucceeded)))
}

type floorActivities struct{ c client.Client }

// noop returns at once; like the fake provider after its reply, it sends
// the signal from a goroutine of its own.
func (a floorActivities) noop(ctx context.Context) error {
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = a.c.SignalWorkflow(sctx, id, "", floorSignalName, "done")
	}()
	return nil
}

func registerFloor(w sdkworker.Worker, c client.Client) {
	w.RegisterWorkflowWithOptions(floorWaitForSignal, workflow.RegisterOptions{Name: floorSignalWF})
	w.RegisterWorkflowWithOptions(floorActivityThenSignal, workflow.RegisterOptions{Name: floorActivitySig})
	w.RegisterWorkflowWithOptions(floorActivityThenSignalAttributed, workflow.RegisterOptions{Name: floorAttributed})
	w.RegisterActivityWithOptions(floorActivities{c: c}.noop, activity.RegisterOptions{Name: floorNoopActivity})
}
