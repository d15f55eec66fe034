// Package config reads genflow's settings from environment variables.
//
// Every setting has a safe local default except the secrets; a missing or
// malformed setting fails at start with an error that names the variable.
// The README's configuration table lists them all; .env.example mirrors it.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/modelslab"
)

// Environment variable names.
const (
	EnvTemporalAddress   = "TEMPORAL_ADDRESS"
	EnvTemporalNamespace = "TEMPORAL_NAMESPACE"
	EnvTaskQueue         = "TEMPORAL_TASK_QUEUE"
	EnvTemporalUIURL     = "TEMPORAL_UI_URL"
	EnvTemporalGRPCZip   = "TEMPORAL_GRPC_COMPRESSION"
	// The connection settings the Temporal CLI and SDKs share
	// (go.temporal.io/sdk/contrib/envconfig reads them).
	EnvTemporalAPIKey      = "TEMPORAL_API_KEY"
	EnvTemporalTLS         = "TEMPORAL_TLS"
	EnvTemporalTLSCert     = "TEMPORAL_TLS_CLIENT_CERT_PATH"
	EnvTemporalTLSKey      = "TEMPORAL_TLS_CLIENT_KEY_PATH"
	EnvTemporalTLSCA       = "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
	EnvTemporalTLSName     = "TEMPORAL_TLS_SERVER_NAME"
	EnvTemporalTLSNoVerify = "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"
	EnvTemporalProfile     = "TEMPORAL_PROFILE"
	EnvTemporalConfigFile  = "TEMPORAL_CONFIG_FILE"
	EnvModelsLabKey        = "MODELSLAB_API_KEY"
	EnvModelsLabBaseURL    = "MODELSLAB_BASE_URL"
	EnvModelsLabAllowHTTP  = "MODELSLAB_ALLOW_HTTP"
	EnvGatewayListen       = "GATEWAY_LISTEN_ADDR"
	EnvGatewayAdmin        = "GATEWAY_ADMIN_ADDR"
	EnvGatewayPublicURL    = "GATEWAY_PUBLIC_URL"
	EnvWebhookSecrets      = "WEBHOOK_SECRETS"
	EnvGatewayMaxBody      = "GATEWAY_MAX_BODY_BYTES"
	EnvGatewaySignalTime   = "GATEWAY_SIGNAL_TIMEOUT"
	EnvGatewayTLSCert      = "GATEWAY_TLS_CERT_FILE"
	EnvGatewayTLSKey       = "GATEWAY_TLS_KEY_FILE"
	EnvGatewayRunCap       = "GATEWAY_MAX_WEBHOOKS_PER_RUN"
	EnvWebhookUnexpiring   = "WEBHOOK_ACCEPT_UNEXPIRING"
	EnvWorkerMetrics       = "WORKER_METRICS_ADDR"
	EnvNotifySecrets       = "NOTIFY_SECRETS"
	EnvNotifyURL           = "NOTIFY_URL"
	EnvStoreURL            = "STORE_URL"
	EnvStoreMaxBytes       = "STORE_MAX_BYTES"
	EnvStoreS3Endpoint     = "STORE_S3_ENDPOINT"
	EnvStoreS3Region       = "STORE_S3_REGION"
	EnvStoreS3AccessKey    = "STORE_S3_ACCESS_KEY"
	EnvStoreS3SecretKey    = "STORE_S3_SECRET_KEY"
	EnvStoreOutputs        = "STORE_OUTPUTS"
	EnvOutboundAllow       = "OUTBOUND_ALLOW_CIDRS"
	EnvAccountQueueLimit   = "ACCOUNT_QUEUE_LIMIT"
	EnvLogLevel            = "LOG_LEVEL"
	EnvLogFormat           = "LOG_FORMAT"
)

// Lookup reads one variable; os.LookupEnv in binaries, a map in tests.
type Lookup func(name string) (string, bool)

