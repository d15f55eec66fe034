package webhookgateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace is how long Serve lets requests in flight finish once its
// context is done.
const ShutdownGrace = 10 * time.Second

// Serve serves h on ln until ctx is done, then shuts down gracefully:
// it stops accepting connections and waits up to ShutdownGrace for
// requests in flight, whose signals may still be reaching Temporal. It
// returns nil after a clean shutdown. Serve closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// A webhook body is small; a client that trickles it is stalling.
		ReadTimeout: 30 * time.Second,
		// Counted from the end of the headers: reading the body plus the
		// signal (Options.SignalTimeout) must fit.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	logger.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "shutting down http server",
		slog.Duration("grace", ShutdownGrace))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		closeErr := srv.Close()
		<-errc
		return errors.Join(fmt.Errorf("shut down http server: %w", err), closeErr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}
