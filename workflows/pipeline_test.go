package workflows

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/pipeline"
)

const testPipelineID = "pipe-1"

// genOutcome scripts one fake generation.
type genOutcome struct {
	delay  time.Duration // default 1s
	output []string      // default one URL per sample
	fail   string        // provider message of a GenerationFailed error
}

// fakePipelineGenerations stands in for the Generation child workflow: it
// records what it was asked and when, and ends as scripted per track_id.
type fakePipelineGenerations struct {
	script map[string]genOutcome

	mu       sync.Mutex
	inputs   map[string]contract.GenerationInput
	started  map[string]time.Time
	ended    map[string]time.Time
	canceled map[string]bool
}

func newFakePipelineGenerations(script map[string]genOutcome) *fakePipelineGenerations {
	return &fakePipelineGenerations{script: script, inputs: map[string]contract.GenerationInput{},
		started: map[string]time.Time{}, ended: map[string]time.Time{}, canceled: map[string]bool{}}
}

func (f *fakePipelineGenerations) Generation(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	f.mu.Lock()
	f.inputs[id] = in
	f.started[id] = workflow.Now(ctx)
	o := f.script[strings.TrimPrefix(id, testPipelineID+"_")]
	f.mu.Unlock()
	if o.delay == 0 {
		o.delay = time.Second
	}
	if o.output == nil {
		n := 1
		if s, ok := in.Params["samples"].(float64); ok {
			n = int(s)
		}
		for k := range n {
			o.output = append(o.output, fmt.Sprintf("https://cdn.test/%s-%d.png", id, k))
		}
	}
	err := workflow.Sleep(ctx, o.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended[id] = workflow.Now(ctx)
	if err != nil {
		f.canceled[id] = true
		return contract.GenerationResult{}, temporal.NewCanceledError()
	}
	if o.fail != "" {
		return contract.GenerationResult{}, temporal.NewNonRetryableApplicationError(o.fail, contract.ErrTypeGenerationFailed, nil)
	}
	res := contract.GenerationResult{TrackID: id, Endpoint: in.Endpoint, Output: o.output}
	if in.Store {
		for _, out := range o.output {
			res.Stored = append(res.Stored, contract.StoredOutput{Output: out, Location: "file:///outputs/" + id})
		}
	}
	return res, nil
}

func (f *fakePipelineGenerations) input(t *testing.T, id string) contract.GenerationInput {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.inputs[id]
	require.True(t, ok, "no generation %s", id)
	return in
}

func (f *fakePipelineGenerations) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.inputs {
		out = append(out, id)
	}
	return out
}

func (f *fakePipelineGenerations) times(id string) (start, end time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started[id], f.ended[id]
}

func newPipelineEnv(t *testing.T, fake *fakePipelineGenerations) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Pipeline, workflowOptions(contract.PipelineWorkflow))
	env.RegisterWorkflowWithOptions(fake.Generation, workflow.RegisterOptions{Name: contract.GenerationWorkflow})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testPipelineID})
	env.SetTestTimeout(30 * time.Second)
	return env
}

// compilePipeline parses a pipeline file and compiles it with inputs.
func compilePipeline(t *testing.T, src string, inputs map[string]any) contract.PipelinePlan {
	t.Helper()
	p, err := pipeline.Parse("test.yaml", []byte(src))
	require.NoError(t, err)
	pl, err := p.Plan(inputs)
	require.NoError(t, err)
	return pl
}

func pipelineResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.PipelineResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res contract.PipelineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func pipelineStep(t *testing.T, st contract.PipelineState, name string) contract.StepState {
	t.Helper()
	s, ok := st.Step(name)
	require.True(t, ok, "no step %s", name)
	return s
}

