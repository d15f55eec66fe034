package starter

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

var listNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func listFixture() []RunInfo {
	closed := listNow.Add(-2 * time.Minute)
	return []RunInfo{
		{TrackID: "gen-1f0c2a", Type: contract.GenerationWorkflow, Status: StatusRunning, State: "waiting_webhook",
			Started: listNow.Add(-95 * time.Second), Summary: "images/text2img: a red fox in fresh snow, golden hour"},
		{TrackID: "launch-42-00007", Type: contract.GenerationWorkflow, Status: StatusFailed, State: "failed",
			Started: listNow.Add(-3 * time.Hour), Closed: &closed, Summary: "#7 images/text2img: a lighthouse"},
		{TrackID: "launch-42", Type: contract.BatchWorkflow, Status: StatusCompleted, State: "completed",
			Started: listNow.Add(-3 * time.Hour), Closed: &closed, Summary: "batch of 10: images/text2img: a lighthouse"},
	}
}

func TestPrintRunsAlignsColumns(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printRuns(&b, listFixture(), listNow, false, 0)
	want := `TRACK_ID         TYPE        STATUS     STATE            AGE  TOOK  SUMMARY
gen-1f0c2a       Generation  running    waiting_webhook  1m   -     images/text2img: a red fox in fresh snow, golden hour
launch-42-00007  Generation  failed     failed           3h   2h    #7 images/text2img: a lighthouse
launch-42        Batch       completed  completed        3h   2h    batch of 10: images/text2img: a lighthouse
`
	require.Equal(t, want, b.String())
}

func TestPrintRunsOnATerminal(t *testing.T) {
	t.Parallel()
	runs := listFixture()[:2] // one type: no TYPE column
	var b bytes.Buffer
	printRuns(&b, runs, listNow, true, 72)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 3)
	require.NotContains(t, lines[0], "TYPE")
	require.Contains(t, lines[1], ansiCyan+"running"+ansiReset)
	require.Contains(t, lines[2], ansiRed+"failed"+ansiReset)
	for _, l := range lines {
		plain := strings.NewReplacer(ansiCyan, "", ansiRed, "", ansiReset, "").Replace(l)
		require.LessOrEqual(t, utf8.RuneCountInString(plain), 72, "%q", plain)
	}
	// The summary column starts at the same place on every line.
	col := strings.Index(lines[0], "SUMMARY")
	plain := strings.NewReplacer(ansiCyan, "", ansiReset, "").Replace(lines[1])
	require.Equal(t, "images", string([]rune(plain)[col:col+6]))
	require.True(t, strings.HasSuffix(plain, "…"), plain)
}

func TestShortDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second:            "0s",
		3050 * time.Millisecond: "3.0s",
		42 * time.Second:        "42s",
		90 * time.Second:        "1m",
		5 * time.Hour:           "5h",
		47 * time.Hour:          "47h",
		72 * time.Hour:          "3d",
	} {
		require.Equal(t, want, shortDuration(d), d.String())
	}
}

func TestPrintDetailsOfAWaitingGeneration(t *testing.T) {
	t.Parallel()
	d := RunDetails{
		RunInfo: RunInfo{TrackID: "gen-1", RunID: "run-1", Type: contract.GenerationWorkflow, Status: StatusRunning,
			State: "waiting_webhook", Endpoint: "images/text2img", Model: "flux", Owner: "alice",
			Summary: "images/text2img: a fox", Started: listNow.Add(-time.Minute), UIURL: "http://ui/gen-1"},
		HistoryLength: 11,
		LiveState: &contract.State{Phase: contract.PhaseWaitingWebhook, Since: listNow.Add(-50 * time.Second),
			ProviderID: "134701497", ETA: 12, WebhooksReceived: 0, PollAfter: listNow.Add(30 * time.Second),
			Deadline: listNow.Add(29 * time.Minute)},
	}
	var b bytes.Buffer
	printDetails(&b, d, listNow, false)
	out := b.String()
	for _, want := range []string{
		"gen-1  Generation  running  waiting_webhook\n",
		"  summary     images/text2img: a fox\n",
		"  attributes  endpoint images/text2img, model flux, owner alice\n",
		"  phase       waiting_webhook since 11:59:10 (50s)\n",
		"  provider    request 134701497, eta 12s\n",
		"  webhooks    0 received, 0 duplicate(s) ignored\n",
		"  polls       0 made, next at 12:00:30\n",
		"  Temporal UI: http://ui/gen-1\n",
	} {
		require.Contains(t, out, want)
	}
}

func TestPrintDetailsOfANotifyingGeneration(t *testing.T) {
	t.Parallel()
	d := RunDetails{
		RunInfo: RunInfo{TrackID: "gen-2", RunID: "run-2", Type: contract.GenerationWorkflow, Status: StatusRunning,
			State: "succeeded", Started: listNow.Add(-time.Minute)},
		LiveState: &contract.State{Phase: contract.PhaseSucceeded, Since: listNow.Add(-10 * time.Second),
			Deadline: listNow.Add(29 * time.Minute), Notified: "sending"},
	}
	var b bytes.Buffer
	printDetails(&b, d, listNow, false)
	require.Contains(t, b.String(), "  notified  sending\n")
}

func TestPrintDetailsOfAQueuedGeneration(t *testing.T) {
	t.Parallel()
	d := RunDetails{
		RunInfo: RunInfo{TrackID: "gen-3", RunID: "run-3", Type: contract.GenerationWorkflow, Status: StatusRunning,
			State: "queued", Started: listNow.Add(-time.Minute)},
		LiveState: &contract.State{Phase: contract.PhaseQueued, Since: listNow.Add(-40 * time.Second),
			Deadline: listNow.Add(29 * time.Minute), Account: &contract.AccountWait{Limiter: "genflow-account-1",
				QueuedAt: listNow.Add(-40 * time.Second), QueuePosition: contract.QueuePosition{Position: 3, Waiting: 12, InUse: 5, Limit: 5}}},
	}
	var b bytes.Buffer
	printDetails(&b, d, listNow, false)
	require.Contains(t, b.String(), "  phase     queued since 11:59:20 (40s)\n")
	require.Contains(t, b.String(), "  account   waiting for the account: 3rd of 12, limit 5\n")
}
