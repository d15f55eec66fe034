package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/notify"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/webhookurl"
	"github.com/genflow/genflow/worker"
)

const (
	taskQueue = "genflow-e2e"
	apiKey    = "e2e-key"
	secret    = "e2e-webhook-secret-0123456789abcdef"
)

// stack is one running genflow: dev server, fake provider, gateway, worker.
type stack struct {
	dev        *testsuite.DevServer
	client     client.Client
	fake       *fakemodelslab.Server
	gatewayURL string
	signer     *webhookurl.Signer
	temporal   config.Temporal
	// workerMetrics and gatewayMetrics are the /metrics URLs of the
	// worker and the gateway.
	workerMetrics  string
	gatewayMetrics string
	// gatewayAdmin is the root URL of the gateway's admin listener
	// (/readyz, /metrics).
	gatewayAdmin string
	// notifySecret signs the worker's notifications.
	notifySecret notify.Secret
	// starterEnv are further variables runStarter sets.
	starterEnv map[string]string
}

func quietLogger() *slog.Logger {
	if os.Getenv("E2E_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startStack brings up every part on loopback and tears it down with t.
// configure, if given, edits the worker's configuration first.
func startStack(t *testing.T, fakeOpts fakemodelslab.Options, configure ...func(*config.Worker)) *stack {
	t.Helper()
	return startStackWith(t, stackOptions{fake: fakeOpts, configure: configure})
}

// stackOptions shape a stack beyond the fake's options.
type stackOptions struct {
	fake fakemodelslab.Options
	// devArgs are further flags of `temporal server start-dev` (dynamic
	// config values, say).
	devArgs []string
	// gateway edits the gateway's options before its handler is built.
	gateway   func(*webhookgateway.Options)
	configure []func(*config.Worker)
}

// startStackWith is startStack with more to set.
func startStackWith(t *testing.T, so stackOptions) *stack {
	t.Helper()
	fakeOpts, configure := so.fake, so.configure
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := quietLogger()

	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: testenv.TemporalCLI(t),
		ClientOptions: &client.Options{
			HostPort: testenv.FreeAddr(t), Namespace: "default", Logger: tlog.NewStructuredLogger(logger),
		},
		LogLevel:         "error",
		SearchAttributes: contract.SearchAttributes(),
		ExtraArgs:        so.devArgs,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = dev.Stop() })
	c := dev.Client()

	fakeOpts.Logger = logger
	fake := fakemodelslab.NewServer(fakeOpts)
	t.Cleanup(fake.Close)

	// The gateway, on a real socket, with its own client and metrics
	// like the binary.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gatewayURL := "http://" + ln.Addr().String()
	signer, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: gatewayURL, Secrets: []string{secret}})
	require.NoError(t, err)
	greg, err := metrics.New()
	require.NoError(t, err)
	gm, err := metrics.NewGateway(greg.Registerer())
	require.NoError(t, err)
	gc, err := client.Dial(client.Options{HostPort: dev.FrontendHostPort(), Logger: tlog.NewStructuredLogger(logger),
		MetricsHandler: greg.TemporalHandler(logger)})
	require.NoError(t, err)
	t.Cleanup(gc.Close)
	gopts := webhookgateway.Options{Signer: signer, Signaler: gc, Health: gc, Logger: logger,
		Metrics: gm, MetricsHandler: greg.Handler(logger)}
	if so.gateway != nil {
		so.gateway(&gopts)
	}
	h, err := webhookgateway.NewHandler(gopts)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- webhookgateway.Serve(ctx, ln, h, logger) }()
	// Readiness and metrics on their own listener, as the binary serves
	// them on GATEWAY_ADMIN_ADDR.
	ah, err := webhookgateway.NewAdminHandler(gopts)
	require.NoError(t, err)
	gatewayAdmin := newLoopbackServer(t, ah)
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})

	// The worker, run exactly as the binary runs it: its own client,
	// its metrics on a listener of its own.
	notifySecret, err := notify.NewSecret()
	require.NoError(t, err)
	wcfg := config.Worker{
		Temporal:         config.Temporal{Address: dev.FrontendHostPort(), Namespace: "default", TaskQueue: taskQueue},
		ModelsLabKey:     apiKey,
		ModelsLabBaseURL: fake.BaseURL(),
		PublicURL:        gatewayURL,
		Secrets:          []string{secret},
		MetricsAddr:      testenv.FreeAddr(t),
		NotifySecrets:    []string{notifySecret.String()},
	}
	// The fake serves its outputs, and the tests' receivers listen, on
	// loopback, which the outbound policy refuses unless allowed.
	wcfg.OutboundAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range configure {
		c(&wcfg)
	}
	workerCtx, stopWorker := context.WithCancel(context.Background())
	var runErr error
	stopped := make(chan struct{})
	go func() { runErr = worker.Run(workerCtx, wcfg, logger); close(stopped) }()
	t.Cleanup(func() {
		stopWorker()
		<-stopped
		require.NoError(t, runErr, "worker")
	})
	workerMetrics := "http://" + wcfg.MetricsAddr + "/metrics"
	eventually(t, "the worker serving its metrics", func() bool {
		select {
		case <-stopped:
			t.Fatalf("worker stopped: %v", runErr)
		default:
		}
		resp, err := http.Get(workerMetrics)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	return &stack{
		dev: dev, client: c, fake: fake, gatewayURL: gatewayURL, signer: signer,
		temporal:      config.Temporal{Address: dev.FrontendHostPort(), Namespace: "default", TaskQueue: taskQueue, UIURL: "http://localhost:8233"},
		workerMetrics: workerMetrics, gatewayMetrics: gatewayAdmin + "/metrics", gatewayAdmin: gatewayAdmin, notifySecret: notifySecret,
	}
}

// starterOutput is the starter's --json document.
type starterOutput struct {
	TrackID        string `json:"track_id"`
	RunID          string `json:"run_id"`
	AlreadyStarted bool   `json:"already_started"`
	UIURL          string `json:"ui_url"`
	Status         string `json:"status"`
	Result         *struct {
		Output            []string `json:"output"`
		LearnedBy         string   `json:"learned_by"`
		ProviderID        string   `json:"provider_id"`
		WebhooksReceived  int      `json:"webhooks_received"`
		DuplicatesIgnored int      `json:"duplicates_ignored"`
		Polls             int      `json:"polls"`
	} `json:"result"`
	Error *starter.Failure `json:"error"`
}

// runStarter runs the starter CLI in-process against the stack and
// returns its exit code and decoded --json output.
func (s *stack) runStarter(t *testing.T, args ...string) (int, starterOutput) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := starter.Main(ctx, args, starter.Env{Stdout: &stdout, Stderr: &stderr, Lookup: s.lookup})
	var out starterOutput
	if strings.Contains(strings.Join(args, " "), "--json") {
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "starter output: %s\nstderr: %s", stdout.String(), stderr.String())
	}
	return code, out
}

// lookup is the starter's environment: the stack's Temporal, and
// starterEnv.
func (s *stack) lookup(k string) (string, bool) {
	env := map[string]string{
		config.EnvTemporalAddress: s.temporal.Address,
		config.EnvTaskQueue:       taskQueue,
	}
	maps.Copy(env, s.starterEnv)
	v, ok := env[k]
	return v, ok
}

// sign returns the query of a valid webhook URL for trackID (an hour to
// live), as the worker hands it out.
func (s *stack) sign(t *testing.T, trackID string) string {
	t.Helper()
	raw, err := s.signer.URL(trackID, time.Now().Add(time.Hour))
	require.NoError(t, err)
	_, q, _ := strings.Cut(raw, "?")
	return q
}

// postWebhook sends a webhook to the gateway by hand, with query as the
// URL's query (exp and sig).
func (s *stack) postWebhook(t *testing.T, trackID, query string, body string) *http.Response {
	t.Helper()
	u := s.gatewayURL + webhookgateway.WebhookPathPrefix + trackID + "?" + query
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
