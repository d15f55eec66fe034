// Package worker wires genflow's workflows and activities into a Temporal
// worker. The binary in cmd/worker is a thin main around Run; tests build
// the same worker with New.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/internal/version"
	"github.com/genflow/genflow/notify"
	"github.com/genflow/genflow/storage"
)

// stopTimeout is how long in-flight activities get to finish on shutdown
// before their contexts are cancelled (a retry then picks them up).
const stopTimeout = 30 * time.Second

// New returns a worker on taskQueue with every workflow and the given
// activities registered. Start or Run it.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	return newWorker(c, taskQueue, acts, nil)
}

// newWorker is New with a callback for the SDK's fatal errors (the
// namespace deleted, say), after which the worker polls no more. It
// registers as Register does.
func newWorker(c client.Client, taskQueue string, acts *activities.Activities, onFatal func(error)) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, Options(sdkworker.Options{WorkerStopTimeout: stopTimeout, OnFatalError: onFatal}))
	register(w, c, acts)
	return w
}

// Options returns o with genflow's pollers: for workflow tasks, one or two
// on the task queue and one or two on the worker's sticky queue, kept
// apart; one or two for activity tasks. The SDK's default, two pollers
// that each choose a queue, sends both to the sticky queue while it last
// reported a backlog, and they then sit in 60 s long polls there: go run
// ./bench saw bursts of 32 new workflows wait 61 s for their first task,
// genflow's and the floor's alike. More pollers cost the dev server CPU:
// the SDK's autoscaling default (up to 100) cut webhook ingestion by more
// than half, up to 8 by a third; up to 2 by about 8%.
func Options(o sdkworker.Options) sdkworker.Options {
	pollers := sdkworker.PollerBehaviorAutoscalingOptions{InitialNumberOfPollers: 1, MinimumNumberOfPollers: 1, MaximumNumberOfPollers: 2}
	o.WorkflowTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(pollers)
	o.ActivityTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(pollers)
	return o
}

// NewActivities builds the activities from the worker's configuration,
// as Register does from its options; an error names the variable.
func NewActivities(cfg config.Worker) (*activities.Activities, error) {
	opts, err := RegisterOptionsOf(cfg)
	if err != nil {
		return nil, err
	}
	acts, err := newActivities(opts)
	var oe *optionError
	if errors.As(err, &oe) {
		return nil, fmt.Errorf("%s: %w", optionVars[oe.field], oe.err)
	}
	return acts, err
}

// RegisterOptionsOf returns the Register options of the worker's
// configuration, without metrics. It parses the notification secrets; an
// error names their variable.
func RegisterOptionsOf(cfg config.Worker) (RegisterOptions, error) {
	o := RegisterOptions{
		ModelsLabAPIKey:  cfg.ModelsLabKey,
		ModelsLabBaseURL: cfg.ModelsLabBaseURL,
		PublicURL:        cfg.PublicURL,
		WebhookSecrets:   cfg.Secrets,
		Store:            StoreOptions{URL: cfg.Store.URL, MaxBytes: cfg.Store.MaxBytes, S3: S3Options(cfg.Store.S3)},
	}
	o.ModelsLabAllowHTTP = cfg.ModelsLabAllowHTTP
	o.ModelsLabEndpointPaths = cfg.ModelsLabEndpointPaths
	o.OutboundAllow = cfg.OutboundAllow
	o.AccountQueueLimit = cfg.AccountQueueLimit
	if o.AccountQueueLimit == 0 {
		o.AccountQueueLimit = NoAccountLimit // ACCOUNT_QUEUE_LIMIT=0
	}
	for i, s := range cfg.NotifySecrets {
		secret, err := notify.ParseSecret(s)
		if err != nil {
			return RegisterOptions{}, fmt.Errorf("%s: secret %d: %w", config.EnvNotifySecrets, i+1, err)
		}
		o.NotifySecrets = append(o.NotifySecrets, secret)
	}
	return o, nil
}

// S3Options are the storage options of the STORE_S3_* settings.
func S3Options(s config.S3) storage.S3Options {
	return storage.S3Options{Endpoint: s.Endpoint, Region: s.Region, AccessKey: s.AccessKey, SecretKey: s.SecretKey}
}

// optionVars are the variables config.LoadWorker reads each
// RegisterOptions field from.
var optionVars = map[string]string{
	"ModelsLabAPIKey":   config.EnvModelsLabKey,
	"ModelsLabBaseURL":  config.EnvModelsLabBaseURL,
	"PublicURL":         config.EnvGatewayPublicURL,
	"WebhookSecrets":    config.EnvWebhookSecrets,
	"Store.URL":         config.EnvStoreURL,
	"OutboundAllow":     config.EnvOutboundAllow,
	"AccountQueueLimit": config.EnvAccountQueueLimit,
}

