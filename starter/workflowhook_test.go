package starter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/webhookurl"
)

func TestWorkflowWebhookURL(t *testing.T) {
	t.Parallel()
	const secret = "workflow-hook-secret-0123456789abcdef"
	run := func(env map[string]string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := starter.Main(context.Background(), append([]string{"workflow-webhook-url"}, args...), starter.Env{
			Stdout: &stdout, Stderr: &stderr,
			Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		})
		return code, stdout.String(), stderr.String()
	}
	env := map[string]string{config.EnvGatewayPublicURL: "https://hooks.example.com/genflow", config.EnvWebhookSecrets: secret}
	verifier, err := webhookurl.NewSigner(webhookurl.Options{Secrets: []string{secret}})
	require.NoError(t, err)

	t.Run("no expiry", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := run(env, "3f2b9c1e-wf")
		require.Equal(t, starter.ExitOK, code, errOut)
		require.Empty(t, errOut)
		u, err := url.Parse(strings.TrimSpace(out))
		require.NoError(t, err)
		require.Equal(t, "https", u.Scheme)
		require.Equal(t, "/genflow/webhooks/modelslab-workflow/3f2b9c1e-wf", u.Path)
		require.Empty(t, u.Query().Get("exp"))
		require.NoError(t, verifier.VerifyWorkflow("3f2b9c1e-wf", "", u.Query().Get("sig"), time.Now().AddDate(10, 0, 0)))
	})
	t.Run("with an expiry, as JSON", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := run(env, "wf-2", "--expires", "24h", "--json")
		require.Equal(t, starter.ExitOK, code, errOut)
		var got starter.WorkflowWebhookURL
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Equal(t, "wf-2", got.WorkflowID)
		require.NotNil(t, got.ExpiresAt)
		require.WithinDuration(t, time.Now().Add(24*time.Hour), *got.ExpiresAt, time.Minute)
		u, err := url.Parse(got.URL)
		require.NoError(t, err)
		q := u.Query()
		require.NoError(t, verifier.VerifyWorkflow("wf-2", q.Get("exp"), q.Get("sig"), time.Now()))
		require.ErrorIs(t, verifier.VerifyWorkflow("wf-2", q.Get("exp"), q.Get("sig"), got.ExpiresAt.Add(time.Second)), webhookurl.ErrExpired)
	})
	t.Run("plain http is noted", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := run(map[string]string{config.EnvWebhookSecrets: secret}, "wf-3")
		require.Equal(t, starter.ExitOK, code)
		require.True(t, strings.HasPrefix(out, "http://localhost:8080/webhooks/modelslab-workflow/wf-3?sig="), out)
		require.Contains(t, errOut, "https URLs only")
	})
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no secrets", map[string]string{}, []string{"wf"}, config.EnvWebhookSecrets},
		{"bad public URL", map[string]string{config.EnvWebhookSecrets: secret, config.EnvGatewayPublicURL: "hooks.example.com"}, []string{"wf"}, config.EnvGatewayPublicURL},
		{"no workflow id", env, nil, "missing WORKFLOW_ID"},
		{"workflow id with a slash", env, []string{"a/b"}, "workflow id"},
		{"negative expiry", env, []string{"wf", "--expires", "-1h"}, "--expires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := run(tc.env, tc.args...)
			require.Equal(t, starter.ExitUsage, code)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.want)
		})
	}
}
