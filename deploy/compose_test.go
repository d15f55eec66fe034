package deploy_test

import (
	"bufio"
	"context"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/webhookurl"
	"github.com/genflow/genflow/worker"
)

// testSecret stands in for the secret the operator generates (openssl
// rand -hex 32): compose's settings are production settings, which refuse
// a weak one.
const testSecret = "3f786850e387550fdab836ed7e6dc881de23001b0d3c8e2f5a7b9c1d3e5f7a9b"

// Pinned images. A version bump changes this table, docker-compose.yml and
// docs/deploy.md ("Versions") together.
var pinnedImages = map[string]string{
	"postgresql":      "postgres:16",
	"temporal-schema": "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
	"temporal":        "temporalio/server:1.29.1",
	"temporal-init":   "temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0",
	"temporal-ui":     "temporalio/ui:2.42.1",
	"proxy":           "caddy:2.10.2-alpine",
	// Docker Hub's minio/minio is gone; MinIO's own registry still serves
	// its last community release.
	"minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
	// MinIO's image ships mc, which creates genflow's bucket and key.
	"minio-init": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
}

// genflowServices are built from the Dockerfile, one target each.
var genflowServices = []string{"worker", "gateway", "fakemodelslab", "starter"}

// repoRoot is where docker compose runs: the project directory.
var repoRoot = func() string {
	abs, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return abs
}()

// testPasswords stand in for the passwords the operator sets in .env
// (compose has no default for any of them).
var testPasswords = map[string]string{
	"POSTGRES_PASSWORD":    "0c4b9f1e2d3a5b6c7d8e9f0a1b2c3d4e5f6a7b8c",
	"MINIO_ROOT_PASSWORD":  "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
	"MINIO_STORE_PASSWORD": "1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e",
}

// exampleEnv is .env.example as docker compose reads it from .env, with
// the secret and the passwords the operator adds after copying it.
func exampleEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.Read(filepath.Join(repoRoot, ".env.example"))
	require.NoError(t, err)
	env[config.EnvWebhookSecrets] = testSecret
	for k, v := range testPasswords {
		env[k] = v
	}
	return env
}

// loadProject loads the compose files (docker-compose.yml when none) as
// `docker compose` does in the repository root with env as its .env:
// interpolated, schema-validated (unknown keys are errors), normalised and
// checked for consistency, with COMPOSE_PROFILES applied.
func loadProject(t *testing.T, env map[string]string, files ...string) (*types.Project, error) {
	t.Helper()
	if len(files) == 0 {
		files = []string{"docker-compose.yml"}
	}
	var paths, list []string
	for _, f := range files {
		paths = append(paths, filepath.Join(repoRoot, f))
	}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(repoRoot),
		cli.WithName("genflow"),
		cli.WithEnv(list),
		cli.WithDefaultProfiles(),
		cli.WithResolvedPaths(true),
	)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

func mustLoad(t *testing.T, env map[string]string, files ...string) *types.Project {
	t.Helper()
	p, err := loadProject(t, env, files...)
	require.NoError(t, err)
	return p
}

// lookupIn is a config.Lookup over a service's resolved environment.
func lookupIn(svc types.ServiceConfig) config.Lookup {
	return func(name string) (string, bool) {
		v, ok := svc.Environment[name]
		if !ok || v == nil {
			return "", false
		}
		return *v, true
	}
}

// readBy lists every variable a loader asks for, by running it on an
// empty environment.
func readBy(load func(config.Lookup)) []string {
	seen := map[string]bool{}
	load(func(name string) (string, bool) { seen[name] = true; return "", false })
	return slices.Sorted(maps.Keys(seen))
}

var (
	workerReads = readBy(func(l config.Lookup) { _, _ = config.LoadWorker(l) })
	gatewayRead = readBy(func(l config.Lookup) { _, _ = config.LoadGateway(l) })
	starterRead = readBy(func(l config.Lookup) { _, _ = config.LoadStarter(l) })
	fakeReads   = readBy(func(l config.Lookup) { _, _ = fakemodelslab.ParseConfig(nil, l, io.Discard) })
)

