package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/workflows"
)

// runPipelineStarter runs `starter pipeline ...` in-process against the
// stack and returns its exit code, stdout and stderr.
func (s *stack) runPipelineStarter(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{
		config.EnvTemporalAddress: s.temporal.Address,
		config.EnvTaskQueue:       taskQueue,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := starter.Main(ctx, append([]string{"pipeline"}, args...), starter.Env{
		Stdout: &stdout, Stderr: &stderr,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	return code, stdout.String(), stderr.String()
}

func decodePipelineOutput(t *testing.T, stdout, stderr string) starter.PipelineOutput {
	t.Helper()
	var out starter.PipelineOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), "starter output: %s\nstderr: %s", stdout, stderr)
	return out
}

// trackIDs lists the track_ids of a step's generations.
func trackIDs(st contract.StepState) []string {
	if !st.Mapped {
		return []string{st.TrackID}
	}
	var ids []string
	for _, it := range st.Items {
		ids = append(ids, it.TrackID)
	}
	return ids
}

func TestPipelineExamplesEndToEnd(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{
		ProcessingTime: 200 * time.Millisecond,
		QueueLimit:     15,
		RetryAfter:     time.Second,
		Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
			{Match: "pfail-portrait_portrait", Fault: fakemodelslab.FaultFail},
			{Match: "pfail-voice_music", Fault: fakemodelslab.FaultFail},
			{Match: "pcancel_model", Fault: fakemodelslab.FaultDrop},
		}},
	})
	files, err := filepath.Glob(filepath.Join("..", "examples", "*"))
	require.NoError(t, err)
	var finished []string

	examples := 0
	for _, file := range files {
		ext := filepath.Ext(file)
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			continue
		}
		examples++
		name := strings.TrimSuffix(filepath.Base(file), ext)
		t.Run("example "+filepath.Base(file), func(t *testing.T) {
			id := "pe2e-" + strings.ReplaceAll(name, "_", "-")
			args := []string{"run", file, "--id", id, "--owner", "e2e", "--wait", "--json"}
			if name == "portrait_to_video" {
				args = append(args, "--input", "subject=a fox in the snow")
			}
			code, stdout, stderr := s.runPipelineStarter(t, args...)
			out := decodePipelineOutput(t, stdout, stderr)
			require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
			require.Equal(t, "succeeded", out.Status)
			require.Equal(t, id, out.PipelineID)
			require.Contains(t, out.UIURL, "/namespaces/default/workflows/"+id+"/"+out.RunID)
			require.NotNil(t, out.Result)
			require.Empty(t, out.Result.Failed)

			var children []string
			for _, st := range out.Result.Steps {
				require.Equal(t, contract.StepSucceeded, st.State, "step %s: %s", st.Name, st.Error)
				require.NotEmpty(t, st.Output, "step %s", st.Name)
				require.Equal(t, st.Output, out.Result.Outputs[st.Name])
				for _, tid := range trackIDs(st) {
					require.True(t, strings.HasPrefix(tid, id+"_"+st.Name), tid)
					require.Equal(t, 1, s.fake.Submissions(tid), "submissions of %s", tid)
					children = append(children, tid)
				}
			}
			// Every output is a real file.
			for _, outs := range out.Result.Outputs {
				resp, err := http.Get(outs[0])
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode, outs[0])
			}
			// Each child carries a readable summary and the pipeline's ID as a
			// search attribute.
			for _, tid := range children {
				desc, err := s.client.DescribeWorkflow(context.Background(), tid, "")
				require.NoError(t, err)
				var summary string
				require.NoError(t, converter.GetDefaultDataConverter().FromPayload(
					desc.RawResponse.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary))
				step := strings.SplitN(strings.TrimPrefix(tid, id+"_"), "_", 2)[0]
				require.True(t, strings.HasPrefix(summary, step), "summary %q of %s", summary, tid)
			}
			eventually(t, "children listed by "+contract.SAParentID.GetName(), func() bool {
				resp, err := s.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
					Query: fmt.Sprintf("%s = %q", contract.SAParentID.GetName(), id),
				})
				return err == nil && len(resp.GetExecutions()) == len(children)
			})
			finished = append(finished, id)

			// status tells the same once the pipeline has ended.
			code, stdout, stderr = s.runPipelineStarter(t, "status", id, "--json")
			require.Equal(t, starter.ExitOK, code, stderr)
			status := decodePipelineOutput(t, stdout, stderr)
			require.Equal(t, "succeeded", status.Status)
			require.Equal(t, out.Result.Outputs, status.Result.Outputs)
		})
	}
	require.GreaterOrEqual(t, examples, 3)

	t.Run("a failed step fails the pipeline, naming the step", func(t *testing.T) {
		code, stdout, stderr := s.runPipelineStarter(t, "run", filepath.Join("..", "examples", "portrait_to_video.yaml"),
			"--id", "pfail-portrait", "--wait", "--json")
		require.Equal(t, starter.ExitFailed, code, "stdout: %s\nstderr: %s", stdout, stderr)
		out := decodePipelineOutput(t, stdout, stderr)
		require.Equal(t, "failed", out.Status)
		require.Equal(t, contract.ErrTypePipelineStepFailed, out.Error.Type)
		require.Equal(t, `step "portrait" failed: GenerationFailed: Processing failed: Invalid input dimensions`, out.Error.Message)
		require.Equal(t, contract.StepSkipped, out.Result.Steps[1].State)
		require.Zero(t, s.fake.Submissions("pfail-portrait_animate"))
		finished = append(finished, "pfail-portrait")
	})

	t.Run("continue_on_error keeps the other steps", func(t *testing.T) {
		code, stdout, stderr := s.runPipelineStarter(t, "run", filepath.Join("..", "examples", "voiceover_and_music.yaml"),
			"--id", "pfail-voice", "--wait")
		require.Equal(t, starter.ExitFailed, code, "a partial pipeline had a step fail\nstdout: %s\nstderr: %s", stdout, stderr)
		require.Contains(t, stdout, "partial")
		require.Regexp(t, `voiceover\s+succeeded\s+pfail-voice_voiceover\s+1 output`, stdout)
		require.Contains(t, stdout, "music: failed: GenerationFailed: Processing failed: Invalid input dimensions")
		finished = append(finished, "pfail-voice")
	})

	t.Run("cancelling the pipeline cancels its running steps", func(t *testing.T) {
		code, stdout, stderr := s.runPipelineStarter(t, "run", filepath.Join("..", "examples", "four_views_to_3d.yaml"),
			"--id", "pcancel", "--json")
		require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
		eventually(t, "the mapped step to run", func() bool {
			st, err := starter.QueryPipeline(context.Background(), s.client, "pcancel", "")
			if err != nil {
				return false
			}
			m, _ := st.Step("model")
			return m.State == contract.StepRunning && len(m.Items) == 4 && s.fake.Submissions("pcancel_model_3") == 1
		})
		code, _, stderr = s.runPipelineStarter(t, "cancel", "pcancel")
		require.Equal(t, starter.ExitOK, code, stderr)

		code, stdout, stderr = s.runPipelineStarter(t, "status", "pcancel", "--json")
		require.Equal(t, starter.ExitOK, code, stderr)
		require.Contains(t, []string{"running", "canceled"}, decodePipelineOutput(t, stdout, stderr).Status)
		eventually(t, "the pipeline to end", func() bool {
			desc, err := s.client.DescribeWorkflow(context.Background(), "pcancel", "")
			return err == nil && desc.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED
		})
		for j := range 4 {
			desc, err := s.client.DescribeWorkflow(context.Background(), fmt.Sprintf("pcancel_model_%d", j), "")
			require.NoError(t, err)
			require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, desc.RawResponse.GetWorkflowExecutionInfo().GetStatus())
		}
		code, stdout, stderr = s.runPipelineStarter(t, "status", "pcancel", "--json")
		require.Equal(t, starter.ExitOK, code, stderr)
		out := decodePipelineOutput(t, stdout, stderr)
		require.Equal(t, "canceled", out.Status)
		m, _ := out.Result.Step("model")
		require.Equal(t, contract.StepCanceled, m.State)
		finished = append(finished, "pcancel")
	})

	t.Run("an invalid file starts nothing", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		require.NoError(t, os.WriteFile(bad, []byte("steps:\n  a:\n    endpoint: img2video\n    params: {model_id: svd, init_image: \"${steps.b.output[0]}\"}\n"), 0o600))
		code, _, stderr := s.runPipelineStarter(t, "run", bad, "--id", "pbad", "--wait")
		require.Equal(t, starter.ExitUsage, code)
		require.Contains(t, stderr, bad+`:4:41: steps.a.params.init_image: reference to unknown step "b"`)
		_, err := s.client.DescribeWorkflow(context.Background(), "pbad", "")
		require.Error(t, err)
	})

	t.Run("histories replay against the current workflow code", func(t *testing.T) {
		require.NotEmpty(t, finished)
		replayer := worker.NewWorkflowReplayer()
		workflows.Register(replayer)
		for _, id := range finished {
			desc, err := s.client.DescribeWorkflow(context.Background(), id, "")
			require.NoError(t, err)
			exec := desc.RawResponse.GetWorkflowExecutionInfo().GetExecution()
			err = replayer.ReplayWorkflowExecution(context.Background(), s.client.WorkflowService(), nil, "default",
				workflowExecution(exec.GetWorkflowId(), exec.GetRunId()))
			require.NoError(t, err, id)
		}
	})
}
