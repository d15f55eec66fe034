package starter

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/internal/config"
)

// TestConnectionFlags: --address, --namespace and --profile pick the
// Temporal to reach, over the variables, as the temporal CLI's do; a
// profile comes from the Temporal config file.
func TestConnectionFlags(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profile.default]
address = "default-host:7233"
namespace = "from-default-profile"

[profile.cloud]
address = "genflow.a1b2c.tmprl.cloud:7233"
namespace = "genflow.a1b2c"
api_key = "profile-key"
`), 0o600))
	tests := []struct {
		name          string
		vars          map[string]string
		args          []string
		wantAddress   string
		wantNamespace string
		wantAPIKey    bool
		wantErr       string
	}{
		{name: "defaults", wantAddress: "localhost:7233", wantNamespace: "default"},
		{name: "variables", vars: map[string]string{config.EnvTemporalAddress: "env-host:7233", config.EnvTemporalNamespace: "env-ns"},
			wantAddress: "env-host:7233", wantNamespace: "env-ns"},
		{name: "flags over variables", vars: map[string]string{config.EnvTemporalAddress: "env-host:7233", config.EnvTemporalNamespace: "env-ns"},
			args: []string{"--address", "flag-host:7233", "-n", "flag-ns"}, wantAddress: "flag-host:7233", wantNamespace: "flag-ns"},
		{name: "the config file's default profile", vars: map[string]string{config.EnvTemporalConfigFile: file},
			wantAddress: "default-host:7233", wantNamespace: "from-default-profile"},
		{name: "--profile", vars: map[string]string{config.EnvTemporalConfigFile: file}, args: []string{"--profile", "cloud"},
			wantAddress: "genflow.a1b2c.tmprl.cloud:7233", wantNamespace: "genflow.a1b2c", wantAPIKey: true},
		{name: "--address over the profile", vars: map[string]string{config.EnvTemporalConfigFile: file},
			args: []string{"--profile", "cloud", "--address", "other:7233"}, wantAddress: "other:7233", wantNamespace: "genflow.a1b2c", wantAPIKey: true},
		{name: "unknown profile", vars: map[string]string{config.EnvTemporalConfigFile: file}, args: []string{"--profile", "nope"},
			wantErr: "TEMPORAL_PROFILE"},
		{name: "bad --address", args: []string{"--address", "no-port"}, wantErr: "TEMPORAL_ADDRESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got config.Temporal
			var stdout, stderr bytes.Buffer
			env := Env{Stdout: &stdout, Stderr: &stderr,
				Lookup: func(k string) (string, bool) { v, ok := tt.vars[k]; return v, ok },
				Dial: func(cfg config.Temporal) (client.Client, error) {
					got = cfg
					return nil, errors.New("not dialling in this test")
				},
			}
			code := Main(context.Background(), append([]string{"show", "some-run"}, tt.args...), env)
			require.NotEqual(t, ExitOK, code)
			if tt.wantErr != "" {
				require.Equal(t, ExitUsage, code, stderr.String())
				require.Contains(t, stderr.String(), tt.wantErr)
				return
			}
			require.Contains(t, stderr.String(), "not dialling in this test")
			require.Equal(t, tt.wantAddress, got.Address)
			require.Equal(t, tt.wantNamespace, got.Namespace)
			require.Equal(t, tt.wantAPIKey, got.Connection.Credentials != nil)
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"--version"}, Env{Stdout: &stdout, Stderr: &stderr})
	require.Equal(t, ExitOK, code, stderr.String())
	require.Regexp(t, `^starter \S+.* \(go1\.\d+`, stdout.String())
}