// readsOf maps each genflow service to the variables its binary reads.
var readsOf = map[string][]string{
	"worker": workerReads, "gateway": gatewayRead, "starter": starterRead, "fakemodelslab": fakeReads,
}

// temporalProfileOnly are the Temporal CLI's settings the binaries read
// (through envconfig) that docker-compose.yml does not pass: inline PEM
// data (compose mounts files instead), the gRPC authority, turning host
// verification off, and the codec, which genflow does not use. A profile
// of a Temporal config file (TEMPORAL_CONFIG_FILE) holds them when needed.
var temporalProfileOnly = []string{
	"TEMPORAL_TLS_CLIENT_CERT_DATA", "TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
	"TEMPORAL_CLIENT_AUTHORITY", config.EnvTemporalTLSNoVerify, "TEMPORAL_CODEC_ENDPOINT", "TEMPORAL_CODEC_AUTH",
}

func hostPort(t *testing.T, rawURL string) (string, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Hostname(), u.Port()
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	return p
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	require.NoError(t, err)
	return string(b)
}

func TestComposeStackWithFakeProvider(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, exampleEnv(t))

	t.Run("services and profiles", func(t *testing.T) {
		require.ElementsMatch(t, []string{
			"postgresql", "temporal-schema", "temporal", "temporal-init", "temporal-ui",
			"worker", "gateway", "proxy", "fakemodelslab", "minio", "minio-init",
		}, p.ServiceNames(), ".env.example turns on the fake profile")
		require.ElementsMatch(t, []string{"starter"}, p.DisabledServiceNames())
		all := p.AllServices()
		require.Equal(t, []string{"fake"}, []string(all["fakemodelslab"].Profiles))
		require.Equal(t, []string{"tools"}, []string(all["starter"].Profiles))
	})

	t.Run("images are pinned", func(t *testing.T) {
		for name, svc := range p.AllServices() {
			if want, ok := pinnedImages[name]; ok {
				require.Equal(t, want, svc.Image, name)
				require.Nil(t, svc.Build, name)
				continue
			}
			require.Contains(t, genflowServices, name, "service %s is neither pinned nor built here", name)
			require.NotNil(t, svc.Build, name)
			require.Equal(t, repoRoot, svc.Build.Context, name)
			require.Equal(t, name, svc.Build.Target, name)
			require.Contains(t, dockerfileStages(t), svc.Build.Target, name)
			require.Equal(t, "genflow/"+name+":local", svc.Image, name)
		}
		// The admin-tools image migrates the schema the server runs on.
		server := strings.TrimPrefix(pinnedImages["temporal"], "temporalio/server:")
		require.True(t, strings.HasPrefix(strings.TrimPrefix(pinnedImages["temporal-schema"], "temporalio/admin-tools:"), server+"-"))
	})

	t.Run("start order", func(t *testing.T) {
		want := map[string]map[string]string{
			"postgresql":      {},
			"temporal-schema": {"postgresql": types.ServiceConditionHealthy},
			"temporal":        {"temporal-schema": types.ServiceConditionCompletedSuccessfully},
			"temporal-init":   {"temporal": types.ServiceConditionHealthy},
			"temporal-ui":     {"temporal": types.ServiceConditionHealthy},
			"worker": {
				"temporal-init": types.ServiceConditionCompletedSuccessfully,
				"minio":         types.ServiceConditionHealthy,
				"minio-init":    types.ServiceConditionCompletedSuccessfully,
			},
			"gateway":       {"temporal-init": types.ServiceConditionCompletedSuccessfully},
			"proxy":         {"gateway": types.ServiceConditionHealthy},
			"fakemodelslab": {},
			"minio":         {},
			"minio-init":    {"minio": types.ServiceConditionHealthy},
			"starter":       {"temporal-init": types.ServiceConditionCompletedSuccessfully},
		}
		for name, svc := range p.AllServices() {
			got := map[string]string{}
			for dep, d := range svc.DependsOn {
				got[dep] = d.Condition
				require.True(t, d.Required, "%s -> %s", name, dep)
			}
			require.Equal(t, want[name], got, name)
		}
		// `docker compose up --wait` fails on a one-shot container that
		// exits, even with 0, unless a running service waits for its
		// completion (docker/compose#10596).
		for _, job := range []string{"temporal-schema", "temporal-init", "minio-init"} {
			adopted := false
			for _, svc := range p.Services {
				if d, ok := svc.DependsOn[job]; ok && d.Condition == types.ServiceConditionCompletedSuccessfully &&
					svc.Restart == types.RestartPolicyUnlessStopped {
					adopted = true
				}
			}
			require.True(t, adopted, "%s is waited for by a long-running service", job)
		}
	})

	t.Run("healthchecks and restart policies", func(t *testing.T) {
		oneShot := []string{"temporal-schema", "temporal-init", "minio-init"}
		for name, svc := range p.AllServices() {
			switch {
			case slices.Contains(oneShot, name):
				require.Equal(t, "on-failure:5", svc.Restart, name)
				require.Nil(t, svc.HealthCheck, name)
			case name == "starter":
				require.Equal(t, types.RestartPolicyNo, svc.Restart, name)
			default:
				require.Equal(t, types.RestartPolicyUnlessStopped, svc.Restart, name)
				if name == "temporal-ui" {
					continue // nothing depends on it; see the comment in the file
				}
				hc := svc.HealthCheck
				require.NotNil(t, hc, name)
				require.False(t, hc.Disable, name)
				require.NotEmpty(t, hc.Test, name)
				require.NotNil(t, hc.Interval, name)
				require.NotNil(t, hc.Timeout, name)
				require.NotNil(t, hc.Retries, name)
			}
		}
		// genflow's images have no shell: exec form, with the healthcheck binary.
		want := map[string][]string{
			"worker":        {"CMD", "healthcheck", "worker"},
			"gateway":       {"CMD", "healthcheck", "gateway"},
			"fakemodelslab": {"CMD", "healthcheck", "http", "http://127.0.0.1:" + portOf(t, *p.Services["fakemodelslab"].Environment[fakemodelslab.EnvListenAddr]) + "/_fake/healthz"},
			// The image ships mc, not curl or wget; its "local" alias is
			// the server's default address, http://localhost:9000.
			"minio": {"CMD", "mc", "ready", "local"},
		}
		for name, test := range want {
			require.Equal(t, test, []string(p.Services[name].HealthCheck.Test), name)
		}
	})

	t.Run("worker and gateway scale", func(t *testing.T) {
		for _, name := range []string{"worker", "gateway"} {
			svc := p.Services[name]
			require.Empty(t, svc.ContainerName, "%s: a fixed container name stops --scale", name)
			require.Empty(t, svc.Hostname, "%s: replicas need their own hostnames (the worker healthcheck matches on it)", name)
			require.Empty(t, svc.Ports, "%s: a published host port stops --scale; the proxy is the entry point", name)
			require.Empty(t, svc.Volumes, "%s: no per-instance state", name)
			require.Nil(t, svc.Deploy, name)
		}
		require.Equal(t, []string{"8080", "9091"}, []string(p.Services["gateway"].Expose))
	})

	t.Run("genflow containers are locked down", func(t *testing.T) {
		for _, name := range genflowServices {
			svc := p.AllServices()[name]
			require.True(t, svc.ReadOnly, name)
			require.Equal(t, []string{"ALL"}, svc.CapDrop, name)
			require.Equal(t, []string{"no-new-privileges:true"}, svc.SecurityOpt, name)
		}
	})

	t.Run("logs are rotated", func(t *testing.T) {
		for name, svc := range p.AllServices() {
			require.NotNil(t, svc.Logging, name)
			require.Equal(t, "json-file", svc.Logging.Driver, name)
			require.Equal(t, types.Options{"max-size": "10m", "max-file": "5"}, svc.Logging.Options, name)
		}
	})

	t.Run("graceful stops fit the stop grace period", func(t *testing.T) {
		// worker.Run stops with a 30 s WorkerStopTimeout; Docker's default
		// 10 s would kill running activities.
		require.GreaterOrEqual(t, time.Duration(*p.Services["worker"].StopGracePeriod), 35*time.Second)
		require.GreaterOrEqual(t, time.Duration(*p.Services["gateway"].StopGracePeriod), webhookgateway.ShutdownGrace+3*time.Second)
	})

	t.Run("binaries accept their environment", func(t *testing.T) {
		w, err := config.LoadWorker(lookupIn(p.Services["worker"]))
		require.NoError(t, err)
		g, err := config.LoadGateway(lookupIn(p.Services["gateway"]))
		require.NoError(t, err)
		s, err := config.LoadStarter(lookupIn(p.AllServices()["starter"]))
		require.NoError(t, err)
		f, err := fakemodelslab.ParseConfig(nil, lookupIn(p.Services["fakemodelslab"]), io.Discard)
		require.NoError(t, err)
		// What the binaries build from it before dialing Temporal.
		_, err = worker.NewActivities(w)
		require.NoError(t, err)
		_, err = webhookurl.NewSigner(webhookurl.Options{Secrets: g.Secrets})
		require.NoError(t, err)

		// One Temporal, namespace and task queue for all of them, in plain
		// text: the temporal service has neither TLS nor authentication.
		require.Equal(t, "temporal:7233", w.Temporal.Address)
		require.Equal(t, "temporal:7233 namespace default (plain)", w.Temporal.Describe())
		require.Equal(t, w.Temporal, g.Temporal)
		require.Equal(t, w.Temporal, s.Temporal)
		host, port := hostPort(t, "tcp://"+w.Temporal.Address)
		require.Contains(t, p.ServiceNames(), host)
		require.Equal(t, "7233", port)
		require.Equal(t, contract.DefaultTaskQueue, w.Temporal.TaskQueue)
		require.Equal(t, "http://localhost:8233", s.Temporal.UIURL, "the starter's links open the published UI")
		require.Equal(t, w.Temporal.Namespace, *p.Services["temporal-init"].Environment["NAMESPACE"])
		require.Equal(t, w.Temporal.Namespace, *p.Services["temporal-ui"].Environment["TEMPORAL_DEFAULT_NAMESPACE"])

		// Worker and gateway share the secrets: URLs the worker signs verify.
		require.Equal(t, []string{testSecret}, w.Secrets)
		require.Equal(t, w.Secrets, g.Secrets)

		// The worker submits to the fake, on the port it listens on.
		host, port = hostPort(t, w.ModelsLabBaseURL)
		require.Equal(t, "fakemodelslab", host)
		require.Equal(t, portOf(t, f.ListenAddr), port)
		require.Equal(t, "fake-key", w.ModelsLabKey)
		require.True(t, w.ModelsLabAllowHTTP, "the fake speaks plain http: allowed with its profile only")
		require.Equal(t, "http://localhost:8090", f.Options.PublicURL)

		// Webhooks go to the proxy, which sends them to the gateways' port.
		host, port = hostPort(t, w.PublicURL)
		require.Equal(t, "proxy", host)
		caddyfile := readFile(t, "deploy/caddy/Caddyfile")
		require.Contains(t, caddyfile, "http_port "+port)
		require.Contains(t, caddyfile, "name gateway\n")
		require.Contains(t, caddyfile, "port "+portOf(t, g.ListenAddr)+"\n")
		require.Empty(t, g.TLSCertFile, "the proxy speaks plain HTTP to the gateways")

		// Metrics: the worker's listener and the gateway's admin listener
		// (/readyz, /metrics) are reachable inside the stack and not
		// published, and the proxy sends to the gateways' webhook port
		// only (and refuses those paths besides).
		host, port = hostPort(t, "tcp://"+w.MetricsAddr)
		require.Equal(t, "0.0.0.0", host)
		require.Contains(t, []string(p.Services["worker"].Expose), port)
		require.Empty(t, p.Services["worker"].Ports)
		host, port = hostPort(t, "tcp://"+g.AdminAddr)
		require.Equal(t, "0.0.0.0", host)
		require.Contains(t, []string(p.Services["gateway"].Expose), port)
		require.NotEqual(t, portOf(t, g.ListenAddr), port)
		require.Empty(t, p.Services["gateway"].Ports)
		require.NotContains(t, caddyfile, "port "+port+"\n")
		require.Contains(t, caddyfile, "handle /metrics* {\n\t\trespond 404")
		require.Contains(t, caddyfile, "handle /readyz* {\n\t\trespond 404")
	})

	t.Run("every variable a binary reads is wired", func(t *testing.T) {
		documented := envExampleNames(t)
		for name, reads := range readsOf {
			svc := p.AllServices()[name]
			for _, v := range reads {
				if slices.Contains(temporalProfileOnly, v) {
					require.NotContains(t, svc.Environment, v, "%s: %s is listed as left to a profile", name, v)
					continue
				}
				require.Contains(t, svc.Environment, v, "%s reads %s but docker-compose.yml does not set it", name, v)
				require.Contains(t, documented, v, "%s reads %s but .env.example does not list it", name, v)
			}
		}
	})

	t.Run("every variable in .env.example does something", func(t *testing.T) {
		compose := readFile(t, "docker-compose.yml") + readFile(t, "deploy/compose.gateway-tls.yml") +
			readFile(t, "deploy/compose.temporal-cloud.yml")
		fixed := map[string]string{ // set by docker-compose.yml, listed for completeness
			config.EnvGatewayListen:     "gateway",
			config.EnvTemporalAddress:   "worker",
			fakemodelslab.EnvListenAddr: "fakemodelslab",
		}
		for _, v := range envExampleNames(t) {
			if svc, ok := fixed[v]; ok {
				require.NotContains(t, compose, "${"+v, v)
				require.NotEmpty(t, *p.AllServices()[svc].Environment[v], v)
				continue
			}
			if v == "COMPOSE_PROFILES" || v == "COMPOSE_FILE" {
				continue // read by docker compose itself
			}
			// ${V:-default}, ${V:?error}, or ${V-default} (default only
			// when unset: an empty value in .env wins).
			read := strings.Contains(compose, "${"+v+":") || strings.Contains(compose, "${"+v+"-")
			require.True(t, read, "%s is in .env.example but no compose file reads it", v)
		}
	})

	t.Run("search attributes match the contract", func(t *testing.T) {
		got := strings.Fields(*p.Services["temporal-init"].Environment["SEARCH_ATTRIBUTES"])
		require.Equal(t, contract.SearchAttributeNames, got)
		require.LessOrEqual(t, len(got), 10, "SQL visibility holds 10 Keyword attributes per namespace")
	})

	t.Run("mounted files exist", func(t *testing.T) {
		mounted := func(svc types.ServiceConfig, target string) string {
			for _, v := range svc.Volumes {
				if v.Target == target {
					require.Equal(t, types.VolumeTypeBind, v.Type)
					require.True(t, v.ReadOnly, "%s is mounted read-only", target)
					return v.Source
				}
			}
			t.Fatalf("nothing mounted at %s", target)
			return ""
		}
		for _, name := range []string{"temporal-schema", "temporal-init", "minio-init"} {
			svc := p.Services[name]
			dir := mounted(svc, "/scripts")
			require.Len(t, svc.Entrypoint, 2, name)
			require.Equal(t, "/bin/sh", svc.Entrypoint[0])
			require.FileExists(t, filepath.Join(dir, strings.TrimPrefix(svc.Entrypoint[1], "/scripts/")), name)
		}
		dir := mounted(p.Services["temporal"], "/etc/temporal/config/dynamicconfig")
		require.FileExists(t, filepath.Join(dir, filepath.Base(*p.Services["temporal"].Environment["DYNAMIC_CONFIG_FILE_PATH"])))
		require.FileExists(t, mounted(p.Services["proxy"], "/etc/caddy/Caddyfile"))
	})

	t.Run("what has no authentication stays on loopback", func(t *testing.T) {
		// MinIO has authentication; its console is for this host.
		for _, name := range []string{"temporal", "temporal-ui", "proxy", "fakemodelslab", "minio"} {
			require.NotEmpty(t, p.Services[name].Ports, name)
			for _, port := range p.Services[name].Ports {
				require.Equal(t, "127.0.0.1", port.HostIP, "%s:%d", name, port.Target)
			}
		}
		for _, name := range []string{"postgresql", "worker", "gateway"} {
			require.Empty(t, p.Services[name].Ports, name)
		}
	})
}