// Temporal is how to reach Temporal.
type Temporal struct {
	// Address is host:port of the frontend. Default "localhost:7233".
	Address string
	// Namespace. Default "default".
	Namespace string
	// Connection holds what else the Temporal CLI's settings ask for: an
	// API key (sent as "Authorization: Bearer ..."), TLS (mTLS with a
	// client certificate, a server CA, a server name), gRPC metadata.
	// LoadWorker and the others fill it from the variables and the
	// profile of the config file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE)
	// through the SDK's envconfig; zero connects in plain text.
	Connection client.Options
	// Profile is the config file's profile in use, for messages; empty
	// for the default one.
	Profile string
	// TaskQueue. Default contract.DefaultTaskQueue.
	TaskQueue string
	// UIURL is the Web UI's root, for the links the starter prints.
	// Default "http://localhost:8233" (the dev server's UI).
	UIURL string
	// Compression of the gRPC requests to Temporal: CompressionGzip (the
	// SDK's default, for links where bandwidth costs, such as Temporal
	// Cloud) or CompressionNone (saves the CPU of compressing every
	// request on both ends, for a server on the same host or network).
	Compression string
}

// Values of Temporal.Compression.
const (
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// ClientOptions are the SDK client options t asks for, with logger and
// metrics (either may be nil): the one place every genflow binary, the
// bench and the tests build their connection to Temporal.
func (t Temporal) ClientOptions(logger log.Logger, metrics client.MetricsHandler) client.Options {
	o := t.Connection
	o.HostPort, o.Namespace = t.Address, t.Namespace
	o.Logger, o.MetricsHandler = logger, metrics
	if t.Compression == CompressionNone {
		o.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	return o
}

// Describe says where t connects and how, without secrets, for logs and
// error messages: "localhost:7233 namespace default (plain)".
func (t Temporal) Describe() string {
	var how []string
	if t.Connection.Credentials != nil {
		how = append(how, "API key")
	}
	if tc := t.Connection.ConnectionOptions.TLS; tc != nil {
		if len(tc.Certificates) > 0 || tc.GetClientCertificate != nil {
			how = append(how, "mTLS")
		} else {
			how = append(how, "TLS")
		}
	}
	if len(how) == 0 {
		how = append(how, "plain")
	}
	d := fmt.Sprintf("%s namespace %s (%s)", t.Address, t.Namespace, strings.Join(how, ", "))
	if t.Profile != "" {
		d += " profile " + t.Profile
	}
	return d
}

// Log is how to log.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string
	// Format is json or text. Default text.
	Format string
}

// Worker is the worker binary's configuration.
type Worker struct {
	Temporal Temporal
	Log      Log
	// ModelsLabKey is the provider API key. Required.
	ModelsLabKey string
	// ModelsLabBaseURL. Default modelslab.DefaultBaseURL (the real API).
	ModelsLabBaseURL string
	// ModelsLabAllowHTTP accepts a plain http ModelsLabBaseURL on a host
	// other than loopback (compose's fake provider). Default false: the
	// API key travels in every request.
	ModelsLabAllowHTTP bool
	// ModelsLabEndpointPaths moves endpoints to other paths (enterprise
	// deployments), from MODELSLAB_ENDPOINT_PATHS. Default none.
	ModelsLabEndpointPaths map[string]modelslab.EndpointPaths
	// PublicURL is the gateway's URL as the provider reaches it.
	// Default "http://localhost:8080".
	PublicURL string
	// Secrets sign webhook URLs, newest first. Required.
	Secrets []string
	// MetricsAddr is where the worker serves GET /metrics (Prometheus
	// text format). Default "127.0.0.1:9090".
	MetricsAddr string
	// NotifySecrets sign end-of-run notifications (Standard Webhooks
	// keys, whsec_..., newest first), as written; the worker parses them
	// (notify.ParseSecret) and names this variable if one is malformed.
	// Optional: without them a run that asks for a notification records
	// it as not configured.
	NotifySecrets []string
	// Store is where generations that ask for it copy their outputs.
	Store Store
	// OutboundAllow are address ranges the worker reaches on a user's or
	// a provider's word (output links, notify URLs) although the outbound
	// policy refuses them: loopback, private, link-local and the rest
	// (internal/egress). Default none: public addresses only.
	OutboundAllow []netip.Prefix
	// AccountQueueLimit is how many requests genflow keeps queued at the
	// provider on its API key at once (ModelsLab: 5 pay-as-you-go, 10
	// Standard, 15 Premium). LoadWorker's default is
	// contract.DefaultAccountQueueLimit (5); 0 turns the account limiter
	// off (each run submits at once and a 429 is retried after its
	// retry_after). Every acquire request carries it, so a restarted
	// worker changes it for the runs already waiting.
	AccountQueueLimit int
}

// MaxAccountQueueLimit bounds ACCOUNT_QUEUE_LIMIT.
const MaxAccountQueueLimit = 10000

// Store is the output storage.
type Store struct {
	// URL is file:///dir (or /dir) or s3://bucket/prefix. Empty: storing
	// is not configured, and runs that ask for it record that.
	URL string
	// MaxBytes caps one output. Default DefaultStoreMaxBytes (2 GiB).
	MaxBytes int64
	// S3 is the endpoint and credentials of s3:// URLs (and of stored
	// locations the starter downloads).
	S3 S3
}

// DefaultStoreMaxBytes is the default of Store.MaxBytes, the same as
// storage.DefaultMaxBytes (config reads variables and links no storage
// backend; a test holds the two equal).
const DefaultStoreMaxBytes = 2 << 30

// S3 is an S3-compatible store's endpoint and credentials, as the
// STORE_S3_* variables give them (storage.S3Options takes the same
// fields). Empty fields mean AWS S3, the AWS_* variables or the instance
// role.
type S3 struct {
	Endpoint, Region, AccessKey, SecretKey string
}

// DefaultGatewayAdminAddr is the default of Gateway.AdminAddr.
const DefaultGatewayAdminAddr = "127.0.0.1:9091"

// Gateway is the gateway binary's configuration.
type Gateway struct {
	Temporal Temporal
	Log      Log
	// ListenAddr is where webhooks come (the address a proxy or the
	// provider reaches). Default "127.0.0.1:8080".
	ListenAddr string
	// AdminAddr is where the gateway serves GET /healthz, /readyz and
	// /metrics, in plain HTTP, apart from the webhooks: keep it off the
	// internet. Default "127.0.0.1:9091".
	AdminAddr string
	// Secrets verify webhook URLs, newest first. Required.
	Secrets []string
	// MaxBodyBytes caps a webhook body. Default 1 MiB.
	MaxBodyBytes int64
	// SignalTimeout bounds the call to Temporal per webhook. Default 5 s.
	SignalTimeout time.Duration
	// TLSCertFile and TLSKeyFile name a PEM certificate (chain) and its
	// key; with both set the gateway serves HTTPS, with neither plain
	// HTTP (behind a TLS-terminating proxy). Default neither.
	TLSCertFile string
	TLSKeyFile  string
	// MaxWebhooksPerRun caps the webhooks one gateway process delivers to
	// one run; 0 means no cap. Default 100.
	MaxWebhooksPerRun int
	// AcceptUnexpiring accepts webhook URLs without exp, which releases
	// before expiring URLs handed out. Default true; set false once no
	// run started by such a release is open.
	AcceptUnexpiring bool
}

// Starter is the starter CLI's configuration.
type Starter struct {
	Temporal Temporal
	// NotifyURL is the default of --notify: where runs POST their
	// outcome. Empty: none.
	NotifyURL string
	// StoreOutputs is the default of --store: ask generations to store
	// their outputs.
	StoreOutputs bool
	// S3 reaches the s3:// locations of stored outputs, for
	// result --download.
	S3 S3
}

type reader struct {
	env  Lookup
	errs []error
}

func (r *reader) str(name, def string) string {
	if v, ok := r.env(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (r *reader) required(name, why string) string {
	v := r.str(name, "")
	if v == "" {
		r.errs = append(r.errs, fmt.Errorf("%s is required: %s", name, why))
	}
	return v
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
}

func (r *reader) hostPort(name, def string) string {
	return r.hostPortValue(name, r.str(name, def))
}

// hostPortValue checks v, read from the variable name, is host:port.
func (r *reader) hostPortValue(name, v string) string {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		r.fail(name, "%q is not host:port", v)
		return v
	}
	// SplitHostPort accepts "host:" (as from an unset $PORT in a script),
	// which dials nothing useful and listens on a random port.
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		r.fail(name, "%q has no valid port (want 1 to 65535)", v)
	}
	return v
}

func (r *reader) httpURL(name, def string) string {
	v := r.str(name, def)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, "%q is not an http(s) URL", v)
	}
	return v
}

