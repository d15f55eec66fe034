package starter

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/pipeline"
)

type pipelineCLIRun struct {
	code           int
	stdout, stderr string
	dialed         bool
}

// runPipelineMain runs the starter with a dialer that fails: everything
// tested here must end before Temporal is needed.
func runPipelineMain(t *testing.T, args ...string) pipelineCLIRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var r pipelineCLIRun
	r.code = Main(context.Background(), append([]string{"pipeline"}, args...), Env{
		Stdout: &stdout, Stderr: &stderr,
		Lookup: func(string) (string, bool) { return "", false },
		Dial: func(config.Temporal) (client.Client, error) {
			r.dialed = true
			return nil, errors.New("dial tcp: connection refused")
		},
	})
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

func writePipelineFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func examplePipeline(name string) string { return filepath.Join("..", "examples", name) }

func TestPipelineValidateValidFile(t *testing.T) {
	t.Parallel()
	r := runPipelineMain(t, "validate", examplePipeline("four_views_to_3d.yaml"))
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.False(t, r.dialed, "validate needs no Temporal")
	require.Contains(t, r.stdout, `pipeline "four-views-to-3d" is valid: 2 step(s)`)
	require.Regexp(t, `1\s+views\s+images/text2img\s+-`, r.stdout)
	require.Regexp(t, `2\s+model\s+3d/image_to_3d\s+views\s+once per element of \$\{steps.views.output\}; deadline 2h0m0s`, r.stdout)
	require.Regexp(t, `object\s+string\s+a small ceramic teapot`, r.stdout)
}

func TestPipelineValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	file := writePipelineFile(t, "bad.yaml", `steps:
  a:
    endpoint: text2imgg
  b:
    endpoint: img2video
    params: {model_id: svd, init_image: "${steps.portrait.output[0]}"}
`)
	r := runPipelineMain(t, "validate", file)
	require.Equal(t, ExitUsage, r.code)
	require.Empty(t, r.stdout)
	require.Equal(t, strings.Join([]string{
		file + `:3:15: steps.a.endpoint: unknown endpoint "text2imgg" (did you mean "text2img"?); run ` + "`starter endpoints`" + ` for the list`,
		file + `:6:41: steps.b.params.init_image: reference to unknown step "portrait"`,
		"starter: " + file + ": 2 problem(s)",
		"",
	}, "\n"), r.stderr)
}

func TestPipelineValidateMissingFile(t *testing.T) {
	t.Parallel()
	r := runPipelineMain(t, "validate", "no/such/file.yaml")
	require.Equal(t, ExitUsage, r.code)
	require.Contains(t, r.stderr, "no/such/file.yaml: open no/such/file.yaml: no such file or directory")
}

func TestPipelineRunChecksInputsBeforeConnecting(t *testing.T) {
	t.Parallel()
	required := writePipelineFile(t, "req.yaml", `inputs:
  script: {description: what to say}
  n: {type: integer, default: 1}
steps:
  say:
    endpoint: music_gen
    params: {prompt: "${inputs.script}"}
`)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{name: "undeclared input", args: []string{"run", examplePipeline("portrait_to_video.yaml"), "--input", "subjet=x"},
			want: []string{`--input: unknown input "subjet" (did you mean "subject"?); the pipeline declares subject, image_model, video_model`}},
		{name: "not key=value", args: []string{"run", examplePipeline("portrait_to_video.yaml"), "--input", "subject"},
			want: []string{`--input "subject": want key=value`}},
		{name: "wrong type", args: []string{"run", required, "--input", "script=x", "--input", "n=many"},
			want: []string{`--input: input n: want an integer, found "many"`}},
		{name: "missing required input", args: []string{"run", required},
			want: []string{required + ":2:3: inputs.script: required: give it with --input script=VALUE (what to say)"}},
		{name: "unreadable input file", args: []string{"run", required, "--input-file", "script=/no/such/file"},
			want: []string{"--input-file script: open /no/such/file: no such file or directory"}},
		{name: "priority out of range", args: []string{"run", required, "--input", "script=x", "--priority", "10"},
			want: []string{"--priority 10: want 1 (lowest) to 9 (highest)"}},
		{name: "bad pipeline ID", args: []string{"run", required, "--input", "script=x", "--id", "a/b"},
			want: []string{`--id: pipeline ID: track_id "a/b" holds '/' at byte 2`}},
		{name: "pipeline ID too long", args: []string{"run", required, "--input", "script=x", "--id", strings.Repeat("p", 197)},
			want: []string{`--id: pipeline ID is 197 bytes; step "say"'s track_ids add "_say" and would be 201 bytes`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runPipelineMain(t, tc.args...)
			require.Equal(t, ExitUsage, r.code, r.stderr)
			require.False(t, r.dialed)
			for _, w := range tc.want {
				require.Contains(t, r.stderr, w)
			}
		})
	}
}

