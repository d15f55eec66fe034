package contract_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

func TestDetails(t *testing.T) {
	t.Parallel()
	got := contract.Details("images/text2img", map[string]any{
		"model_id": "flux", "prompt": "a red   fox\nin snow", "width": 512, "negative_prompt": strings.Repeat("x", 200),
	}, "alice")
	lines := strings.Split(got, "  \n")
	require.Equal(t, "**images/text2img** · model flux · owner alice", lines[0])
	require.Equal(t, "prompt: a red fox in snow", lines[1])
	require.True(t, strings.HasPrefix(lines[2], `parameters: negative_prompt="xxx`), lines[2])
	require.Contains(t, lines[2], "…, width=512")

	require.Equal(t, "**music_gen**", contract.Details("music_gen", nil, ""))
}

func TestGenerationSearchAttributes(t *testing.T) {
	t.Parallel()
	sa := contract.GenerationSearchAttributes("images/text2img", map[string]any{"model_id": "flux"}, "bob")
	require.Len(t, sa, 4)
	sa = contract.GenerationSearchAttributes("music_gen", map[string]any{"model_id": 7}, "")
	require.Len(t, sa, 2, "endpoint and state; a model_id that is not a string is left out")
}
