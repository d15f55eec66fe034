package starter

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/trackid"
	"github.com/genflow/genflow/webhookurl"
)

// WorkflowWebhookURL is what `starter workflow-webhook-url --json` prints.
type WorkflowWebhookURL struct {
	WorkflowID string `json:"workflow_id"`
	URL        string `json:"url"`
	// ExpiresAt is when the URL stops being accepted; absent for a URL
	// without expiry.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func newWorkflowWebhookURLCommand(env *Env) *cobra.Command {
	var (
		expires time.Duration
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "workflow-webhook-url WORKFLOW_ID",
		Short: "Print the webhook URL to configure on a ModelsLab workflow",
		Long: `workflow-webhook-url prints the URL to set as the webhook of ModelsLab workflow
WORKFLOW_ID (in ModelsLab's workflow editor): the gateway's
/webhooks/modelslab-workflow/WORKFLOW_ID, signed with the first of
WEBHOOK_SECRETS, under GATEWAY_PUBLIC_URL (the worker's settings). With it
set, the runs of that workflow started by genflow (starter generate
workflows/run --param workflow_id=WORKFLOW_ID) learn their result by
webhook; without it they poll. The URL has no expiry unless --expires
is given; rotating WEBHOOK_SECRETS revokes it (print it again and set it
again once the new secret is first). Nothing is sent anywhere.`,
		Example: `  GATEWAY_PUBLIC_URL=https://hooks.example.com WEBHOOK_SECRETS=... \
    starter workflow-webhook-url 3f2b9c1e-7d4a-4b8e-9c1f-0a2b3c4d5e6f`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := oneArg(cmd, args); err != nil {
				return err
			}
			// The gateway takes workflow ids under the track_id rule (one
			// path segment of printable ASCII); a ModelsLab id is a UUID.
			if err := trackid.Validate(args[0]); err != nil {
				return usageErr("workflow id: %v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if expires < 0 {
				return usageErr("--expires %s: must not be negative", expires)
			}
			cfg, err := config.LoadWorkflowWebhook(env.lookup)
			if err != nil {
				return usageErr("configuration:\n%w", err)
			}
			signer, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: cfg.PublicURL, Secrets: cfg.Secrets})
			if err != nil {
				return usageErr("configuration: %w", err)
			}
			out := WorkflowWebhookURL{WorkflowID: args[0]}
			var at time.Time
			if expires > 0 {
				at = time.Now().Add(expires).Truncate(time.Second).Add(time.Second).UTC()
				out.ExpiresAt = &at
			}
			if out.URL, err = signer.WorkflowURL(args[0], at); err != nil {
				return usageErr("%v", err)
			}
			if u, err := url.Parse(out.URL); err == nil && u.Scheme != "https" {
				fmt.Fprintf(env.Stderr, "note: %s is not https; ModelsLab sends webhooks to https URLs only (set %s to the gateway's public https URL)\n",
					cfg.PublicURL, config.EnvGatewayPublicURL)
			}
			if asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintln(env.Stdout, out.URL)
			return nil
		},
	}
	cmd.Flags().DurationVar(&expires, "expires", 0, "URL lifetime, e.g. 8760h (default: no expiry)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print workflow_id, url and expires_at as JSON")
	return cmd
}
