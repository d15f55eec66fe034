package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
)

// versionedFixtures are recorded histories of runs that took a
// GetVersion change's new branches, and the change's ID
// (scripts/record-histories.sh records them).
var versionedFixtures = map[string]string{
	"webhook-during-submit.json": generationChange,
	"deadline-first-poll.json":   generationChange,
	"account-slot.json":          generationChange,
	"account-queued.json":        generationChange,
	// The limiter took acquire-batch updates.
	"limiter.json": limiterBatchesChange,
}

// TestVersionedFixturesNeedTheirBranch proves each of versionedFixtures
// guards its new step: with its change's marker saying DefaultVersion, the
// run takes the old branches (Submit alone, a deadline without a fetch, a
// limiter without acquire-batch), whose commands differ from the
// history's.
func TestVersionedFixturesNeedTheirBranch(t *testing.T) {
	t.Parallel()
	dc := converter.GetDefaultDataConverter()
	for name, change := range versionedFixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A replay consumes its history: each gets its own.
			load := func() *historypb.History {
				fh, err := os.Open(filepath.Join("testdata", "histories", name))
				require.NoError(t, err)
				defer fh.Close()
				h, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
				require.NoError(t, err)
				return h
			}
			replay := func(h *historypb.History) error {
				r := worker.NewWorkflowReplayer()
				Register(r)
				return r.ReplayWorkflowHistory(nil, h)
			}
			require.NoError(t, replay(load()), "the fixture must replay as recorded")

			h := load()
			markers := 0
			for _, e := range h.GetEvents() {
				if e.GetEventType() != enumspb.EVENT_TYPE_MARKER_RECORDED {
					continue
				}
				details := e.GetMarkerRecordedEventAttributes().GetDetails()
				var id string
				if p := details["change-id"]; p == nil || dc.FromPayloads(p, &id) != nil || id != change {
					continue
				}
				old, err := dc.ToPayloads(-1) // workflow.DefaultVersion
				require.NoError(t, err)
				details["version"] = old
				markers++
			}
			require.Equal(t, 1, markers, "the fixture must hold one %s marker", change)
			err := replay(h)
			require.Error(t, err, "without its branch the fixture must not replay")
			require.Contains(t, err.Error(), "TMPRL1100") // the SDK's code for non-determinism
		})
	}
}
