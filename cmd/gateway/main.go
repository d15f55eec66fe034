// Command gateway receives ModelsLab webhooks and signals the Generation
// workflow each belongs to (see package webhookgateway). Configuration
// comes from the environment; see the README's configuration table.
//
// The gateway starts and answers even while Temporal is down: webhooks get
// 503 with Retry-After and /readyz reports it until Temporal is back.
//
// With GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE it serves HTTPS
// itself and picks up a renewed certificate without a restart; otherwise
// it serves plain HTTP for a TLS-terminating proxy in front.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/genflow/genflow/config"
	"github.com/genflow/genflow/metrics"
	"github.com/genflow/genflow/webhookgateway"
)

func main() {
	cfg, err := config.LoadGateway(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway: configuration:\n%v\n", err)
		os.Exit(2)
	}
	logger := cfg.Log.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, logger)
	stop()
	if err != nil {
		logger.Error("gateway failed", "error", err)
		os.Exit(1)
	}
}

// run listens on cfg.ListenAddr and serves until ctx is done.
func run(ctx context.Context, cfg config.Gateway, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	return serve(ctx, cfg, logger, ln)
}

// serve wires the gateway on ln; split from run so a test can pass a
// listener on a free port.
func serve(ctx context.Context, cfg config.Gateway, logger *slog.Logger, ln net.Listener) error {
	defer ln.Close()
	// One registry for the process: the Temporal client's metrics and the
	// gateway's own, served on GET /metrics.
	reg, err := metrics.New()
	if err != nil {
		return err
	}
	defer func() { _ = reg.Shutdown(context.WithoutCancel(ctx)) }()
	gm, err := metrics.NewGateway(reg.Registerer())
	if err != nil {
		return err
	}
	// Lazy: the first call connects, so the gateway starts while Temporal
	// is down and answers 503 until it is up.
	tc, err := client.NewLazyClient(client.Options{
		HostPort:       cfg.Temporal.Address,
		Namespace:      cfg.Temporal.Namespace,
		Logger:         tlog.NewStructuredLogger(logger),
		MetricsHandler: reg.TemporalHandler(logger),
	})
	if err != nil {
		return fmt.Errorf("temporal client for %s: %w", cfg.Temporal.Address, err)
	}
	defer tc.Close()

	signer, err := webhookgateway.NewSigner("", cfg.Secrets)
	if err != nil {
		return fmt.Errorf("webhook signer: %w", err)
	}
	h, err := webhookgateway.NewHandler(webhookgateway.Options{
		Signer:         signer,
		Signaler:       tc,
		Health:         tc,
		Logger:         logger,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		SignalTimeout:  cfg.SignalTimeout,
		Metrics:        gm,
		MetricsHandler: reg.Handler(logger),
	})
	if err != nil {
		return err
	}
	useTLS := cfg.TLSCertFile != ""
	if useTLS {
		// Checked here too so that a bad pair fails at start naming the
		// variables; ServeTLS reloads the files when they change.
		if _, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("%s/%s: %w", config.EnvGatewayTLSCert, config.EnvGatewayTLSKey, err)
		}
	}
	logger.Info("gateway listening",
		"addr", ln.Addr().String(),
		"tls", useTLS,
		"temporal_address", cfg.Temporal.Address,
		"temporal_namespace", cfg.Temporal.Namespace,
		"secrets", len(cfg.Secrets))
	if useTLS {
		return webhookgateway.ServeTLS(ctx, ln, h, logger, cfg.TLSCertFile, cfg.TLSKeyFile)
	}
	return webhookgateway.Serve(ctx, ln, h, logger)
}
