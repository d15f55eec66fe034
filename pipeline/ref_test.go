package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	scope := Scope{
		Inputs:  map[string]any{"subject": "a fox", "n": 3, "hd": true, "ratio": 1.5, "tags": []any{"a", "b"}},
		Outputs: map[string][]string{"portrait": {"https://x/0.png", "https://x/1.png"}},
	}
	mapped := scope
	mapped.Mapped, mapped.Item, mapped.Index = true, "https://x/1.png", 1
	cases := []struct {
		name  string
		tmpl  any
		scope Scope
		want  any
		err   string
	}{
		{name: "plain text", tmpl: "no refs", scope: scope, want: "no refs"},
		{name: "non-strings pass", tmpl: 512, scope: scope, want: 512},
		{name: "whole input keeps its type", tmpl: "${inputs.n}", scope: scope, want: 3},
		{name: "whole list input stays a list", tmpl: "${inputs.tags}", scope: scope, want: []any{"a", "b"}},
		{name: "spaces inside braces", tmpl: "${ inputs.subject }", scope: scope, want: "a fox"},
		{name: "interpolated", tmpl: "portrait of ${inputs.subject}, ${inputs.n} times, hd=${inputs.hd}, ${inputs.ratio}",
			scope: scope, want: "portrait of a fox, 3 times, hd=true, 1.5"},
		{name: "one output", tmpl: "${steps.portrait.output[1]}", scope: scope, want: "https://x/1.png"},
		{name: "every output", tmpl: "${steps.portrait.output}", scope: scope, want: []any{"https://x/0.png", "https://x/1.png"}},
		{name: "escaped", tmpl: "$${inputs.subject} costs $5", scope: scope, want: "${inputs.subject} costs $5"},
		{name: "item and index", tmpl: map[string]any{"image": "${item}", "seed": "${index}", "label": "view ${index}"},
			scope: mapped, want: map[string]any{"image": "https://x/1.png", "seed": 1, "label": "view 1"}},
		{name: "nested", tmpl: map[string]any{"a": []any{"${inputs.subject}", map[string]any{"b": "${steps.portrait.output[0]}"}}},
			scope: scope, want: map[string]any{"a": []any{"a fox", map[string]any{"b": "https://x/0.png"}}}},
		{name: "index past the outputs", tmpl: map[string]any{"init_image": "${steps.portrait.output[2]}"}, scope: scope,
			err: `init_image: ${steps.portrait.output[2]}: step "portrait" made 2 output(s), so output[2] does not exist`},
		{name: "step without outputs", tmpl: "${steps.other.output}", scope: scope,
			err: `${steps.other.output}: step "other" has no outputs (it has not succeeded)`},
		{name: "item outside map", tmpl: "${item}", scope: scope, err: "${item} is only defined in a step with map"},
		{name: "list in text", tmpl: []any{"x", "tags ${inputs.tags}"}, scope: scope,
			err: "[1]: ${inputs.tags}: a list or an object cannot be part of a longer string; use the reference as the whole value"},
		{name: "unknown input", tmpl: "${inputs.nope}", scope: scope, err: `${inputs.nope}: no input "nope"`},
		{name: "first error in key order", tmpl: map[string]any{"b": "${item}", "a": "${inputs.nope}"}, scope: scope,
			err: `a: ${inputs.nope}: no input "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Resolve(tc.tmpl, tc.scope)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestResolveParamsDoesNotChangeTheTemplate(t *testing.T) {
	t.Parallel()
	tmpl := map[string]any{"prompt": "${inputs.p}", "list": []any{"${inputs.p}"}}
	got, err := ResolveParams(tmpl, Scope{Inputs: map[string]any{"p": "fox"}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"prompt": "fox", "list": []any{"fox"}}, got)
	require.Equal(t, "${inputs.p}", tmpl["prompt"])
	require.Equal(t, "${inputs.p}", tmpl["list"].([]any)[0])

	empty, err := ResolveParams(nil, Scope{})
	require.NoError(t, err)
	require.Equal(t, map[string]any{}, empty)
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw  string
		want Ref
		err  string
	}{
		{raw: "${inputs.prompt}", want: Ref{Kind: RefInput, Name: "prompt", Index: -1}},
		{raw: "${steps.to-3d.output}", want: Ref{Kind: RefStep, Name: "to-3d", Index: -1}},
		{raw: "${steps.a_1.output[12]}", want: Ref{Kind: RefStep, Name: "a_1", Index: 12}},
		{raw: "${item}", want: Ref{Kind: RefItem, Index: -1}},
		{raw: "${index}", want: Ref{Kind: RefIndex, Index: -1}},
		{raw: "${}", err: "it is empty"},
		{raw: "${steps.a}", err: "a step reference names the step's output"},
		{raw: "${steps.a.output[x]}", err: `output index "x" is not a number from 0`},
		{raw: "${steps.a.output[1}", err: "missing ] after the output index"},
		{raw: "${steps.a.output[+1]}", err: `output index "+1" is not a number from 0`},
		{raw: "${inputs.}", err: `"" is not an input name`},
		{raw: "${steps.1a.output}", err: `"1a" is not a step name`},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			r, err := parseRef(tc.raw)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			tc.want.Raw = tc.raw
			require.Equal(t, tc.want, r)
		})
	}
}