// prepareStore readies the output storage at start: it removes the spool
// files a worker that crashed mid-copy left in the copier's TempDir, and
// creates a missing S3 bucket. A store that cannot be reached is only
// logged: the worker still runs generations, and storing is retried (then
// reported in the results) until the store is back.
func prepareStore(ctx context.Context, c *storage.Copier, logger *slog.Logger) {
	if n, err := storage.RemoveStaleSpools(c.TempDir, time.Hour); err != nil || n > 0 {
		logger.Info("removed stale spool files", "count", n, "error", err)
	}
	s3, ok := c.Backend.(*storage.S3)
	if !ok {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s3.EnsureBucket(cctx); err != nil {
		logger.Warn("output storage not reachable; storing will be retried", "var", config.EnvStoreURL, "error", err)
	}
}

// Dial connects to Temporal as configured. A nil metrics records no SDK
// metrics.
func Dial(cfg config.Temporal, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	c, err := client.Dial(cfg.ClientOptions(tlog.NewStructuredLogger(logger), metrics))
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (%s): %w", cfg.Describe(), config.EnvTemporalAddress, err)
	}
	return c, nil
}

// Run runs a worker for cfg until ctx is done, then stops it gracefully.
// It serves the worker's metrics on GET /metrics of cfg.MetricsAddr: the
// Temporal SDK's, the workflows' and the provider calls'.
func Run(ctx context.Context, cfg config.Worker, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener (%s): %w", config.EnvWorkerMetrics, err)
	}
	defer ln.Close()
	// The activities as Register builds them (Register's first half;
	// newWorker registers them as its second does), so the store can be
	// prepared first.
	acts, err := NewActivities(cfg)
	if err != nil {
		return err
	}
	if acts.Notifier == nil {
		logger.Warn("no notification secret: runs started with --notify will send no notification; set it to sign them",
			"var", config.EnvNotifySecrets)
	}
	if acts.Store != nil {
		prepareStore(ctx, acts.Store, logger)
	}
	if account, ok := acts.Account.(*activities.TemporalAccount); ok {
		account.Logger = logger
	}
	reg, err := metrics.New()
	if err != nil {
		return err
	}
	defer func() { _ = reg.Shutdown(context.WithoutCancel(ctx)) }()
	provider, err := metrics.NewProvider(reg.Registerer())
	if err != nil {
		return err
	}
	acts.Metrics = provider
	if acts.Results, err = metrics.NewResults(reg.Registerer()); err != nil {
		return err
	}
	c, err := Dial(cfg.Temporal, logger, reg.TemporalHandler(logger))
	if err != nil {
		return err
	}
	defer c.Close()
	fatal := make(chan error, 1)
	w := newWorker(c, cfg.Temporal.TaskQueue, acts, func(err error) {
		select {
		case fatal <- err:
		default:
		}
	})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	mctx, stopMetrics := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- reg.Serve(mctx, ln, logger) }()
	logger.Info("worker started", "version", version.Get().String(), "temporal", cfg.Temporal.Describe(),
		"task_queue", cfg.Temporal.TaskQueue, "modelslab", cfg.ModelsLabBaseURL, "gateway", cfg.PublicURL, "store", orNone(cfg.Store.URL),
		"metrics", "http://"+ln.Addr().String()+"/metrics")
	if len(cfg.OutboundAllow) > 0 {
		logger.Info("outbound policy: ranges allowed besides public addresses", "var", config.EnvOutboundAllow,
			"allow", fmt.Sprint(cfg.OutboundAllow))
	}
	var serveErr, fatalErr error
	metricsDone := false
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		metricsDone = true
		logger.Error("metrics server failed", "error", serveErr)
	case err := <-fatal:
		// Exit, so the supervisor (compose's restart policy, systemd)
		// restarts a worker that would otherwise sit idle.
		fatalErr = fmt.Errorf("worker stopped by a fatal error: %w", err)
		logger.Error("worker fatal error", "error", err)
	}
	logger.Info("worker stopping")
	w.Stop()
	if account, ok := acts.Account.(*activities.TemporalAccount); ok {
		// The releases of the last runs, sent rather than left to the
		// limiter's reclaim.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := account.Flush(fctx); err != nil {
			logger.Warn("account releases not all sent at the stop; the limiter reclaims them", "error", err)
		}
		cancel()
	}
	stopMetrics()
	if !metricsDone {
		serveErr = <-served
	}
	return errors.Join(fatalErr, serveErr)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
