// Command healthcheck is the HEALTHCHECK of genflow's container images,
// which have no shell and no curl. It reads the same environment as the
// binary it checks, so it looks where that binary listens or polls.
//
//	healthcheck [flags] gateway    GET /readyz on this container's gateway:
//	                               its admin listener, GATEWAY_ADMIN_ADDR
//	                               (loopback when it listens on every
//	                               interface), plain HTTP
//	healthcheck [flags] worker     Temporal has seen a worker of this container
//	                               (SDK identity pid@hostname@) poll
//	                               TEMPORAL_TASK_QUEUE for workflow and for
//	                               activity tasks within -max-age
//	healthcheck [flags] http URL   GET URL answers 2xx
//
// It exits 0 when healthy and 1 otherwise, saying why on stderr: Docker
// reads 1 as unhealthy and reserves 2, so a bad flag or a configuration
// that does not load is reported as unhealthy too.
//
// The worker has no port, so "the process runs" says little: a worker
// that stopped polling (a fatal error, a lost namespace) keeps running.
// The worker check asks Temporal instead, which is what matters: whether
// tasks on the queue reach this container. It describes every partition
// of the task queue (-partitions, the server's
// matching.numTaskqueueReadPartitions, 4 by default), since a poll lands
// on one partition only.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/genflow/genflow/internal/config"
)

const (
	exitHealthy   = 0
	exitUnhealthy = 1
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stderr))
}

// options are the command-line flags.
type options struct {
	timeout    time.Duration
	maxAge     time.Duration
	partitions int
}

// errUnhealthy marks a check that ran and failed, as opposed to a
// configuration that does not let it run; both exit 1, the message differs.
var errUnhealthy = errors.New("unhealthy")

func run(args []string, env config.Lookup, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "bound on the whole check")
	fs.DurationVar(&o.maxAge, "max-age", 3*time.Minute, "worker: how recent the last poll must be (a long poll lasts about a minute)")
	fs.IntVar(&o.partitions, "partitions", 4, "worker: partitions of the task queue to describe")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: healthcheck [flags] gateway | worker | http URL")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUnhealthy
	}
	if o.timeout <= 0 || o.maxAge <= 0 || o.partitions < 1 {
		fmt.Fprintln(stderr, "healthcheck: -timeout and -max-age must be positive, -partitions at least 1")
		return exitUnhealthy
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	var err error
	switch mode := fs.Arg(0); {
	case mode == "gateway" && fs.NArg() == 1:
		err = checkGateway(ctx, env)
	case mode == "worker" && fs.NArg() == 1:
		err = checkWorker(ctx, env, o)
	case mode == "http" && fs.NArg() == 2:
		err = checkHTTP(ctx, fs.Arg(1), false)
	default:
		fs.Usage()
		return exitUnhealthy
	}
	if err != nil {
		if !errors.Is(err, errUnhealthy) {
			err = fmt.Errorf("cannot check: %w", err)
		}
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return exitUnhealthy
	}
	return exitHealthy
}

func checkGateway(ctx context.Context, env config.Lookup) error {
	cfg, err := config.LoadGateway(env)
	if err != nil {
		return fmt.Errorf("gateway configuration: %w", err)
	}
	url, err := gatewayReadyURL(cfg)
	if err != nil {
		return err
	}
	return checkHTTP(ctx, url, false)
}

// gatewayReadyURL is the gateway's /readyz as reached from its own
// container: on its admin listener (plain HTTP, whatever TLS the webhook
// listener serves), loopback when it listens on every interface.
func gatewayReadyURL(cfg config.Gateway) (string, error) {
	host, port, err := net.SplitHostPort(cfg.AdminAddr)
	if err != nil {
		return "", fmt.Errorf("%s: %w", config.EnvGatewayAdmin, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

func checkHTTP(ctx context.Context, url string, insecure bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("url %q: %w", url, err)
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // loopback only, see checkGateway
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %w", errUnhealthy, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: GET %s: %s %s", errUnhealthy, url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func checkWorker(ctx context.Context, env config.Lookup, o options) error {
	cfg, err := config.LoadWorker(env)
	if err != nil {
		return fmt.Errorf("worker configuration: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	c, err := client.Dial(cfg.Temporal.ClientOptions(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), nil))
	if err != nil {
		return fmt.Errorf("%w: temporal at %s: %w", errUnhealthy, cfg.Temporal.Describe(), err)
	}
	defer c.Close()

	now := time.Now()
	for _, tqType := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		var pollers []*taskqueuepb.PollerInfo
		for p := range o.partitions {
			resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace:     cfg.Temporal.Namespace,
				TaskQueue:     &taskqueuepb.TaskQueue{Name: partitionName(cfg.Temporal.TaskQueue, p), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
				TaskQueueType: tqType,
			})
			if err != nil {
				return fmt.Errorf("%w: describe task queue %s: %w", errUnhealthy, cfg.Temporal.TaskQueue, err)
			}
			pollers = append(pollers, resp.GetPollers()...)
		}
		if !polledFrom(pollers, host, now, o.maxAge) {
			return fmt.Errorf("%w: no %s poller from host %s on task queue %s (namespace %s) in the last %s",
				errUnhealthy, strings.ToLower(strings.TrimPrefix(tqType.String(), "TASK_QUEUE_TYPE_")), host,
				cfg.Temporal.TaskQueue, cfg.Temporal.Namespace, o.maxAge)
		}
	}
	return nil
}

// partitionName is the RPC name of partition p of a normal task queue,
// as the Temporal CLI's `task-queue describe --partitions-legacy` forms it.
func partitionName(taskQueue string, p int) string {
	if p == 0 {
		return taskQueue
	}
	return fmt.Sprintf("/_sys/%s/%d", taskQueue, p)
}

// polledFrom reports whether a poller whose SDK identity (pid@host@...)
// names host polled within maxAge of now.
func polledFrom(pollers []*taskqueuepb.PollerInfo, host string, now time.Time, maxAge time.Duration) bool {
	for _, p := range pollers {
		parts := strings.Split(p.GetIdentity(), "@")
		if len(parts) < 2 || parts[1] != host || p.GetLastAccessTime() == nil {
			continue
		}
		if now.Sub(p.GetLastAccessTime().AsTime()) <= maxAge {
			return true
		}
	}
	return false
}
