package webhookgateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/internal/version"
	"github.com/genflow/genflow/webhookurl"
)

// Run serves the gateway as cfg says on ln until ctx is done: its
// Temporal client (lazy, so the gateway answers 503 while Temporal is
// down), the webhook handler, /metrics, and TLS when configured. The
// binary in cmd/gateway is a thin main around it.
func Run(ctx context.Context, cfg config.Gateway, logger *slog.Logger, ln net.Listener) error {
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
	tc, err := client.NewLazyClient(cfg.Temporal.ClientOptions(tlog.NewStructuredLogger(logger), reg.TemporalHandler(logger)))
	if err != nil {
		return fmt.Errorf("temporal client for %s: %w", cfg.Temporal.Describe(), err)
	}
	defer tc.Close()

	signer, err := webhookurl.NewSigner(webhookurl.Options{Secrets: cfg.Secrets, RefuseUnexpiring: !cfg.AcceptUnexpiring})
	if err != nil {
		return fmt.Errorf("webhook signer: %w", err)
	}
	h, err := NewHandler(Options{
		Signer:            signer,
		Signaler:          tc,
		Health:            tc,
		Logger:            logger,
		MaxBodyBytes:      cfg.MaxBodyBytes,
		SignalTimeout:     cfg.SignalTimeout,
		MaxWebhooksPerRun: runCap(cfg.MaxWebhooksPerRun),
		Metrics:           gm,
		MetricsHandler:    reg.Handler(logger),
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
		"version", version.Get().String(),
		"addr", ln.Addr().String(),
		"tls", useTLS,
		"temporal", cfg.Temporal.Describe(),
		"secrets", len(cfg.Secrets))
	if useTLS {
		return ServeTLS(ctx, ln, h, logger, cfg.TLSCertFile, cfg.TLSKeyFile)
	}
	return Serve(ctx, ln, h, logger)
}

// runCap turns config's "0 means no cap" into Options' negative.
func runCap(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