func TestPipelineRunInputFileIsTheInput(t *testing.T) {
	t.Parallel()
	script := writePipelineFile(t, "script.txt", "Line one.\nLine two.\n")
	r := runPipelineMain(t, "run", examplePipeline("voiceover_and_music.yaml"), "--input-file", "script="+script, "--input", "seconds=60")
	// Valid inputs: the run gets as far as dialling Temporal.
	require.True(t, r.dialed)
	require.Equal(t, ExitFailed, r.code)
	require.Contains(t, r.stderr, "cannot reach Temporal")
}

func TestStartPipelineOptions(t *testing.T) {
	t.Parallel()
	cfg := config.Temporal{Namespace: "default", TaskQueue: "q", UIURL: "http://ui"}
	plan := contract.PipelinePlan{Name: "demo", Source: "demo.yaml", Owner: "ana", Steps: []contract.PipelineStep{
		{Name: "a", Endpoint: "images/text2img"},
		{Name: "b", Endpoint: "3d/image_to_3d", DependsOn: []string{"a"}, Map: "${steps.a.output}", ContinueOnError: true},
	}}
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetRunID").Return("run-1")
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		owner, _ := o.TypedSearchAttributes.GetKeyword(contract.SAOwner)
		return o.ID == "pipe-x" && o.TaskQueue == "q" &&
			o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE &&
			o.WorkflowExecutionErrorWhenAlreadyStarted &&
			o.StaticSummary == "pipeline demo: a, b" &&
			o.StaticDetails == "from `demo.yaml`\n\n- **a**: images/text2img\n- **b**: 3d/image_to_3d, after a, mapped, continue_on_error\n" &&
			owner == "ana"
	}), mock.Anything, plan).Return(run, nil).Once()

	out, err := StartPipeline(context.Background(), c, cfg, "pipe-x", plan)
	require.NoError(t, err)
	require.Equal(t, PipelineOutput{PipelineID: "pipe-x", RunID: "run-1", Name: "demo", Status: "started",
		UIURL: "http://ui/namespaces/default/workflows/pipe-x/run-1/history"}, out)
	c.AssertExpectations(t)

	// A used ID is reported, not started again, when the plan is the
	// same (its file's path aside).
	existing := plan
	existing.Source = "../elsewhere/demo.yaml"
	c2 := usedIDClient(t, existing)
	out, err = StartPipeline(context.Background(), c2, cfg, "pipe-x", plan)
	require.NoError(t, err)
	require.True(t, out.AlreadyStarted)
	require.Equal(t, "run-0", out.RunID)

	// With another plan, it is an error that names what differs.
	existing.Owner = "bob"
	existing.Inputs = map[string]any{"subject": "a hare"}
	_, err = StartPipeline(context.Background(), usedIDClient(t, existing), cfg, "pipe-x", plan)
	require.ErrorIs(t, err, genflow.ErrDifferentParameters)
	require.ErrorContains(t, err, "pipeline ID pipe-x is already used by a run with other parameters (inputs.subject, owner differ)")
}

// usedIDClient is a client whose ExecuteWorkflow finds the ID used, by run
// run-0 started with input.
func usedIDClient(t *testing.T, input any) *mocks.Client {
	t.Helper()
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(input)
	require.NoError(t, err)
	it := &mocks.HistoryEventIterator{}
	it.On("HasNext").Return(true)
	it.On("Next").Return(&historypb.HistoryEvent{Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: payloads},
	}}, nil)
	c := &mocks.Client{}
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("exists", "", "run-0")).Once()
	c.On("GetWorkflowHistory", mock.Anything, "pipe-x", "run-0", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Return(it).Once()
	return c
}