const pipelinePortraitToVideo = `
name: portrait-to-video
inputs:
  subject: {default: a lighthouse keeper}
steps:
  animate:
    endpoint: img2video
    params:
      model_id: svd
      init_image: ${steps.portrait.output[0]}
      prompt: ${inputs.subject} smiles
  portrait:
    endpoint: text2img
    params: {model_id: flux, prompt: "portrait of ${inputs.subject}", samples: 2}
`

func TestPipelineRunsStepsInDependencyOrder(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(map[string]genOutcome{"portrait": {delay: 5 * time.Second}})
	env := newPipelineEnv(t, fake)

	env.ExecuteWorkflow(Pipeline, compilePipeline(t, pipelinePortraitToVideo, nil))

	res := pipelineResult(t, env)
	require.Equal(t, contract.PipelineSucceeded, res.Status)
	portrait := "https://cdn.test/pipe-1_portrait-0.png"
	require.Equal(t, []string{portrait, "https://cdn.test/pipe-1_portrait-1.png"}, res.Outputs["portrait"])
	require.Equal(t, []string{"https://cdn.test/pipe-1_animate-0.png"}, res.Outputs["animate"])
	require.Empty(t, res.Failed)

	// References resolved: a whole reference keeps its value, one inside
	// text is interpolated.
	in := fake.input(t, "pipe-1_animate")
	require.Equal(t, "video/img2video", in.Endpoint)
	require.Equal(t, portrait, in.Params["init_image"])
	require.Equal(t, "a lighthouse keeper smiles", in.Params["prompt"])
	require.Equal(t, "portrait of a lighthouse keeper", fake.input(t, "pipe-1_portrait").Params["prompt"])

	_, portraitEnd := fake.times("pipe-1_portrait")
	animateStart, _ := fake.times("pipe-1_animate")
	require.False(t, animateStart.Before(portraitEnd), "animate started before portrait ended")

	require.Equal(t, "pipe-1_portrait", pipelineStep(t, res.PipelineState, "portrait").TrackID)
	animate := pipelineStep(t, res.PipelineState, "animate")
	require.Equal(t, contract.StepSucceeded, animate.State)
	require.Equal(t, []string{"portrait"}, animate.DependsOn)
	require.Equal(t, "portrait", res.Steps[0].Name, "steps are in dependency order")
	require.ElementsMatch(t, []string{"pipe-1_portrait", "pipe-1_animate"}, fake.ids())
}

func TestPipelineRunsIndependentStepsInParallel(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(map[string]genOutcome{
		"voice": {delay: 10 * time.Second},
		"music": {delay: 10 * time.Second},
	})
	env := newPipelineEnv(t, fake)
	src := `
inputs:
  script: {}
steps:
  voice:
    endpoint: text_to_speech
    params: {prompt: "${inputs.script}", voice_id: madison, language: american english}
  music:
    endpoint: music_gen
    params: {prompt: "calm music for: ${inputs.script}"}
  mix:
    endpoint: voice_to_voice
    params: {init_audio: "${steps.voice.output[0]}", target_audio: "${steps.music.output[0]}"}
`
	var mid contract.PipelineState
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(contract.PipelineStateQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	}, 5*time.Second)

	env.ExecuteWorkflow(Pipeline, compilePipeline(t, src, map[string]any{"script": "Hello."}))

	res := pipelineResult(t, env)
	voiceStart, voiceEnd := fake.times("pipe-1_voice")
	musicStart, musicEnd := fake.times("pipe-1_music")
	require.Equal(t, voiceStart, musicStart, "independent steps start together")
	mixStart, _ := fake.times("pipe-1_mix")
	require.False(t, mixStart.Before(voiceEnd) || mixStart.Before(musicEnd))
	require.Equal(t, []string{"voice", "music"}, pipelineStep(t, res.PipelineState, "mix").DependsOn)
	require.Equal(t, "calm music for: Hello.", fake.input(t, "pipe-1_music").Params["prompt"])

	// Half-way, both ran and the third waited.
	require.Equal(t, contract.PipelineRunning, mid.Status)
	require.Equal(t, contract.StepRunning, pipelineStep(t, mid, "voice").State)
	require.Equal(t, contract.StepRunning, pipelineStep(t, mid, "music").State)
	require.Equal(t, contract.StepPending, pipelineStep(t, mid, "mix").State)
	require.Equal(t, "pipe-1_voice", pipelineStep(t, mid, "voice").TrackID)
}