func TestComposeRealModelsLab(t *testing.T) {
	t.Parallel()
	// .env.example after following its "ModelsLab" section for the real
	// API, with the proxy getting a certificate for a domain.
	env := exampleEnv(t)
	delete(env, "COMPOSE_PROFILES")
	delete(env, config.EnvModelsLabBaseURL)
	delete(env, config.EnvModelsLabAllowHTTP)
	env[config.EnvModelsLabKey] = "real-key"
	env[config.EnvGatewayPublicURL] = "https://genflow.example.com"
	env["GATEWAY_SITE_ADDRESS"] = "genflow.example.com"
	env["PROXY_HTTP_PUBLISH"] = "80"
	env["PROXY_HTTPS_PUBLISH"] = "443"
	// The README has users export this for the starter on the host; the
	// shell overrides .env, so compose must not read it.
	env[config.EnvTemporalAddress] = "127.0.0.1:7233"
	p := mustLoad(t, env)

	require.NotContains(t, p.ServiceNames(), "fakemodelslab")
	w, err := config.LoadWorker(lookupIn(p.Services["worker"]))
	require.NoError(t, err)
	_, err = worker.NewActivities(w)
	require.NoError(t, err)
	require.Equal(t, modelslab.DefaultBaseURL, w.ModelsLabBaseURL)
	require.False(t, w.ModelsLabAllowHTTP)
	require.Equal(t, "https://genflow.example.com", w.PublicURL)
	require.Equal(t, "temporal:7233", w.Temporal.Address)
	require.Equal(t, "genflow.example.com", *p.Services["proxy"].Environment["GATEWAY_SITE_ADDRESS"])
	published := map[uint32]string{}
	for _, port := range p.Services["proxy"].Ports {
		require.Empty(t, port.HostIP, "reachable from the internet")
		published[port.Target] = port.Published
	}
	// Caddy's http_port and https_port (deploy/caddy/Caddyfile).
	require.Equal(t, map[uint32]string{8080: "80", 8443: "443"}, published)
	caddyfile := readFile(t, "deploy/caddy/Caddyfile")
	require.Contains(t, caddyfile, "https_port 8443")
	require.Contains(t, caddyfile, "{$GATEWAY_SITE_ADDRESS::8080} {")
}

