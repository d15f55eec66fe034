package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/tlstest"
)

// temporalCloudFiles are the compose files of a stack whose Temporal is
// elsewhere (docs/deploy.md, "Temporal Cloud and your own Temporal").
var temporalCloudFiles = []string{"docker-compose.yml", "deploy/compose.temporal-cloud.yml"}

// localTemporal are the services deploy/compose.temporal-cloud.yml turns off.
var localTemporal = []string{"postgresql", "temporal-schema", "temporal", "temporal-init", "temporal-ui"}

// temporalClients are the services that dial Temporal; their healthchecks
// run in the same containers.
var temporalClients = []string{"worker", "gateway", "starter"}

// clientMountTarget is where deploy/compose.temporal-cloud.yml mounts
// TEMPORAL_CLIENT_DIR.
const clientMountTarget = "/run/genflow/temporal"

// hostLookupIn is lookupIn with the paths under svc's bind mounts turned
// into the host paths they show, so that the loaders find the files the
// container would.
func hostLookupIn(svc types.ServiceConfig) config.Lookup {
	inner := lookupIn(svc)
	return func(name string) (string, bool) {
		v, ok := inner(name)
		for _, m := range svc.Volumes {
			if rest, found := strings.CutPrefix(v, m.Target+"/"); found && m.Type == types.VolumeTypeBind {
				return filepath.Join(m.Source, rest), ok
			}
		}
		return v, ok
	}
}

// cloudEnv is .env.example after following docs/deploy.md for Temporal
// Cloud with an API key, in a shell that exports TEMPORAL_ADDRESS for the
// starter on the host (the shell overrides .env).
func cloudEnv(t *testing.T) map[string]string {
	t.Helper()
	env := exampleEnv(t)
	env["GENFLOW_TEMPORAL_ADDRESS"] = "us-east-1.aws.api.temporal.io:7233"
	env[config.EnvTemporalNamespace] = "genflow.a1b2c"
	env[config.EnvTemporalAPIKey] = "cloud-api-key-not-logged"
	env[config.EnvTemporalAddress] = "127.0.0.1:7233"
	return env
}

