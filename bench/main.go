// Command bench measures what genflow's durability costs, next to
// Temporal's own floor, in one run on the local Temporal dev server:
//
//  1. webhook ingestion through the gateway against raw SignalWorkflow
//     calls from the same process;
//  2. result latency, from a webhook's POST to the readable result,
//     against a workflow that waits for one signal;
//  3. end-to-end generations per second, the fake provider answering at
//     once, against a workflow that runs one no-op activity and waits for
//     one signal;
//  4. a 1,000-item batch: items per second and the longest history;
//  5. the Go benchmarks of the hot pure code (parsing, sig check, URLs);
//  6. the account limiter (issue 17): batches and interactive
//     generations sharing one account's queue, and the limiter's
//     admissions alone; with -only account-scale, 10,000 items waiting.
//
// It starts everything itself on loopback (dev server in a temporary
// directory, fake ModelsLab, gateway, worker), prints a table and, with
// -docs, rewrites the measured section of docs/benchmarks.md. `make bench`
// runs it with the defaults.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
)

type options struct {
	senders, targets, signals int
	rounds                    int
	latencySamples            int
	clients, generations      int
	batchItems                int
	batchConcurrency          int
	only                      []string
	docs                      string
	cpuProfile                string
	keep                      bool
	onDisk                    bool
	compression               string
	partitions                int
	// external is -temporal-address: a Temporal server of its own
	// instead of the dev server (external.go); nil in tests.
	external *external
	// The account limiter's scenarios (account.go).
	accountGenTime                    time.Duration
	accountLimit                      int
	accountBatches, accountItems      int
	accountWindow, accountInteractive int
	admissions, admissionHolders      int
	scaleBatches, scaleItems          int
	scaleDrainLimit                   int
}

var scenarios = []string{"ingest", "latency", "throughput", "batch", "account", "account-scale", "go"}

// stackScenarios need the stack; optInScenarios run only when named.
var (
	stackScenarios = []string{"ingest", "latency", "throughput", "batch", "account", "account-scale"}
	optInScenarios = []string{"account-scale"}
)

func (o options) wants(s string) bool {
	if len(o.only) == 0 {
		return !slices.Contains(optInScenarios, s)
	}
	return slices.Contains(o.only, s)
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.senders, "senders", 32, "1: concurrent webhook senders")
	fs.IntVar(&o.targets, "targets", 100, "1: running generations the webhooks go to")
	fs.IntVar(&o.signals, "signals", 2000, "1: webhooks (and raw signals) per round")
	fs.IntVar(&o.rounds, "rounds", 7, "1, 3: rounds of each side, interleaved (ratios are the median over rounds)")
	fs.IntVar(&o.latencySamples, "latency-samples", 100, "2: sequential samples of each side")
	fs.IntVar(&o.clients, "clients", 32, "3: concurrent clients starting generations")
	fs.IntVar(&o.generations, "generations", 300, "3: generations per round and side")
	fs.IntVar(&o.batchItems, "batch-items", 1000, "4: items in the batch")
	fs.IntVar(&o.batchConcurrency, "batch-concurrency", contract.DefaultBatchConcurrency, "4: the batch's window")
	// 4 s: the generation time of issue 17's measurement of two batches
	// sharing an account; at 1 s the fixed handover of a slot (a webhook,
	// the limiter's and the next run's workflow tasks, about 0.15-0.2 s)
	// is a sixth of each generation (docs/benchmarks.md).
	fs.DurationVar(&o.accountGenTime, "account-gen-time", 4*time.Second, "6: the fake's generation time T")
	fs.IntVar(&o.accountLimit, "account-limit", contract.DefaultAccountQueueLimit, "6: the fake's queue limit and the worker's ACCOUNT_QUEUE_LIMIT")
	fs.IntVar(&o.accountBatches, "account-batches", 3, "6: batches sharing the account")
	fs.IntVar(&o.accountItems, "account-items", 100, "6: items per batch")
	fs.IntVar(&o.accountWindow, "account-window", 100, "6: each batch's window (--concurrency)")
	fs.IntVar(&o.accountInteractive, "account-interactive", 10, "6: interactive generations, started one by one while the batches run")
	fs.IntVar(&o.admissions, "admissions", 2000, "6: acquire-and-release pairs of the limiter alone")
	fs.IntVar(&o.admissionHolders, "admission-holders", 32, "6: concurrent holders of the limiter alone")
	fs.IntVar(&o.scaleBatches, "scale-batches", 20, "account-scale: batches waiting for the account")
	fs.IntVar(&o.scaleItems, "scale-items", 500, "account-scale: items per batch (its window and page size)")
	fs.IntVar(&o.scaleDrainLimit, "scale-drain-limit", 100, "account-scale: the limit (and the fake's queue) once all wait, to drain them")
	only := fs.String("only", "", "comma-separated scenarios to run, of "+strings.Join(scenarios, ","))
	fs.StringVar(&o.docs, "docs", "", "rewrite the measured section of this file (docs/benchmarks.md)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (gateway, worker, fake, clients)")
	fs.BoolVar(&o.onDisk, "disk", false, "keep the dev server's database on disk (SQLite WAL, as scripts/stack.sh) instead of in memory")
	fs.StringVar(&o.compression, "grpc-compression", config.CompressionNone, "gRPC compression of every Temporal client, both sides: none (as scripts/stack.sh and docker-compose.yml) or gzip")
	fs.IntVar(&o.partitions, "partitions", 1, "task-queue partitions of the dev server (1 as scripts/stack.sh; the server's default is 4)")
	fs.BoolVar(&o.keep, "keep", false, "keep the run directory (dev server database, logs)")
	o.external = externalFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *only != "" {
		for _, s := range strings.Split(*only, ",") {
			if !slices.Contains(scenarios, s) {
				fmt.Fprintf(stderr, "-only: unknown scenario %q; known: %s\n", s, strings.Join(scenarios, ","))
				return o, fmt.Errorf("unknown scenario %q", s)
			}
			o.only = append(o.only, s)
		}
	}
	if o.compression != config.CompressionGzip && o.compression != config.CompressionNone {
		fmt.Fprintf(stderr, "-grpc-compression is %q; want gzip or none\n", o.compression)
		return o, fmt.Errorf("bad -grpc-compression")
	}
	for name, v := range map[string]int{"senders": o.senders, "targets": o.targets, "signals": o.signals, "rounds": o.rounds,
		"latency-samples": o.latencySamples, "clients": o.clients, "generations": o.generations,
		"batch-items": o.batchItems, "batch-concurrency": o.batchConcurrency,
		"account-limit": o.accountLimit, "account-batches": o.accountBatches, "account-items": o.accountItems,
		"account-window": o.accountWindow, "admission-holders": o.admissionHolders,
		"scale-batches": o.scaleBatches, "scale-items": o.scaleItems, "scale-drain-limit": o.scaleDrainLimit} {
		if v < 1 {
			fmt.Fprintf(stderr, "-%s is %d; it must be at least 1\n", name, v)
			return o, fmt.Errorf("-%s < 1", name)
		}
	}
	return o, nil
}

