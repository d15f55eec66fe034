package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

const planSrc = `
name: demo
inputs:
  subject: {description: who to paint}
  n: {type: integer, default: 2}
  ratio: {type: number, default: 1}
  hd: {type: boolean, default: false}
  styles: {type: list, default: [ink]}
steps:
  animate:
    endpoint: img2video
    continue_on_error: true
    deadline: 1h
    params: {model_id: svd, init_image: "${steps.portrait.output[1]}"}
  portrait:
    endpoint: text2img
    params: {model_id: flux, prompt: "${inputs.subject}", samples: "${inputs.n}"}
  styled:
    endpoint: img2img
    map: ${inputs.styles}
    params: {model_id: flux, init_image: "${steps.portrait.output[0]}", prompt: "${item}"}
`

func parsePlanSrc(t *testing.T) *Pipeline {
	t.Helper()
	p, err := Parse("demo.yaml", src(planSrc))
	require.NoError(t, err)
	return p
}

func TestPlanCompilesInDependencyOrder(t *testing.T) {
	t.Parallel()
	p := parsePlanSrc(t)
	plan, err := p.Plan(map[string]any{"subject": "a fox"})
	require.NoError(t, err)
	require.Equal(t, "demo", plan.Name)
	require.Equal(t, "demo.yaml", plan.Source)
	require.Equal(t, map[string]any{"subject": "a fox", "n": 2, "ratio": 1, "hd": false, "styles": []any{"ink"}}, plan.Inputs)
	require.Equal(t, []contract.PipelineStep{
		{Name: "portrait", Endpoint: "images/text2img",
			Params: map[string]any{"model_id": "flux", "prompt": "${inputs.subject}", "samples": "${inputs.n}"}},
		{Name: "animate", Endpoint: "video/img2video", DependsOn: []string{"portrait"}, ContinueOnError: true, Deadline: time.Hour,
			Params: map[string]any{"model_id": "svd", "init_image": "${steps.portrait.output[1]}"}},
		{Name: "styled", Endpoint: "images/img2img", DependsOn: []string{"portrait"}, Map: "${inputs.styles}",
			Params: map[string]any{"model_id": "flux", "init_image": "${steps.portrait.output[0]}", "prompt": "${item}"}},
	}, plan.Steps)
}

func TestPlanChecksWhatDependsOnInputValues(t *testing.T) {
	t.Parallel()
	p := parsePlanSrc(t)
	// samples: ${inputs.n} was unknown when parsing; with n=1, output[1]
	// cannot exist.
	_, err := p.Plan(map[string]any{"subject": "a fox", "n": 1})
	require.EqualError(t, err,
		`demo.yaml:13:41: steps.animate.params.init_image: ${steps.portrait.output[1]} cannot exist: step "portrait" makes 1 output(s) (samples: 1)`)

	// An empty required parameter given through an input.
	_, err = p.Plan(map[string]any{"subject": "  "})
	require.EqualError(t, err, "demo.yaml:16:5: steps.portrait.params: images/text2img: missing required parameter prompt")

	big := make([]any, MaxMapItems+1)
	for i := range big {
		big[i] = "x"
	}
	_, err = p.Plan(map[string]any{"subject": "a fox", "styles": big})
	require.EqualError(t, err, `demo.yaml:19:10: steps.styled.map: input "styles" has 101 elements; a mapped step runs over at most 100`)
}

func TestValuesReportsEveryInputProblem(t *testing.T) {
	t.Parallel()
	p := parsePlanSrc(t)
	_, err := p.Values(map[string]any{"subjet": "x", "n": "two", "hd": 1})
	var list ErrorList
	require.True(t, errors.As(err, &list))
	require.Equal(t, strings.Join([]string{
		"demo.yaml:3:3: inputs.subject: required: give it with --input subject=VALUE (who to paint)",
		"demo.yaml:4:3: inputs.n: want an integer, found the string \"two\"",
		"demo.yaml:6:3: inputs.hd: want a boolean, found 1",
		`demo.yaml: inputs.subjet: unknown input "subjet" (did you mean "subject"?); the pipeline declares subject, n, ratio, hd, styles`,
	}, "\n"), err.Error())
}

func TestParseInput(t *testing.T) {
	t.Parallel()
	p := parsePlanSrc(t)
	cases := []struct {
		name, text string
		want       any
		err        string
	}{
		{name: "subject", text: " 42 ", want: " 42 "},
		{name: "n", text: "4", want: 4},
		{name: "n", text: "4.5", err: `input n: want an integer, found "4.5"`},
		{name: "ratio", text: "0.75", want: 0.75},
		{name: "ratio", text: "wide", err: `input ratio: want a number, found "wide"`},
		{name: "hd", text: "true", want: true},
		{name: "hd", text: "yes", err: `input hd: want true or false, found "yes"`},
		{name: "styles", text: `["ink, wash", "oil"]`, want: []any{"ink, wash", "oil"}},
		{name: "styles", text: "ink, oil", want: []any{"ink", "oil"}},
		{name: "styles", text: "", want: []any{}},
		{name: "nope", text: "x", err: `unknown input "nope"; the pipeline declares subject, n, ratio, hd, styles`},
	}
	for _, tc := range cases {
		got, err := p.ParseInput(tc.name, tc.text)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, "%s=%s", tc.name, tc.text)
			continue
		}
		require.NoError(t, err, "%s=%s", tc.name, tc.text)
		require.Equal(t, tc.want, got, "%s=%s", tc.name, tc.text)
	}
}

func TestStepSummary(t *testing.T) {
	t.Parallel()
	require.Equal(t, "portrait: images/text2img: a red fox", StepSummary("portrait", -1, "images/text2img",
		map[string]any{"prompt": "  a red\n fox "}))
	require.Equal(t, "model[2]: 3d/image_to_3d", StepSummary("model", 2, "3d/image_to_3d", map[string]any{"image": "x"}))
	long := StepSummary("s", -1, "voice/music_gen", map[string]any{"prompt": strings.Repeat("word ", 40)})
	require.True(t, strings.HasSuffix(long, "…"))
	require.Equal(t, len("s: voice/music_gen: ")+len(strings.TrimSpace(strings.Repeat("word ", 12)))+len("…"), len(long))
}

func TestCheckID(t *testing.T) {
	t.Parallel()
	long := "s" + strings.Repeat("x", 63)
	plan := contract.PipelinePlan{Steps: []contract.PipelineStep{
		{Name: "a"},
		{Name: long, Map: []any{"x"}},
	}}
	// The longest step track_id is <id>_<long>_99: 68 bytes past the ID.
	require.NoError(t, CheckID(strings.Repeat("p", 132), plan))
	require.ErrorContains(t, CheckID(strings.Repeat("p", 133), plan),
		`pipeline ID is 133 bytes; step "`+long+`"'s track_ids add "_`+long+`_99" and would be 201 bytes, past the track_id limit of 200: use a pipeline ID of at most 132 bytes`)
	require.ErrorContains(t, CheckID("ünï-1", plan), `pipeline ID: track_id "ünï-1" holds 'ü' (U+00FC) at byte 1`)
	require.ErrorContains(t, CheckID("p", contract.PipelinePlan{Steps: []contract.PipelineStep{{Name: "ü"}}}), `step "ü": track_id "p_ü" holds 'ü'`)
}
