package e2e

import (
	"context"
	"image/png"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/webhookurl"
	"github.com/genflow/genflow/workflows"
)

func TestGenerationEndToEnd(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{
		ProcessingTime: 300 * time.Millisecond,
		RetryAfter:     time.Second,
		Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
			{Match: "drop-", Fault: fakemodelslab.FaultDrop},
			{Match: "fail-", Fault: fakemodelslab.FaultFail},
			{Match: "dup-", Fault: fakemodelslab.FaultDuplicate},
			{Match: "flaky-", Fault: fakemodelslab.Fault5xx, Times: 2},
			{Match: "busy-", Fault: fakemodelslab.Fault429, Times: 1},
			{Match: "quiet-", Fault: fakemodelslab.FaultDrop},
		}},
	})
	var finished []string

	t.Run("success by webhook", func(t *testing.T) {
		code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "a red fox",
			"--track-id", "ok-1", "--wait", "--json")
		require.Equal(t, starter.ExitOK, code, "%+v", out)
		require.Equal(t, "succeeded", out.Status)
		require.Equal(t, "webhook", out.Result.LearnedBy)
		require.Zero(t, out.Result.Polls)
		require.NotEmpty(t, out.Result.Output)
		require.Contains(t, out.UIURL, "/namespaces/default/workflows/ok-1/"+out.RunID)
		require.Equal(t, 1, s.fake.Submissions("ok-1"))

		// The output is a real file.
		resp, err := http.Get(out.Result.Output[0])
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		_, err = png.Decode(resp.Body)
		require.NoError(t, err)
		finished = append(finished, "ok-1")
	})

	t.Run("second start of the same track_id does not reach the provider", func(t *testing.T) {
		code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "a red fox",
			"--track-id", "ok-1", "--wait", "--json")
		require.Equal(t, starter.ExitOK, code)
		require.True(t, out.AlreadyStarted)
		require.Equal(t, "webhook", out.Result.LearnedBy)
		require.Equal(t, 1, s.fake.Submissions("ok-1"))
	})

	t.Run("success by poll after a dropped webhook", func(t *testing.T) {
		code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "lost",
			"--track-id", "drop-1", "--poll-grace", "1s", "--wait", "--json")
		require.Equal(t, starter.ExitOK, code, "%+v", out)
		require.Equal(t, "poll", out.Result.LearnedBy)
		require.Positive(t, out.Result.Polls)
		require.Zero(t, out.Result.WebhooksReceived)
		require.NotEmpty(t, out.Result.Output)
		require.Equal(t, 1, s.fake.Submissions("drop-1"))
		finished = append(finished, "drop-1")
	})

	t.Run("provider failure", func(t *testing.T) {
		code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "bad",
			"--track-id", "fail-1", "--wait", "--json")
		require.Equal(t, starter.ExitFailed, code)
		require.Equal(t, "failed", out.Status)
		require.Equal(t, contract.ErrTypeGenerationFailed, out.Error.Type)
		require.Contains(t, out.Error.Message, "Processing failed")
		require.Equal(t, 1, s.fake.Submissions("fail-1"))
		finished = append(finished, "fail-1")
	})

	t.Run("duplicate webhooks are ignored", func(t *testing.T) {
		code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "twice",
			"--track-id", "dup-1", "--wait", "--json")
		require.Equal(t, starter.ExitOK, code)
		require.Equal(t, "webhook", out.Result.LearnedBy)
		require.Equal(t, 1, s.fake.Submissions("dup-1"))
		finished = append(finished, "dup-1")
	})

	t.Run("5xx and 429 on submit are retried and submitted once", func(t *testing.T) {
		for _, id := range []string{"flaky-1", "busy-1"} {
			code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "retry",
				"--track-id", id, "--wait", "--json")
			require.Equal(t, starter.ExitOK, code, "%s: %+v", id, out)
			require.Equal(t, 1, s.fake.Submissions(id), id)
			finished = append(finished, id)
		}
	})

	t.Run("forged webhook gets 401 and no signal; a signed one for another request is ignored; a signed one completes the run", func(t *testing.T) {
		code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "by hand",
			"--track-id", "quiet-1", "--poll-grace", "10m", "--json")
		require.Equal(t, starter.ExitOK, code)
		ctx := context.Background()
		eventually(t, "waiting for the webhook", func() bool {
			st, err := starter.QueryState(ctx, s.client, "quiet-1", out.RunID)
			return err == nil && st.Phase == contract.PhaseWaitingWebhook
		})
		body := `{"status":"success","id":"1","output":["https://cdn.example/forged.png"],"track_id":"quiet-1"}`

		forged := []string{
			"sig=not-a-sig",
			s.sign(t, "another-track"),
			"",
		}
		for _, sig := range forged {
			resp := s.postWebhook(t, "quiet-1", sig, body)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "sig %q", sig)
		}
		st, err := starter.QueryState(ctx, s.client, "quiet-1", out.RunID)
		require.NoError(t, err)
		require.Zero(t, st.WebhooksReceived, "a forged webhook reached the workflow")
		require.Equal(t, contract.PhaseWaitingWebhook, st.Phase)

		// Signed, but for a provider request other than the run's: not
		// its result (the poll would decide, 10 minutes on).
		resp := s.postWebhook(t, "quiet-1", s.sign(t, "quiet-1"), body)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		eventually(t, "the webhook for another request counted", func() bool {
			st, err := starter.QueryState(ctx, s.client, "quiet-1", out.RunID)
			return err == nil && st.WebhookIDMismatches == 1 && st.WebhooksReceived == 1
		})
		st, err = starter.QueryState(ctx, s.client, "quiet-1", out.RunID)
		require.NoError(t, err)
		require.Equal(t, contract.PhaseWaitingWebhook, st.Phase)
		require.NotEmpty(t, st.ProviderID)

		// The same id as a JSON number, as the provider's replies send it.
		body = `{"status":"success","id":` + st.ProviderID + `,"output":["https://cdn.example/forged.png"],"track_id":"quiet-1"}`
		resp = s.postWebhook(t, "quiet-1", s.sign(t, "quiet-1"), body)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		res, err := starter.Wait(ctx, s.client, "quiet-1", out.RunID, time.Second, nil)
		require.NoError(t, err)
		require.Equal(t, []string{"https://cdn.example/forged.png"}, res.Output)

		// Late: the run is closed, the gateway answers 200 unmatched.
		resp = s.postWebhook(t, "quiet-1", s.sign(t, "quiet-1"), body)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		finished = append(finished, "quiet-1")
	})

	t.Run("histories replay against the current workflow code", func(t *testing.T) {
		require.NotEmpty(t, finished)
		replayer := worker.NewWorkflowReplayer()
		workflows.Register(replayer)
		for _, id := range finished {
			desc, err := s.client.DescribeWorkflow(context.Background(), id, "")
			require.NoError(t, err)
			exec := desc.RawResponse.GetWorkflowExecutionInfo().GetExecution()
			err = replayer.ReplayWorkflowExecution(context.Background(), s.client.WorkflowService(), nil, "default",
				workflowExecution(exec.GetWorkflowId(), exec.GetRunId()))
			require.NoError(t, err, id)
		}
	})
}

