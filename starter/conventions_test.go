package starter_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/starter"
)

// endpoints --json prints the catalogue as a JSON array for scripts.
func TestEndpointsJSON(t *testing.T) {
	t.Parallel()
	r := runMain(t, nil, "endpoints", "--json")
	require.Equal(t, starter.ExitOK, r.code, r.stderr)
	var got []starter.EndpointInfo
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	eps := modelslab.Endpoints()
	require.Len(t, got, len(eps))
	for i, ep := range eps {
		require.Equal(t, ep.Name, got[i].Name)
		require.Equal(t, string(ep.Category), got[i].Category)
		require.NotNil(t, got[i].Required, ep.Name)
	}
	require.Contains(t, got, starter.EndpointInfo{Name: "images/text2img", Short: "text2img", Category: "image",
		Required: []string{"model_id", "prompt"}, Source: "image-generation/community-models/openapi.json [D-community]",
		TrackID: "string"})
	require.Empty(t, r.dialed)
}

// The shell completion: the scripts, endpoint names for generate, fixed
// values for list's flags, and nothing (quickly) for run IDs when
// Temporal cannot be reached.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runMain(t, nil, "completion", shell)
		require.Equal(t, starter.ExitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, "starter", shell)
	}
	candidates := func(r run) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if strings.HasPrefix(line, ":") {
				break
			}
			name, _, _ := strings.Cut(line, "\t")
			out = append(out, name)
		}
		return out
	}
	r := runMain(t, nil, "__complete", "generate", "text2")
	require.Equal(t, starter.ExitOK, r.code, r.stderr)
	require.ElementsMatch(t, []string{"text2img", "text2video", "text2video_ultra"}, candidates(r))
	r = runMain(t, nil, "__complete", "generate", "images/")
	require.ElementsMatch(t, []string{"images/text2img", "images/img2img", "images/inpaint"}, candidates(r))
	r = runMain(t, nil, "__complete", "generate", "inp")
	require.Empty(t, candidates(r), "inpaint is ambiguous: only its full names complete")
	r = runMain(t, nil, "__complete", "list", "--state", "")
	require.Contains(t, candidates(r), "waiting_webhook")
	r = runMain(t, nil, "__complete", "show", "")
	require.Equal(t, starter.ExitOK, r.code, r.stderr)
	require.Empty(t, candidates(r))
	require.Len(t, r.dialed, 1, "run IDs are asked of Temporal")
}
