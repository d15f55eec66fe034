// Command gateway receives ModelsLab webhooks and signals the Generation
// workflow each belongs to (see package webhookgateway). Configuration
// comes from the environment; see the README's configuration table.
//
// The gateway starts and answers even while Temporal is down: webhooks get
// 503 with Retry-After and /readyz reports it until Temporal is back.
// Webhooks (and /healthz) are served on GATEWAY_LISTEN_ADDR; /healthz,
// /readyz and /metrics on GATEWAY_ADMIN_ADDR (loopback by default), which
// is never the address the internet reaches.
//
// With GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE it serves HTTPS
// itself and picks up a renewed certificate without a restart; otherwise
// it serves plain HTTP for a TLS-terminating proxy in front.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/genflow/genflow/internal/config"
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

// run listens on cfg.ListenAddr (webhooks) and cfg.AdminAddr (health,
// readiness, metrics) and serves until ctx is done.
func run(ctx context.Context, cfg config.Gateway, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	admin, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s (%s): %w", cfg.AdminAddr, config.EnvGatewayAdmin, err), ln.Close())
	}
	return webhookgateway.Run(ctx, cfg, logger, ln, admin)
}