func TestComposeTemporalCloud(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, cloudEnv(t), temporalCloudFiles...)

	t.Run("the local Temporal does not start", func(t *testing.T) {
		require.ElementsMatch(t, []string{"worker", "gateway", "proxy", "minio", "minio-init", "fakemodelslab"}, p.ServiceNames())
		require.ElementsMatch(t, append([]string{"starter"}, localTemporal...), p.DisabledServiceNames())
		for _, name := range localTemporal {
			require.Equal(t, []string{"local-temporal"}, []string(p.AllServices()[name].Profiles), name)
		}
	})

	t.Run("nothing waits for what does not start", func(t *testing.T) {
		enabled := p.ServiceNames()
		for name, svc := range p.AllServices() {
			if slices.Contains(localTemporal, name) {
				continue
			}
			for dep, d := range svc.DependsOn {
				if !slices.Contains(enabled, dep) {
					require.False(t, d.Required, "%s -> %s, which is off: docker compose would refuse it", name, dep)
				}
			}
		}
		dep, ok := p.Services["worker"].DependsOn["minio"]
		require.True(t, ok, "the worker still waits for its store")
		require.Equal(t, types.ServiceConditionHealthy, dep.Condition)
		require.True(t, dep.Required)
		require.Equal(t, types.ServiceConditionHealthy, p.Services["proxy"].DependsOn["gateway"].Condition)

		// With the profile on, the local Temporal runs and is waited for again.
		env := cloudEnv(t)
		env["COMPOSE_PROFILES"] = "fake,local-temporal"
		local := mustLoad(t, env, temporalCloudFiles...)
		require.Contains(t, local.ServiceNames(), "temporal-init")
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, local.Services["worker"].DependsOn["temporal-init"].Condition)
	})

	t.Run("the client directory is mounted read-only, the same for every replica", func(t *testing.T) {
		for _, name := range temporalClients {
			svc := p.AllServices()[name]
			require.Len(t, svc.Volumes, 1, name)
			v := svc.Volumes[0]
			require.Equal(t, types.VolumeTypeBind, v.Type, name)
			require.True(t, v.ReadOnly, name)
			require.Equal(t, clientMountTarget, v.Target, name)
			// The shipped default exists, so Docker does not create it
			// (as root) on the first start.
			require.Equal(t, filepath.Join(repoRoot, "deploy", "temporal-client"), v.Source, name)
			require.DirExists(t, v.Source)
		}
		// Keys put there are never committed nor sent to an image build.
		ignore := readFile(t, "deploy/temporal-client/.gitignore")
		require.Contains(t, strings.Split(ignore, "\n"), "*")
		require.Contains(t, readFile(t, ".dockerignore"), "\ndeploy/temporal-client\n")

		env := cloudEnv(t)
		env["TEMPORAL_CLIENT_DIR"] = "/etc/genflow/temporal"
		other := mustLoad(t, env, temporalCloudFiles...)
		require.Equal(t, "/etc/genflow/temporal", other.Services["worker"].Volumes[0].Source)
	})

	t.Run("API key", func(t *testing.T) {
		var described []string
		for _, name := range temporalClients {
			svc := p.AllServices()[name]
			var tc config.Temporal
			switch name {
			case "worker":
				w, err := config.LoadWorker(lookupIn(svc))
				require.NoError(t, err)
				tc = w.Temporal
			case "gateway":
				g, err := config.LoadGateway(lookupIn(svc))
				require.NoError(t, err)
				tc = g.Temporal
			case "starter":
				s, err := config.LoadStarter(lookupIn(svc))
				require.NoError(t, err)
				tc = s.Temporal
			}
			require.Equal(t, "us-east-1.aws.api.temporal.io:7233", tc.Address, "%s: GENFLOW_TEMPORAL_ADDRESS, not the shell's TEMPORAL_ADDRESS", name)
			require.Equal(t, "genflow.a1b2c", tc.Namespace, name)
			require.NotNil(t, tc.Connection.Credentials, name)
			require.NotNil(t, tc.Connection.ConnectionOptions.TLS, "%s: an API key turns TLS on, as Temporal Cloud needs", name)
			require.Equal(t, config.CompressionGzip, tc.Compression, "%s: across a WAN", name)
			described = append(described, tc.Describe())
		}
		require.Equal(t, []string{
			"us-east-1.aws.api.temporal.io:7233 namespace genflow.a1b2c (API key, TLS)",
			"us-east-1.aws.api.temporal.io:7233 namespace genflow.a1b2c (API key, TLS)",
			"us-east-1.aws.api.temporal.io:7233 namespace genflow.a1b2c (API key, TLS)",
		}, described, "what the binaries log names the way in, never the key")
	})

	t.Run("mTLS with files in the client directory", func(t *testing.T) {
		files := tlstest.Write(t)
		dir := filepath.Dir(files.ClientCert)
		require.Equal(t, dir, filepath.Dir(files.CA))
		env := cloudEnv(t)
		delete(env, config.EnvTemporalAPIKey)
		env["GENFLOW_TEMPORAL_ADDRESS"] = "genflow.a1b2c.tmprl.cloud:7233"
		env["TEMPORAL_CLIENT_DIR"] = dir
		env[config.EnvTemporalTLSCert] = clientMountTarget + "/" + filepath.Base(files.ClientCert)
		env[config.EnvTemporalTLSKey] = clientMountTarget + "/" + filepath.Base(files.ClientKey)
		env[config.EnvTemporalTLSCA] = clientMountTarget + "/" + filepath.Base(files.CA)
		env[config.EnvTemporalTLSName] = "temporal.internal.example"
		mtls := mustLoad(t, env, temporalCloudFiles...)
		for _, name := range []string{"worker", "gateway"} {
			svc := mtls.Services[name]
			var tc config.Temporal
			if name == "worker" {
				w, err := config.LoadWorker(hostLookupIn(svc))
				require.NoError(t, err)
				tc = w.Temporal
			} else {
				g, err := config.LoadGateway(hostLookupIn(svc))
				require.NoError(t, err)
				tc = g.Temporal
			}
			tlsConf := tc.Connection.ConnectionOptions.TLS
			require.NotNil(t, tlsConf, name)
			require.Len(t, tlsConf.Certificates, 1, name)
			require.NotNil(t, tlsConf.RootCAs, name)
			require.Equal(t, "temporal.internal.example", tlsConf.ServerName, name)
			require.Nil(t, tc.Connection.Credentials, name)
			require.Equal(t, "genflow.a1b2c.tmprl.cloud:7233 namespace genflow.a1b2c (mTLS)", tc.Describe(), name)
		}
	})

	t.Run("a profile of a Temporal config file", func(t *testing.T) {
		dir := t.TempDir()
		toml := `[profile.prod]
address = "temporal.example.com:7233"
namespace = "genflow-prod"
api_key = "profile-api-key"

[profile.prod.tls]
server_name = "temporal.example.com"
`
		require.NoError(t, os.WriteFile(filepath.Join(dir, "temporal.toml"), []byte(toml), 0o600))
		env := exampleEnv(t)
		env[config.EnvTemporalAddress] = "127.0.0.1:7233" // the shell's, again
		env["TEMPORAL_CLIENT_DIR"] = dir
		env[config.EnvTemporalConfigFile] = clientMountTarget + "/temporal.toml"
		env[config.EnvTemporalProfile] = "prod"
		prof := mustLoad(t, env, temporalCloudFiles...)
		w, err := config.LoadWorker(hostLookupIn(prof.Services["worker"]))
		require.NoError(t, err)
		require.Equal(t, "temporal.example.com:7233 namespace genflow-prod (API key, TLS) profile prod", w.Temporal.Describe(),
			"the override leaves address and namespace to the profile")
		require.Equal(t, "temporal.example.com", w.Temporal.Connection.ConnectionOptions.TLS.ServerName)

		// docker-compose.yml alone would not: it defaults them to the
		// temporal service and the default namespace.
		env["COMPOSE_PROFILES"] = "fake"
		base := mustLoad(t, env)
		require.Equal(t, "temporal:7233", *base.Services["worker"].Environment[config.EnvTemporalAddress])
		require.Equal(t, "default", *base.Services["worker"].Environment[config.EnvTemporalNamespace])
	})
}
