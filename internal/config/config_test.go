package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/notify"
)

const (
	// Strong secrets, as `openssl rand -hex 32` prints them: settings
	// off loopback (production) refuse weaker ones.
	secretA = "5d41402abc4b2a76b9719d911017c592e2fc1c9a3e1b8f0a7c6d4e2b0a9f8e7d"
	secretB = "7b52009b64fd0a2a49e6d8a939753077792b0554a1c3e5f7092b4d6f8a0c2e4f"
)

// env is a map-backed config.Lookup that records the names it was asked.
type env struct {
	vars map[string]string
	mu   sync.Mutex
	read []string
}

func newEnv(vars map[string]string) *env { return &env{vars: vars} }

func (e *env) lookup(name string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.read = append(e.read, name)
	v, ok := e.vars[name]
	return v, ok
}

func (e *env) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.read)
}

// with returns a copy of base with the overrides applied; an override of
// "-" deletes the variable.
func with(base map[string]string, overrides map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range overrides {
		if v == "-" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// workerRequired and gatewayRequired are the smallest valid environments.
var (
	workerRequired  = map[string]string{config.EnvModelsLabKey: "key-123", config.EnvWebhookSecrets: secretA}
	gatewayRequired = map[string]string{config.EnvWebhookSecrets: secretA}
)

// joined returns the errors joined in err, one per problem.
func joined(t *testing.T, err error) []error {
	t.Helper()
	require.Error(t, err)
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}

func defaultTemporal() config.Temporal {
	return config.Temporal{
		Address:     "localhost:7233",
		Namespace:   "default",
		TaskQueue:   contract.DefaultTaskQueue,
		UIURL:       "http://localhost:8233",
		Compression: config.CompressionGzip,
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()

	t.Run("worker", func(t *testing.T) {
		t.Parallel()
		got, err := config.LoadWorker(newEnv(workerRequired).lookup)
		require.NoError(t, err)
		require.Equal(t, config.Worker{
			Temporal:         defaultTemporal(),
			Log:              config.Log{Level: "info", Format: "text"},
			ModelsLabKey:     "key-123",
			ModelsLabBaseURL: modelslab.DefaultBaseURL,
			PublicURL:        "http://localhost:8080",
			Secrets:          []string{secretA},
			MetricsAddr:      "127.0.0.1:9090",
			Store:            config.Store{MaxBytes: config.DefaultStoreMaxBytes},

			AccountQueueLimit: 5, // ModelsLab pay-as-you-go's queue
		}, got)
	})

	t.Run("gateway", func(t *testing.T) {
		t.Parallel()
		got, err := config.LoadGateway(newEnv(gatewayRequired).lookup)
		require.NoError(t, err)
		require.Equal(t, config.Gateway{
			Temporal:          defaultTemporal(),
			Log:               config.Log{Level: "info", Format: "text"},
			ListenAddr:        "127.0.0.1:8080",
			AdminAddr:         "127.0.0.1:9091",
			Secrets:           []string{secretA},
			MaxBodyBytes:      1 << 20,
			SignalTimeout:     5 * time.Second,
			MaxWebhooksPerRun: 100,
			AcceptUnexpiring:  true,
		}, got)
	})

	t.Run("starter", func(t *testing.T) {
		t.Parallel()
		got, err := config.LoadStarter(newEnv(nil).lookup)
		require.NoError(t, err)
		require.Equal(t, config.Starter{Temporal: defaultTemporal()}, got)
	})

	t.Run("blank values mean the default", func(t *testing.T) {
		t.Parallel()
		vars := with(workerRequired, map[string]string{
			config.EnvTemporalAddress:   "   ",
			config.EnvTemporalNamespace: "",
			config.EnvLogLevel:          "\t",
			config.EnvGatewayPublicURL:  " ",
		})
		got, err := config.LoadWorker(newEnv(vars).lookup)
		require.NoError(t, err)
		require.Equal(t, defaultTemporal(), got.Temporal)
		require.Equal(t, "info", got.Log.Level)
		require.Equal(t, "http://localhost:8080", got.PublicURL)
	})
}

func TestLoadReadsEveryVariable(t *testing.T) {
	t.Parallel()

	temporalVars := map[string]string{
		config.EnvTemporalAddress:   " temporal.internal:7233 ",
		config.EnvTemporalNamespace: "genflow-prod",
		config.EnvTaskQueue:         "genflow-gpu",
		config.EnvTemporalUIURL:     "https://temporal.example.com/ui/",
		config.EnvTemporalGRPCZip:   "None",
	}
	wantTemporal := config.Temporal{
		Address:     "temporal.internal:7233",
		Namespace:   "genflow-prod",
		TaskQueue:   "genflow-gpu",
		UIURL:       "https://temporal.example.com/ui",
		Compression: config.CompressionNone,
	}
	logVars := map[string]string{config.EnvLogLevel: "DEBUG", config.EnvLogFormat: "JSON"}
	wantLog := config.Log{Level: "debug", Format: "json"}

	t.Run("worker", func(t *testing.T) {
		t.Parallel()
		e := newEnv(with(with(temporalVars, logVars), map[string]string{
			config.EnvModelsLabKey:      "  the-key  ",
			config.EnvModelsLabBaseURL:  "http://127.0.0.1:9999/api/",
			config.EnvGatewayPublicURL:  "https://hooks.example.com",
			config.EnvWebhookSecrets:    " " + secretA + " , " + secretB + ",",
			config.EnvWorkerMetrics:     "0.0.0.0:9464",
			config.EnvStoreURL:          "s3://outputs/genflow",
			config.EnvStoreMaxBytes:     "1048576",
			config.EnvStoreS3Endpoint:   "http://minio:9000",
			config.EnvStoreS3Region:     "eu-west-1",
			config.EnvStoreS3AccessKey:  "genflow",
			config.EnvStoreS3SecretKey:  "minio-secret",
			config.EnvAccountQueueLimit: "15",
		}))
		got, err := config.LoadWorker(e.lookup)
		require.NoError(t, err)
		require.Equal(t, config.Worker{
			Temporal:         wantTemporal,
			Log:              wantLog,
			ModelsLabKey:     "the-key",
			ModelsLabBaseURL: "http://127.0.0.1:9999/api/",
			PublicURL:        "https://hooks.example.com",
			Secrets:          []string{secretA, secretB},
			MetricsAddr:      "0.0.0.0:9464",
			Store: config.Store{URL: "s3://outputs/genflow", MaxBytes: 1 << 20, S3: config.S3{
				Endpoint: "http://minio:9000", Region: "eu-west-1", AccessKey: "genflow", SecretKey: "minio-secret",
			}},
			AccountQueueLimit: 15,
		}, got)
		require.Subset(t, e.names(), []string{
			config.EnvTemporalAddress, config.EnvTemporalNamespace, config.EnvTaskQueue, config.EnvTemporalUIURL, config.EnvTemporalGRPCZip,
			config.EnvLogLevel, config.EnvLogFormat, config.EnvModelsLabKey, config.EnvModelsLabBaseURL,
			config.EnvGatewayPublicURL, config.EnvWebhookSecrets, config.EnvWorkerMetrics,
			config.EnvStoreURL, config.EnvStoreMaxBytes, config.EnvStoreS3Endpoint, config.EnvStoreS3Region,
			config.EnvStoreS3AccessKey, config.EnvStoreS3SecretKey,
		})
	})

	t.Run("gateway", func(t *testing.T) {
		t.Parallel()
		e := newEnv(with(with(temporalVars, logVars), map[string]string{
			config.EnvGatewayListen:     "0.0.0.0:9090",
			config.EnvGatewayAdmin:      "10.0.0.5:9091",
			config.EnvWebhookSecrets:    secretB + "," + secretA,
			config.EnvGatewayMaxBody:    "4096",
			config.EnvGatewaySignalTime: "25s",
			config.EnvGatewayTLSCert:    " /etc/genflow/tls.crt ",
			config.EnvGatewayTLSKey:     "/etc/genflow/tls.key",
			config.EnvGatewayRunCap:     "0",
			config.EnvWebhookUnexpiring: "false",
		}))
		got, err := config.LoadGateway(e.lookup)
		require.NoError(t, err)
		require.Equal(t, config.Gateway{
			Temporal:      wantTemporal,
			Log:           wantLog,
			ListenAddr:    "0.0.0.0:9090",
			AdminAddr:     "10.0.0.5:9091",
			Secrets:       []string{secretB, secretA},
			MaxBodyBytes:  4096,
			SignalTimeout: 25 * time.Second,
			TLSCertFile:   "/etc/genflow/tls.crt",
			TLSKeyFile:    "/etc/genflow/tls.key",
		}, got)
		require.Subset(t, e.names(), []string{
			config.EnvTemporalAddress, config.EnvTemporalNamespace, config.EnvTaskQueue, config.EnvTemporalUIURL, config.EnvTemporalGRPCZip,
			config.EnvLogLevel, config.EnvLogFormat, config.EnvGatewayListen, config.EnvGatewayAdmin, config.EnvWebhookSecrets,
			config.EnvGatewayMaxBody, config.EnvGatewaySignalTime, config.EnvGatewayTLSCert, config.EnvGatewayTLSKey,
			config.EnvGatewayRunCap, config.EnvWebhookUnexpiring,
		})
	})

	t.Run("starter", func(t *testing.T) {
		t.Parallel()
		e := newEnv(with(temporalVars, map[string]string{
			config.EnvStoreOutputs:     "Yes",
			config.EnvNotifyURL:        "https://app.example/hooks",
			config.EnvStoreS3Endpoint:  "https://s3.eu-west-1.amazonaws.com",
			config.EnvStoreS3AccessKey: "AKIA0000",
			config.EnvStoreS3SecretKey: "secret",
		}))
		got, err := config.LoadStarter(e.lookup)
		require.NoError(t, err)
		require.Equal(t, config.Starter{Temporal: wantTemporal, NotifyURL: "https://app.example/hooks", StoreOutputs: true, S3: config.S3{
			Endpoint: "https://s3.eu-west-1.amazonaws.com", AccessKey: "AKIA0000", SecretKey: "secret",
		}}, got)
		require.Subset(t, e.names(), []string{
			config.EnvTemporalAddress, config.EnvTemporalNamespace, config.EnvTaskQueue, config.EnvTemporalUIURL, config.EnvTemporalGRPCZip,
			config.EnvStoreOutputs, config.EnvNotifyURL, config.EnvStoreS3Endpoint, config.EnvStoreS3AccessKey, config.EnvStoreS3SecretKey,
		})
	})
}

type loader func(config.Lookup) error

func loadWorker(l config.Lookup) error  { _, err := config.LoadWorker(l); return err }
func loadGateway(l config.Lookup) error { _, err := config.LoadGateway(l); return err }
func loadStarter(l config.Lookup) error { _, err := config.LoadStarter(l); return err }

func TestLoadMalformedValueNamesTheVariable(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		load     loader
		base     map[string]string
		variable string
		value    string
		// want is a further fragment the message must hold.
		want string
	}{
		{"address without port", loadStarter, nil, config.EnvTemporalAddress, "nonsense", "host:port"},
		{"address with a scheme", loadWorker, workerRequired, config.EnvTemporalAddress, "http://localhost:7233", "host:port"},
		{"listen address without port", loadGateway, gatewayRequired, config.EnvGatewayListen, "localhost", "host:port"},
		{"address with an empty port", loadStarter, nil, config.EnvTemporalAddress, "127.0.0.1:", "valid port"},
		{"address with a named port", loadStarter, nil, config.EnvTemporalAddress, "localhost:temporal", "valid port"},
		{"address with port zero", loadStarter, nil, config.EnvTemporalAddress, "localhost:0", "valid port"},
		{"address with a port out of range", loadWorker, workerRequired, config.EnvTemporalAddress, "localhost:72330", "valid port"},
		{"listen address with an empty port", loadGateway, gatewayRequired, config.EnvGatewayListen, "127.0.0.1:", "valid port"},
		{"admin address without port", loadGateway, gatewayRequired, config.EnvGatewayAdmin, "localhost", "host:port"},
		{"admin address on the webhook listener", loadGateway, gatewayRequired, config.EnvGatewayAdmin, "127.0.0.1:8080",
			"GATEWAY_LISTEN_ADDR too: the admin listener (/readyz, /metrics) needs an address of its own"},
		{"metrics address without port", loadWorker, workerRequired, config.EnvWorkerMetrics, "localhost", "host:port"},
		{"metrics address with port zero", loadWorker, workerRequired, config.EnvWorkerMetrics, "127.0.0.1:0", "valid port"},
		{"UI URL without scheme", loadStarter, nil, config.EnvTemporalUIURL, "localhost:8233", "http(s) URL"},
		{"UI URL of another scheme", loadStarter, nil, config.EnvTemporalUIURL, "ftp://localhost:8233", "http(s) URL"},
		{"UI URL without host", loadStarter, nil, config.EnvTemporalUIURL, "http://", "http(s) URL"},
		{"unknown gRPC compression", loadWorker, workerRequired, config.EnvTemporalGRPCZip, "zstd", "gzip, none"},
		{"base URL of another scheme", loadWorker, workerRequired, config.EnvModelsLabBaseURL, "ws://modelslab.com/api/", "http(s) URL"},
		{"public URL without scheme", loadWorker, workerRequired, config.EnvGatewayPublicURL, "hooks.example.com", "http(s) URL"},
		{"unknown log level", loadWorker, workerRequired, config.EnvLogLevel, "verbose", "debug, info, warn, error"},
		{"gateway log level", loadGateway, gatewayRequired, config.EnvLogLevel, "trace", "debug, info, warn, error"},
		{"unknown log format", loadGateway, gatewayRequired, config.EnvLogFormat, "yaml", "json or text"},
		{"short secret", loadWorker, workerRequired, config.EnvWebhookSecrets, "tooshort", "at least 16"},
		{"second secret short", loadGateway, gatewayRequired, config.EnvWebhookSecrets, secretA + ",0123456789abcde", "secret 2 is 15 characters"},
		{"secret list of commas", loadGateway, gatewayRequired, config.EnvWebhookSecrets, ", ,", "no secret"},
		{"zero max body", loadGateway, gatewayRequired, config.EnvGatewayMaxBody, "0", "positive integer"},
		{"negative max body", loadGateway, gatewayRequired, config.EnvGatewayMaxBody, "-1024", "positive integer"},
		{"max body not a number", loadGateway, gatewayRequired, config.EnvGatewayMaxBody, "1MiB", "positive integer"},
		{"signal timeout not a duration", loadGateway, gatewayRequired, config.EnvGatewaySignalTime, "5", "duration"},
		{"signal timeout zero", loadGateway, gatewayRequired, config.EnvGatewaySignalTime, "0s", "duration"},
		{"signal timeout negative", loadGateway, gatewayRequired, config.EnvGatewaySignalTime, "-1s", "duration"},
		{"signal timeout over 25s", loadGateway, gatewayRequired, config.EnvGatewaySignalTime, "26s", "25s limit"},
		{"signal timeout of minutes", loadGateway, gatewayRequired, config.EnvGatewaySignalTime, "1m", "25s limit"},
		{"negative run cap", loadGateway, gatewayRequired, config.EnvGatewayRunCap, "-1", "0 (no cap) to 9000"},
		{"run cap at Temporal's limit", loadGateway, gatewayRequired, config.EnvGatewayRunCap, "10000", "0 (no cap) to 9000"},
		{"run cap not a number", loadGateway, gatewayRequired, config.EnvGatewayRunCap, "lots", "0 (no cap) to 9000"},
		{"unexpiring not a bool", loadGateway, gatewayRequired, config.EnvWebhookUnexpiring, "maybe", "true or false"},
		{"store URL relative", loadWorker, workerRequired, config.EnvStoreURL, "outputs/", "not file:///dir, /dir or s3://"},
		{"store URL of another scheme", loadWorker, workerRequired, config.EnvStoreURL, "gs://bucket", "not file:///dir, /dir or s3://"},
		{"store max bytes", loadWorker, workerRequired, config.EnvStoreMaxBytes, "2GiB", "positive integer"},
		{"S3 endpoint without scheme", loadWorker, workerRequired, config.EnvStoreS3Endpoint, "minio:9000", "http(s) URL"},
		{"S3 access key without secret", loadWorker, workerRequired, config.EnvStoreS3AccessKey, "genflow", config.EnvStoreS3SecretKey},
		{"S3 secret without access key", loadStarter, nil, config.EnvStoreS3SecretKey, "s", config.EnvStoreS3AccessKey},
		{"store outputs not a bool", loadStarter, nil, config.EnvStoreOutputs, "maybe", "true or false"},
		{"notify URL without scheme", loadStarter, nil, config.EnvNotifyURL, "app.example/hook", "http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.load(newEnv(with(tt.base, map[string]string{tt.variable: tt.value})).lookup)
			errs := joined(t, err)
			require.Len(t, errs, 1, "one problem, one error: %v", err)
			require.ErrorContains(t, err, tt.variable)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestLoadGatewayTLSNeedsBothFiles(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		vars     map[string]string
		variable string // named by the one error; empty for none
	}{
		{"neither", nil, ""},
		{"both", map[string]string{config.EnvGatewayTLSCert: "tls.crt", config.EnvGatewayTLSKey: "tls.key"}, ""},
		{"certificate without key", map[string]string{config.EnvGatewayTLSCert: "tls.crt"}, config.EnvGatewayTLSKey},
		{"key without certificate", map[string]string{config.EnvGatewayTLSKey: "tls.key"}, config.EnvGatewayTLSCert},
		{"blank key", map[string]string{config.EnvGatewayTLSCert: "tls.crt", config.EnvGatewayTLSKey: "  "}, config.EnvGatewayTLSKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.LoadGateway(newEnv(with(gatewayRequired, tt.vars)).lookup)
			if tt.variable == "" {
				require.NoError(t, err)
				return
			}
			require.Len(t, joined(t, err), 1, "%v", err)
			require.True(t, strings.HasPrefix(err.Error(), tt.variable+":"), "%v", err)
		})
	}
}

func TestLoadAcceptsBoundaryValues(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		vars map[string]string
	}{
		{"secret of exactly 16 characters", map[string]string{config.EnvWebhookSecrets: "0123456789abcdef"}},
		{"signal timeout of exactly 25s", map[string]string{config.EnvGatewaySignalTime: "25s"}},
		{"max body of one byte", map[string]string{config.EnvGatewayMaxBody: "1"}},
		{"IPv6 listen address", map[string]string{config.EnvGatewayListen: "[::1]:8080"}},
		{"listen on every interface", map[string]string{config.EnvGatewayListen: ":8080"}},
		{"highest port", map[string]string{config.EnvTemporalAddress: "temporal:65535"}},
		{"empty entries in the secret list", map[string]string{config.EnvWebhookSecrets: "," + secretA + ",,"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.LoadGateway(newEnv(with(gatewayRequired, tt.vars)).lookup)
			require.NoError(t, err)
		})
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		load      loader
		vars      map[string]string
		variables []string
	}{
		{
			name: "worker",
			load: loadWorker,
			vars: map[string]string{
				config.EnvTemporalAddress:   "nonsense",
				config.EnvTemporalUIURL:     "not a url",
				config.EnvLogLevel:          "loud",
				config.EnvLogFormat:         "xml",
				config.EnvModelsLabBaseURL:  "modelslab.com",
				config.EnvGatewayPublicURL:  "ftp://x",
				config.EnvWebhookSecrets:    "short",
				config.EnvTemporalNamespace: "fine",
			},
			variables: []string{
				config.EnvTemporalAddress, config.EnvTemporalUIURL, config.EnvLogLevel, config.EnvLogFormat,
				config.EnvModelsLabKey, config.EnvModelsLabBaseURL, config.EnvGatewayPublicURL, config.EnvWebhookSecrets,
			},
		},
		{
			name: "gateway",
			load: loadGateway,
			vars: map[string]string{
				config.EnvGatewayListen:     "8080",
				config.EnvWebhookSecrets:    ", ,",
				config.EnvGatewayMaxBody:    "-1",
				config.EnvGatewaySignalTime: "soon",
				config.EnvLogLevel:          "loud",
			},
			variables: []string{
				config.EnvGatewayListen, config.EnvWebhookSecrets, config.EnvGatewayMaxBody,
				config.EnvGatewaySignalTime, config.EnvLogLevel,
			},
		},
		{
			name:      "starter",
			load:      loadStarter,
			vars:      map[string]string{config.EnvTemporalAddress: "nonsense", config.EnvTemporalUIURL: "localhost"},
			variables: []string{config.EnvTemporalAddress, config.EnvTemporalUIURL},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.load(newEnv(tt.vars).lookup)
			errs := joined(t, err)
			require.Len(t, errs, len(tt.variables), "%v", err)
			for _, v := range tt.variables {
				require.True(t, slices.ContainsFunc(errs, func(e error) bool {
					return strings.HasPrefix(e.Error(), v+":") || strings.HasPrefix(e.Error(), v+" is required")
				}), "no error names %s: %v", v, err)
			}
		})
	}
}

func TestLoadRequiredMissing(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		load      loader
		vars      map[string]string
		variables []string
	}{
		{"worker without anything", loadWorker, nil, []string{config.EnvModelsLabKey, config.EnvWebhookSecrets}},
		{"worker without key", loadWorker, with(workerRequired, map[string]string{config.EnvModelsLabKey: "-"}), []string{config.EnvModelsLabKey}},
		{"worker with blank key", loadWorker, with(workerRequired, map[string]string{config.EnvModelsLabKey: "  "}), []string{config.EnvModelsLabKey}},
		{"worker without secrets", loadWorker, with(workerRequired, map[string]string{config.EnvWebhookSecrets: "-"}), []string{config.EnvWebhookSecrets}},
		{"gateway without secrets", loadGateway, nil, []string{config.EnvWebhookSecrets}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.load(newEnv(tt.vars).lookup)
			errs := joined(t, err)
			require.Len(t, errs, len(tt.variables), "%v", err)
			for _, v := range tt.variables {
				require.True(t, slices.ContainsFunc(errs, func(e error) bool {
					return strings.HasPrefix(e.Error(), v+" is required")
				}), "no error says %s is required: %v", v, err)
			}
		})
	}
}

