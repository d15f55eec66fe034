package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// recordedIDs are the workflow IDs of recorded histories whose commands
// depend on their own ID (a batch names its children and page holders
// after it); a history file does not hold it, and the replayer would use
// a made-up one.
var recordedIDs = map[string]string{
	"batch-sa.json":              "demo-batch-1",
	"pipeline.json":              "replay-pipeline",
	"pipeline-store-notify.json": "replay-pipeline-store-notify",
}

// TestReplayRecordedHistories replays histories recorded from real runs
// on a dev server (`temporal workflow show --output json`) against the
// current code. A failure means a change would break workflows that are
// running now: gate it with workflow.GetVersion instead.
// scripts/record-histories.sh records the Generation fixtures of the
// current code (GENFLOW_SOURCE=an older checkout records that code's);
// the v1-* ones and webhook-sa.json come from the first released worker
// (commit 9fcfcfc), whose runs may still be open. To add another fixture,
// save a run's history (`temporal workflow show --output json`) into
// testdata/histories/, and its workflow ID in recordedIDs if the
// workflow's commands use it.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			fh, err := os.Open(f)
			require.NoError(t, err)
			defer fh.Close()
			history, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			require.NoError(t, err)
			replayer := worker.NewWorkflowReplayer()
			Register(replayer)
			opts := worker.ReplayWorkflowHistoryOptions{}
			if id, ok := recordedIDs[filepath.Base(f)]; ok {
				opts.OriginalExecution = workflow.Execution{ID: id}
			}
			require.NoError(t, replayer.ReplayWorkflowHistoryWithOptions(nil, history, opts))
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