func TestComposeGatewayTLS(t *testing.T) {
	t.Parallel()
	env := exampleEnv(t)
	env["GATEWAY_TLS_DIR"] = "/etc/genflow/tls"
	env[config.EnvGatewayPublicURL] = "https://genflow.example.com"
	p := mustLoad(t, env, "docker-compose.yml", "deploy/compose.gateway-tls.yml")

	require.NotContains(t, p.ServiceNames(), "proxy", "the gateway is the entry point")
	gw := p.Services["gateway"]
	g, err := config.LoadGateway(lookupIn(gw))
	require.NoError(t, err)
	require.Len(t, gw.Volumes, 1)
	v := gw.Volumes[0]
	require.Equal(t, "/etc/genflow/tls", v.Source)
	require.True(t, v.ReadOnly)
	require.Equal(t, v.Target, filepath.Dir(g.TLSCertFile), "the directory is mounted, so renewals show through")
	require.Equal(t, v.Target, filepath.Dir(g.TLSKeyFile))
	require.Len(t, gw.Ports, 1)
	require.Equal(t, portOf(t, g.ListenAddr), strconv.FormatUint(uint64(gw.Ports[0].Target), 10))
	require.Equal(t, "443", gw.Ports[0].Published)
	// What 443 reaches serves webhooks only: readiness and metrics are on
	// the admin port, which is not published.
	require.NotEqual(t, portOf(t, g.AdminAddr), portOf(t, g.ListenAddr))
	w, err := config.LoadWorker(lookupIn(p.Services["worker"]))
	require.NoError(t, err)
	require.Equal(t, "https://genflow.example.com", w.PublicURL)

	// Both are required in this mode, by name.
	delete(env, "GATEWAY_TLS_DIR")
	_, err = loadProject(t, env, "docker-compose.yml", "deploy/compose.gateway-tls.yml")
	require.ErrorContains(t, err, "GATEWAY_TLS_DIR")
	env["GATEWAY_TLS_DIR"] = "/etc/genflow/tls"
	delete(env, config.EnvGatewayPublicURL)
	_, err = loadProject(t, env, "docker-compose.yml", "deploy/compose.gateway-tls.yml")
	require.ErrorContains(t, err, config.EnvGatewayPublicURL)
}

