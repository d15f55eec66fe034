// Package workflows holds genflow's Temporal workflows.
//
// Generation runs one ModelsLab request from submission to result; its
// workflow ID is the request's track_id, so starting the same track_id
// twice cannot submit twice.
//
// # Determinism
//
// Workflow code is replayed from history after every worker restart, so
// everything here is deterministic:
//
//   - time only from workflow.Now, waiting only with workflow.NewTimer,
//     workflow.Sleep, workflow.Await* or a workflow.Selector;
//   - concurrency only with workflow.Go and workflow.Channel;
//   - no ranging over maps (use workflow.DeterministicKeys), no I/O, no
//     uuid, math/rand or time.Now: anything random or external goes
//     through an activity or workflow.SideEffect;
//   - logging only with workflow.GetLogger.
//
// A change to the logic of a workflow that may be running is gated with
// workflow.GetVersion, and the replay tests over the histories in
// testdata/ must keep passing. `make check` runs workflowcheck over this
// package.
package workflows
