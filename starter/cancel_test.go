package starter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
)

const cancelQueue = "genflow-cancel-test"

// stuckPrompt makes fakeGeneration's every workflow task fail, as a
// generation that can never make progress (the track_ids of issue 13):
// it never sees a cancel request.
const stuckPrompt = "stuck"

// fakeGeneration stands in for the Generation workflow: it waits to be
// cancelled, or, given stuckPrompt, panics in every workflow task.
func fakeGeneration(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
	if in.Params["prompt"] == stuckPrompt {
		panic("this generation's workflow task always fails")
	}
	err := workflow.Await(ctx, func() bool { return false })
	return contract.GenerationResult{}, err
}

// cancelServer is a dev server with a worker running the real Batch and
// Pipeline workflows over fakeGeneration.
type cancelServer struct {
	client client.Client
	addr   string
}

func startCancelServer(t *testing.T) *cancelServer {
	t.Helper()
	c, addr := startWorkflowServer(t, cancelQueue, fakeGeneration)
	return &cancelServer{client: c, addr: addr}
}

func (s *cancelServer) starter(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{config.EnvTemporalAddress: s.addr, config.EnvTaskQueue: cancelQueue}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := starter.Main(ctx, args, starter.Env{
		Stdout: &stdout, Stderr: &stderr,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	return code, stdout.String(), stderr.String()
}

// openChildren lists the Generation runs of parent that are open.
func (s *cancelServer) openChildren(t *testing.T, parent string) []string {
	t.Helper()
	resp, err := s.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: "default",
		Query:     `GenflowParentID = "` + parent + `" AND WorkflowType = "Generation" AND ExecutionStatus = "Running"`,
	})
	require.NoError(t, err)
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids
}

func (s *cancelServer) status(t *testing.T, id string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := s.client.DescribeWorkflow(context.Background(), id, "")
	require.NoError(t, err)
	return d.RawResponse.GetWorkflowExecutionInfo().GetStatus()
}

// terminateReason is the reason id's run was terminated with.
func (s *cancelServer) terminateReason(t *testing.T, id string) string {
	t.Helper()
	it := s.client.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			return a.GetReason()
		}
	}
	return ""
}

// TestCancelEndsChildrenThatCannotProgress starts a batch and a pipeline
// each with a child whose workflow tasks always fail (it can never act
// on a cancel request) and one that stops when cancelled, and checks
// that `batch cancel` and `pipeline cancel` end both within the grace:
// the first terminated, with a reason naming its parent, the other
// cancelled; and that the parent then ends too: a batch cancelled, a
// pipeline failed (its workflow counts a terminated step as a failed
// one).
func TestCancelEndsChildrenThatCannotProgress(t *testing.T) {
	t.Parallel()
	s := startCancelServer(t)

	batchFile := writeFile(t, "items.jsonl",
		`{"endpoint":"text2img","params":{"model_id":"flux","prompt":"`+stuckPrompt+`"}}`+"\n"+
			`{"endpoint":"text2img","params":{"model_id":"flux","prompt":"fine"}}`+"\n")
	pipelineFile := writeFile(t, "fan.yaml", `steps:
  each:
    endpoint: text2img
    map: ["`+stuckPrompt+`", "fine"]
    params: {model_id: flux, prompt: "${item}"}
`)
	tests := []struct {
		kind, id string
		start    []string
		stuck    string // the track_id of the stuck child
		fine     string
		ends     enumspb.WorkflowExecutionStatus
	}{
		{"batch", "cancel-b", []string{"batch", batchFile, "--id", "cancel-b", "--concurrency", "2"},
			contract.ItemTrackID("cancel-b", 0), contract.ItemTrackID("cancel-b", 1), enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED},
		{"pipeline", "cancel-p", []string{"pipeline", "run", pipelineFile, "--id", "cancel-p"},
			contract.PipelineStepTrackID("cancel-p", "each", 0), contract.PipelineStepTrackID("cancel-p", "each", 1),
			enumspb.WORKFLOW_EXECUTION_STATUS_FAILED},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := s.starter(t, tt.start...)
			require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
			require.Eventually(t, func() bool { return len(s.openChildren(t, tt.id)) == 2 }, 30*time.Second, 100*time.Millisecond)

			const grace = 3 * time.Second
			began := time.Now()
			code, stdout, stderr = s.starter(t, tt.kind, "cancel", tt.id, "--grace", grace.String(), "--json")
			took := time.Since(began)
			require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
			require.Less(t, took, grace+10*time.Second, "cancel must end within its grace")

			var report starter.CancelReport
			require.NoError(t, json.Unmarshal([]byte(stdout), &report), stdout)
			require.Equal(t, tt.id, report.TrackID)
			require.Equal(t, 2, report.Children, stdout)
			require.Equal(t, 1, report.ChildrenCanceled, stdout)
			require.Equal(t, 1, report.ChildrenTerminated, stdout)

			require.Empty(t, s.openChildren(t, tt.id))
			require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, s.status(t, tt.stuck))
			require.Contains(t, s.terminateReason(t, tt.stuck), tt.kind+" "+tt.id)
			require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, s.status(t, tt.fine))

			// With its children gone, the parent ends.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := s.client.GetWorkflow(ctx, tt.id, "").Get(ctx, nil)
			require.Error(t, err)
			require.Equal(t, tt.ends, s.status(t, tt.id), "%s ended with %v", tt.id, err)

			// Cancelling it again finds nothing to do.
			code, _, stderr = s.starter(t, tt.kind, "cancel", tt.id)
			require.Equal(t, starter.ExitFailed, code)
			require.Contains(t, stderr, "is not running (")
		})
	}

	// A batch that was ended from outside leaves its stuck child open
	// (the parent close policy only requests its cancellation): cancel
	// still ends it.
	t.Run("batch ended from outside", func(t *testing.T) {
		t.Parallel()
		const id = "cancel-t"
		code, stdout, stderr := s.starter(t, "batch", batchFile, "--id", id, "--concurrency", "2")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
		require.Eventually(t, func() bool { return len(s.openChildren(t, id)) == 2 }, 30*time.Second, 100*time.Millisecond)
		require.NoError(t, s.client.TerminateWorkflow(context.Background(), id, "", "test"))
		stuck := contract.ItemTrackID(id, 0)
		require.Eventually(t, func() bool {
			open := s.openChildren(t, id)
			return len(open) == 1 && open[0] == stuck
		}, 30*time.Second, 100*time.Millisecond)

		code, stdout, stderr = s.starter(t, "batch", "cancel", id, "--grace", "1s")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
		require.Contains(t, stdout, "1 generation(s) open: 0 cancelled, 1 terminated")
		require.Contains(t, stdout, "ModelsLab still processes, and bills")
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, s.status(t, stuck))
		require.Empty(t, s.openChildren(t, id))
	})
}
