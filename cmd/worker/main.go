// Command worker runs genflow's Temporal worker: the Generation workflow
// and the ModelsLab activities. Configuration comes from the environment;
// see the README's configuration table.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/worker"
)

func main() {
	cfg, err := config.LoadWorker(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: configuration:\n%v\n", err)
		os.Exit(2)
	}
	logger := cfg.Log.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := worker.Run(ctx, cfg, logger); err != nil {
		logger.Error("worker failed", "error", err)
		os.Exit(1)
	}
}
