package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/webhookurl"
	"github.com/genflow/genflow/worker"
)

const (
	taskQueue      = "genflow-bench"
	floorTaskQueue = "genflow-bench-floor"
	// noLimitTaskQueue is a second genflow worker's, without the account
	// limiter: the end-to-end scenario's side that states its cost.
	noLimitTaskQueue = "genflow-bench-nolimit"
	benchKey         = "bench-key"
	benchSecret      = "bench-webhook-secret-0123456789abcdef"
)

// stack is genflow on loopback, every part as its binary runs it: the
// Temporal dev server (a child process, with the local stack's SQLite
// settings), the fake ModelsLab, the gateway (webhookgateway.Run) and the
// worker (worker.Run), plus a worker for the floor workflows on a task
// queue of its own. Logs go to files in dir.
type stack struct {
	dir        string
	dev        *testsuite.DevServer
	c          client.Client
	fake       *fakemodelslab.Server
	gatewayURL string
	signer     *webhookurl.Signer
	temporal   config.Temporal
	floor      sdkworker.Worker
	stops      []func() error
}

// startStack starts the stack; with onDisk the dev server keeps its
// database in dir (WAL, synchronous=normal, as scripts/stack.sh), else in
// memory (the dev server's default).
//
// With ext set (-temporal-address), it starts no dev server and uses
// that Temporal server instead (external.go).
func startStack(ctx context.Context, dir string, onDisk bool, compression string, partitions int, ext *external) (_ *stack, err error) {
	s := &stack{dir: dir}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	logger, closeLog, err := fileLogger(filepath.Join(dir, "bench.log"))
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, closeLog)
	if ext.on() {
		err = ext.connect(ctx, s, compression, logger)
	} else {
		err = s.startDevServer(ctx, dir, logger, onDisk, compression, partitions)
	}
	if err != nil {
		return nil, err
	}

	fakeLogger, closeFakeLog, err := fileLogger(filepath.Join(dir, "fakemodelslab.log"))
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, closeFakeLog)
	s.fake = fakemodelslab.NewServer(fakemodelslab.Options{
		Keys: []string{benchKey},
		// "Answering at once": the webhook follows the submit's reply
		// after a millisecond.
		ProcessingTime: time.Millisecond,
		QueueLimit:     1 << 20,
		Logger:         fakeLogger,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute,
		}},
	})
	s.stops = append(s.stops, func() error { s.fake.Close(); return nil })

	gwLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.gatewayURL = "http://" + gwLn.Addr().String()
	if s.signer, err = webhookurl.NewSigner(webhookurl.Options{PublicURL: s.gatewayURL, Secrets: []string{benchSecret}}); err != nil {
		return nil, err
	}
	gwAddr, err := testenv.LoopbackAddr()
	if err != nil {
		return nil, err
	}
	gcfg := config.Gateway{
		ListenAddr: gwAddr,
		Temporal: config.Temporal{Address: s.temporal.Address, Namespace: s.temporal.Namespace, Compression: compression,
			Connection: s.temporal.Connection},
		Secrets:       []string{benchSecret},
		MaxBodyBytes:  webhookgateway.DefaultMaxBodyBytes,
		SignalTimeout: webhookgateway.DefaultSignalTimeout,
		// The per-run cap's counter stays on the measured path, as in
		// production, set high enough that no bench webhook is dropped.
		MaxWebhooksPerRun: 9000,
	}
	gwAdmin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	gwReady := "http://" + gwAdmin.Addr().String() + "/readyz"
	if err := s.run("gateway", func(ctx context.Context, l *slog.Logger) error {
		return webhookgateway.Run(ctx, gcfg, l, gwLn, gwAdmin)
	}); err != nil {
		return nil, err
	}

	metricsAddr, err := testenv.LoopbackAddr()
	if err != nil {
		return nil, err
	}
	wcfg := config.Worker{
		Temporal:         s.temporal,
		ModelsLabKey:     benchKey,
		ModelsLabBaseURL: s.fake.BaseURL(),
		PublicURL:        s.gatewayURL,
		Secrets:          []string{benchSecret},
		MetricsAddr:      metricsAddr,
		// The account limiter is in every generation's path, as by
		// default, with the bench's account as large as its fake's queue
		// (no run waits): what is measured is the cost of asking.
		AccountQueueLimit: benchAccountLimit,
	}
	if err := s.run("worker", func(ctx context.Context, l *slog.Logger) error {
		return worker.Run(ctx, wcfg, l)
	}); err != nil {
		return nil, err
	}
	// The same worker without the limiter (ACCOUNT_QUEUE_LIMIT=0), on a
	// task queue of its own.
	noLimit := wcfg
	noLimit.Temporal.TaskQueue = noLimitTaskQueue
	noLimit.AccountQueueLimit = 0
	if noLimit.MetricsAddr, err = testenv.LoopbackAddr(); err != nil {
		return nil, err
	}
	if err := s.run("worker-nolimit", func(ctx context.Context, l *slog.Logger) error {
		return worker.Run(ctx, noLimit, l)
	}); err != nil {
		return nil, err
	}

	// The floor's worker polls as genflow's does.
	s.floor = sdkworker.New(s.c, floorTaskQueue, worker.Options(sdkworker.Options{}))
	registerFloor(s.floor, s.c)
	if err := s.floor.Start(); err != nil {
		return nil, fmt.Errorf("start the floor worker: %w", err)
	}
	s.stops = append(s.stops, func() error { s.floor.Stop(); return nil })

	if err := s.waitReady(ctx, "http://"+metricsAddr+"/metrics", gwReady); err != nil {
		return nil, err
	}
	return s, nil
}

