// Command faults is genflow's fault suite: it runs genflow as real
// processes on loopback, breaks them on purpose and checks that nothing is
// lost, nothing is doubled and nothing is stuck.
//
// It builds the binaries (go build ./cmd/...) into a temporary directory,
// then for each scenario starts a fresh stack: the Temporal dev server
// with its SQLite database file, the fake ModelsLab, the gateway and the
// worker, each a child process it can SIGKILL and start again; work is
// started through the starter package, as the starter CLI starts it. A
// tap in this process stands between the fake's webhooks and the gateway
// and records every answer, so that each webhook the gateway acknowledged
// can be matched with the run that should have recorded it.
//
// Scenarios (-scenario, comma-separated, or all):
//
//	worker-kill-batch   SIGKILL the worker -kills times during an -items batch
//	worker-kill-submit  SIGKILL the worker while Submit calls wait on a slow provider
//	gateway-restart     kill and restart the gateway while webhooks arrive
//	temporal-outage     SIGKILL the dev server for -outage mid-batch, webhooks posted meanwhile
//	provider-faults     30% dropped, 30% duplicated, 10% 5xx, 10% 429, reordered and late webhooks at once
//	abuse               forged and foreign signatures, huge, deep and slow requests, replays, odd track_ids
//	burst               -rate signed webhooks a second for -duration
//	signal-limit        one run pushed past Temporal's signal limit, then its result's webhook
//
// It prints one markdown table (scenario, runs, lost, stuck, double
// submissions, false 200s, gateway 5xx, p99, gateway RSS) and the notes,
// and with -docs rewrites the measured section of docs/reliability.md. It
// exits 1 when a check failed. `make faults` runs the whole set; -short
// is the scale the CI test (go test ./faults) runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/genflow/genflow/internal/testenv"
)

// options are the suite's flags.
type options struct {
	scenarios []string
	short     bool
	// items is worker-kill-batch's batch size; runs the generations of
	// the other scenarios.
	items, runs, kills int
	restartDelay       time.Duration
	submitDelay        time.Duration
	lateWebhook        time.Duration
	outage             time.Duration
	outageRate         float64
	rate               float64
	duration           time.Duration
	senders            int
	signalLimit        int
	bound              time.Duration
	docs               string
	bin                string
	dir                string
	keep               bool
	verbose            bool
	// prod runs the production topology instead of the scenarios
	// (prod.go, scripts/prod-check.sh).
	prod prodOptions
}