func TestLogLogger(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		log    config.Log
		json   bool
		logged []string // levels written by one call at each level
	}{
		{"json at info", config.Log{Level: "info", Format: "json"}, true, []string{"INFO", "WARN", "ERROR"}},
		{"text at info", config.Log{Level: "info", Format: "text"}, false, []string{"INFO", "WARN", "ERROR"}},
		{"json at debug", config.Log{Level: "debug", Format: "json"}, true, []string{"DEBUG", "INFO", "WARN", "ERROR"}},
		{"text at warn", config.Log{Level: "warn", Format: "text"}, false, []string{"WARN", "ERROR"}},
		{"json at error", config.Log{Level: "error", Format: "json"}, true, []string{"ERROR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := tt.log.Logger(&buf)
			logger.Debug("m", "track_id", "t-1")
			logger.Info("m", "track_id", "t-1")
			logger.Warn("m", "track_id", "t-1")
			logger.Error("m", "track_id", "t-1")

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			require.Len(t, lines, len(tt.logged), buf.String())
			for i, line := range lines {
				if tt.json {
					var rec map[string]any
					require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
					require.Equal(t, tt.logged[i], rec["level"])
					require.Equal(t, "m", rec["msg"])
					require.Equal(t, "t-1", rec["track_id"])
				} else {
					require.False(t, json.Valid([]byte(line)), line)
					require.Contains(t, line, "level="+tt.logged[i])
					require.Contains(t, line, "msg=m")
					require.Contains(t, line, "track_id=t-1")
				}
			}
		})
	}

	t.Run("loaded configuration", func(t *testing.T) {
		t.Parallel()
		cfg, err := config.LoadWorker(newEnv(with(workerRequired, map[string]string{
			config.EnvLogLevel: "Warn", config.EnvLogFormat: "Json",
		})).lookup)
		require.NoError(t, err)
		var buf bytes.Buffer
		logger := cfg.Log.Logger(&buf)
		logger.Info("dropped")
		logger.Warn("kept")
		var rec map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
		require.Equal(t, "kept", rec["msg"])
	})
}

func TestClientOptionsCompression(t *testing.T) {
	t.Parallel()
	require.Nil(t, config.Temporal{Compression: config.CompressionGzip}.ClientOptions(nil, nil).ConnectionOptions.GrpcCompression,
		"gzip is the SDK's default")
	require.IsType(t, &client.GrpcCompressionNone{}, config.Temporal{Compression: config.CompressionNone}.ClientOptions(nil, nil).ConnectionOptions.GrpcCompression)
}

func TestNotifySecrets(t *testing.T) {
	t.Parallel()
	a, err := notify.NewSecret()
	require.NoError(t, err)
	b, err := notify.NewSecret()
	require.NoError(t, err)
	e := newEnv(map[string]string{
		config.EnvModelsLabKey: "k", config.EnvWebhookSecrets: secretA,
		config.EnvNotifySecrets: " " + a.String() + " , " + b.String() + ",",
	})
	got, err := config.LoadWorker(e.lookup)
	require.NoError(t, err)
	require.Equal(t, []string{a.String(), b.String()}, got.NotifySecrets)
}