func (r *reader) int64(name string, def int64) int64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		r.fail(name, "%q is not a positive integer", v)
		return def
	}
	return n
}

// runCap reads a per-run webhook cap: 0 (no cap) to 9000, below
// Temporal's 10,000 signals per run.
func (r *reader) runCap(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 9000 {
		r.fail(name, "%q is not a whole number from 0 (no cap) to 9000 (below Temporal's 10,000 signals per run)", v)
		return def
	}
	return n
}

// accountQueueLimit reads a queue limit: 0 (no limiter) to
// MaxAccountQueueLimit.
func (r *reader) accountQueueLimit(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxAccountQueueLimit {
		r.fail(name, "%q is not a whole number from 0 (no account limiter) to %d (the requests the ModelsLab account may have queued: "+
			"5 pay-as-you-go, 10 Standard, 15 Premium)", v, MaxAccountQueueLimit)
		return def
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "%q is not a positive duration such as 5s", v)
		return def
	}
	return d
}

func (r *reader) secrets(name string) []string {
	raw := r.required(name, "comma-separated webhook secrets, newest first, each at least 16 characters")
	var out []string
	for i, s := range strings.Split(raw, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if len(s) < 16 {
			r.fail(name, "secret %d is %d characters; use at least 16 (openssl rand -hex 32)", i+1, len(s))
		}
		out = append(out, s)
	}
	if raw != "" && len(out) == 0 {
		r.fail(name, "holds no secret")
	}
	return out
}

