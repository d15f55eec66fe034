package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/starter"
)

// TestBatchEndToEnd runs a 200-item batch over the fake with 10% of
// webhooks dropped and 10% of generations failing, through a provider
// queue smaller than the batch's concurrency (so 429s happen), and checks
// that every item is accounted for exactly once and was submitted once.
func TestBatchEndToEnd(t *testing.T) {
	const n = 200
	faults := fakemodelslab.Faults{Rates: map[fakemodelslab.Fault]float64{
		fakemodelslab.FaultDrop: 0.10,
		fakemodelslab.FaultFail: 0.10,
	}}
	s := startStack(t, fakemodelslab.Options{
		ProcessingTime: 200 * time.Millisecond,
		QueueLimit:     8,
		RetryAfter:     time.Second,
		Faults:         faults,
	})

	dir := t.TempDir()
	file := filepath.Join(dir, "items.jsonl")
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, `{"endpoint":"text2img","params":{"model_id":"flux","prompt":"item %d"}}`+"\n", i)
	}
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o600))
	results := filepath.Join(dir, "results.jsonl")

	const batchID = "e2e-batch"
	code, out := s.runStarter(t, "batch", file, "--id", batchID, "--concurrency", "12", "--page-size", "60",
		"--poll-grace", "1s", "--wait", "--json", "--results", results)

	var wantFail, wantPoll []string
	for i := range n {
		id := contract.ItemTrackID(batchID, i)
		picks := faults.Picks(id)
		switch {
		case slices.Contains(picks, fakemodelslab.FaultFail):
			wantFail = append(wantFail, id)
		case slices.Contains(picks, fakemodelslab.FaultDrop):
			wantPoll = append(wantPoll, id)
		}
	}
	require.NotEmpty(t, wantFail)
	require.NotEmpty(t, wantPoll)
	require.Equal(t, starter.ExitFailed, code, "a batch with failed items exits 1")
	_ = out

	// Every item exactly once in the results, with the right outcome.
	fh, err := os.Open(results)
	require.NoError(t, err)
	defer fh.Close()
	seen := map[int]bool{}
	var failed, polled []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var r starter.ItemResult
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		require.False(t, seen[r.Index], "item %d twice", r.Index)
		seen[r.Index] = true
		require.Equal(t, contract.ItemTrackID(batchID, r.Index), r.TrackID)
		switch r.Status {
		case "failed":
			failed = append(failed, r.TrackID)
			require.Equal(t, contract.ErrTypeGenerationFailed, r.Error.Type)
		case "succeeded":
			require.NotEmpty(t, r.Output)
			if r.LearnedBy == contract.LearnedPoll {
				polled = append(polled, r.TrackID)
			}
		default:
			t.Fatalf("item %d has status %s", r.Index, r.Status)
		}
		// The provider saw it once, 429s and polls included.
		require.Equal(t, 1, s.fake.Submissions(r.TrackID), r.TrackID)
	}
	require.NoError(t, sc.Err())
	require.Len(t, seen, n)
	require.ElementsMatch(t, wantFail, failed)
	require.ElementsMatch(t, wantPoll, polled)

	st := s.fake.Stats()
	require.Equal(t, n, st.Accepted)
	t.Logf("fake: %d accepted, %d answered 429, %d webhooks dropped", st.Accepted, st.Rejected429, st.WebhooksDropped)

	// The batch's own report agrees, and it ran one run per page.
	var res contract.BatchResult
	require.NoError(t, s.client.GetWorkflow(t.Context(), batchID, "").Get(t.Context(), &res))
	require.Equal(t, n-len(wantFail), res.Succeeded)
	require.Equal(t, len(wantFail), res.Failed)
	require.Len(t, res.Failures, len(wantFail))
	require.Equal(t, 4, res.Runs, "200 items in pages of 60")
}
