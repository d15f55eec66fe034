package starter_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/workflows"
)

const waitQueue = "genflow-wait-test"

// Prompts that script scriptedGeneration.
const (
	promptFail = "fail" // fails with the provider's message
	promptWait = "wait" // runs until cancelled
)

// scriptedGeneration stands in for the Generation workflow: it succeeds at
// once, fails, or waits to be cancelled, as its prompt says.
func scriptedGeneration(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	switch in.Params["prompt"] {
	case promptFail:
		return contract.GenerationResult{}, temporal.NewNonRetryableApplicationError("the provider said no",
			contract.ErrTypeGenerationFailed, nil)
	case promptWait:
		err := workflow.Await(ctx, func() bool { return false })
		return contract.GenerationResult{}, err
	}
	return contract.GenerationResult{TrackID: id, Endpoint: in.Endpoint, Output: []string{"https://files.example/" + id + ".png"},
		LearnedBy: contract.LearnedWebhook, WebhooksReceived: 1}, nil
}

// scriptedServer is a dev server with a worker running the real Batch and
// Pipeline workflows over scriptedGeneration.
type scriptedServer struct {
	client client.Client
	addr   string
}

func startScriptedServer(t *testing.T) *scriptedServer {
	t.Helper()
	c, addr := startWorkflowServer(t, waitQueue, scriptedGeneration)
	return &scriptedServer{client: c, addr: addr}
}

// startWorkflowServer starts a dev server and a worker on queue running
// the real Batch and Pipeline workflows over generation (registered as
// the Generation), and returns its client and address.
func startWorkflowServer(t *testing.T, queue string, generation any) (client.Client, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     testenv.TemporalCLI(t),
		ClientOptions:    &client.Options{HostPort: testenv.FreeAddr(t), Namespace: "default", Logger: logger},
		LogLevel:         "error",
		SearchAttributes: contract.SearchAttributes(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = dev.Stop() })
	c := dev.Client()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Batch, workflow.RegisterOptions{Name: contract.BatchWorkflow})
	w.RegisterWorkflowWithOptions(workflows.BatchPage, workflow.RegisterOptions{Name: contract.BatchPageWorkflow})
	w.RegisterWorkflowWithOptions(workflows.Pipeline, workflow.RegisterOptions{Name: contract.PipelineWorkflow})
	w.RegisterWorkflowWithOptions(generation, workflow.RegisterOptions{Name: contract.GenerationWorkflow})
	w.RegisterActivity(&activities.BatchActivities{History: c})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return c, dev.FrontendHostPort()
}

// starterCtx runs the starter with ctx, and returns its exit code, stdout
// and stderr.
func (s *scriptedServer) starterCtx(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr testenv.SyncBuffer
	code := s.starterInto(ctx, &stdout, &stderr, args...)
	return code, stdout.String(), stderr.String()
}