func (r *reader) temporal() Temporal {
	t := Temporal{
		TaskQueue:   r.str(EnvTaskQueue, contract.DefaultTaskQueue),
		UIURL:       strings.TrimSuffix(r.httpURL(EnvTemporalUIURL, "http://localhost:8233"), "/"),
		Compression: r.oneOf(EnvTemporalGRPCZip, CompressionGzip, CompressionNone),
		Profile:     r.str(EnvTemporalProfile, ""),
	}
	before := len(r.errs)
	for _, name := range []string{EnvTemporalTLSCert, EnvTemporalTLSKey, EnvTemporalTLSCA, EnvTemporalConfigFile} {
		if p := r.str(name, ""); p != "" {
			if _, err := os.Stat(p); err != nil {
				r.fail(name, "%v", err)
			}
		}
	}
	for _, name := range []string{EnvTemporalTLS, EnvTemporalTLSNoVerify} {
		r.bool(name, false)
	}
	r.bothOrNeither(EnvTemporalTLSCert, r.str(EnvTemporalTLSCert, ""), EnvTemporalTLSKey, r.str(EnvTemporalTLSKey, ""), "")
	if len(r.errs) == before {
		// The file's profile first, the variables over it, as the
		// Temporal CLI does. envconfig takes an empty variable as set;
		// genflow treats empty as unset everywhere, so it sees only
		// non-empty ones.
		conn, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{
			ConfigFilePath:    r.str(EnvTemporalConfigFile, ""),
			ConfigFileProfile: t.Profile,
			EnvLookup:         envLookup{r},
		})
		if err != nil {
			r.fail(EnvTemporalConfigFile+"/"+EnvTemporalProfile+"/TEMPORAL_TLS_*", "%v", err)
		}
		t.Connection = conn
	}
	addr := cmp.Or(t.Connection.HostPort, r.str(EnvTemporalAddress, ""), "localhost:7233")
	t.Address = r.hostPortValue(EnvTemporalAddress, addr)
	t.Namespace = cmp.Or(t.Connection.Namespace, r.str(EnvTemporalNamespace, ""), "default")
	t.Connection.HostPort, t.Connection.Namespace = "", ""
	return t
}

// envLookup shows envconfig the variables through r, non-empty ones only.
// Its Environ lists the TEMPORAL_GRPC_META_* variables of the process that
// r's lookup also has, so a test's map sees none it did not set.
type envLookup struct{ r *reader }

