package starter_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/starter"
)

// writeFile writes content to a file named name in a new directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// requireRefused checks that the starter refused r as a usage error
// naming every fragment of want, before it dialed Temporal, so nothing
// was started.
func requireRefused(t *testing.T, r run, want ...string) {
	t.Helper()
	require.Equal(t, starter.ExitUsage, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	for _, w := range want {
		require.Contains(t, r.stderr, w)
	}
	require.NotContains(t, r.stderr, "rpc error")
	require.Empty(t, r.dialed, "a bad ID must be refused before Temporal is reached: nothing may start")
}

const nonASCII = `track_id "ünï-1" holds 'ü' (U+00FC) at byte 1; only printable ASCII`

func TestGenerateRefusesNonASCIITrackID(t *testing.T) {
	t.Parallel()
	r := runMain(t, nil, "generate", "text2img", "--model", "flux", "--prompt", "x", "--track-id", "ünï-1")
	requireRefused(t, r, "--track-id: "+nonASCII)
}

func TestBatchFileRefusesBadTrackIDNamingItsLine(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "items.jsonl", `{"endpoint":"text2img","params":{"model_id":"flux","prompt":"a"},"track_id":"ok-1"}
# a comment
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"b"},"track_id":"ünï-1"}
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"c"},"track_id":"has space"}
`)
	r := runMain(t, nil, "batch", file)
	requireRefused(t, r,
		file+`:3: `+nonASCII,
		file+`:4: track_id "has space" holds ' ' (U+0020) at byte 4`)
}

func TestBatchIDIsCheckedWithTheIDsDerivedFromIt(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "prompts.txt", "a fox\na hare\n")
	args := []string{"batch", file, "--endpoint", "text2img", "--model", "flux", "--id"}

	r := runMain(t, nil, append(args, "ünï-1")...)
	requireRefused(t, r, "--id: batch ID: "+nonASCII)

	// The batch ID itself is within the rule, its page holders' and
	// items' IDs (<id>-page-0000, <id>-00001) are not.
	long := strings.Repeat("b", 195)
	r = runMain(t, nil, append(args, long)...)
	requireRefused(t, r, "--id: batch ID is 195 bytes", "-page-0000", "would be 205 bytes", "at most 190 bytes")

	// An ID that leaves room is accepted: the starter goes on to dial.
	r = runMain(t, nil, append(args, strings.Repeat("b", 190))...)
	require.Equal(t, starter.ExitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "cannot reach Temporal")
	require.Len(t, r.dialed, 1)
}

func TestPipelineRefusesBadIDs(t *testing.T) {
	t.Parallel()
	step := "m" + strings.Repeat("x", 63) // the longest step name
	mapped := writeFile(t, "fan.yaml", `steps:
  views:
    endpoint: text2img
    params: {model_id: flux, prompt: "x", samples: 2}
  `+step+`:
    endpoint: image_to_3d
    map: ${steps.views.output}
    params: {image: "${item}"}
`)
	base := []string{"pipeline", "run", mapped, "--id"}

	t.Run("non-ASCII pipeline ID", func(t *testing.T) {
		t.Parallel()
		requireRefused(t, runMain(t, nil, append(base, "ünï-1")...), "--id: pipeline ID: "+nonASCII)
	})
	t.Run("step track_ids too long", func(t *testing.T) {
		t.Parallel()
		// 140 + "_" + 64-byte step name + "_99" (a mapped step runs
		// over at most 100 elements) = 208 bytes.
		r := runMain(t, nil, append(base, strings.Repeat("p", 140))...)
		requireRefused(t, r, "--id: pipeline ID is 140 bytes", `step "`+step+`"`, "208 bytes", "at most 132 bytes")
	})
	t.Run("one rule: a long ID that leaves room is accepted", func(t *testing.T) {
		t.Parallel()
		short := writeFile(t, "one.yaml", "steps:\n  s:\n    endpoint: text2img\n    params: {model_id: flux, prompt: x}\n")
		r := runMain(t, nil, "pipeline", "run", short, "--id", strings.Repeat("p", 198))
		require.Equal(t, starter.ExitFailed, r.code, r.stderr)
		require.Contains(t, r.stderr, "cannot reach Temporal")
	})
	t.Run("non-ASCII step name names its line", func(t *testing.T) {
		t.Parallel()
		file := writeFile(t, "bad.yaml", "steps:\n  ok:\n    endpoint: text2img\n    params: {model_id: flux, prompt: x}\n  ünï:\n    endpoint: text2img\n    params: {model_id: flux, prompt: y}\n")
		r := runMain(t, nil, "pipeline", "run", file)
		requireRefused(t, r, file+`:5:3: steps.ünï: bad step name "ünï": holds 'ü' (U+00FC) at byte 1`)
	})
}

func TestLookupsRefuseIDsNoRunCanHave(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"show", "ünï-1"},
		{"wait", "ünï-1"},
		{"result", "ünï-1"},
		{"cancel", "ünï-1"},
		{"batch", "status", "ünï-1"},
		{"batch", "results", "ünï-1"},
		{"batch", "cancel", "ünï-1"},
		{"pipeline", "status", "ünï-1"},
		{"pipeline", "cancel", "ünï-1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			requireRefused(t, runMain(t, nil, args...), nonASCII, "no run can have this ID")
		})
	}
}
