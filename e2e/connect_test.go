package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/internal/tlstest"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/worker"
)

// TestMutualTLS runs a generation with the worker, the gateway and the
// starter configured by nothing but environment variables, the Temporal
// CLI's own (TEMPORAL_ADDRESS, TEMPORAL_TLS_*), against a Temporal that
// requires a client certificate: a dev server behind a TLS proxy that
// refuses connections without one.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := quietLogger()
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     testenv.TemporalCLI(t),
		ClientOptions:    &client.Options{HostPort: testenv.FreeAddr(t), Logger: tlog.NewStructuredLogger(logger)},
		LogLevel:         "error",
		SearchAttributes: contract.SearchAttributes(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = dev.Stop() })
	certs := tlstest.Write(t)
	proxy := tlstest.StartProxy(t, dev.FrontendHostPort(), certs.ServerConfig(t))

	fake := fakemodelslab.NewServer(fakemodelslab.Options{ProcessingTime: 200 * time.Millisecond, Logger: logger})
	t.Cleanup(fake.Close)
	gwLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	env := map[string]string{
		config.EnvTemporalAddress:  proxy.Addr,
		config.EnvTemporalTLSCert:  certs.ClientCert,
		config.EnvTemporalTLSKey:   certs.ClientKey,
		config.EnvTemporalTLSCA:    certs.CA,
		config.EnvTemporalTLSName:  "localhost",
		config.EnvTaskQueue:        "genflow-mtls",
		config.EnvModelsLabKey:     apiKey,
		config.EnvModelsLabBaseURL: fake.BaseURL(),
		config.EnvGatewayPublicURL: "http://" + gwLn.Addr().String(),
		config.EnvWebhookSecrets:   secret,
		config.EnvWorkerMetrics:    testenv.FreeAddr(t),
	}
	lookup := func(env map[string]string) config.Lookup {
		return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}

	wcfg, err := config.LoadWorker(lookup(env))
	require.NoError(t, err)
	require.Contains(t, wcfg.Temporal.Describe(), "(mTLS)")
	gcfg, err := config.LoadGateway(lookup(env))
	require.NoError(t, err)
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	var workerErr, gatewayErr error
	wg.Add(2)
	go func() { defer wg.Done(); workerErr = worker.Run(runCtx, wcfg, logger) }()
	go func() { defer wg.Done(); gatewayErr = webhookgateway.Run(runCtx, gcfg, logger, gwLn, nil) }()
	t.Cleanup(func() {
		stop()
		wg.Wait()
		require.NoError(t, workerErr, "worker")
		require.NoError(t, gatewayErr, "gateway")
	})

	runStarter := func(env map[string]string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		code := starter.Main(sctx, args, starter.Env{Stdout: &stdout, Stderr: &stderr, Lookup: lookup(env)})
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := runStarter(env, "generate", "text2img", "--model", "flux", "--prompt", "over mTLS",
		"--track-id", "mtls-1", "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "stdout %s\nstderr %s", out, errOut)
	var res struct {
		Status string `json:"status"`
		Result struct {
			LearnedBy string `json:"learned_by"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.Equal(t, "succeeded", res.Status)
	require.Equal(t, string(contract.LearnedWebhook), res.Result.LearnedBy, "the webhook went through the gateway's mTLS client")

	ok, _ := proxy.Handshakes()
	require.GreaterOrEqual(t, ok, 3, "worker, gateway and starter each connect through the proxy")

	// Without a client certificate the server refuses the starter.
	noCert := maps.Clone(env)
	delete(noCert, config.EnvTemporalTLSCert)
	delete(noCert, config.EnvTemporalTLSKey)
	_, refusedBefore := proxy.Handshakes()
	code, _, errOut = runStarter(noCert, "show", "mtls-1")
	require.NotEqual(t, starter.ExitOK, code)
	require.Contains(t, errOut, "cannot reach Temporal")
	_, refused := proxy.Handshakes()
	require.Greater(t, refused, refusedBefore)
}

// headerRecorder is a WorkflowService that answers GetSystemInfo (the
// first call of client.Dial) and records the request's metadata.
type headerRecorder struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu sync.Mutex
	md metadata.MD
}

func (h *headerRecorder) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	h.mu.Lock()
	h.md = md
	h.mu.Unlock()
	return &workflowservice.GetSystemInfoResponse{}, nil
}

// TestAPIKeyReachesTheServer: TEMPORAL_API_KEY is sent as the
// Authorization header, as Temporal Cloud expects it, and the namespace
// as temporal-namespace.
func TestAPIKeyReachesTheServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rec := &headerRecorder{}
	srv := grpc.NewServer()
	workflowservice.RegisterWorkflowServiceServer(srv, rec)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	env := map[string]string{
		config.EnvTemporalAddress:   ln.Addr().String(),
		config.EnvTemporalNamespace: "genflow.a1b2c",
		config.EnvTemporalAPIKey:    "key-0123456789",
		// Temporal Cloud is TLS; this recorder is not.
		config.EnvTemporalTLS: "false",
	}
	cfg, err := config.LoadStarter(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Contains(t, cfg.Temporal.Describe(), "API key")
	require.NotContains(t, cfg.Temporal.Describe(), "key-0123456789")
	c, err := client.Dial(cfg.Temporal.ClientOptions(nilLogger{}, nil))
	require.NoError(t, err)
	defer c.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, []string{"Bearer key-0123456789"}, rec.md.Get("authorization"))
}
