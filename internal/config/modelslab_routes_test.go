package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/modelslab"
)

// TestModelsLabRoutes: a base URL without /api/ is refused naming
// MODELSLAB_BASE_URL, and MODELSLAB_ENDPOINT_PATHS moves endpoints to
// enterprise paths, checked at load.
func TestModelsLabRoutes(t *testing.T) {
	t.Parallel()
	enterprise := `{"video/text2video_ultra":{"path":"v1/enterprise/ultra_video/text2video",` +
		`"fetch_path":"v1/enterprise/ultra_video/fetch/{id}"}}`
	tests := []struct {
		name, base, paths string
		wantErr           string
		wantPaths         map[string]modelslab.EndpointPaths
	}{
		{name: "default", base: "-"},
		{name: "api root", base: "https://modelslab.com/api/"},
		{name: "api root without slash", base: "https://modelslab.com/api"},
		{name: "host only", base: "https://modelslab.com", wantErr: "MODELSLAB_BASE_URL: \"https://modelslab.com\" has no /api/ segment"},
		{name: "version root", base: "https://modelslab.com/v6/", wantErr: "no /api/ segment"},
		{name: "fake without api", base: "http://127.0.0.1:8090/", wantErr: "no /api/ segment"},
		{name: "enterprise paths", base: "-", paths: enterprise, wantPaths: map[string]modelslab.EndpointPaths{
			"video/text2video_ultra": {Path: "v1/enterprise/ultra_video/text2video", FetchPath: "v1/enterprise/ultra_video/fetch/{id}"}}},
		{name: "paths not JSON", base: "-", paths: "v1/enterprise", wantErr: "MODELSLAB_ENDPOINT_PATHS: not a JSON object"},
		{name: "paths unknown field", base: "-", paths: `{"images/text2img":{"url":"x"}}`, wantErr: "MODELSLAB_ENDPOINT_PATHS"},
		{name: "paths unknown endpoint", base: "-", paths: `{"ultra":{"path":"v1/x"}}`,
			wantErr: "MODELSLAB_ENDPOINT_PATHS: EndpointPaths: \"ultra\" is not a catalogue name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := with(workerRequired, map[string]string{config.EnvModelsLabBaseURL: tt.base})
			if tt.paths != "" {
				vars[config.EnvModelsLabEndpointPaths] = tt.paths
			}
			got, err := config.LoadWorker(newEnv(vars).lookup)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantPaths, got.ModelsLabEndpointPaths)
		})
	}
}
