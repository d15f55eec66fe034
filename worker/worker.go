// Package worker wires genflow's workflows and activities into a Temporal
// worker. The binary in cmd/worker is a thin main around Run; tests build
// the same worker with New.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/config"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/workflows"
)

// stopTimeout is how long in-flight activities get to finish on shutdown
// before their contexts are cancelled (a retry then picks them up).
const stopTimeout = 30 * time.Second

// New returns a worker on taskQueue with every workflow and the given
// activities registered. Start or Run it.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{WorkerStopTimeout: stopTimeout})
	workflows.Register(w)
	w.RegisterActivity(acts)
	w.RegisterActivity(&activities.BatchActivities{History: c})
	return w
}

// NewActivities builds the activities from the worker's configuration.
func NewActivities(cfg config.Worker) (*activities.Activities, error) {
	provider, err := modelslab.New(modelslab.Options{
		BaseURL:    cfg.ModelsLabBaseURL,
		APIKey:     cfg.ModelsLabKey,
		HTTPClient: &http.Client{Timeout: 50 * time.Second},
	})
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", config.EnvModelsLabBaseURL, config.EnvModelsLabKey, err)
	}
	signer, err := webhookgateway.NewSigner(cfg.PublicURL, cfg.Secrets)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", config.EnvGatewayPublicURL, config.EnvWebhookSecrets, err)
	}
	return &activities.Activities{Provider: provider, Webhooks: signer}, nil
}

// Dial connects to Temporal as configured.
func Dial(cfg config.Temporal, logger *slog.Logger) (client.Client, error) {
	c, err := client.Dial(client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    tlog.NewStructuredLogger(logger),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (%s): %w", cfg.Address, config.EnvTemporalAddress, err)
	}
	return c, nil
}

// Run runs a worker for cfg until ctx is done, then stops it gracefully.
func Run(ctx context.Context, cfg config.Worker, logger *slog.Logger) error {
	acts, err := NewActivities(cfg)
	if err != nil {
		return err
	}
	c, err := Dial(cfg.Temporal, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	w := New(c, cfg.Temporal.TaskQueue, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	logger.Info("worker started", "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace,
		"task_queue", cfg.Temporal.TaskQueue, "modelslab", cfg.ModelsLabBaseURL, "gateway", cfg.PublicURL)
	<-ctx.Done()
	logger.Info("worker stopping")
	w.Stop()
	return nil
}
