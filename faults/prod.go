package main

// The production topology (-prod, scripts/prod-check.sh, issue 19): the
// Temporal server built from go.temporal.io/server on PostgreSQL with
// its frontend on mutual TLS, deploy/temporal/init.sh run against it as
// the temporal-init service runs it, two workers and two gateways
// connecting with TEMPORAL_TLS_*, Caddy with deploy/caddy/Caddyfile in
// front of the gateways, the fake ModelsLab. One scenario: a batch and
// the example pipelines while each worker, then each gateway, is
// restarted in turn (SIGTERM, as `docker compose restart` stops them) and
// the Temporal server once.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/webhookurl"
)

// prodOptions are the -prod flags: where scripts/prod-check.sh put what
// it built and set up.
type prodOptions struct {
	on bool
	// server is the temporal-server binary (deploy/temporal-server),
	// config the directory of its production.yaml.
	server, config string
	// caddy is the Caddy binary; caddyfile the project's Caddyfile.
	caddy, caddyfile string
	// postgresPID is the postmaster's pid, for its CPU time.
	postgresPID int
	// examples is the directory of the example pipelines.
	examples string
}

// prodSubmitDelay is how long the fake holds each submit's reply.
const prodSubmitDelay = 500 * time.Millisecond

// prodEvent is one restart of the scenario.
type prodEvent struct {
	what     string
	at       string // progress when it came
	down     time.Duration
	inSubmit int
}

// clientEnv are the TEMPORAL_* variables of this process (the address and
// the mTLS files scripts/prod-check.sh exports), which every client gets.
func clientEnv() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TEMPORAL_") && v != "" {
			m[k] = v
		}
	}
	return m
}

// renderCaddyfile is the project's Caddyfile for loopback: the upstreams
// are the gateways' addresses instead of the A records of the compose
// service "gateway", which only Docker's DNS answers; Caddy binds to
// 127.0.0.1 only, on the ports given instead of 8080, 8443 and 8081.
// Everything else (load balancing, retries, passive health, the 404s) is
// the file as compose runs it.
func renderCaddyfile(src string, upstreams []string, httpPort, httpsPort, healthPort string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	s := string(b)
	dyn := regexp.MustCompile(`(?s)dynamic a \{.*?\n\t\t\}`)
	if !dyn.MatchString(s) {
		return "", fmt.Errorf("%s: no `dynamic a { ... }` block to replace", src)
	}
	s = dyn.ReplaceAllLiteralString(s, "to "+strings.Join(upstreams, " "))
	for old, repl := range map[string]string{
		"\thttp_port 8080\n":  "\thttp_port " + httpPort + "\n\tdefault_bind 127.0.0.1\n",
		"\thttps_port 8443\n": "\thttps_port " + httpsPort + "\n",
		"http://:8081 {":      "http://:" + healthPort + " {",
	} {
		if !strings.Contains(s, old) {
			return "", fmt.Errorf("%s: %q not found", src, strings.TrimSpace(old))
		}
		s = strings.Replace(s, old, repl, 1)
	}
	return s, nil
}

