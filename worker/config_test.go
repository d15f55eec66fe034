package worker

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/storage"
)

// TestConfigErrorsNameTheVariable: what config reads as text and the
// worker parses (notification secrets, the store's URL) still fails at
// start naming the variable.
func TestConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, variable, value, want string
	}{
		{"notify secret not base64", config.EnvNotifySecrets, "whsec_not base64!", "NOTIFY_SECRETS: secret 1"},
		{"second notify secret too short", config.EnvNotifySecrets, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3,whsec_c2hvcnQ=", "NOTIFY_SECRETS: secret 2"},
		{"store URL without bucket", config.EnvStoreURL, "s3:///x", "STORE_URL: "},
		{"store URL of a relative directory", config.EnvStoreURL, "file://outputs", "STORE_URL: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				config.EnvModelsLabKey: "k", config.EnvWebhookSecrets: "0123456789abcdef0123",
				tt.variable: tt.value,
			}
			cfg, err := config.LoadWorker(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			require.NoError(t, err)
			_, err = NewActivities(cfg)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestStoreDefaultsAgree(t *testing.T) {
	t.Parallel()
	require.EqualValues(t, storage.DefaultMaxBytes, config.DefaultStoreMaxBytes)
}