func run(ctx context.Context, o options, args []string, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	rep := report{When: time.Now().UTC(), Command: command(args), Opts: o}
	rep.Machine = describeMachine()

	// The Go benchmarks run first, alone on the machine.
	if o.wants("go") {
		logf("== 5. Go benchmarks: go %s", strings.Join(goBenchArgs(), " "))
		res, err := runGoBenchmarks()
		if err != nil {
			return err
		}
		rep.GoBench = res
	}
	needStack := slices.ContainsFunc(stackScenarios, o.wants)
	if needStack {
		dir, err := os.MkdirTemp("", "genflow-bench-")
		if err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
		if o.external.on() {
			logf("== using the Temporal server at %s; starting the fake ModelsLab, gateway and worker (logs in %s)", o.external.address, dir)
		} else {
			logf("== starting the dev server, fake ModelsLab, gateway and worker (logs in %s)", dir)
		}
		s, err := startStack(ctx, dir, o.onDisk, o.compression, o.partitions, o.external)
		if err != nil {
			return err
		}
		defer s.close()
		rep.Machine.Temporal = o.external.version(ctx, s)
		if o.cpuProfile != "" {
			f, err := os.Create(o.cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		b := newBench(s, o, logf)
		if o.wants("ingest") {
			logf("== 1. webhook ingestion: %d senders, %d webhooks per round to %d generations, %d rounds", o.senders, o.signals, o.targets, o.rounds)
			r, err := b.ingest(ctx)
			if err != nil {
				return fmt.Errorf("webhook ingestion: %w", err)
			}
			rep.Ingest = &r
		}
		if o.wants("latency") {
			logf("== 2. result latency: %d samples of each side", o.latencySamples)
			r, err := b.latency(ctx)
			if err != nil {
				return fmt.Errorf("result latency: %w", err)
			}
			rep.Latency = &r
		}
		if o.wants("throughput") {
			logf("== 3. end-to-end throughput: %d clients, %d generations per round and side, %d rounds", o.clients, o.generations, o.rounds)
			r, err := b.throughput(ctx)
			if err != nil {
				return fmt.Errorf("end-to-end throughput: %w", err)
			}
			rep.Throughput = &r
		}
		if o.wants("batch") {
			logf("== 4. batch: %d items, concurrency %d", o.batchItems, o.batchConcurrency)
			r, err := b.batch(ctx)
			if err != nil {
				return fmt.Errorf("batch: %w", err)
			}
			rep.Batch = &r
		}
		if o.wants("account") {
			logf("== 6. account limiter: %d batches of %d items (window %d) and %d interactive generations, limit %d, T %s; then the limiter alone, %d holders",
				o.accountBatches, o.accountItems, o.accountWindow, o.accountInteractive, o.accountLimit, o.accountGenTime, o.admissionHolders)
			r, err := b.account(ctx)
			if err != nil {
				return fmt.Errorf("account limiter: %w", err)
			}
			rep.Account = &r
		}
		if o.wants("account-scale") {
			logf("== 6b. account limiter at scale: %d batches of %d items waiting", o.scaleBatches, o.scaleItems)
			r, err := b.accountScale(ctx)
			if err != nil {
				return fmt.Errorf("account limiter at scale: %w", err)
			}
			rep.AccountScale = &r
		}
		rep.PeakRSSMiB = peakRSSMiB()
		if err := s.close(); err != nil {
			return fmt.Errorf("stopping the stack: %w", err)
		}
	}
	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if o.docs != "" {
		if err := o.external.section().Write(o.docs, md); err != nil {
			return err
		}
		logf("== wrote %s", o.docs)
	}
	return nil
}

// command is how this run was invoked, to print with its numbers.
func command(args []string) string {
	if len(args) == 0 {
		return "go run ./bench"
	}
	return "go run ./bench " + strings.Join(args, " ")
}
