package webhookgateway

import (
	"context"
	"crypto/tls"
	"errors"
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

// Run serves the gateway as cfg says until ctx is done: its Temporal
// client (lazy, so the gateway answers 503 while Temporal is down), the
// webhook handler on ln (TLS when configured), and the admin handler
// (/healthz, /readyz, /metrics) on admin, which is plain HTTP and should
// be a loopback or private address (cfg.AdminAddr); nil serves no admin
// handler. Should either stop serving, the other is shut down too. Run
// closes both listeners. The binary in cmd/gateway is a thin main around
// it.
func Run(ctx context.Context, cfg config.Gateway, logger *slog.Logger, ln, admin net.Listener) error {
	defer ln.Close()
	if admin != nil {
		defer admin.Close()
	}
	// One registry for the process: the Temporal client's metrics and the
	// gateway's own, served on GET /metrics of the admin listener.
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
	opts := Options{
		Signer:            signer,
		Signaler:          tc,
		Health:            tc,
		Logger:            logger,
		MaxBodyBytes:      cfg.MaxBodyBytes,
		SignalTimeout:     cfg.SignalTimeout,
		MaxWebhooksPerRun: runCap(cfg.MaxWebhooksPerRun),
		Metrics:           gm,
		MetricsHandler:    reg.Handler(logger),
	}
	h, err := NewHandler(opts)
	if err != nil {
		return err
	}
	ah, err := NewAdminHandler(opts)
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
	adminAddr := ""
	if admin != nil {
		adminAddr = admin.Addr().String()
	}
	logger.Info("gateway listening",
		"version", version.Get().String(),
		"addr", ln.Addr().String(),
		"admin", adminAddr,
		"tls", useTLS,
		"temporal", cfg.Temporal.Describe(),
		"secrets", len(cfg.Secrets))
	// When one listener stops serving, the other shuts down too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	servers := 1
	go func() {
		if useTLS {
			errc <- ServeTLS(ctx, ln, h, logger, cfg.TLSCertFile, cfg.TLSKeyFile)
			return
		}
		errc <- Serve(ctx, ln, h, logger)
	}()
	if admin != nil {
		servers++
		go func() {
			if err := Serve(ctx, admin, ah, logger); err != nil {
				errc <- fmt.Errorf("admin listener: %w", err)
				return
			}
			errc <- nil
		}()
	}
	var errs []error
	for range servers {
		errs = append(errs, <-errc)
		cancel()
	}
	return errors.Join(errs...)
}

// runCap turns config's "0 means no cap" into Options' negative.
func runCap(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
