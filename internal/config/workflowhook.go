package config

// WorkflowWebhook is what `starter workflow-webhook-url` reads: the
// worker's public URL of the gateway and its webhook secrets, which sign
// the URL to configure on a ModelsLab workflow as they sign the per-run
// URLs.
type WorkflowWebhook struct {
	// PublicURL is GATEWAY_PUBLIC_URL (default http://localhost:8080, as
	// the worker's).
	PublicURL string
	// Secrets are WEBHOOK_SECRETS, newest first. Required.
	Secrets []string
}

// LoadWorkflowWebhook reads GATEWAY_PUBLIC_URL and WEBHOOK_SECRETS as the
// worker does.
func LoadWorkflowWebhook(env Lookup) (WorkflowWebhook, error) {
	r := &reader{env: env}
	c := WorkflowWebhook{
		PublicURL: r.httpURL(EnvGatewayPublicURL, "http://localhost:8080"),
		Secrets:   r.secrets(EnvWebhookSecrets),
	}
	return c, r.err()
}