// startProdStack starts the production topology in dir.
func startProdStack(ctx context.Context, su *suite, dir string) (_ *stack, err error) {
	po := su.o.prod
	s := &stack{dir: dir, logf: su.logf, http: newHTTPClient(), cpuCarry: map[*proc]float64{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	cenv := clientEnv()
	st, err := config.LoadStarter(func(k string) (string, bool) { v, ok := cenv[k]; return v, ok })
	if err != nil {
		return nil, fmt.Errorf("the TEMPORAL_* variables: %w", err)
	}
	s.cfg = st.Temporal
	s.cfg.TaskQueue, s.cfg.Compression = taskQueue, config.CompressionNone
	s.temporalAddr = s.cfg.Address
	s.clientEnv = cenv

	s.temporal = &proc{name: "temporal", path: po.server, args: []string{"start", "-config", po.config, "-env", "production"},
		logPath: filepath.Join(dir, "temporal.log")}
	if err := s.temporal.start(); err != nil {
		return nil, err
	}
	opts := s.cfg.ClientOptions(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), nil)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if s.c, err = client.DialContext(ctx, opts); err == nil {
			break
		}
		if s.temporal.pid() == 0 || time.Now().After(deadline) {
			return nil, fmt.Errorf("Temporal server at %s (see %s): %w", s.temporalAddr, s.temporal.logPath, err)
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if err := s.waitTemporal(ctx, 2*time.Minute); err != nil {
		return nil, err
	}
	if s.mtlsRefusals, err = refusedWithoutCertificate(ctx, opts); err != nil {
		return nil, err
	}
	if err := runInit(ctx, s, dir); err != nil {
		return nil, err
	}

	ports := make([]string, 0, 10)
	for len(ports) < cap(ports) {
		p, err := stableAddr()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	// 0 fake; 1, 2 gateways; 3, 4 their admin; 5, 6 workers' metrics;
	// 7 proxy; 8 proxy's https (unused); 9 proxy's health.
	s.fakeURL = "http://" + ports[0]
	s.fake = &proc{name: "fakemodelslab", path: filepath.Join(su.bins, "fakemodelslab"), env: envList(map[string]string{
		fakemodelslab.EnvListenAddr: ports[0], fakemodelslab.EnvKeys: apiKey,
		fakemodelslab.EnvQueueLimit: "100000", fakemodelslab.EnvRetryAfter: "1s",
		fakemodelslab.EnvLogFormat: "json", fakemodelslab.EnvProcessingTime: "2s",
		// Every submit's reply is held half a second, so that restarts
		// find Submit calls in flight.
		fakemodelslab.EnvFaultRates: "slow-submit=1", fakemodelslab.EnvSubmitDelay: prodSubmitDelay.String(),
	}), logPath: filepath.Join(dir, "fakemodelslab.log")}
	if err := s.fake.start(); err != nil {
		return nil, err
	}

	common := merge(cenv, map[string]string{
		config.EnvTaskQueue: taskQueue, config.EnvTemporalGRPCZip: config.CompressionNone,
		config.EnvWebhookSecrets: webhookSecret, config.EnvLogFormat: "json",
	})
	for i := range 2 {
		g := &proc{name: fmt.Sprintf("gateway-%d", i+1), path: filepath.Join(su.bins, "gateway"),
			env:     envList(merge(common, map[string]string{config.EnvGatewayListen: ports[1+i], config.EnvGatewayAdmin: ports[3+i]})),
			logPath: filepath.Join(dir, fmt.Sprintf("gateway-%d.log", i+1))}
		if err := g.start(); err != nil {
			return nil, err
		}
		s.gateways = append(s.gateways, g)
		s.gatewayAdmins = append(s.gatewayAdmins, "http://"+ports[3+i])
	}
	s.gateway, s.gatewayAdmin = s.gateways[0], s.gatewayAdmins[0]

	caddyfile, err := renderCaddyfile(po.caddyfile, []string{ports[1], ports[2]}, port(ports[7]), port(ports[8]), port(ports[9]))
	if err != nil {
		return nil, err
	}
	cf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cf, []byte(caddyfile), 0o644); err != nil {
		return nil, err
	}
	s.proxy = &proc{name: "caddy", path: po.caddy, args: []string{"run", "--config", cf, "--adapter", "caddyfile"},
		env: []string{"GATEWAY_SITE_ADDRESS=:" + port(ports[7]), "XDG_DATA_HOME=" + filepath.Join(dir, "caddy-data"),
			"XDG_CONFIG_HOME=" + filepath.Join(dir, "caddy-config")},
		logPath: filepath.Join(dir, "caddy.log")}
	if err := s.proxy.start(); err != nil {
		return nil, err
	}
	s.gatewayURL = "http://" + ports[7]
	if s.signer, err = webhookurl.NewSigner(webhookurl.Options{PublicURL: s.gatewayURL, Secrets: []string{webhookSecret}}); err != nil {
		return nil, err
	}
	// The tap stands where the provider's webhooks enter: in front of
	// the proxy.
	if s.tap, err = newTap(s.gatewayURL); err != nil {
		return nil, err
	}

	for i := range 2 {
		w := &proc{name: fmt.Sprintf("worker-%d", i+1), path: filepath.Join(su.bins, "worker"),
			env: envList(merge(common, map[string]string{
				config.EnvModelsLabKey: apiKey, config.EnvModelsLabBaseURL: s.fakeURL + "/api/",
				config.EnvGatewayPublicURL: s.tap.URL, config.EnvWorkerMetrics: ports[5+i],
			})),
			logPath: filepath.Join(dir, fmt.Sprintf("worker-%d.log", i+1))}
		if err := w.start(); err != nil {
			return nil, err
		}
		s.workers = append(s.workers, w)
		s.workerMetricsURLs = append(s.workerMetricsURLs, "http://"+ports[5+i]+"/metrics")
	}
	s.wkr, s.workerMetrics = s.workers[0], s.workerMetricsURLs[0]

	if err := s.waitHTTP(ctx, s.fake, s.fakeURL+"/_fake/healthz", 30*time.Second); err != nil {
		return nil, err
	}
	for i, g := range s.gateways {
		if err := s.waitHTTP(ctx, g, s.gatewayAdmins[i]+"/readyz", time.Minute); err != nil {
			return nil, err
		}
	}
	if err := s.waitHTTP(ctx, s.proxy, "http://"+ports[9]+"/healthz", 30*time.Second); err != nil {
		return nil, err
	}
	for i, w := range s.workers {
		if err := s.waitHTTP(ctx, w, s.workerMetricsURLs[i], time.Minute); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// refusedWithoutCertificate checks that the frontend requires what the
// clients present: with TLS and the CA but no client certificate, and in
// plain text, a client must not get through. It returns what each got.
func refusedWithoutCertificate(ctx context.Context, opts client.Options) ([]string, error) {
	tc := opts.ConnectionOptions.TLS
	if tc == nil || (len(tc.Certificates) == 0 && tc.GetClientCertificate == nil) {
		return nil, errors.New("the TEMPORAL_TLS_* variables give no client certificate: the check runs with mTLS")
	}
	noCert := opts
	noCert.ConnectionOptions.TLS = tc.Clone()
	noCert.ConnectionOptions.TLS.Certificates, noCert.ConnectionOptions.TLS.GetClientCertificate = nil, nil
	plain := opts
	plain.ConnectionOptions.TLS = nil
	var got []string
	for _, c := range []struct {
		what string
		opts client.Options
	}{{"TLS without a client certificate", noCert}, {"plain text", plain}} {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cl, err := client.DialContext(dctx, c.opts)
		cancel()
		if err == nil {
			cl.Close()
			return nil, fmt.Errorf("the frontend accepted a client with %s", c.what)
		}
		got = append(got, c.what+" refused")
	}
	return got, nil
}

// runInit runs deploy/temporal/init.sh as the temporal-init service does,
// with the Temporal CLI and the mTLS variables.
func runInit(ctx context.Context, s *stack, dir string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cli, err := testenv.FindTemporalCLI()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(root, "deploy", "temporal", "init.sh"))
	env := merge(s.clientEnv, map[string]string{
		"NAMESPACE": s.cfg.Namespace, "NAMESPACE_RETENTION": "72h",
		"SEARCH_ATTRIBUTES": strings.Join(contract.SearchAttributeNames, " "),
		"PATH":              filepath.Dir(cli) + string(os.PathListSeparator) + os.Getenv("PATH"),
	})
	cmd.Env = append(envList(env), "HOME="+os.Getenv("HOME"))
	f, err := os.Create(filepath.Join(dir, "init.log"))
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	start := time.Now()
	s.logf("   deploy/temporal/init.sh (namespace, search attributes; waits out the server's caches when it creates them)")
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(f.Name())
		return fmt.Errorf("deploy/temporal/init.sh: %w\n%s", err, b)
	}
	s.initTook = time.Since(start)
	return nil
}

// restart stops p with SIGTERM (as docker compose stops a container),
// waits up to grace, starts it again after restartDelay, and waits until
// ready answers; it returns how long p was down.
func (s *stack) restart(ctx context.Context, p *proc, grace, delay time.Duration, ready func(context.Context) error) (time.Duration, error) {
	t0 := time.Now()
	// The CPU time of the process that stops, which its successor's
	// /proc does not show.
	s.cpuCarry[p] += p.cpuSeconds()
	if err := p.signal(syscall.SIGTERM, grace); err != nil {
		s.logf("   %v", err)
	}
	if err := sleepCtx(ctx, delay); err != nil {
		return 0, err
	}
	if err := p.start(); err != nil {
		return 0, err
	}
	if err := ready(ctx); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// startExamples starts every example pipeline once through the starter
// CLI (which connects with the same TEMPORAL_TLS_* variables), under IDs
// that begin with prefix; it returns the pipeline IDs.
func startExamples(ctx context.Context, su *suite, s *stack, prefix string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(su.o.prod.examples, "*"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range files {
		ext := filepath.Ext(f)
		if ext != ".yaml" && ext != ".json" {
			continue
		}
		id := prefix + strings.ReplaceAll(strings.TrimSuffix(filepath.Base(f), ext), "_", "-")
		cmd := exec.CommandContext(ctx, filepath.Join(su.bins, "starter"), "pipeline", "run", f, "--id", id)
		cmd.Env = append(baseEnv(), envList(merge(s.clientEnv, map[string]string{config.EnvTaskQueue: taskQueue}))...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("starter pipeline run %s: %w\n%s", f, err, out)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no example pipeline in %s", su.o.prod.examples)
	}
	return ids, nil
}

// children lists the generations a pipeline started, from visibility
// (their GenflowParentID search attribute).
func children(ctx context.Context, s *stack, parent string) ([]string, error) {
	var ids []string
	var token []byte
	for {
		resp, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("GenflowParentID = %q", parent), NextPageToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return ids, nil
		}
	}
}

// prodRolling is the scenario of -prod.
func (su *suite) prodRolling(ctx context.Context, s *stack, batch, pipes *result) error {
	o := su.o
	id := "fk-prod-batch-" + su.tag
	items := make([]contract.BatchItem, o.items)
	for i := range items {
		in := generationInput(i, 0)
		items[i] = contract.BatchItem{Endpoint: in.Endpoint, Params: in.Params, Line: i + 1}
	}
	t0 := time.Now()
	if _, err := starterStartBatch(ctx, s, id, items); err != nil {
		return err
	}
	var pipeIDs []string
	workerReady := func(i int) func(context.Context) error {
		return func(ctx context.Context) error {
			return s.waitHTTP(ctx, s.workers[i], s.workerMetricsURLs[i], time.Minute)
		}
	}
	gatewayReady := func(i int) func(context.Context) error {
		return func(ctx context.Context) error {
			return s.waitHTTP(ctx, s.gateways[i], s.gatewayAdmins[i]+"/readyz", time.Minute)
		}
	}
	type step struct {
		what  string
		p     *proc
		grace time.Duration
		ready func(context.Context) error
	}
	// The grace periods are compose's stop_grace_period.
	steps := []step{
		{"worker 1", s.workers[0], 40 * time.Second, workerReady(0)},
		{"worker 2", s.workers[1], 40 * time.Second, workerReady(1)},
		{"gateway 1", s.gateways[0], 15 * time.Second, gatewayReady(0)},
		{"gateway 2", s.gateways[1], 15 * time.Second, gatewayReady(1)},
		{"Temporal server", s.temporal, 30 * time.Second, func(ctx context.Context) error { return s.waitTemporal(ctx, 2*time.Minute) }},
	}
	var events []prodEvent
	for k, stp := range steps {
		// The example pipelines start again before each restart, so
		// that each restart finds some in flight.
		ids, err := startExamples(ctx, su, s, fmt.Sprintf("fk-prod-pipe-%s-%d-", su.tag, k+1))
		if err != nil {
			return err
		}
		pipeIDs = append(pipeIDs, ids...)
		target := o.items * (k + 1) / (len(steps) + 1)
		if err := waitFor(ctx, o.bound, fmt.Sprintf("%d items done", target), func() bool {
			st, err := s.fakeStats(ctx)
			return err == nil && st.Succeeded >= target
		}); err != nil {
			return err
		}
		st, err := s.fakeStats(ctx)
		if err != nil {
			return err
		}
		before := batch.InSubmit
		batch.cutOff(st.Submitting)
		down, err := s.restart(ctx, stp.p, stp.grace, o.restartDelay, stp.ready)
		if err != nil {
			return fmt.Errorf("restart %s: %w", stp.what, err)
		}
		batch.Kills++
		ev := prodEvent{what: stp.what, at: fmt.Sprintf("%d successes at the fake", st.Succeeded), down: down,
			inSubmit: batch.InSubmit - before}
		events = append(events, ev)
		su.logf("   restarted %s at %s: back in %s, %d submit call(s) in flight", ev.what, ev.at, durationText(down), ev.inSubmit)
	}
	stuck, err := waitClosed(ctx, s, "fk-prod-", o.bound)
	if err != nil {
		return err
	}
	wall := time.Since(t0)
	snap := s.tap.rec.snapshot()
	st, err := s.fakeStats(ctx)
	if err != nil {
		return err
	}

	// The batch's items.
	ids := make([]string, o.items)
	for i := range ids {
		ids[i] = contract.ItemTrackID(id, i)
	}
	outs := collect(ctx, s, ids)
	batch.tally(outs, snap)
	var res contract.BatchResult
	if err := s.c.GetWorkflow(ctx, id, "").Get(ctx, &res); err == nil {
		batch.fact("batch: %d/%d succeeded in %s over %d run(s)", res.Succeeded, res.Total, durationText(res.Duration), res.Runs)
	} else {
		batch.check(false, "batch %s: %v", id, err)
	}
	batch.countDoubles(st, ids)
	batch.fact("%s; run p50 %s", learnedBy(outs), durationText(percentile(batch.runLatencies, 0.5)))

	// The pipelines and their generations.
	var gens []string
	for _, pid := range pipeIDs {
		var pr contract.PipelineResult
		err := retry(ctx, 30*time.Second, func(ctx context.Context) error { return s.c.GetWorkflow(ctx, pid, "").Get(ctx, &pr) })
		switch {
		case err != nil:
			pipes.check(false, "pipeline %s: %v", pid, err)
			pipes.Lost++
		case pr.Status != contract.PipelineSucceeded:
			pipes.Lost++
			pipes.note("pipeline %s: %s %v", pid, pr.Status, pr.Failed)
		}
		c, err := children(ctx, s, pid)
		if err != nil {
			return fmt.Errorf("list the generations of %s: %w", pid, err)
		}
		gens = append(gens, c...)
	}
	pipes.Runs += len(pipeIDs)
	gouts := collect(ctx, s, gens)
	var genRes result
	genRes.tally(gouts, snap)
	pipes.Stuck, pipes.False200 = genRes.Stuck, genRes.False200
	pipes.Lost += genRes.Lost
	pipes.runLatencies = genRes.runLatencies
	pipes.details = append(pipes.details, genRes.details...)
	pipes.inSubmitTracks, pipes.InSubmit, pipes.KillsInSubmit = batch.inSubmitTracks, batch.InSubmit, batch.KillsInSubmit
	pipes.countDoubles(st, gens)
	pipes.Scale = fmt.Sprintf("%d examples × %d restarts", len(pipeIDs)/len(steps), len(steps))
	pipes.fact("%d pipelines (the %d examples, started again before each restart), %d generations; %s", len(pipeIDs),
		len(pipeIDs)/len(steps), len(gens), learnedBy(gouts))

	if stuck > 0 && batch.Stuck+pipes.Stuck == 0 {
		batch.Stuck = stuck // the batch itself, a page holder or a pipeline
	}
	all := make([]string, 0, len(st.Tracks))
	for k := range st.Tracks {
		all = append(all, k)
	}
	n, _ := doubles(st, all)
	batch.Count5xx = snap.count5xx()
	batch.expected5xx = "during the restarts, sent again by the fake; the answers below"
	for _, r := range []*result{batch, pipes} {
		r.checkCommon()
		r.Wall = wall
	}
	batch.fact("webhooks through the proxy: %s", snap.text())
	var ev []string
	for _, e := range events {
		ev = append(ev, fmt.Sprintf("%s at %s, back in %s (%d submit call(s) in flight)", e.what, e.at, durationText(e.down), e.inSubmit))
	}
	batch.fact("restarts (SIGTERM, then start): %s", strings.Join(ev, "; "))
	batch.fact("the fake saw %d track_ids, %d submitted more than once", len(all), n)
	batch.fact("the frontend, before init.sh: %s", strings.Join(s.mtlsRefusals, ", "))
	return nil
}

// starterStartBatch starts the batch through the starter's code path,
// 20 items at a time.
func starterStartBatch(ctx context.Context, s *stack, id string, items []contract.BatchItem) (string, error) {
	_, err := starter.StartBatch(ctx, s.c, s.cfg, starter.BatchSpec{ID: id, Items: items, Concurrency: min(20, len(items)),
		PollGrace: 5 * time.Second})
	return id, err
}

// runProd runs the production scenario and reports it as two rows.
func (su *suite) runProd(ctx context.Context) []result {
	o := su.o
	batch := result{Name: "prod: batch", Scale: fmt.Sprintf("%d items", o.items)}
	pipes := result{Name: "prod: example pipelines"}
	start := time.Now()
	dir := filepath.Join(su.base, "prod")
	fail := func(err error) []result {
		batch.check(false, "%v", err)
		su.logf("   prod: %v", err)
		batch.Wall, pipes.Wall = time.Since(start), time.Since(start)
		return []result{batch, pipes}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	su.logf("== prod: Temporal server on PostgreSQL (mTLS), init.sh, 2 workers, 2 gateways behind Caddy; logs in %s", dir)
	s, err := startProdStack(ctx, su, dir)
	if err != nil {
		return fail(fmt.Errorf("start the stack: %w", err))
	}
	su.prodInit = s.initTook
	cpu0 := s.prodCPU(o.prod.postgresPID)
	batch.RSSBefore = s.gateway.rssMiB()
	err = su.prodRolling(ctx, s, &batch, &pipes)
	batch.RSSAfter = s.gateway.rssMiB()
	cpu1 := s.prodCPU(o.prod.postgresPID)
	s.close()
	if err != nil {
		return fail(err)
	}
	su.prodCPUText = fmt.Sprintf("CPU seconds during the run (from /proc; PostgreSQL's backends included): Temporal server %.0f, PostgreSQL %.0f, workers %.0f, gateways %.0f, Caddy %.0f",
		cpu1["temporal"]-cpu0["temporal"], cpu1["postgres"]-cpu0["postgres"], cpu1["workers"]-cpu0["workers"],
		cpu1["gateways"]-cpu0["gateways"], cpu1["caddy"]-cpu0["caddy"])
	for _, r := range []*result{&batch, &pipes} {
		r.finishLatency()
		su.logf("   %s: %s; %s", r.Name, strings.TrimPrefix(r.verdict(), "**"), strings.Join(r.Facts, "; "))
		for _, f := range r.Failures {
			su.logf("   FAILED: %s", f)
		}
		if o.verbose || len(r.Failures) > 0 {
			for _, d := range r.details {
				su.logf("   - %s", d)
			}
		}
	}
	return []result{batch, pipes}
}

// prodCPU reads the CPU seconds of the parts (a restarted process's
// predecessors' included, as far as read just before their SIGTERM).
func (s *stack) prodCPU(postgresPID int) map[string]float64 {
	cpu := func(p *proc) float64 { return p.cpuSeconds() + s.cpuCarry[p] }
	m := map[string]float64{"temporal": cpu(s.temporal), "caddy": cpu(s.proxy), "postgres": treeCPU(postgresPID)}
	for _, w := range s.workers {
		m["workers"] += cpu(w)
	}
	for _, g := range s.gateways {
		m["gateways"] += cpu(g)
	}
	return m
}

// treeCPU is the CPU seconds of pid and its children, live and ended:
// PostgreSQL's postmaster and its backends.
func treeCPU(pid int) float64 { return testenv.ProcTreeCPU(pid).Seconds() }

// errNoProd is returned when -prod lacks what it needs.
var errNoProd = errors.New("-prod needs -prod-server, -prod-config and -prod-caddy (scripts/prod-check.sh sets them)")

// prodReport is what -prod adds to the report.
type prodReport struct {
	Init                    time.Duration
	CPU                     string
	Server, Caddy, Postgres string
	// Load is the 1-minute load average at the end.
	Load string
}

const (
	prodBeginMarker = "<!-- prod-check:begin (written by make prod-check; edits inside are overwritten) -->"
	prodEndMarker   = "<!-- prod-check:end -->"
)

// prodSection is docs/deploy.md's "What was run".
var prodSection = testenv.Section{Name: "prod-check", Begin: prodBeginMarker, End: prodEndMarker}

func serverVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// caddyVersion is the Caddy module's version in bin's build information
// (`caddy version` says "unknown" when Caddy is the main module).
func caddyVersion(bin string) string {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" && f[1] == "github.com/caddyserver/caddy/v2" {
			return f[2]
		}
	}
	return "unknown"
}

// postgresVersion is the version of the postgres binary running as pid.
func postgresVersion(pid int) string {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return "unknown"
	}
	out, err := exec.Command(exe, "--version").Output()
	if err != nil {
		return "unknown"
	}
	// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return "unknown"
	}
	return f[2]
}

// prodMarkdown renders -prod's table and notes.
func (rep report) prodMarkdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p := rep.prod
	w("Run %s (%s in all, after the builds) by\n\n```sh\nmake prod-check    # scripts/prod-check.sh\n```\n\n", rep.When.UTC().Format("2006-01-02 15:04 MST"),
		durationText(rep.Wall.Round(time.Second)))
	w("on %s, %d cores, %s: the Temporal server %s (deploy/temporal-server, go.temporal.io/server) on PostgreSQL %s "+
		"(Debian's package) for persistence and visibility, schema by deploy/temporal/setup-postgres.sh, its frontend on mutual TLS; "+
		"deploy/temporal/init.sh in %s; two workers and two gateways connecting with `TEMPORAL_TLS_*`, behind Caddy %s "+
		"with deploy/caddy/Caddyfile (its upstreams the two gateways' loopback addresses instead of the compose service's DNS name); "+
		"the fake ModelsLab (processing time 2 s, every submit's reply held %s), the workers at the default ACCOUNT_QUEUE_LIMIT (%d requests "+
		"of the account at a time, which paces the batch). Every part its own process on 127.0.0.1.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.Version(), p.Server, p.Postgres, durationText(p.Init.Round(time.Second)), p.Caddy,
		durationText(prodSubmitDelay), contract.DefaultAccountQueueLimit)
	w("| workload | scale | runs | completed | lost | stuck | double submissions | false 200s | 5xx through the proxy | run p99 | time | verdict |\n")
	w("|---|---|---:|---:|---:|---:|---|---:|---:|---|---|---|\n")
	for _, r := range rep.Results {
		w("| %s | %s | %d | %d | %d | %d | %s | %d | %s | %s | %s | %s |\n",
			r.Name, r.Scale, r.Runs, r.Runs-r.Lost-r.Stuck, r.Lost, r.Stuck, r.prodDoublesCell(), r.False200, r.count5xxCell(),
			r.p99Cell(), durationText(r.Wall.Round(time.Second)), r.verdict())
	}
	w("\n")
	for _, r := range rep.Results {
		if len(r.Facts) == 0 && len(r.Failures) == 0 {
			continue
		}
		w("- **%s**:%s\n", r.Name, r.notes())
	}
	if p.CPU != "" {
		w("- %s.\n", p.CPU)
	}
	if p.Load != "" {
		w("- Load average (1 minute) when the run ended: %s on %d cores (other work on the machine counts too).\n", p.Load, runtime.NumCPU())
	}
	return b.String()
}

// prodDoublesCell says how many track_ids were submitted twice, and how
// many of those had a Submit in flight at a restart.
func (r result) prodDoublesCell() string {
	return fmt.Sprintf("%d (%d with a Submit in flight at a restart)", r.Doubles, r.DoublesInSubmit)
}
