package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/webhookgateway"
)

// TestWorkflowRunWebhookConfiguredOnTheWorkflow runs ModelsLab workflow
// runs through the whole stack with a provider that, as the workflows
// docs describe it, sends a run's webhook to the URL configured on its
// workflow and ignores any per-run URL. A workflow set up with the URL
// `starter workflow-webhook-url` prints settles its runs by webhook,
// routed by execution id; a workflow without it settles them by poll.
func TestWorkflowRunWebhookConfiguredOnTheWorkflow(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 300 * time.Millisecond, IgnoreRunWebhookURL: true})

	var stdout, stderr bytes.Buffer
	code := starter.Main(context.Background(), []string{"workflow-webhook-url", "wf-hooked"}, starter.Env{
		Stdout: &stdout, Stderr: &stderr,
		Lookup: func(k string) (string, bool) {
			v, ok := map[string]string{config.EnvGatewayPublicURL: s.gatewayURL, config.EnvWebhookSecrets: secret}[k]
			return v, ok
		},
	})
	require.Equal(t, starter.ExitOK, code, stderr.String())
	hookURL := strings.TrimSpace(stdout.String())
	require.True(t, strings.HasPrefix(hookURL, s.gatewayURL+webhookgateway.WorkflowPathPrefix+"wf-hooked?sig="), hookURL)
	s.fake.SetWorkflow("wf-hooked", fakemodelslab.Workflow{WebhookURL: hookURL})

	t.Run("group", func(t *testing.T) {
		t.Run("set up with genflow's URL: learned by webhook", func(t *testing.T) {
			t.Parallel()
			// A poll grace of 10 minutes: only the webhook can settle the
			// run within the test.
			code, out := s.runStarter(t, "generate", "workflows/run", "--param", "workflow_id=wf-hooked",
				"--param", "prompt=a cat", "--track-id", "wf-hooked-run-1", "--poll-grace", "10m", "--wait", "--json")
			require.Equal(t, starter.ExitOK, code, "%+v", out.Error)
			require.Equal(t, "succeeded", out.Status)
			require.Equal(t, "webhook", out.Result.LearnedBy)
			require.Zero(t, out.Result.Polls)
			require.Equal(t, 1, out.Result.WebhooksReceived)
			require.NotEmpty(t, out.Result.Output)

			// The route Submit recorded names the run.
			d, err := s.client.DescribeWorkflow(context.Background(),
				contract.WorkflowRunRouteID("wf-hooked", out.Result.ProviderID), "")
			require.NoError(t, err)
			var trackID string
			require.NoError(t, converter.GetDefaultDataConverter().FromPayload(
				d.Memo.GetFields()[contract.WorkflowRunRouteMemo], &trackID))
			require.Equal(t, "wf-hooked-run-1", trackID)
		})
		t.Run("no webhook on the workflow: learned by poll", func(t *testing.T) {
			t.Parallel()
			code, out := s.runStarter(t, "generate", "workflows/run", "--param", "workflow_id=wf-plain",
				"--param", "prompt=a dog", "--track-id", "wf-plain-run-1", "--poll-grace", "1s", "--wait", "--json")
			require.Equal(t, starter.ExitOK, code, "%+v", out.Error)
			require.Equal(t, "succeeded", out.Status)
			require.Equal(t, "poll", out.Result.LearnedBy)
			require.Zero(t, out.Result.WebhooksReceived)
			require.NotEmpty(t, out.Result.Output)
		})
		t.Run("forged or foreign webhooks on the workflow URL", func(t *testing.T) {
			t.Parallel()
			post := func(u, body string) int {
				resp, err := http.Post(u, "application/json", strings.NewReader(body))
				require.NoError(t, err)
				resp.Body.Close()
				return resp.StatusCode
			}
			payload := `{"event":"workflow.completed","execution_id":1,"workflow_id":"wf-hooked","status":"completed","output":{"output":["https://x/y.png"]}}`
			forged := s.gatewayURL + webhookgateway.WorkflowPathPrefix + "wf-hooked?sig=" + strings.Repeat("A", 43)
			require.Equal(t, http.StatusUnauthorized, post(forged, payload))
			// Another workflow's URL cannot speak for this one.
			other := strings.Replace(hookURL, "/wf-hooked?", "/wf-plain?", 1)
			require.Equal(t, http.StatusUnauthorized, post(other, payload))
			// Genuine, but no genflow run waits for execution 1.
			require.Equal(t, http.StatusOK, post(hookURL, payload))
		})
	})
	require.Zero(t, s.fake.Stats().WebhookErrors, "every webhook the fake sent was taken")
}