func TestPipelineResultOfErrors(t *testing.T) {
	t.Parallel()
	res := contract.PipelineResult{PipelineState: contract.PipelineState{PipelineID: "p", Status: contract.PipelineFailed}}
	got, ok := pipelineResultOf(temporal.NewNonRetryableApplicationError("step x failed", contract.ErrTypePipelineStepFailed, nil, res))
	require.True(t, ok)
	require.Equal(t, "p", got.PipelineID)
	got, ok = pipelineResultOf(temporal.NewCanceledError(res))
	require.True(t, ok)
	require.Equal(t, contract.PipelineFailed, got.Status)
	_, ok = pipelineResultOf(errors.New("boom"))
	require.False(t, ok)
}

var pipelineStatusFixture = contract.PipelineState{
	PipelineID: "pipe-1", Name: "demo", Status: contract.PipelineRunning,
	Steps: []contract.StepState{
		{Name: "views", Endpoint: "images/text2img", State: contract.StepSucceeded, TrackID: "pipe-1_views",
			Output: []string{"https://x/0.png", "https://x/1.png"}},
		{Name: "model", Endpoint: "3d/image_to_3d", State: contract.StepRunning, Mapped: true, Items: []contract.ItemState{
			{Index: 0, TrackID: "pipe-1_model_0", State: contract.StepSucceeded, Output: []string{"https://x/0.glb"}},
			{Index: 1, TrackID: "pipe-1_model_1", State: contract.StepFailed, Error: "GenerationFailed: no"},
		}},
		{Name: "caption", Endpoint: "image_editing/caption", State: contract.StepPending},
	},
}

func TestPrintPipelineStatus(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	res := pipelineResultFromState(pipelineStatusFixture)
	printPipelineStatus(&b, PipelineOutput{PipelineID: "pipe-1", Name: "demo", Status: "running", UIURL: "http://ui/x", Result: &res})
	require.Equal(t, `pipeline pipe-1  demo: running
  Temporal UI: http://ui/x
STEP        STATE      TRACK_ID        OUTPUT / ERROR
views       succeeded  pipe-1_views    https://x/0.png https://x/1.png
model       running    -               
  model[0]  succeeded  pipe-1_model_0  https://x/0.glb
  model[1]  failed     pipe-1_model_1  GenerationFailed: no
caption     pending    -               
`, b.String())
	require.Equal(t, map[string][]string{"views": {"https://x/0.png", "https://x/1.png"}}, res.Outputs)
}

func TestStepChangesPrintsEachChangeOnce(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	ch := newPipelineStepChanges(&b, false)
	ch.update(pipelineStatusFixture)
	ch.update(pipelineStatusFixture)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 2, b.String())
	require.Regexp(t, `views\s+succeeded\s+pipe-1_views  2 output\(s\)$`, lines[0])
	require.Regexp(t, `model\s+running\s+2 item\(s\): 1 succeeded, 1 failed  pipe-1_model_0…$`, lines[1])

	quiet := newPipelineStepChanges(&b, true)
	b.Reset()
	quiet.update(pipelineStatusFixture)
	require.Empty(t, b.String())
}

func TestPipelinePriorityFlagGoesToStepsThatSetNone(t *testing.T) {
	t.Parallel()
	file := writePipelineFile(t, "prio.yaml", `priority: 3
steps:
  a:
    endpoint: music_gen
    params: {prompt: x}
  b:
    endpoint: music_gen
    priority: 8
    params: {prompt: y}
`)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	p, err := pipeline.Parse(file, raw)
	require.NoError(t, err)
	prios := func(priority int) map[string]int {
		plan, err := planWithPriority(p, nil, priority)
		require.NoError(t, err)
		got := map[string]int{}
		for _, s := range plan.Steps {
			got[s.Name] = s.Priority
		}
		return got
	}
	require.Equal(t, map[string]int{"a": 3, "b": 8}, prios(0), "without the flag: the file's")
	require.Equal(t, map[string]int{"a": 9, "b": 8}, prios(9), "the flag replaces the file's default, not a step's own")
	require.Equal(t, 3, p.Priority, "the parsed pipeline is left as it was")
}
