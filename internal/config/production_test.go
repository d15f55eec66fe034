package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
)

// strongSecret is what `openssl rand -hex 32` prints.
const strongSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestProductionSettingsRefuseWeakSecrets(t *testing.T) {
	t.Parallel()
	sixteenAs := strings.Repeat("a", 16)
	tests := []struct {
		name string
		load loader
		vars map[string]string
		want string // "" when accepted
	}{
		// The finding: sixteen "a"s behind a public https URL.
		{"worker: sixteen a's, public URL", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "https://hooks.example.com", config.EnvWebhookSecrets: sixteenAs,
		}, `WEBHOOK_SECRETS: secret 1 is 16 bytes; GATEWAY_PUBLIC_URL "https://hooks.example.com" is not on loopback, ` +
			"so each secret must be at least 32 random bytes (openssl rand -hex 32)"},
		{"worker: thirty-two a's", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "https://hooks.example.com", config.EnvWebhookSecrets: strings.Repeat("a", 32),
		}, "WEBHOOK_SECRETS: secret 1 is 32 bytes but far from random (its characters carry about 0 bits; at least 160 wanted)"},
		{"worker: a counting pattern", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "https://hooks.example.com", config.EnvWebhookSecrets: strings.Repeat("0123456789abcdef", 2),
		}, "secret 1 is 32 bytes but far from random (its characters carry about 128 bits"},
		{"worker: the old secret of a rotation is weak", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "https://hooks.example.com", config.EnvWebhookSecrets: strongSecret + "," + sixteenAs,
		}, "WEBHOOK_SECRETS: secret 2 is 16 bytes"},
		{"worker: compose's internal URL", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "http://proxy:8080", config.EnvModelsLabBaseURL: "http://fakemodelslab:8090/api/",
			config.EnvModelsLabAllowHTTP: "true", config.EnvWebhookSecrets: sixteenAs,
		}, `secret 1 is 16 bytes; GATEWAY_PUBLIC_URL "http://proxy:8080" is not on loopback`},
		{"worker: strong secrets", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "https://hooks.example.com",
			config.EnvWebhookSecrets:   strongSecret + ",Jq3v9xK2mP7wR4tY8uI1oZ5aS6dF0gH3jL2kQ9nB7cV",
		}, ""},
		{"worker: loopback, the local stack", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "http://127.0.0.1:8080", config.EnvWebhookSecrets: sixteenAs,
		}, ""},
		{"worker: localhost", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "http://localhost:8080", config.EnvWebhookSecrets: sixteenAs,
		}, ""},
		{"worker: IPv6 loopback", loadWorker, map[string]string{
			config.EnvGatewayPublicURL: "http://[::1]:8080", config.EnvWebhookSecrets: sixteenAs,
		}, ""},

		{"gateway: sixteen a's on every interface", loadGateway, map[string]string{
			config.EnvGatewayListen: "0.0.0.0:8080", config.EnvWebhookSecrets: sixteenAs,
		}, `WEBHOOK_SECRETS: secret 1 is 16 bytes; GATEWAY_LISTEN_ADDR "0.0.0.0:8080" is not on loopback`},
		{"gateway: no host is every interface", loadGateway, map[string]string{
			config.EnvGatewayListen: ":8080", config.EnvWebhookSecrets: sixteenAs,
		}, `GATEWAY_LISTEN_ADDR ":8080" is not on loopback`},
		{"gateway: strong secret on every interface", loadGateway, map[string]string{
			config.EnvGatewayListen: "0.0.0.0:8080", config.EnvWebhookSecrets: strongSecret,
		}, ""},
		{"gateway: loopback", loadGateway, map[string]string{
			config.EnvGatewayListen: "127.0.0.1:8080", config.EnvWebhookSecrets: sixteenAs,
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.load(newEnv(with(map[string]string{config.EnvModelsLabKey: "key-123"}, tt.vars)).lookup)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
			for _, s := range strings.Split(tt.vars[config.EnvWebhookSecrets], ",") {
				require.NotContains(t, err.Error(), s, "a message never quotes a secret")
			}
		})
	}
}

func TestProductionSettingsRefuseAnHTTPPublicURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want string // "" when accepted
	}{
		// The finding: the real provider, an http public URL.
		{"real provider", map[string]string{config.EnvGatewayPublicURL: "http://hooks.example.com"},
			`GATEWAY_PUBLIC_URL: "http://hooks.example.com" is plain http on a host other than loopback while the provider ` +
				"is reached over https (MODELSLAB_BASE_URL): every webhook URL carries its sig"},
		{"https provider of one's own", map[string]string{config.EnvGatewayPublicURL: "http://10.0.0.5:8080",
			config.EnvModelsLabBaseURL: "https://provider.internal/api/"}, "GATEWAY_PUBLIC_URL: \"http://10.0.0.5:8080\" is plain http"},
		{"https public URL", map[string]string{config.EnvGatewayPublicURL: "https://hooks.example.com"}, ""},
		// The provider itself is on plain http (a network the operator
		// trusts): its webhooks travel that network.
		{"fake provider in compose", map[string]string{config.EnvGatewayPublicURL: "http://proxy:8080",
			config.EnvModelsLabBaseURL: "http://fakemodelslab:8090/api/", config.EnvModelsLabAllowHTTP: "true"}, ""},
		{"loopback public URL, real provider", map[string]string{config.EnvGatewayPublicURL: "http://127.0.0.1:8080"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := with(map[string]string{config.EnvModelsLabKey: "key-123", config.EnvWebhookSecrets: strongSecret}, tt.vars)
			_, err := config.LoadWorker(newEnv(vars).lookup)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}
