package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// src trims the leading newline of a raw-string file, so that line 1 is
// the first line written.
func src(s string) []byte { return []byte(strings.TrimPrefix(s, "\n")) }

func TestParseReportsEveryErrorWithFileLineAndField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		file string // default test.yaml
		src  string
		want []string // the errors, in order
	}{
		{
			name: "unknown endpoint",
			src: `
steps:
  portrait:
    endpoint: text2imgg
    params: {model_id: flux, prompt: fox}
`,
			want: []string{`test.yaml:3:15: steps.portrait.endpoint: unknown endpoint "text2imgg" (did you mean "text2img"?); run ` + "`starter endpoints`" + ` for the list`},
		},
		{
			name: "ambiguous endpoint",
			src: `
steps:
  fix:
    endpoint: inpaint
    params: {init_image: x, mask_image: y}
`,
			want: []string{`test.yaml:3:15: steps.fix.endpoint: endpoint "inpaint" is ambiguous: one of images/inpaint, image_editing/inpaint`},
		},
		{
			name: "missing endpoint",
			src: `
steps:
  portrait:
    params: {model_id: flux, prompt: fox}
`,
			want: []string{"test.yaml:2:3: steps.portrait.endpoint: missing: every step names an endpoint (run `starter endpoints` for the list)"},
		},
		{
			name: "missing required parameter",
			src: `
steps:
  animate:
    endpoint: img2video
    params:
      model_id: svd
`,
			want: []string{"test.yaml:4:5: steps.animate.params: video/img2video: missing required parameter init_image"},
		},
		{
			name: "missing every parameter",
			src: `
steps:
  speak:
    endpoint: voice/text_to_speech
`,
			want: []string{"test.yaml:2:3: steps.speak.params: voice/text_to_speech: missing required parameters prompt, voice_id, language"},
		},
		{
			name: "reference to unknown step",
			src: `
steps:
  portrait:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
  animate:
    endpoint: img2video
    params:
      model_id: svd
      init_image: ${steps.portrat.output[0]}
`,
			want: []string{`test.yaml:9:19: steps.animate.params.init_image: reference to unknown step "portrat" (did you mean "portrait"?)`},
		},
		{
			name: "reference to unknown input",
			src: `
inputs:
  subject: {default: fox}
steps:
  portrait:
    endpoint: text2img
    params: {model_id: flux, prompt: "a ${inputs.subjet} in snow"}
`,
			want: []string{`test.yaml:6:38: steps.portrait.params.prompt: reference to unknown input "subjet" (did you mean "subject"?)`},
		},
		{
			name: "output index past a literal samples",
			src: `
steps:
  portrait:
    endpoint: text2img
    params: {model_id: flux, prompt: fox, samples: 2}
  animate:
    endpoint: img2video
    params:
      model_id: svd
      init_image: ${steps.portrait.output[3]}
`,
			want: []string{`test.yaml:9:19: steps.animate.params.init_image: ${steps.portrait.output[3]} cannot exist: step "portrait" makes 2 output(s) (samples: 2)`},
		},
		{
			name: "output index past the default one sample",
			src: `
steps:
  portrait:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
  animate:
    endpoint: img2video
    params: {model_id: svd, init_image: "${steps.portrait.output[1]}"}
`,
			want: []string{`test.yaml:7:41: steps.animate.params.init_image: ${steps.portrait.output[1]} cannot exist: step "portrait" makes 1 output(s) (samples is not set, so 1)`},
		},
		{
			name: "output index past a one-output endpoint",
			src: `
steps:
  song:
    endpoint: music_gen
    params: {prompt: lofi}
  cover:
    endpoint: voice_to_voice
    params: {init_audio: "${steps.song.output[2]}", target_audio: x}
`,
			want: []string{`test.yaml:7:26: steps.cover.params.init_audio: ${steps.song.output[2]} cannot exist: step "song" makes 1 output(s) (voice/music_gen makes one output)`},
		},
		{
			name: "output index past a mapped step",
			src: `
steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: fox, samples: 2}
  big:
    endpoint: super_resolution
    map: ${steps.views.output}
    params: {init_image: "${item}"}
  last:
    endpoint: caption
    params: {init_image: "${steps.big.output[2]}"}
`,
			want: []string{`test.yaml:11:26: steps.last.params.init_image: ${steps.big.output[2]} cannot exist: step "big" makes 2 output(s) (mapped over 2 element(s), 1 output(s) each)`},
		},
		{
			name: "cycle",
			src: `
steps:
  a:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.c.output[0]}"}
  b:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.a.output[0]}"}
  c:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.b.output[0]}"}
  d:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.c.output[0]}"}
`,
			want: []string{`test.yaml:2:3: steps.a: dependency cycle: a → c → b → a`},
		},
		{
			name: "two cycles, one a step referencing itself",
			src: `
steps:
  a:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.a.output[0]}"}
  b:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.c.output[0]}"}
  c:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.b.output[0]}"}
`,
			want: []string{
				`test.yaml:2:3: steps.a: dependency cycle: a → a`,
				`test.yaml:5:3: steps.b: dependency cycle: b → c → b`,
			},
		},
		{
			name: "item outside a mapped step",
			src: `
steps:
  up:
    endpoint: super_resolution
    params: {init_image: "${item}"}
`,
			want: []string{`test.yaml:4:26: steps.up.params.init_image: ${item} is only defined in a step with map`},
		},
		{
			name: "whole output list inside text",
			src: `
steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: fox, samples: 2}
  say:
    endpoint: music_gen
    params: {prompt: "about ${steps.views.output}"}
`,
			want: []string{`test.yaml:7:22: steps.say.params.prompt: ${steps.views.output} is a list, which cannot be part of a longer string; use it as the whole value, or pick one output with [N]`},
		},
		{
			name: "map over one output",
			src: `
steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: fox, samples: 2}
  up:
    endpoint: super_resolution
    map: ${steps.views.output[0]}
    params: {init_image: "${item}"}
`,
			want: []string{`test.yaml:7:10: steps.up.map: ${steps.views.output[0]} is one output, not a list; map over ${steps.views.output}`},
		},
		{
			name: "map over a string input",
			src: `
inputs:
  images: {default: a.png}
steps:
  up:
    endpoint: super_resolution
    map: ${inputs.images}
    params: {init_image: "${item}"}
`,
			want: []string{`test.yaml:6:10: steps.up.map: input "images" is of type string; map needs a list (declare it with type: list)`},
		},
		{
			name: "map over text, an empty list, and item inside map",
			src: `
steps:
  a:
    endpoint: super_resolution
    map: images
    params: {init_image: "${item}"}
  b:
    endpoint: super_resolution
    map: []
    params: {init_image: "${item}"}
  c:
    endpoint: super_resolution
    map: ["${item}"]
    params: {init_image: "${item}"}
`,
			want: []string{
				`test.yaml:4:10: steps.a.map: want one reference to a list, such as ${steps.NAME.output}, or a list; found "images"`,
				`test.yaml:8:10: steps.b.map: the list is empty: the step would do nothing`,
				`test.yaml:12:11: steps.c.map[0]: ${item} cannot be used in map itself`,
			},
		},
		{
			name: "bad reference syntax",
			src: `
steps:
  a:
    endpoint: img2img
    params:
      model_id: flux
      init_image: ${steps.b.outputs}
      prompt: ${foo}
      negative_prompt: "${inputs.x"
      extra: ${steps.b.output[-1]}
  b:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
`,
			want: []string{
				`test.yaml:6:19: steps.a.params.init_image: bad reference ${steps.b.outputs}: a step has no field "outputs", only output; the forms are ${inputs.NAME}, ${steps.NAME.output}, ${steps.NAME.output[N]}, ${item} or ${index}`,
				`test.yaml:7:15: steps.a.params.prompt: bad reference ${foo}: unknown root; the forms are ${inputs.NAME}, ${steps.NAME.output}, ${steps.NAME.output[N]}, ${item} or ${index}`,
				`test.yaml:8:24: steps.a.params.negative_prompt: unterminated reference "${inputs.x": a reference is ${...}; write $${ for a literal ${`,
				`test.yaml:9:14: steps.a.params.extra: bad reference ${steps.b.output[-1]}: output index "-1" is not a number from 0; the forms are ${inputs.NAME}, ${steps.NAME.output}, ${steps.NAME.output[N]}, ${item} or ${index}`,
			},
		},
		{
			name: "unknown fields and bad values",
			src: `
name: x
version: 2
steps:
  a:
    endpoint: text2img
    continue_on_eror: true
    deadline: soon
    params: {model_id: flux, prompt: fox}
  b:
    endpoint: text2img
    continue_on_error: "yes"
    params: {model_id: flux, prompt: fox, track_id: mine}
`,
			want: []string{
				`test.yaml:2:1: version: unknown field "version"; a pipeline has name, description, priority, inputs and steps`,
				`test.yaml:6:5: steps.a.continue_on_eror: unknown field "continue_on_eror"; a step has endpoint, params, map, continue_on_error, deadline, priority, description (did you mean "continue_on_error"?)`,
				`test.yaml:7:15: steps.a.deadline: want a positive duration such as 30m or 2h, found "soon"`,
				`test.yaml:11:24: steps.b.continue_on_error: want true or false, found "yes"`,
				`test.yaml:12:53: steps.b.params.track_id: track_id is set by genflow for every generation; remove it`,
			},
		},
		{
			name: "bad priorities",
			src: `
priority: 12
steps:
  a:
    endpoint: text2img
    priority: 0
    params: {model_id: flux, prompt: fox}
  b:
    endpoint: text2img
    priority: high
    params: {model_id: flux, prompt: fox}
  c:
    endpoint: text2img
    priority: 2.5
    params: {model_id: flux, prompt: fox}
`,
			want: []string{
				`test.yaml:1:11: priority: want an integer from 1 (lowest; batch items' default) to 9 (highest), found "12"; steps default to 5`,
				`test.yaml:5:15: steps.a.priority: want an integer from 1 (lowest; batch items' default) to 9 (highest), found "0"; steps default to 5`,
				`test.yaml:9:15: steps.b.priority: want an integer from 1 (lowest; batch items' default) to 9 (highest), found "high"; steps default to 5`,
				`test.yaml:13:15: steps.c.priority: want an integer from 1 (lowest; batch items' default) to 9 (highest), found "2.5"; steps default to 5`,
			},
		},
		{
			name: "names and duplicates",
			src: `
inputs:
  my.input: {}
  n: {type: integer, default: four}
  k: {type: float}
steps:
  bad.step:
    endpoint: text2img
  a:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
  a:
    endpoint: text2img
`,
			want: []string{
				`test.yaml:2:3: inputs.my.input: bad input name "my.input": holds '.' at byte 3; a name is a letter, then letters, digits, _ or -, at most 64 bytes`,
				`test.yaml:3:31: inputs.n.default: want an integer, found the string "four"`,
				`test.yaml:4:13: inputs.k.type: unknown type "float"; one of string, integer, number, boolean, list`,
				`test.yaml:6:3: steps.bad.step: bad step name "bad.step": holds '.' at byte 4; a name is a letter, then letters, digits, _ or -, at most 64 bytes (it becomes part of track_ids)`,
				`test.yaml:11:3: steps.a: "a" is defined twice`,
			},
		},
		{
			name: "no steps",
			src: `
name: empty
inputs: {}
`,
			want: []string{`test.yaml:1:1: steps: missing: a pipeline needs at least one step`},
		},
		{
			name: "not a mapping",
			src:  "- a\n- b\n",
			want: []string{`test.yaml:1:1: a pipeline file is a mapping with name, inputs and steps; found a list`},
		},
		{
			name: "empty file",
			src:  "# nothing\n",
			want: []string{`test.yaml: the file is empty; a pipeline has at least steps:`},
		},
		{
			name: "YAML syntax error",
			src: `
steps:
  a:
    endpoint: text2img
   params: {}
`,
			want: []string{`test.yaml:4:4: invalid YAML: value is not allowed in this context`},
		},
		{
			name: "YAML tab indentation",
			src:  "steps:\n\ta: {}\n",
			want: []string{`test.yaml:2:1: invalid YAML: found character '\t' that cannot start any token`},
		},
		{
			name: "JSON syntax error",
			file: "test.json",
			src: `
{
  "steps": {
    "a": {"endpoint": "text2img",}
  }
}
`,
			want: []string{`test.json:3:34: invalid JSON: invalid character '}' looking for beginning of object key string`},
		},
		{
			name: "truncated JSON",
			file: "test.json",
			src:  "{\n  \"steps\": {\n",
			want: []string{`test.json:3:1: invalid JSON: unexpected EOF`},
		},
		{
			name: "errors in a JSON file carry lines",
			file: "test.json",
			src: `
{
  "steps": {
    "portrait": {"endpoint": "text2img", "params": {"model_id": "flux", "prompt": "fox"}},
    "animate": {
      "endpoint": "img2video",
      "params": {"model_id": "svd", "init_image": "${steps.portrat.output[0]}"}
    }
  }
}
`,
			want: []string{`test.json:6:51: steps.animate.params.init_image: reference to unknown step "portrat" (did you mean "portrait"?)`},
		},
		{
			name: "every error at once",
			src: `
steps:
  portrait:
    endpoint: text2imgg
    params: {model_id: flux, prompt: "${inputs.nope}"}
  animate:
    endpoint: img2video
    params: {init_image: "${steps.portrat.output[0]}"}
`,
			want: []string{
				`test.yaml:3:15: steps.portrait.endpoint: unknown endpoint "text2imgg" (did you mean "text2img"?); run ` + "`starter endpoints`" + ` for the list`,
				`test.yaml:4:38: steps.portrait.params.prompt: reference to unknown input "nope"`,
				`test.yaml:7:26: steps.animate.params.init_image: reference to unknown step "portrat" (did you mean "portrait"?)`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := tc.file
			if file == "" {
				file = "test.yaml"
			}
			p, err := Parse(file, src(tc.src))
			require.Error(t, err)
			require.Nil(t, p)
			var list ErrorList
			require.True(t, errors.As(err, &list), "want an ErrorList, got %T", err)
			got := make([]string, len(list))
			for i, e := range list {
				got[i] = e.Error()
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseValidPipelines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		src    string
		order  []string
		levels [][]string
		deps   map[string][]string
	}{
		{
			name: "file order does not matter",
			src: `
steps:
  animate:
    endpoint: img2video
    params: {model_id: svd, init_image: "${steps.portrait.output[0]}"}
  portrait:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
`,
			order:  []string{"portrait", "animate"},
			levels: [][]string{{"portrait"}, {"animate"}},
			deps:   map[string][]string{"animate": {"portrait"}},
		},
		{
			name: "diamond with parallel levels",
			src: `
steps:
  final:
    endpoint: voice_to_voice
    params: {init_audio: "${steps.voice.output[0]}", target_audio: "${steps.music.output[0]}"}
  music:
    endpoint: music_gen
    params: {prompt: "${steps.script_image.output[0]}"}
  voice:
    endpoint: text_to_speech
    params: {prompt: "${steps.script_image.output[0]}", voice_id: madison, language: american english}
  script_image:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
  cover:
    endpoint: text2img
    params: {model_id: flux, prompt: cover}
`,
			order:  []string{"script_image", "music", "voice", "final", "cover"},
			levels: [][]string{{"script_image", "cover"}, {"music", "voice"}, {"final"}},
			deps:   map[string][]string{"final": {"music", "voice"}, "music": {"script_image"}, "voice": {"script_image"}},
		},
		{
			name: "map, item, index and literal lists",
			src: `
inputs:
  styles: {type: list, default: [ink, oil]}
steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: fox, samples: 4}
  models:
    endpoint: image_to_3d
    map: ${steps.views.output}
    params: {image: "${item}", seed: "${index}"}
  styled:
    endpoint: img2img
    map: ${inputs.styles}
    params: {model_id: flux, init_image: "${steps.views.output[3]}", prompt: "in ${item}, take ${index}"}
  last:
    endpoint: caption
    params: {init_image: "${steps.models.output[3]}"}
`,
			order:  []string{"views", "models", "styled", "last"},
			levels: [][]string{{"views"}, {"models", "styled"}, {"last"}},
			deps:   map[string][]string{"models": {"views"}, "styled": {"views"}, "last": {"models"}},
		},
		{
			name: "output index allowed when samples is an input",
			src: `
inputs:
  n: {type: integer, default: 1}
steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: fox, samples: "${inputs.n}"}
  pick:
    endpoint: img2img
    params: {model_id: flux, init_image: "${steps.views.output[3]}"}
`,
			order:  []string{"views", "pick"},
			levels: [][]string{{"views"}, {"pick"}},
			deps:   map[string][]string{"pick": {"views"}},
		},
		{
			name: "required parameters given by references, literal $${",
			src: `
inputs:
  model: {}
  image: {}
steps:
  edit:
    endpoint: img2img
    params: {model_id: "${inputs.model}", init_image: "${inputs.image}", prompt: "costs $${price}"}
`,
			order:  []string{"edit"},
			levels: [][]string{{"edit"}},
			deps:   map[string][]string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("ok.yaml", src(tc.src))
			require.NoError(t, err)
			var order []string
			for _, s := range p.Steps {
				order = append(order, s.Name)
				require.Equal(t, tc.deps[s.Name], s.DependsOn, "deps of %s", s.Name)
			}
			require.Equal(t, tc.order, order)
			require.Equal(t, tc.levels, p.Levels())
		})
	}
}

func TestParseDefaultsAndTypes(t *testing.T) {
	t.Parallel()
	p, err := Parse("dir/portrait.yml", src(`
description: d
inputs:
  subject:
    description: who
  n: {default: 2}
  scale: {default: 1.5}
  hd: {default: true}
  tags: {default: [a, b]}
  when: {default: 2024-01-02}
  anchors: {default: &x hello}
steps:
  a:
    endpoint: images/text2img
    deadline: 45m
    continue_on_error: true
    description: first
    params:
      model_id: *x
      prompt: p
      date: 2024-01-02
      nested: {list: [1, 2.5, true, null, "${inputs.subject}"]}
`))
	require.NoError(t, err)
	require.Equal(t, "portrait", p.Name, "name defaults to the file's")
	types := map[string]InputType{}
	for _, in := range p.Inputs {
		types[in.Name] = in.Type
	}
	require.Equal(t, map[string]InputType{"subject": TypeString, "n": TypeInteger, "scale": TypeNumber,
		"hd": TypeBoolean, "tags": TypeList, "when": TypeString, "anchors": TypeString}, types)
	require.True(t, p.Input("subject").Required())
	require.False(t, p.Input("n").Required())
	require.Equal(t, "2024-01-02", p.Input("when").Default, "timestamps stay text")
	s := p.Step("a")
	require.Equal(t, "images/text2img", s.Endpoint)
	require.True(t, s.ContinueOnError)
	require.Equal(t, "45m0s", s.Deadline.String())
	require.Equal(t, map[string]any{
		"model_id": "hello", "prompt": "p", "date": "2024-01-02",
		"nested": map[string]any{"list": []any{1, 2.5, true, nil, "${inputs.subject}"}},
	}, s.Params())
}

// TestParsePriorities: a step's priority wins, then the pipeline's, and a
// plan without either leaves it zero (interactive).
func TestParsePriorities(t *testing.T) {
	t.Parallel()
	const steps = `
steps:
  a:
    endpoint: text2img
    priority: 8
    params: {model_id: flux, prompt: fox}
  b:
    endpoint: text2img
    params: {model_id: flux, prompt: fox}
`
	for _, tc := range []struct {
		name string
		top  string
		want map[string]int
	}{
		{"no pipeline priority", "", map[string]int{"a": 8, "b": 0}},
		{"pipeline priority 2", "priority: 2\n", map[string]int{"a": 8, "b": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("test.yaml", src(tc.top+steps))
			require.NoError(t, err)
			plan, err := p.Plan(nil)
			require.NoError(t, err)
			got := map[string]int{}
			for _, s := range plan.Steps {
				got[s.Name] = s.Priority
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestExamplesAreValid(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "examples", "*"))
	require.NoError(t, err)
	var n int
	for _, f := range files {
		if ext := filepath.Ext(f); ext != ".yaml" && ext != ".yml" && ext != ".json" {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := ParseFile(f)
			require.NoError(t, err)
			_, err = p.Plan(nil)
			require.NoError(t, err, "every example runs with its defaults")
		})
	}
	require.GreaterOrEqual(t, n, 3)
}

func TestParseFileThatDoesNotExist(t *testing.T) {
	t.Parallel()
	_, err := ParseFile(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "nope.yaml: open ")
	require.True(t, errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "no such file"))
}

func TestTooManySteps(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("steps:\n")
	for i := 0; i <= MaxSteps; i++ {
		b.WriteString("  s" + strings.Repeat("x", i) + ":\n    endpoint: music_gen\n    params: {prompt: p}\n")
	}
	_, err := Parse("big.yaml", []byte(b.String()))
	require.ErrorContains(t, err, "steps: 51 steps; a pipeline has at most 50")
}