func TestGatewayAnswers503WhenTemporalIsDown(t *testing.T) {
	t.Parallel()
	// A lazy client to a port nothing listens on: the gateway must start,
	// and tell the provider to retry rather than lose the webhook.
	c, err := client.NewLazyClient(client.Options{HostPort: testenv.FreeAddr(t), Logger: nilLogger{}})
	require.NoError(t, err)
	defer c.Close()
	signer, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: "http://gateway.invalid", Secrets: []string{secret}})
	require.NoError(t, err)
	gopts := webhookgateway.Options{Signer: signer, Signaler: c, Health: c,
		Logger: quietLogger(), SignalTimeout: 2 * time.Second}
	h, err := webhookgateway.NewHandler(gopts)
	require.NoError(t, err)
	admin, err := webhookgateway.NewAdminHandler(gopts)
	require.NoError(t, err)
	s := &stack{signer: signer}
	srv := newLoopbackServer(t, h)
	s.gatewayURL = srv

	resp := s.postWebhook(t, "any-1", s.sign(t, "any-1"), `{"status":"success","id":"1","output":["https://x/y.png"]}`)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))

	ready, err := http.Get(newLoopbackServer(t, admin) + "/readyz")
	require.NoError(t, err)
	ready.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, ready.StatusCode)
}
