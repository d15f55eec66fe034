package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
)

// The reproduction, end to end: a signed success webhook lists
// outputs on an internal service (a stand-in for the cloud metadata
// endpoint, on 127.0.0.2, outside the worker's allowance of 127.0.0.1)
// and a file:// path, and the run's notify URL is on that service too.
// The run succeeds with the provider's links, stores neither output (each
// entry says why, at once, without retries), and its notification is
// refused, not retried; the internal service sees no request, and the
// notify URL's token shows nowhere in the state.
func TestOutboundPolicyEndToEnd(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, `{"AccessKeyId":"AKIAFAKE","SecretAccessKey":"fake"}`)
	}))
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	internal.Listener.Close()
	internal.Listener = ln
	internal.Start()
	t.Cleanup(internal.Close)

	s := startStack(t, fakemodelslab.Options{
		ProcessingTime: 300 * time.Millisecond,
		// No webhook from the fake: the signed one below is the result.
		Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "egress-", Fault: fakemodelslab.FaultDrop}}},
	}, func(w *config.Worker) {
		w.Store = config.Store{URL: "file://" + t.TempDir(), MaxBytes: 1 << 20}
		w.OutboundAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})

	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "by hand",
		"--track-id", "egress-1", "--poll-grace", "10m", "--store",
		"--notify", internal.URL+"/hooks?token=s3cret", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	ctx := context.Background()
	eventually(t, "waiting for the webhook", func() bool {
		st, err := starter.QueryState(ctx, s.client, "egress-1", out.RunID)
		return err == nil && st.Phase == contract.PhaseWaitingWebhook
	})

	outputs := []string{internal.URL + "/latest/meta-data/iam/security-credentials/role", "file:///etc/passwd"}
	body, err := json.Marshal(map[string]any{"status": "success", "track_id": "egress-1", "output": outputs})
	require.NoError(t, err)
	resp := s.postWebhook(t, "egress-1", s.sign(t, "egress-1"), string(body))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := starter.Wait(wctx, s.client, "egress-1", out.RunID, time.Second, nil)
	require.NoError(t, err, "storing never fails a generation")
	require.Equal(t, outputs, res.Output)
	require.Len(t, res.Stored, 2)
	for i, st := range res.Stored {
		require.Empty(t, st.Location, i)
		require.Contains(t, st.Error, "refused by the outbound policy", i)
	}
	require.Contains(t, res.Stored[0].Error, "127.0.0.2 is a loopback address")
	require.Contains(t, res.Stored[1].Error, `scheme "file"`)

	var st contract.State
	eventually(t, "the notification's fate", func() bool {
		st, err = starter.QueryState(ctx, s.client, "egress-1", out.RunID)
		return err == nil && strings.HasPrefix(st.Notified, "failed: ")
	})
	require.Contains(t, st.Notified, "NotifyRefused")
	require.Contains(t, st.Notified, "refused by the outbound policy")
	require.NotContains(t, st.Notified, "s3cret")
	require.Zero(t, hits.Load(), "nothing reached the internal service")
}