const pipelineFourViews = `
steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: a teapot, samples: 4}
  model:
    endpoint: image_to_3d
    map: ${steps.views.output}
    params: {image: "${item}", output_format: glb, label: "view ${index}"}
`

func TestPipelineMapsOverAList(t *testing.T) {
	t.Parallel()
	// Items finish in reverse order; outputs stay in list order.
	fake := newFakePipelineGenerations(map[string]genOutcome{
		"model_0": {delay: 8 * time.Second}, "model_1": {delay: 6 * time.Second},
		"model_2": {delay: 4 * time.Second}, "model_3": {delay: 2 * time.Second},
	})
	env := newPipelineEnv(t, fake)

	env.ExecuteWorkflow(Pipeline, compilePipeline(t, pipelineFourViews, nil))

	res := pipelineResult(t, env)
	model := pipelineStep(t, res.PipelineState, "model")
	require.True(t, model.Mapped)
	require.Len(t, model.Items, 4)
	var want []string
	for j := range 4 {
		id := fmt.Sprintf("pipe-1_model_%d", j)
		in := fake.input(t, id)
		require.Equal(t, fmt.Sprintf("https://cdn.test/pipe-1_views-%d.png", j), in.Params["image"])
		require.Equal(t, fmt.Sprintf("view %d", j), in.Params["label"])
		it := model.Items[j]
		require.Equal(t, j, it.Index)
		require.Equal(t, id, it.TrackID)
		require.Equal(t, contract.StepSucceeded, it.State)
		require.Equal(t, []string{fmt.Sprintf("https://cdn.test/%s-0.png", id)}, it.Output)
		want = append(want, it.Output...)
	}
	require.Equal(t, want, res.Outputs["model"])
	// All four ran in parallel.
	first, _ := fake.times("pipe-1_model_0")
	last, _ := fake.times("pipe-1_model_3")
	require.Equal(t, first, last)
}

func TestPipelineMapOverEmptyListSucceedsWithNoOutputs(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(nil)
	env := newPipelineEnv(t, fake)
	src := `
inputs:
  images: {type: list}
steps:
  upscale:
    endpoint: super_resolution
    map: ${inputs.images}
    params: {init_image: "${item}"}
`
	env.ExecuteWorkflow(Pipeline, compilePipeline(t, src, map[string]any{"images": []any{}}))

	res := pipelineResult(t, env)
	require.Equal(t, contract.PipelineSucceeded, res.Status)
	require.Equal(t, []string{}, res.Outputs["upscale"])
	require.Empty(t, fake.ids())
}

func TestPipelineStepFailureFailsThePipelineAndCancelsTheRest(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(map[string]genOutcome{
		"portrait": {delay: 2 * time.Second, fail: "Processing failed: Invalid input dimensions"},
		"music":    {delay: time.Hour},
	})
	env := newPipelineEnv(t, fake)
	src := pipelinePortraitToVideo + `
  music:
    endpoint: music_gen
    params: {prompt: a slow waltz}
`
	env.ExecuteWorkflow(Pipeline, compilePipeline(t, src, nil))

	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	require.Equal(t, contract.ErrTypePipelineStepFailed, appErr.Type())
	require.Equal(t, `step "portrait" failed: GenerationFailed: Processing failed: Invalid input dimensions`, appErr.Message())
	require.True(t, appErr.NonRetryable())

	var res contract.PipelineResult
	require.NoError(t, appErr.Details(&res))
	require.Equal(t, contract.PipelineFailed, res.Status)
	require.Equal(t, contract.StepFailed, pipelineStep(t, res.PipelineState, "portrait").State)
	require.Equal(t, "GenerationFailed: Processing failed: Invalid input dimensions", res.Failed["portrait"])
	require.Equal(t, contract.StepSkipped, pipelineStep(t, res.PipelineState, "animate").State)
	music := pipelineStep(t, res.PipelineState, "music")
	require.Equal(t, contract.StepCanceled, music.State)
	require.Equal(t, `canceled: step "portrait" failed`, music.Error)

	// The hour-long step was cancelled when portrait failed, not waited for.
	require.True(t, fake.canceled["pipe-1_music"])
	start, end := fake.times("pipe-1_music")
	require.Equal(t, 2*time.Second, end.Sub(start))
	require.NotContains(t, fake.ids(), "pipe-1_animate")
}

