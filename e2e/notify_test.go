package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
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
	type req struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	var reqs []req
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, req{header: r.Header.Clone(), body: b})
		n := len(reqs)
		mu.Unlock()
		if n <= 2 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "tell me when done",
		"--track-id", "notify-1", "--notify", receiver.URL+"/hooks/genflow", "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	require.Equal(t, "succeeded", out.Status)

	mu.Lock()
	got := append([]req(nil), reqs...)
	mu.Unlock()
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