// scenarioNames in the order they run.
var scenarioNames = []string{"worker-kill-batch", "worker-kill-submit", "gateway-restart", "temporal-outage",
	"provider-faults", "abuse", "burst", "signal-limit"}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o, os.Args[1:], os.Stderr)
	if rep != nil {
		md := rep.markdown()
		fmt.Print(md)
		if o.docs != "" && err == nil {
			if werr := rep.section().Write(o.docs, md); werr != nil {
				fmt.Fprintln(os.Stderr, "faults:", werr)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "faults: wrote %s\n", o.docs)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	if rep.failed() {
		fmt.Fprintln(os.Stderr, "faults: some checks FAILED (see the verdict column and the notes)")
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := fs.String("scenario", "all", "comma-separated scenarios: all, or of "+strings.Join(scenarioNames, ", "))
	fs.BoolVar(&o.short, "short", false, "the CI scale (flags given explicitly still win): 30 items, 1 kill, 40 runs, 5 s outage, 500 webhooks/s for 5 s")
	fs.IntVar(&o.items, "items", 300, "worker-kill-batch: items in the batch")
	fs.IntVar(&o.runs, "runs", 100, "generations in provider-faults, gateway-restart, temporal-outage's batch; 10 per kill in worker-kill-submit")
	fs.IntVar(&o.kills, "kills", 3, "SIGKILLs of the worker (and restarts of the gateway)")
	fs.DurationVar(&o.restartDelay, "restart-delay", time.Second, "time a killed process stays down")
	fs.DurationVar(&o.submitDelay, "submit-delay", 3*time.Second, "worker-kill-submit: how long the slow provider holds each submit's reply")
	fs.DurationVar(&o.lateWebhook, "late-webhook", 30*time.Second, "worker-kill-submit: how late the webhook of the 'late' runs comes")
	fs.DurationVar(&o.outage, "outage", 20*time.Second, "temporal-outage: how long the dev server stays down")
	fs.Float64Var(&o.outageRate, "outage-rate", 300, "temporal-outage: webhooks per second posted throughout")
	fs.Float64Var(&o.rate, "rate", 2000, "burst: signed webhooks per second")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "burst: how long")
	fs.IntVar(&o.senders, "senders", 64, "burst: concurrent senders; a webhook due while all are busy is not sent (open loop)")
	fs.IntVar(&o.signalLimit, "signal-limit", 0, "signal-limit: the dev server's history.maximumSignalsPerExecution (0: Temporal's default, 10,000)")
	fs.DurationVar(&o.bound, "bound", 3*time.Minute, "how long after its last fault a scenario's runs may take to end before they count as stuck")
	fs.StringVar(&o.docs, "docs", "", "rewrite the measured section of this file (docs/reliability.md)")
	fs.StringVar(&o.bin, "bin", "", "use the binaries in this directory instead of building them")
	fs.StringVar(&o.dir, "dir", "", "where the scenarios' directories (databases, logs) go (default: a temporary directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scenarios' directories (always kept when a check fails)")
	fs.BoolVar(&o.verbose, "v", false, "log details: each lost or stuck run, each false 200")
	fs.BoolVar(&o.prod.on, "prod", false, "run the production topology instead of the scenarios (scripts/prod-check.sh: make prod-check): "+
		"-items batch and the example pipelines through rolling restarts; -docs then rewrites docs/deploy.md's \"What was run\"")
	fs.StringVar(&o.prod.server, "prod-server", "", "-prod: the temporal-server binary (deploy/temporal-server)")
	fs.StringVar(&o.prod.config, "prod-config", "", "-prod: the directory of its production.yaml")
	fs.StringVar(&o.prod.caddy, "prod-caddy", "", "-prod: the Caddy binary")
	fs.StringVar(&o.prod.caddyfile, "prod-caddyfile", "deploy/caddy/Caddyfile", "-prod: the Caddyfile, rendered for loopback")
	fs.StringVar(&o.prod.examples, "prod-examples", "examples", "-prod: the directory of the example pipelines")
	fs.IntVar(&o.prod.postgresPID, "prod-postgres-pid", 0, "-prod: PostgreSQL's postmaster, for its CPU time")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./faults [flags]\n\nRuns genflow's fault suite (see the package comment, or docs/reliability.md).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return o, errors.New("unexpected argument")
	}
	for _, s := range strings.Split(*scen, ",") {
		switch s = strings.TrimSpace(s); {
		case s == "all":
			for _, n := range scenarioNames {
				if !slices.Contains(o.scenarios, n) {
					o.scenarios = append(o.scenarios, n)
				}
			}
		case slices.Contains(scenarioNames, s):
			if !slices.Contains(o.scenarios, s) {
				o.scenarios = append(o.scenarios, s)
			}
		case s == "":
		default:
			fmt.Fprintf(stderr, "-scenario: unknown scenario %q; known: all, %s\n", s, strings.Join(scenarioNames, ", "))
			return o, fmt.Errorf("unknown scenario %q", s)
		}
	}
	// Keep the listed order whatever the order given.
	slices.SortFunc(o.scenarios, func(a, b string) int {
		return slices.Index(scenarioNames, a) - slices.Index(scenarioNames, b)
	})
	if o.short {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		set := func(name string, apply func()) {
			if !given[name] {
				apply()
			}
		}
		set("items", func() { o.items = 30 })
		set("kills", func() { o.kills = 1 })
		set("runs", func() { o.runs = 40 })
		set("outage", func() { o.outage = 5 * time.Second })
		set("outage-rate", func() { o.outageRate = 100 })
		set("rate", func() { o.rate = 500 })
		set("duration", func() { o.duration = 5 * time.Second })
		set("late-webhook", func() { o.lateWebhook = 20 * time.Second })
		set("bound", func() { o.bound = 90 * time.Second })
		set("signal-limit", func() { o.signalLimit = 200 })
	}
	if o.prod.on && (o.prod.server == "" || o.prod.config == "" || o.prod.caddy == "") {
		fmt.Fprintln(stderr, errNoProd)
		return o, errNoProd
	}
	for name, v := range map[string]int{"items": o.items, "runs": o.runs, "kills": o.kills, "senders": o.senders} {
		if v < 1 {
			fmt.Fprintf(stderr, "-%s is %d; it must be at least 1\n", name, v)
			return o, fmt.Errorf("-%s < 1", name)
		}
	}
	if o.rate <= 0 || o.outageRate <= 0 || o.duration <= 0 || o.outage <= 0 || o.bound <= 0 {
		fmt.Fprintln(stderr, "-rate, -outage-rate, -duration, -outage and -bound must be positive")
		return o, errors.New("non-positive scale")
	}
	return o, nil
}

// run builds the binaries (unless -bin) and runs the scenarios.
func run(ctx context.Context, o options, args []string, stderr io.Writer) (*report, error) {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	if _, err := testenv.FindTemporalCLI(); err != nil {
		return nil, err
	}
	base := o.dir
	if base == "" {
		var err error
		if base, err = os.MkdirTemp("", "genflow-faults-"); err != nil {
			return nil, err
		}
	}
	bins := o.bin
	if bins == "" {
		bins = base + "/bin"
		logf("== building the binaries (go build -o %s/ ./cmd/...)", bins)
		if err := buildBinaries(ctx, bins); err != nil {
			return nil, err
		}
	}
	su := &suite{o: o, bins: bins, base: base, logf: logf, tag: fmt.Sprintf("%x", time.Now().Unix()%0xffffff)}
	rep := &report{When: time.Now(), Command: command(args)}
	start := time.Now()
	if o.prod.on {
		rep.Command = "make prod-check"
		rep.Results = su.runProd(ctx)
		rep.prod = &prodReport{Init: su.prodInit, CPU: su.prodCPUText, Server: serverVersion(o.prod.server),
			Caddy: caddyVersion(o.prod.caddy), Postgres: postgresVersion(o.prod.postgresPID), Load: loadAverage()}
		o.scenarios = nil
	}
	for _, name := range o.scenarios {
		if ctx.Err() != nil {
			break
		}
		r := su.run(ctx, name)
		rep.Results = append(rep.Results, r)
	}
	rep.Wall = time.Since(start)
	keep := o.keep || rep.failed()
	if !keep && o.dir == "" {
		os.RemoveAll(base)
	} else {
		logf("== scenario directories (logs, databases) kept in %s", base)
	}
	return rep, ctx.Err()
}

// command is how to run the suite again as it ran.
func command(args []string) string {
	if len(args) == 0 {
		return "go run ./faults"
	}
	return "go run ./faults " + strings.Join(args, " ")
}