func TestPipelineMappedItemFailureCancelsTheOtherItems(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(map[string]genOutcome{
		"model_0": {delay: time.Hour}, "model_1": {delay: 3 * time.Second, fail: "out of GPUs"},
		"model_2": {delay: time.Hour}, "model_3": {delay: time.Second},
	})
	env := newPipelineEnv(t, fake)

	env.ExecuteWorkflow(Pipeline, compilePipeline(t, pipelineFourViews, nil))

	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, contract.ErrTypePipelineStepFailed, appErr.Type())
	require.Equal(t, `step "model" failed: item 1 (pipe-1_model_1): GenerationFailed: out of GPUs`, appErr.Message())
	var res contract.PipelineResult
	require.NoError(t, appErr.Details(&res))
	model := pipelineStep(t, res.PipelineState, "model")
	require.Equal(t, contract.StepFailed, model.State)
	require.Equal(t, contract.StepCanceled, model.Items[0].State)
	require.Equal(t, contract.StepFailed, model.Items[1].State)
	require.Equal(t, contract.StepCanceled, model.Items[2].State)
	require.Equal(t, contract.StepSucceeded, model.Items[3].State)
	require.True(t, fake.canceled["pipe-1_model_0"])
	require.True(t, fake.canceled["pipe-1_model_2"])
}

func TestPipelineContinueOnErrorSkipsOnlyDependents(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(map[string]genOutcome{
		"music": {fail: "Processing failed"},
		"voice": {delay: 5 * time.Second},
	})
	env := newPipelineEnv(t, fake)
	src := `
steps:
  voice:
    endpoint: text_to_speech
    params: {prompt: Hello, voice_id: madison, language: american english}
  music:
    endpoint: music_gen
    continue_on_error: true
    params: {prompt: lofi}
  remix:
    endpoint: voice_to_voice
    params: {init_audio: "${steps.music.output[0]}", target_audio: "${steps.voice.output[0]}"}
  master:
    endpoint: voice_to_voice
    params: {init_audio: "${steps.remix.output[0]}", target_audio: "${steps.voice.output[0]}"}
  cover:
    endpoint: text2img
    params: {model_id: flux, prompt: an album cover}
`
	env.ExecuteWorkflow(Pipeline, compilePipeline(t, src, nil))

	res := pipelineResult(t, env)
	require.Equal(t, contract.PipelinePartial, res.Status)
	require.Equal(t, map[string]string{"music": "GenerationFailed: Processing failed"}, res.Failed)
	require.Equal(t, contract.StepSucceeded, pipelineStep(t, res.PipelineState, "voice").State)
	require.Equal(t, contract.StepSucceeded, pipelineStep(t, res.PipelineState, "cover").State)
	remix := pipelineStep(t, res.PipelineState, "remix")
	require.Equal(t, contract.StepSkipped, remix.State)
	require.Equal(t, `skipped: step "music" failed`, remix.Error)
	master := pipelineStep(t, res.PipelineState, "master")
	require.Equal(t, contract.StepSkipped, master.State)
	require.Equal(t, `skipped: step "remix" skipped`, master.Error)
	require.NotNil(t, res.Outputs["voice"])
	require.NotContains(t, res.Outputs, "music")
	require.NotContains(t, res.Outputs, "remix")
	require.NotContains(t, fake.ids(), "pipe-1_remix")
}