// benchAccountLimit is the worker's ACCOUNT_QUEUE_LIMIT in the bench:
// more than the bench ever has in flight (32 clients), so no run waits.
const benchAccountLimit = 1000

// startDevServer starts the Temporal dev server (the Temporal CLI's) with
// the local stack's settings, and connects s to it.
func (s *stack) startDevServer(ctx context.Context, dir string, logger *slog.Logger, onDisk bool, compression string, partitions int) error {
	cli, err := testenv.FindTemporalCLI()
	if err != nil {
		return err
	}
	devLog, err := os.Create(filepath.Join(dir, "temporal.log"))
	if err != nil {
		return err
	}
	s.stops = append(s.stops, devLog.Close)
	hostPort, err := testenv.LoopbackAddr()
	if err != nil {
		return err
	}
	devOpts := testsuite.DevServerOptions{
		ExistingPath: cli,
		ClientOptions: ptr(config.Temporal{Address: hostPort, Namespace: "default", Compression: compression}.
			ClientOptions(tlog.NewStructuredLogger(logger), nil)),
		LogLevel:         "warn",
		SearchAttributes: contract.SearchAttributes(),
		// Eager activities, as scripts/stack.sh.
		ExtraArgs: []string{"--dynamic-config-value", "system.enableActivityEagerExecution=true",
			"--dynamic-config-value", fmt.Sprintf("matching.numTaskqueueReadPartitions=%d", partitions),
			"--dynamic-config-value", fmt.Sprintf("matching.numTaskqueueWritePartitions=%d", partitions)},
		Stdout: devLog, Stderr: devLog,
	}
	if onDisk {
		devOpts.DBFilename = filepath.Join(dir, "temporal.db")
		devOpts.ExtraArgs = append(devOpts.ExtraArgs, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	s.dev, err = testsuite.StartDevServer(ctx, devOpts)
	if err != nil {
		return fmt.Errorf("start the Temporal dev server (%s): %w", cli, err)
	}
	s.stops = append(s.stops, s.dev.Stop)
	s.c = s.dev.Client()
	s.temporal = config.Temporal{Address: s.dev.FrontendHostPort(), Namespace: "default", TaskQueue: taskQueue,
		UIURL: "http://localhost:8233", Compression: compression}
	return nil
}

// run starts one genflow component (its JSON logs in dir/NAME.log at info,
// as the binaries log) and registers its graceful stop.
func (s *stack) run(name string, fn func(context.Context, *slog.Logger) error) error {
	l, closeLog, err := fileLogger(filepath.Join(s.dir, name+".log"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx, l) }()
	s.stops = append(s.stops, func() error {
		cancel()
		err := errors.Join(<-done, closeLog())
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	return nil
}

func (s *stack) waitReady(ctx context.Context, urls ...string) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range urls {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready after 30s (logs in %s)", u, s.dir)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// close stops everything, last started first.
func (s *stack) close() error {
	var first error
	for i := len(s.stops) - 1; i >= 0; i-- {
		if err := s.stops[i](); err != nil && first == nil {
			first = err
		}
	}
	s.stops = nil
	return first
}

func fileLogger(path string) (*slog.Logger, func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(slog.NewJSONHandler(f, nil)), f.Close, nil
}

func ptr[T any](v T) *T { return &v }