func (s *scriptedServer) starterInto(ctx context.Context, stdout, stderr io.Writer, args ...string) int {
	env := map[string]string{config.EnvTemporalAddress: s.addr, config.EnvTaskQueue: waitQueue}
	return starter.Main(ctx, args, starter.Env{
		Stdout: stdout, Stderr: stderr,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
}

func (s *scriptedServer) starter(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.starterCtx(ctx, args...)
}

// closed waits until run id has closed and returns its status.
func (s *scriptedServer) closed(t *testing.T, id string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.client.GetWorkflow(ctx, id, "").Get(ctx, nil)
	d, err := s.client.DescribeWorkflow(ctx, id, "")
	require.NoError(t, err)
	return d.RawResponse.GetWorkflowExecutionInfo().GetStatus()
}

// running waits until run id exists and is running.
func (s *scriptedServer) running(t *testing.T, id string) {
	t.Helper()
	require.Eventually(t, func() bool {
		d, err := s.client.DescribeWorkflow(context.Background(), id, "")
		return err == nil && d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}, 30*time.Second, 50*time.Millisecond)
}

// Issue 16, items 1 and 8: wait knows what it waits for, reports a batch
// and a pipeline as result does, and exits 1 when anything failed; a
// cancelled generation is "canceled", an unknown ID "no run has this ID".
func TestWaitReportsWhatItWaitedFor(t *testing.T) {
	t.Parallel()
	s := startScriptedServer(t)

	t.Run("batch with a failed item", func(t *testing.T) {
		t.Parallel()
		file := writeFile(t, "items.txt", "a fox\n"+promptFail+"\na hare\n")
		code, stdout, stderr := s.starter(t, "batch", file, "--endpoint", "text2img", "--model", "flux", "--id", "wait-b")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)

		code, stdout, stderr = s.starter(t, "wait", "wait-b")
		require.Equal(t, starter.ExitFailed, code, "stdout: %s\nstderr: %s", stdout, stderr)
		require.Contains(t, stdout, "batch wait-b: 2 of 3 succeeded, 1 failed")
		require.Contains(t, stdout, "failed: #1 wait-b-00001: GenerationFailed: the provider said no")
		require.NotContains(t, stdout, "succeeded by")

		code, stdout, stderr = s.starter(t, "wait", "wait-b", "--json")
		require.Equal(t, starter.ExitFailed, code, "stdout: %s\nstderr: %s", stdout, stderr)
		var doc struct {
			Type   string               `json:"type"`
			Result contract.BatchResult `json:"result"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
		require.Equal(t, contract.BatchWorkflow, doc.Type)
		require.Equal(t, 2, doc.Result.Succeeded)
		require.Equal(t, 1, doc.Result.Failed)

		// batch results counts in words.
		code, stdout, stderr = s.starter(t, "batch", "results", "wait-b")
		require.Equal(t, starter.ExitOK, code, stderr)
		require.Len(t, strings.Split(strings.TrimSpace(stdout), "\n"), 3)
		require.Equal(t, "3 items: 2 succeeded, 1 failed\n", stderr)
	})

	t.Run("partial pipeline", func(t *testing.T) {
		t.Parallel()
		file := writeFile(t, "partial.yaml", `steps:
  good:
    endpoint: text2img
    params: {model_id: flux, prompt: "a fox"}
  bad:
    endpoint: text2img
    continue_on_error: true
    params: {model_id: flux, prompt: "`+promptFail+`"}
`)
		code, stdout, stderr := s.starter(t, "pipeline", "run", file, "--id", "wait-p")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
		for _, args := range [][]string{{"wait", "wait-p"}, {"result", "wait-p"}} {
			code, stdout, stderr = s.starter(t, args...)
			require.Equal(t, starter.ExitFailed, code, "%v: a step failed\nstdout: %s\nstderr: %s", args, stdout, stderr)
			require.Contains(t, stdout, "pipeline wait-p partial", args)
			require.Contains(t, stdout, "bad: failed: GenerationFailed: the provider said no", args)
			require.NotContains(t, stdout, "succeeded by", args)
		}
	})

	t.Run("generation", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "wait-g")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
		code, stdout, stderr = s.starter(t, "wait", "wait-g")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
		require.Contains(t, stdout, "wait-g succeeded by webhook")
		require.Contains(t, stdout, "output: https://files.example/wait-g.png")
	})

	t.Run("cancelled generation", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", promptWait, "--track-id", "wait-c")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
		s.running(t, "wait-c")
		code, _, stderr = s.starter(t, "cancel", "wait-c", "--wait")
		require.Equal(t, starter.ExitOK, code, stderr)

		code, stdout, _ = s.starter(t, "wait", "wait-c")
		require.Equal(t, starter.ExitFailed, code, stdout)
		require.Contains(t, stdout, "wait-c canceled: Canceled: the generation was cancelled")
		require.NotContains(t, stdout, "failed")
		code, stdout, _ = s.starter(t, "wait", "wait-c", "--json")
		require.Equal(t, starter.ExitFailed, code, stdout)
		var doc struct{ Status string }
		require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
		require.Equal(t, "canceled", doc.Status)
		code, stdout, _ = s.starter(t, "result", "wait-c")
		require.Equal(t, starter.ExitFailed, code, stdout)
		require.Contains(t, stdout, "wait-c canceled: Canceled: the generation was cancelled")
	})

	t.Run("unknown ID", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := s.starter(t, "wait", "no-such-run")
		require.Equal(t, starter.ExitFailed, code, stdout)
		require.Equal(t, "starter: no-such-run: no run has this ID\n", stderr)
		_, _, showErr := s.starter(t, "show", "no-such-run")
		require.Equal(t, showErr, stderr, "wait and show say it alike")
	})
}

// Issue 16, item 2: interrupted while waiting, the starter says the run
// goes on and how to follow it again, and exits 130.
func TestInterruptedWaitSaysHowToResume(t *testing.T) {
	t.Parallel()
	s := startScriptedServer(t)
	batchFile := writeFile(t, "items.txt", promptWait+"\n")
	pipelineFile := writeFile(t, "one.yaml", `steps:
  only:
    endpoint: text2img
    params: {model_id: flux, prompt: "`+promptWait+`"}
`)
	tests := []struct {
		name, id, kind string
		args           []string
		// started is the stdout that shows the run has started.
		started string
	}{
		{"generate --wait", "int-g", "generation",
			[]string{"generate", "text2img", "--model", "flux", "--prompt", promptWait, "--track-id", "int-g", "--wait"}, "Temporal UI"},
		{"batch --wait", "int-b", "batch", []string{"batch", batchFile, "--endpoint", "text2img", "--model", "flux", "--id", "int-b", "--wait"},
			"Temporal UI"},
		{"pipeline run --wait", "int-p", "pipeline", []string{"pipeline", "run", pipelineFile, "--id", "int-p", "--wait"}, "Temporal UI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, interrupt := context.WithCancel(context.Background())
			defer interrupt()
			var stdout, stderr testenv.SyncBuffer
			done := make(chan int, 1)
			go func() { done <- s.starterInto(ctx, &stdout, &stderr, tt.args...) }()
			require.Eventually(t, func() bool { return strings.Contains(stdout.String(), tt.started) },
				30*time.Second, 20*time.Millisecond, "stdout: %s\nstderr: %s", &stdout, &stderr)
			s.running(t, tt.id)
			interrupt() // Ctrl-C
			var code int
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the starter did not stop on the interrupt")
			}
			require.Equal(t, 130, code, "stdout: %s\nstderr: %s", &stdout, &stderr)
			require.Contains(t, stdout.String(), "stopped waiting; "+tt.kind+" "+tt.id+" goes on: `starter wait "+tt.id+"`")
			require.NotContains(t, stdout.String(), "FAILED")
			require.NotContains(t, stdout.String(), "context canceled")

			// The run goes on, and wait follows it again.
			d, err := s.client.DescribeWorkflow(context.Background(), tt.id, "")
			require.NoError(t, err)
			require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.RawResponse.GetWorkflowExecutionInfo().GetStatus())
			code, _, stderr2 := s.starter(t, "cancel", tt.id, "--grace", "5s")
			require.Equal(t, starter.ExitOK, code, stderr2)
		})
	}
}

// Issue 16, item 6: a cancelled batch counts its cancelled items, and
// says the items it never started will not start.
func TestCancelledBatchCountsItsItems(t *testing.T) {
	t.Parallel()
	s := startScriptedServer(t)
	const id = "count-b"
	// Two items succeed, two wait until cancelled, two never start.
	file := writeFile(t, "items.txt", strings.Repeat("a fox\n", 2)+strings.Repeat(promptWait+"\n", 4))
	code, stdout, stderr := s.starter(t, "batch", file, "--endpoint", "text2img", "--model", "flux", "--id", id, "--concurrency", "2")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	s.running(t, contract.ItemTrackID(id, 3))
	code, stdout, stderr = s.starter(t, "batch", "cancel", id, "--grace", "10s")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, s.closed(t, id))

	code, stdout, stderr = s.starter(t, "batch", "status", id, "--json")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &st), stdout)
	require.Equal(t, "canceled", st["state"])
	require.EqualValues(t, 2, st["succeeded"], stdout)
	require.EqualValues(t, 0, st["failed"], stdout)
	require.EqualValues(t, 2, st["canceled"], stdout)
	require.EqualValues(t, 0, st["running"], stdout)
	require.EqualValues(t, 2, st["pending"], stdout)

	code, stdout, stderr = s.starter(t, "batch", "status", id)
	require.Equal(t, starter.ExitOK, code, stderr)
	require.Contains(t, stdout, "6 total: 2 succeeded, 0 failed, 2 canceled, 0 running, 2 not started")

	code, _, stderr = s.starter(t, "batch", "results", id)
	require.Equal(t, starter.ExitOK, code, stderr)
	require.Equal(t, "6 items: 2 succeeded, 2 canceled, 2 not started\n", stderr)
}

// Issue 16, item 9: the shell completion of run IDs asks Temporal: the
// runs of the command's type whose IDs start with what is typed.
func TestCompletionOfRunIDs(t *testing.T) {
	t.Parallel()
	s := startScriptedServer(t)
	file := writeFile(t, "items.txt", "a fox\n")
	code, stdout, stderr := s.starter(t, "batch", file, "--endpoint", "text2img", "--model", "flux", "--id", "comp-b")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	code, stdout, stderr = s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "comp-g")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)

	ids := func(args ...string) []string {
		_, stdout, _ := s.starter(t, append([]string{"__complete"}, args...)...)
		var out []string
		for _, line := range strings.Split(stdout, "\n") {
			if line == "" || strings.HasPrefix(line, ":") {
				break
			}
			id, _, _ := strings.Cut(line, "\t")
			out = append(out, id)
		}
		return out
	}
	require.Eventually(t, func() bool {
		got := ids("show", "comp-")
		return len(got) == 3 // the batch, its item and the generation; not the page holder
	}, 30*time.Second, 100*time.Millisecond)
	require.ElementsMatch(t, []string{"comp-b", contract.ItemTrackID("comp-b", 0), "comp-g"}, ids("show", "comp-"))
	require.Equal(t, []string{"comp-b"}, ids("batch", "status", "comp"))
	require.Equal(t, []string{"comp-g"}, ids("wait", "comp-g"))
	require.Empty(t, ids("pipeline", "status", ""))
}
