// Command fakemodelslab serves the fake ModelsLab API for the local stack
// and docker compose. Configuration comes from flags or FAKE_* variables;
// run it with -h for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/genflow/genflow/fakemodelslab"
)

func main() {
	if err := run(); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "fakemodelslab:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := fakemodelslab.ParseConfig(os.Args[1:], os.LookupEnv, os.Stderr)
	if err != nil {
		return err
	}
	logger := cfg.Logger(os.Stderr)
	cfg.Options.Logger = logger

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	fake := fakemodelslab.New(cfg.Options)
	defer fake.Close()
	srv := &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("fake ModelsLab listening", "base_url", "http://"+ln.Addr().String()+"/api/",
		"public_url", cfg.Options.PublicURL, "fault_rates", cfg.Options.Faults.Rates)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