func TestPipelineCancelCancelsRunningSteps(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(map[string]genOutcome{
		"model_0": {delay: time.Hour}, "model_1": {delay: time.Hour},
		"model_2": {delay: time.Hour}, "model_3": {delay: time.Second},
	})
	env := newPipelineEnv(t, fake)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
	src := pipelineFourViews + `
  describe:
    endpoint: caption
    params: {init_image: "${steps.model.output[0]}"}
`
	env.ExecuteWorkflow(Pipeline, compilePipeline(t, src, nil))

	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var canceled *temporal.CanceledError
	require.True(t, errors.As(err, &canceled), "want a cancellation, got %v", err)
	var res contract.PipelineResult
	require.NoError(t, canceled.Details(&res))
	require.Equal(t, contract.PipelineCanceled, res.Status)
	require.Equal(t, contract.StepSucceeded, pipelineStep(t, res.PipelineState, "views").State)
	model := pipelineStep(t, res.PipelineState, "model")
	require.Equal(t, contract.StepCanceled, model.State)
	require.Equal(t, "canceled: the pipeline was canceled", model.Error)
	require.Equal(t, contract.StepSucceeded, model.Items[3].State)
	require.Equal(t, contract.StepSkipped, pipelineStep(t, res.PipelineState, "describe").State)
	for _, j := range []int{0, 1, 2} {
		id := fmt.Sprintf("pipe-1_model_%d", j)
		require.True(t, fake.canceled[id], "%s not cancelled", id)
		_, end := fake.times(id)
		start, _ := fake.times("pipe-1_views")
		require.Less(t, end.Sub(start), time.Minute)
	}

	// The live state says so too.
	v, err := env.QueryWorkflow(contract.PipelineStateQuery)
	require.NoError(t, err)
	var st contract.PipelineState
	require.NoError(t, v.Get(&st))
	require.Equal(t, contract.PipelineCanceled, st.Status)
}

func TestPipelineOutputIndexPastWhatAStepMadeFailsTheStep(t *testing.T) {
	t.Parallel()
	// The provider made fewer outputs than asked for: the index passed
	// validation but cannot be resolved.
	fake := newFakePipelineGenerations(map[string]genOutcome{"views": {output: []string{"https://cdn.test/only.png"}}})
	env := newPipelineEnv(t, fake)
	src := `
steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: a teapot, samples: 4}
  pick:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.views.output[3]}"}
`
	env.ExecuteWorkflow(Pipeline, compilePipeline(t, src, nil))

	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, contract.ErrTypePipelineStepFailed, appErr.Type())
	require.Equal(t, `step "pick" failed: params: init_image: ${steps.views.output[3]}: step "views" made 1 output(s), so output[3] does not exist`,
		appErr.Message())
	require.NotContains(t, fake.ids(), "pipe-1_pick")
}