func TestComposeRefusesMissingSecrets(t *testing.T) {
	t.Parallel()
	env := exampleEnv(t)
	env[config.EnvWebhookSecrets] = "" // .env.example as shipped
	_, err := loadProject(t, env)
	require.ErrorContains(t, err, config.EnvWebhookSecrets)

	env = exampleEnv(t)
	delete(env, config.EnvModelsLabKey)
	_, err = loadProject(t, env)
	require.ErrorContains(t, err, config.EnvModelsLabKey)

	// No password has a default: each missing one stops compose, named.
	for name := range testPasswords {
		for _, value := range []string{"", "-"} {
			env = exampleEnv(t)
			if value == "-" {
				delete(env, name)
			} else {
				env[name] = value // .env.example as shipped
			}
			_, err = loadProject(t, env)
			require.ErrorContains(t, err, "set "+name+" in .env", "%s=%q", name, value)
		}
	}
	// With the fake profile off too (the real API).
	env = exampleEnv(t)
	delete(env, "COMPOSE_PROFILES")
	delete(env, "MINIO_STORE_PASSWORD")
	_, err = loadProject(t, env)
	require.ErrorContains(t, err, "MINIO_STORE_PASSWORD")
}

// TestComposeLoaderIsStrict shows that a misspelt key fails the load, so
// the checks above cannot pass on a file docker compose would reject.
func TestComposeLoaderIsStrict(t *testing.T) {
	t.Parallel()
	src := readFile(t, "docker-compose.yml")
	bad := strings.Replace(src, "    stop_grace_period: 40s", "    stop_grace_periode: 40s", 1)
	require.NotEqual(t, src, bad)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(bad), 0o600))
	rel, err := filepath.Rel(repoRoot, filepath.Join(dir, "docker-compose.yml"))
	require.NoError(t, err)
	_, err = loadProject(t, exampleEnv(t), rel)
	require.ErrorContains(t, err, "stop_grace_periode")
}

var envLine = regexp.MustCompile(`^#?([A-Z][A-Z0-9_]*)=`)

// envExampleNames lists the variables .env.example sets or shows
// commented out with their default.
func envExampleNames(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".env.example"))
	require.NoError(t, err)
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := envLine.FindStringSubmatch(sc.Text()); m != nil && !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	require.NoError(t, sc.Err())
	return names
}
