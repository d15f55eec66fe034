package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/starter"
)

// A generation started with --notify ends by POSTing its result to a
// receiver that fails twice: Temporal retries the Notify activity, the
// third attempt lands, and every attempt is the same message, verified by
// the Standard Webhooks reference library with the worker's secret.
func TestNotificationEndToEnd(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 300 * time.Millisecond})
	receiver, received := notifyReceiver(t, 2)

	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "tell me when done",
		"--track-id", "notify-1", "--notify", receiver+"/hooks/genflow", "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	require.Equal(t, "succeeded", out.Status)

	got := received()
	require.Len(t, got, 3)
	wh, err := standardwebhooks.NewWebhook(s.notifySecret.String())
	require.NoError(t, err)
	for _, r := range got {
		require.NoError(t, wh.Verify(r.body, r.header))
		require.Equal(t, "msg_notify-1_"+out.RunID, r.header.Get("webhook-id"))
		require.Equal(t, got[0].body, r.body)
	}
	var n contract.Notification
	require.NoError(t, json.Unmarshal(got[2].body, &n))
	require.Equal(t, contract.NotifyGenerationSucceeded, n.Type)
	require.Equal(t, "notify-1", n.Data.TrackID)
	require.Equal(t, out.Result.Output, n.Data.Result.Output)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := starter.QueryState(ctx, s.client, "notify-1", "")
	require.NoError(t, err)
	require.Equal(t, "delivered", st.Notified)
}