func TestPipelineRejectsAnInvalidPlan(t *testing.T) {
	t.Parallel()
	env := newPipelineEnv(t, newFakePipelineGenerations(nil))
	env.ExecuteWorkflow(Pipeline, contract.PipelinePlan{Name: "bad", Steps: []contract.PipelineStep{
		{Name: "b", Endpoint: "text2img", DependsOn: []string{"a"}},
		{Name: "a", Endpoint: "no-such-endpoint"},
	}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, contract.ErrTypeInvalidInput, appErr.Type())
	require.Contains(t, appErr.Message(), `step "b" depends on "a", which does not come before it`)
	require.Contains(t, appErr.Message(), `unknown endpoint "no-such-endpoint"`)
}

func TestPipelineCapsGenerationsInFlightAcrossSteps(t *testing.T) {
	t.Parallel()
	const src = `
steps:
  left:
    endpoint: text2img
    map: [a, b, c, d]
    params: {model_id: flux, prompt: "left ${item}"}
  right:
    endpoint: text2img
    map: [e, f, g, h]
    params: {model_id: flux, prompt: "right ${item}"}
`
	script := map[string]genOutcome{}
	for j := range 4 {
		script[fmt.Sprintf("left_%d", j)] = genOutcome{delay: time.Duration(j+1) * time.Second}
		script[fmt.Sprintf("right_%d", j)] = genOutcome{delay: time.Duration(4-j) * time.Second}
	}
	fake := newFakePipelineGenerations(script)
	env := newPipelineEnv(t, fake)
	plan := compilePipeline(t, src, nil)
	plan.MaxRunning = 3

	env.ExecuteWorkflow(Pipeline, plan)

	res := pipelineResult(t, env)
	require.Len(t, res.Outputs["left"], 4)
	require.Len(t, res.Outputs["right"], 4)
	ids := fake.ids()
	require.Len(t, ids, 8)
	// The most generations alive at any start instant.
	peak := 0
	for _, id := range ids {
		at, _ := fake.times(id)
		alive := 0
		for _, other := range ids {
			s, e := fake.times(other)
			if !s.After(at) && e.After(at) {
				alive++
			}
		}
		peak = max(peak, alive)
	}
	require.Equal(t, 3, peak, "generations in flight across both steps")
}

func TestPipelineCancelWhileItemsWaitForASlot(t *testing.T) {
	t.Parallel()
	const src = `
steps:
  left:
    endpoint: text2img
    map: [a, b, c]
    params: {model_id: flux, prompt: "left ${item}"}
  right:
    endpoint: text2img
    map: [d, e, f]
    params: {model_id: flux, prompt: "right ${item}"}
`
	script := map[string]genOutcome{}
	for j := range 3 {
		script[fmt.Sprintf("left_%d", j)] = genOutcome{delay: time.Hour}
		script[fmt.Sprintf("right_%d", j)] = genOutcome{delay: time.Hour}
	}
	fake := newFakePipelineGenerations(script)
	env := newPipelineEnv(t, fake)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
	plan := compilePipeline(t, src, nil)
	plan.MaxRunning = 2

	env.ExecuteWorkflow(Pipeline, plan)

	require.True(t, env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	require.True(t, errors.As(env.GetWorkflowError(), &canceled), "got %v", env.GetWorkflowError())
	var res contract.PipelineResult
	require.NoError(t, canceled.Details(&res))
	require.Equal(t, contract.PipelineCanceled, res.Status)
	// Two started (the cap), both cancelled; the other four never started.
	require.Len(t, fake.ids(), 2)
	for _, id := range fake.ids() {
		require.True(t, fake.canceled[id], id)
	}
	for _, name := range []string{"left", "right"} {
		require.Equal(t, contract.StepCanceled, pipelineStep(t, res.PipelineState, name).State)
	}
}

// TestPipelineStepPriority: a step's priority reaches its generations
// (every item of a mapped step); a step without one asks for nothing
// (zero: the Generation takes PriorityInteractive).
func TestPipelineStepPriority(t *testing.T) {
	t.Parallel()
	fake := newFakePipelineGenerations(nil)
	env := newPipelineEnv(t, fake)
	env.ExecuteWorkflow(Pipeline, compilePipeline(t, `
steps:
  first:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
  views:
    endpoint: text2img
    priority: 8
    map: [a, b]
    params: {model_id: flux, prompt: "${item}"}
`, nil))
	pipelineResult(t, env)
	require.Equal(t, 0, fake.input(t, "pipe-1_first").Priority)
	require.Equal(t, 8, fake.input(t, "pipe-1_views_0").Priority)
	require.Equal(t, 8, fake.input(t, "pipe-1_views_1").Priority)
}