func (e envLookup) LookupEnv(name string) (string, bool) {
	v := e.r.str(name, "")
	return v, v != ""
}

func (e envLookup) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "TEMPORAL_GRPC_META_") {
			continue
		}
		if v, ok := e.r.env(name); ok {
			out = append(out, name+"="+v)
		}
	}
	return out
}

// oneOf reads a variable that must hold one of values (case-insensitive);
// the first is the default.
func (r *reader) oneOf(name string, values ...string) string {
	v := strings.ToLower(r.str(name, values[0]))
	if !slices.Contains(values, v) {
		r.fail(name, "%q is not one of %s", v, strings.Join(values, ", "))
	}
	return v
}

func (r *reader) log() Log {
	l := Log{Level: strings.ToLower(r.str(EnvLogLevel, "info")), Format: strings.ToLower(r.str(EnvLogFormat, "text"))}
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		r.fail(EnvLogLevel, "%q is not one of debug, info, warn, error", l.Level)
	}
	if l.Format != "json" && l.Format != "text" {
		r.fail(EnvLogFormat, "%q is not json or text", l.Format)
	}
	return l
}

// notifySecrets reads a comma-separated list of Standard Webhooks keys.
// notifySecrets splits a comma-separated list of notification secrets;
// the worker parses each (notify.ParseSecret).
func (r *reader) notifySecrets(name string) []string {
	var out []string
	for _, part := range strings.Split(r.str(name, ""), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// bothOrNeither fails the one of two variables that go together (a
// certificate and its key, an access key and its secret) that is
// missing; neitherMeans says what setting neither does.
func (r *reader) bothOrNeither(nameA, a, nameB, b, neitherMeans string) {
	switch {
	case a != "" && b == "":
		r.fail(nameB, "required when %s is set (set both, or neither%s)", nameA, neitherMeans)
	case b != "" && a == "":
		r.fail(nameA, "required when %s is set (set both, or neither%s)", nameB, neitherMeans)
	}
}

// s3 reads the S3 endpoint and credentials.
func (r *reader) s3() S3 {
	o := S3{
		Endpoint:  r.str(EnvStoreS3Endpoint, ""),
		Region:    r.str(EnvStoreS3Region, ""),
		AccessKey: r.str(EnvStoreS3AccessKey, ""),
		SecretKey: r.str(EnvStoreS3SecretKey, ""),
	}
	if o.Endpoint != "" {
		r.httpURL(EnvStoreS3Endpoint, "")
	}
	r.bothOrNeither(EnvStoreS3AccessKey, o.AccessKey, EnvStoreS3SecretKey, o.SecretKey, " to use AWS_* or the instance role")
	return o
}

// store reads the worker's output storage.
func (r *reader) store() Store {
	s := Store{URL: r.str(EnvStoreURL, ""), MaxBytes: r.int64(EnvStoreMaxBytes, DefaultStoreMaxBytes), S3: r.s3()}
	if s.URL != "" && !strings.HasPrefix(s.URL, "/") && !strings.HasPrefix(s.URL, "file://") && !strings.HasPrefix(s.URL, "s3://") {
		// The storage package checks the rest when the worker starts.
		r.fail(EnvStoreURL, "%q is not file:///dir, /dir or s3://bucket[/prefix]", s.URL)
	}
	return s
}

// outboundAllow reads a comma-separated list of CIDR ranges (or single
// addresses) the outbound policy lets through.
func (r *reader) outboundAllow(name string) []netip.Prefix {
	allow, err := egress.ParseAllow(r.str(name, ""))
	if err != nil {
		r.fail(name, "%v (comma-separated, as 127.0.0.0/8,::1)", err)
	}
	return allow
}

// bool reads true/false (also 1/0, yes/no, on/off).
func (r *reader) bool(name string, def bool) bool {
	switch v := strings.ToLower(r.str(name, "")); v {
	case "":
		return def
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	default:
		r.fail(name, "%q is not true or false", v)
		return def
	}
}

func (r *reader) err() error { return errors.Join(r.errs...) }

// LoadWorker reads the worker's configuration.
func LoadWorker(env Lookup) (Worker, error) {
	r := &reader{env: env}
	c := Worker{
		Temporal:         r.temporal(),
		Log:              r.log(),
		ModelsLabKey:     r.required(EnvModelsLabKey, "the ModelsLab API key (any value for the fake provider)"),
		ModelsLabBaseURL: r.httpURL(EnvModelsLabBaseURL, modelslab.DefaultBaseURL),
		PublicURL:        r.httpURL(EnvGatewayPublicURL, "http://localhost:8080"),
		Secrets:          r.secrets(EnvWebhookSecrets),
		MetricsAddr:      r.hostPort(EnvWorkerMetrics, "127.0.0.1:9090"),
		NotifySecrets:    r.notifySecrets(EnvNotifySecrets),
		Store:            r.store(),
	}
	c.OutboundAllow = r.outboundAllow(EnvOutboundAllow)
	c.AccountQueueLimit = r.accountQueueLimit(EnvAccountQueueLimit, contract.DefaultAccountQueueLimit)
	c.ModelsLabAllowHTTP = r.bool(EnvModelsLabAllowHTTP, false)
	r.modelsLabRoutes(&c)
	if u, err := url.Parse(c.ModelsLabBaseURL); err == nil && u.Scheme == "http" && u.Host != "" {
		// The client's own check (plain http on loopback only, unless
		// allowed), here so that the message names the variables.
		if _, err := modelslab.New(modelslab.Options{APIKey: "check", BaseURL: c.ModelsLabBaseURL,
			AllowHTTP: c.ModelsLabAllowHTTP}); err != nil {
			r.fail(EnvModelsLabBaseURL, "%q is plain http on a host other than loopback, and every request carries "+
				"the API key: use https, or set %s=true for a provider on a network you trust", c.ModelsLabBaseURL,
				EnvModelsLabAllowHTTP)
		}
	}
	r.workerProduction(c)
	return c, r.err()
}

// LoadGateway reads the gateway's configuration.
func LoadGateway(env Lookup) (Gateway, error) {
	r := &reader{env: env}
	c := Gateway{
		Temporal:          r.temporal(),
		Log:               r.log(),
		ListenAddr:        r.hostPort(EnvGatewayListen, "127.0.0.1:8080"),
		AdminAddr:         r.hostPort(EnvGatewayAdmin, DefaultGatewayAdminAddr),
		Secrets:           r.secrets(EnvWebhookSecrets),
		MaxBodyBytes:      r.int64(EnvGatewayMaxBody, 1<<20),
		SignalTimeout:     r.duration(EnvGatewaySignalTime, 5*time.Second),
		TLSCertFile:       r.str(EnvGatewayTLSCert, ""),
		TLSKeyFile:        r.str(EnvGatewayTLSKey, ""),
		MaxWebhooksPerRun: r.runCap(EnvGatewayRunCap, 100),
		AcceptUnexpiring:  r.bool(EnvWebhookUnexpiring, true),
	}
	r.bothOrNeither(EnvGatewayTLSCert, c.TLSCertFile, EnvGatewayTLSKey, c.TLSKeyFile, "")
	if c.AdminAddr == c.ListenAddr {
		r.fail(EnvGatewayAdmin, "%q is %s too: the admin listener (/readyz, /metrics) needs an address of its own, "+
			"off the internet", c.AdminAddr, EnvGatewayListen)
	}
	r.gatewayProduction(c)
	// ModelsLab waits 30 s for a webhook answer; a longer signal timeout
	// would turn a slow Temporal into a lost delivery instead of a 503.
	if c.SignalTimeout > 25*time.Second {
		r.fail(EnvGatewaySignalTime, "%s is over the 25s limit (the provider waits 30s for an answer)", c.SignalTimeout)
	}
	return c, r.err()
}

// LoadStarter reads the starter's configuration.
func LoadStarter(env Lookup) (Starter, error) {
	r := &reader{env: env}
	c := Starter{Temporal: r.temporal(), NotifyURL: r.str(EnvNotifyURL, ""), StoreOutputs: r.bool(EnvStoreOutputs, false), S3: r.s3()}
	if c.NotifyURL != "" {
		r.httpURL(EnvNotifyURL, "")
	}
	return c, r.err()
}

// Logger builds the process logger from the configuration.
func (l Log) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
