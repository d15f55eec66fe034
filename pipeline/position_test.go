package pipeline

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 16, item 9: an input default of the wrong type is reported at the
// value's line and column, not at the input's name.
func TestInputDefaultErrorsPointAtTheValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, want string
	}{
		{"wrong type", `
inputs:
  count:
    type: integer
    description: how many
    default: many
steps:
  a:
    endpoint: text2img
    params: {model_id: flux, prompt: "x"}
`, `test.yaml:5:14: inputs.count.default: want an integer, found the string "many"`},
		{"object", `
inputs:
  opts:
    description: options
    default: {a: 1}
steps:
  a:
    endpoint: text2img
    params: {model_id: flux, prompt: "x"}
`, `test.yaml:4:14: inputs.opts.default: an object cannot be an input's default`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("test.yaml", src(tt.src))
			var list ErrorList
			require.True(t, errors.As(err, &list), "%v", err)
			require.Len(t, list, 1, "%v", err)
			require.Equal(t, tt.want, list[0].Error())
		})
	}
}
