package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/webhookgateway"
)

// TestSignalLimitIsNotA503 pushes a run past Temporal's limit of signals
// per run (lowered to 20 on this dev server; 10,000 by default) through
// the real gateway. Every webhook past the limit is answered 200 with
// delivered false, never 503 (which the provider would retry forever while
// /readyz says ready), and the run still gets its result by polling.
func TestSignalLimitIsNotA503(t *testing.T) {
	t.Parallel()
	const limit = 20
	s := startStackWith(t, stackOptions{
		fake: fakemodelslab.Options{
			ProcessingTime: 500 * time.Millisecond,
			Faults:         fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "limit-", Fault: fakemodelslab.FaultDrop}}},
		},
		devArgs: []string{"--dynamic-config-value", fmt.Sprintf("history.maximumSignalsPerExecution=%d", limit)},
		// No cap of the gateway's own: Temporal's limit is what is tested.
		gateway: func(o *webhookgateway.Options) { o.MaxWebhooksPerRun = -1 },
	})
	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "limits",
		"--track-id", "limit-1", "--poll-grace", "4s", "--json")
	require.Equal(t, starter.ExitOK, code)
	ctx := context.Background()
	eventually(t, "waiting for the webhook", func() bool {
		st, err := starter.QueryState(ctx, s.client, "limit-1", out.RunID)
		return err == nil && st.Phase == contract.PhaseWaitingWebhook
	})

	delivered, refused := 0, 0
	q := s.sign(t, "limit-1")
	for i := range limit + 10 {
		body := fmt.Sprintf(`{"status":"processing","id":"1","track_id":"limit-1","eta":%d}`, i)
		resp := s.postWebhook(t, "limit-1", q, body)
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "webhook %d: %s", i+1, raw)
		var answer struct {
			Matched   bool  `json:"matched"`
			Delivered *bool `json:"delivered"`
		}
		require.NoError(t, json.Unmarshal(raw, &answer))
		require.True(t, answer.Matched)
		if answer.Delivered == nil {
			delivered++
			require.Zero(t, refused, "a webhook delivered after one was refused: %s", raw)
		} else {
			require.False(t, *answer.Delivered)
			refused++
		}
	}
	require.Positive(t, delivered)
	require.Positive(t, refused, "Temporal's signal limit was never reached")
	require.LessOrEqual(t, delivered, limit)

	resp, err := http.Get(s.gatewayAdmin + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	res, err := starter.Wait(ctx, s.client, "limit-1", out.RunID, time.Second, nil)
	require.NoError(t, err, "the run must still get its result")
	require.Equal(t, contract.LearnedPoll, res.LearnedBy)
	require.NotEmpty(t, res.Output)

	m := scrape(t, s.gatewayMetrics)
	require.Equal(t, float64(refused), m.value(t, `genflow_webhooks_dropped_total{reason="refused"}`))
	require.Zero(t, m.value(t, `genflow_webhooks_total{code="503"}`))
}
