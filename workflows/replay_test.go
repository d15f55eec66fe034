package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays histories recorded from real runs
// on a dev server (`temporal workflow show --output json`) against the
// current code. A failure means a change would break workflows that are
// running now: gate it with workflow.GetVersion instead. To add a
// fixture, run the stack (scripts/stack.sh up), run a generation and save
// its history into testdata/histories/.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			replayer := worker.NewWorkflowReplayer()
			Register(replayer)
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// TestReplayDetectsNonDeterminism proves the replay test can fail: a
// history of another workflow shape must not replay.
func TestReplayDetectsNonDeterminism(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", "histories", "webhook.json"))
	require.NoError(t, err)
	// Pretend the run had scheduled a different activity first.
	tampered := strings.Replace(string(raw), `"name": "Submit"`, `"name": "Fetch"`, 1)
	require.True(t, tampered != string(raw), "fixture has no Submit activity to tamper with")
	path := filepath.Join(t.TempDir(), "tampered.json")
	require.NoError(t, os.WriteFile(path, []byte(tampered), 0o600))
	replayer := worker.NewWorkflowReplayer()
	Register(replayer)
	require.Error(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, path))
}
