package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
)

// TestModelsLabAllowHTTP: the provider's base URL is https, or plain http
// on loopback, or plain http anywhere with MODELSLAB_ALLOW_HTTP, and the
// error names both variables.
func TestModelsLabAllowHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, base, allow string
		wantErr           string
		wantAllow         bool
	}{
		{name: "default", base: "-"},
		{name: "https", base: "https://modelslab.example/api/"},
		{name: "http on loopback", base: "http://127.0.0.1:8090/api/"},
		{name: "http on localhost", base: "http://localhost:8090/api/"},
		{name: "http elsewhere", base: "http://fakemodelslab:8090/api/", wantErr: "MODELSLAB_ALLOW_HTTP=true"},
		{name: "http elsewhere, not allowed", base: "http://fakemodelslab:8090/api/", allow: "false", wantErr: "MODELSLAB_BASE_URL"},
		{name: "http elsewhere, allowed", base: "http://fakemodelslab:8090/api/", allow: "true", wantAllow: true},
		{name: "allowed, https", base: "https://modelslab.example/api/", allow: "1", wantAllow: true},
		{name: "not a boolean", base: "https://modelslab.example/api/", allow: "maybe", wantErr: "MODELSLAB_ALLOW_HTTP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := with(workerRequired, map[string]string{config.EnvModelsLabBaseURL: tt.base})
			if tt.allow != "" {
				vars[config.EnvModelsLabAllowHTTP] = tt.allow
			}
			got, err := config.LoadWorker(newEnv(vars).lookup)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Len(t, joined(t, err), 1)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantAllow, got.ModelsLabAllowHTTP)
		})
	}
}
