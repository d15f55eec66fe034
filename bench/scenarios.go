package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/starter"
)

// bench runs the scenarios on one stack.
type bench struct {
	s    *stack
	opts options
	// run tags the workflow IDs of this invocation.
	run  string
	http *http.Client
	log  func(format string, args ...any)
	cpu  cpuMeter
}

func newBench(s *stack, opts options, log func(string, ...any)) *bench {
	return &bench{
		s: s, opts: opts, log: log, cpu: opts.external.meter(),
		run: fmt.Sprintf("%x", time.Now().Unix()),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
			DisableCompression: true,
		}},
	}
}

func (b *bench) setFaults(f fakemodelslab.Faults) error { return b.s.fake.SetFaults(f) }

var dropWebhooks = fakemodelslab.Faults{Rates: map[fakemodelslab.Fault]float64{fakemodelslab.FaultDrop: 1}}

func generationInput(i int, pollGrace time.Duration) contract.GenerationInput {
	return contract.GenerationInput{
		Endpoint:  "images/text2img",
		Params:    map[string]any{"model_id": "flux", "prompt": fmt.Sprintf("benchmark %d: a lighthouse at dusk", i), "width": 1024, "height": 1024},
		PollGrace: pollGrace,
	}
}

// webhookBody is a webhook as ModelsLab sends it for trackID's provider
// request id (a generation takes no webhook that names another request).
func webhookBody(trackID string, status modelslab.Status, id string) []byte {
	meta := `{"prompt":"benchmark: a lighthouse at dusk","model_id":"flux","width":1024,"height":1024,"seed":42,"steps":20}`
	if status == modelslab.StatusSuccess {
		return fmt.Appendf(nil, `{"status":"success","id":%q,"output":["http://127.0.0.1/bench/%s-0.png"],`+
			`"generationTime":1.52,"track_id":%q,"meta":%s}`, id, id, trackID, meta)
	}
	return fmt.Appendf(nil, `{"status":"processing","id":%q,"eta":30,"messege":"Request processing","output":[],`+
		`"track_id":%q,"meta":%s}`, id, trackID, meta)
}

// post sends a webhook to the gateway and requires it delivered.
func (b *bench) post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(reply, []byte(`"matched":true`)) {
		return fmt.Errorf("gateway answered %s: %s", resp.Status, reply)
	}
	return nil
}

// startWaiting starts generations whose webhook the fake drops (and
// whose poll is an hour away) and returns once each waits for its
// webhook.
func (b *bench) startWaiting(ctx context.Context, prefix string, n int) (ids, providerIDs []string, err error) {
	if err := b.setFaults(dropWebhooks); err != nil {
		return nil, nil, err
	}
	ids, providerIDs = make([]string, n), make([]string, n)
	_, err = runConcurrent(ctx, n, 16, func(ctx context.Context, i int) error {
		ids[i] = fmt.Sprintf("%s-%s-%d", prefix, b.run, i)
		if _, err := starter.Start(ctx, b.s.c, b.s.temporal, ids[i], generationInput(i, time.Hour)); err != nil {
			return err
		}
		st, err := b.awaitPhase(ctx, ids[i], contract.PhaseWaitingWebhook)
		providerIDs[i] = st.ProviderID
		return err
	})
	return ids, providerIDs, err
}

func (b *bench) awaitPhase(ctx context.Context, id string, p contract.Phase) (contract.State, error) {
	for {
		st, err := starter.QueryState(ctx, b.s.c, id, "")
		if err == nil && st.Phase == p {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("%s never reached %s: %w", id, p, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (b *bench) terminate(ctx context.Context, ids []string) error {
	_, err := runConcurrent(ctx, len(ids), 16, func(ctx context.Context, i int) error {
		return b.s.c.TerminateWorkflow(ctx, ids[i], "", "benchmark over")
	})
	return err
}

// ingestResult compares webhooks through the gateway with raw signals.
type ingestResult struct {
	Senders, Targets, PerRound int
	Gateway, Raw               stat
	// Ratios are the gateway's rate over the raw signals', per round.
	Ratios []float64
}

// ingest measures scenario 1: `senders` goroutines POST valid webhooks to
// the gateway for running generations, and, in alternate rounds, send the
// same signals with SignalWorkflow from this process. Every webhook and
// signal must be counted by its workflow, or the scenario fails.
func (b *bench) ingest(ctx context.Context) (ingestResult, error) {
	o := b.opts
	r := ingestResult{Senders: o.senders, Targets: o.targets, PerRound: o.signals}
	ids, providerIDs, err := b.startWaiting(ctx, "bench-ingest", o.targets)
	if err != nil {
		return r, fmt.Errorf("start the generations that receive webhooks: %w", err)
	}
	urls := make([]string, len(ids))
	bodies := make([][]byte, len(ids))
	updates := make([]modelslab.Result, len(ids))
	for i, id := range ids {
		if urls[i], err = b.s.signer.URL(id, time.Now().Add(24*time.Hour)); err != nil {
			return r, err
		}
		bodies[i] = webhookBody(id, modelslab.StatusProcessing, providerIDs[i])
		if updates[i], err = modelslab.ParseWebhook(bodies[i]); err != nil {
			return r, err
		}
	}
	var sent atomic.Int64
	viaGateway := func(ctx context.Context, i int) error {
		k := i % len(ids)
		if err := b.post(ctx, urls[k], bodies[k]); err != nil {
			return err
		}
		sent.Add(1)
		return nil
	}
	// What the gateway does after its checks: the same signal, the same
	// payload, from this process.
	raw := func(ctx context.Context, i int) error {
		k := i % len(ids)
		err := b.s.c.SignalWorkflow(ctx, ids[k], "", contract.WebhookSignal,
			contract.Webhook{Update: updates[k], ReceivedAt: time.Now()})
		if err != nil {
			return err
		}
		sent.Add(1)
		return nil
	}
	// Warm up both paths (connections, caches) before measuring.
	for _, op := range []func(context.Context, int) error{viaGateway, raw} {
		if _, err := runConcurrent(ctx, min(o.signals, 4*len(ids)), o.senders, op); err != nil {
			return r, fmt.Errorf("warm-up: %w", err)
		}
	}
	for round := range o.rounds {
		// Alternate which goes first, so neither always meets a server
		// still busy with the other's workflow tasks.
		order := []bool{true, false}
		if round%2 == 1 {
			order = []bool{false, true}
		}
		var gwRate, rawRate float64
		for _, gw := range order {
			if err := b.settle(ctx, ids, sent.Load()); err != nil {
				return r, err
			}
			if gw {
				st, err := runMetered(ctx, b.cpu, o.signals, o.senders, viaGateway)
				if err != nil {
					return r, fmt.Errorf("webhooks through the gateway: %w", err)
				}
				r.Gateway.add(st)
				gwRate = st.PerSecond()
			} else {
				st, err := runMetered(ctx, b.cpu, o.signals, o.senders, raw)
				if err != nil {
					return r, fmt.Errorf("raw signals: %w", err)
				}
				r.Raw.add(st)
				rawRate = st.PerSecond()
			}
		}
		r.Ratios = append(r.Ratios, gwRate/rawRate)
		b.log("    round %d: gateway %.0f/s, raw signals %.0f/s", round+1, gwRate, rawRate)
	}
	if err := b.settle(ctx, ids, sent.Load()); err != nil {
		return r, err
	}
	return r, b.terminate(ctx, ids)
}

// settle waits until the generations have counted `want` webhooks in all,
// so that each round starts on an idle server and nothing was lost.
func (b *bench) settle(ctx context.Context, ids []string, want int64) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var got int64
		_, err := runConcurrent(ctx, len(ids), 16, func(ctx context.Context, i int) error {
			st, err := starter.QueryState(ctx, b.s.c, ids[i], "")
			atomic.AddInt64(&got, int64(st.WebhooksReceived))
			return err
		})
		// A query waits behind the workflow tasks of the webhooks just
		// delivered and may pass the client's query timeout: ask again
		// until the deadline.
		switch {
		case err == nil && got == want:
			return nil
		case err == nil && got > want:
			return fmt.Errorf("the generations counted %d webhooks; %d were delivered", got, want)
		case time.Now().After(deadline) && err != nil:
			return fmt.Errorf("count the webhooks received: %w", err)
		case time.Now().After(deadline):
			return fmt.Errorf("the generations counted %d webhooks; %d were delivered", got, want)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settleAfterQuery is the pause between the query that finds a workflow
// waiting and the webhook or signal whose latency is measured.
const settleAfterQuery = 100 * time.Millisecond

// latencyResult compares webhook-to-result time with a bare signal.
type latencyResult struct {
	Samples        int
	Genflow, Floor stat
}

// latency measures scenario 2, one request at a time: from the webhook's
// POST to the generation's result being readable (GetWorkflow.Get
// returns it), next to SignalWorkflow on a workflow that waits for one
// signal and returns. The clock starts when the workflow already waits:
// a query says so, then both sides pause settleAfterQuery, because a
// signal right after a query waits about 45 ms for its workflow task on
// this server (measured; the same for both sides), which a real webhook,
// seconds after the submit, does not meet.
func (b *bench) latency(ctx context.Context) (latencyResult, error) {
	n := b.opts.latencySamples
	r := latencyResult{Samples: n}
	if err := b.setFaults(dropWebhooks); err != nil {
		return r, err
	}
	var gdurs, fdurs []time.Duration
	start := time.Now()
	for i := range n {
		// Genflow: a generation waiting for its webhook.
		id := fmt.Sprintf("bench-latency-%s-%d", b.run, i)
		if _, err := starter.Start(ctx, b.s.c, b.s.temporal, id, generationInput(i, time.Hour)); err != nil {
			return r, err
		}
		st, err := b.awaitPhase(ctx, id, contract.PhaseWaitingWebhook)
		if err != nil {
			return r, err
		}
		if err := sleep(ctx, settleAfterQuery); err != nil {
			return r, err
		}
		url, err := b.s.signer.URL(id, time.Now().Add(24*time.Hour))
		if err != nil {
			return r, err
		}
		body := webhookBody(id, modelslab.StatusSuccess, st.ProviderID)
		t0 := time.Now()
		if err := b.post(ctx, url, body); err != nil {
			return r, err
		}
		var res contract.GenerationResult
		if err := b.s.c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			return r, fmt.Errorf("result of %s: %w", id, err)
		}
		gdurs = append(gdurs, time.Since(t0))
		if res.LearnedBy != contract.LearnedWebhook || len(res.Output) != 1 {
			return r, fmt.Errorf("%s: learned by %q with %d outputs; want the webhook's one", id, res.LearnedBy, len(res.Output))
		}

		// Floor: a workflow waiting for one signal.
		fid := fmt.Sprintf("bench-floor-latency-%s-%d", b.run, i)
		run, err := b.s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fid, TaskQueue: floorTaskQueue}, floorSignalWF)
		if err != nil {
			return r, err
		}
		for {
			if _, err := b.s.c.QueryWorkflow(ctx, fid, "", floorReadyQuery); err == nil {
				break
			}
			if err := sleep(ctx, 2*time.Millisecond); err != nil {
				return r, err
			}
		}
		if err := sleep(ctx, settleAfterQuery); err != nil {
			return r, err
		}
		t0 = time.Now()
		if err := b.s.c.SignalWorkflow(ctx, fid, "", floorSignalName, "done"); err != nil {
			return r, err
		}
		var v string
		if err := b.s.c.GetWorkflow(ctx, fid, run.GetRunID()).Get(ctx, &v); err != nil {
			return r, err
		}
		fdurs = append(fdurs, time.Since(t0))
	}
	wall := time.Since(start)
	r.Genflow = stat{N: n, Wall: wall, durs: gdurs}
	r.Floor = stat{N: n, Wall: wall, durs: fdurs}
	r.Genflow.summarise()
	r.Floor.summarise()
	return r, nil
}

// throughputResult compares generations per second with the floor shape.
type throughputResult struct {
	Clients, PerRound int
	// Webhook: the fake accepts (processing) and sends the webhook at
	// once. Immediate: the fake's submit reply is already the result.
	Webhook, Immediate, Floor stat
	// FloorAttributed is the floor started with a generation's search
	// attributes and summary, upserting GenflowState at its end.
	FloorAttributed stat
	// NoLimiter is Webhook on a worker without the account limiter;
	// LimiterRatios are Webhook's rate over NoLimiter's, per round: the
	// limiter's cost.
	NoLimiter     stat
	LimiterRatios []float64
	// Ratios are genflow's (webhook) rate over the floor's, per round:
	// the two ran back to back, so each ratio sees one state of the
	// machine.
	Ratios    []float64
	LearnedBy map[contract.LearnedBy]int
	// Events is the mean history length of a workflow of each side.
	Events map[string]float64
	// Stalls describe workflows that took over 5 s, by side.
	Stalls []string
}

// NoLimiterFloorRatios are the rates without the limiter over the
// floor's, per round.
func (r throughputResult) NoLimiterFloorRatios() []float64 {
	out := make([]float64, 0, len(r.NoLimiter.Rounds))
	for i, v := range r.NoLimiter.Rounds {
		if i < len(r.Floor.Rounds) && r.Floor.Rounds[i] > 0 {
			out = append(out, v/r.Floor.Rounds[i])
		}
	}
	return out
}

// MedianRatio is the median of the per-round ratios.
func (r throughputResult) MedianRatio() float64 { return median(r.Ratios) }

// throughput measures scenario 3: `clients` goroutines each start a
// generation and wait for its result, over and over, the fake answering
// at once; next to the same loop on a workflow that runs one no-op
// activity and waits for one signal (sent as the activity returns).
func (b *bench) throughput(ctx context.Context) (throughputResult, error) {
	o := b.opts
	r := throughputResult{Clients: o.clients, PerRound: o.generations, LearnedBy: map[contract.LearnedBy]int{},
		Events: map[string]float64{}}
	var seq atomic.Int64
	var mu sync.Mutex
	generationOn := func(prefix string, tcfg config.Temporal) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			id := fmt.Sprintf("%s-%s-%d", prefix, b.run, seq.Add(1))
			st, err := starter.Start(ctx, b.s.c, tcfg, id, generationInput(i, 0))
			if err != nil {
				return err
			}
			var res contract.GenerationResult
			if err := b.s.c.GetWorkflow(ctx, st.TrackID, st.RunID).Get(ctx, &res); err != nil {
				return fmt.Errorf("result of %s: %w", st.TrackID, err)
			}
			mu.Lock()
			r.LearnedBy[res.LearnedBy]++
			mu.Unlock()
			return nil
		}
	}
	generation := func(prefix string) func(ctx context.Context, i int) error {
		return generationOn(prefix, b.s.temporal)
	}
	noLimit := b.s.temporal
	noLimit.TaskQueue = noLimitTaskQueue
	floor := func(ctx context.Context, i int) error {
		run, err := b.s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("bench-floor-tput-%s-%d", b.run, seq.Add(1)), TaskQueue: floorTaskQueue,
		}, floorActivitySig)
		if err != nil {
			return err
		}
		var v string
		return run.Get(ctx, &v)
	}
	floorAttr := func(ctx context.Context, i int) error {
		in := generationInput(i, 0)
		run, err := b.s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("bench-floor-attr-%s-%d", b.run, seq.Add(1)), TaskQueue: floorTaskQueue,
			StaticSummary:         contract.Summary(in.Endpoint, in.Params),
			StaticDetails:         contract.Details(in.Endpoint, in.Params, in.Owner),
			TypedSearchAttributes: temporal.NewSearchAttributes(contract.GenerationSearchAttributes(in.Endpoint, in.Params, in.Owner)...),
		}, floorAttributed)
		if err != nil {
			return err
		}
		var v string
		return run.Get(ctx, &v)
	}
	type side struct {
		name   string
		prefix string
		faults fakemodelslab.Faults
		op     func(context.Context, int) error
		into   *stat
	}
	immediate := fakemodelslab.Faults{Rates: map[fakemodelslab.Fault]float64{fakemodelslab.FaultImmediate: 1}}
	sides := []side{
		{"floor", "bench-floor-tput", fakemodelslab.Faults{}, floor, &r.Floor},
		{"genflow, webhook at once", "bench-tput-webhook", fakemodelslab.Faults{}, generation("bench-tput-webhook"), &r.Webhook},
		{"genflow, immediate result", "bench-tput-immediate", immediate, generation("bench-tput-immediate"), &r.Immediate},
		{"floor + genflow's attributes", "bench-floor-attr", fakemodelslab.Faults{}, floorAttr, &r.FloorAttributed},
		{"genflow without the account limiter", "bench-tput-nolimit", fakemodelslab.Faults{}, generationOn("bench-tput-nolimit", noLimit), &r.NoLimiter},
	}
	// Warm up each side once, unmeasured.
	for _, sd := range sides {
		if err := b.setFaults(sd.faults); err != nil {
			return r, err
		}
		if _, err := runConcurrent(ctx, min(o.generations, 2*o.clients), o.clients, sd.op); err != nil {
			return r, fmt.Errorf("warm-up %s: %w", sd.name, err)
		}
	}
	clear(r.LearnedBy)
	for round := range o.rounds {
		rates := map[string]float64{}
		for j := range sides {
			sd := sides[(j+round)%len(sides)]
			if err := b.setFaults(sd.faults); err != nil {
				return r, err
			}
			st, err := runMetered(ctx, b.cpu, o.generations, o.clients, sd.op)
			if err != nil {
				return r, fmt.Errorf("%s: %w", sd.name, err)
			}
			sd.into.add(st)
			rates[sd.name] = st.PerSecond()
			b.log("    round %d %-26s %6.1f/s  p50 %s p99 %s max %s ms  CPU/op: server %.1f ms, bench process %.1f ms",
				round+1, sd.name, st.PerSecond(), ms(st.P50), ms(st.P99), ms(st.Max), st.perOp(st.ServerCPU), st.perOp(st.SelfCPU))
		}
		r.Ratios = append(r.Ratios, rates[sides[1].name]/rates[sides[0].name])
		r.LimiterRatios = append(r.LimiterRatios, rates[sides[1].name]/rates[sides[4].name])
	}
	for _, sd := range sides {
		mean, err := meanHistoryLength(ctx, b.s.c, b.s.temporal.Namespace, sd.prefix+"-"+b.run+"-")
		if err != nil {
			return r, err
		}
		r.Events[sd.name] = mean
		n, first, err := slowRuns(ctx, b.s.c, b.s.temporal.Namespace, sd.prefix+"-"+b.run+"-", 5*time.Second)
		if err != nil {
			return r, err
		}
		if n > 0 {
			r.Stalls = append(r.Stalls, fmt.Sprintf("%s: %d workflows took over 5 s; %s", sd.name, n, first))
			b.log("    %s", r.Stalls[len(r.Stalls)-1])
		}
	}
	return r, nil
}

// meanHistoryLength is the mean history length of the closed workflows
// whose ID starts with prefix.
func meanHistoryLength(ctx context.Context, c client.Client, ns, prefix string) (float64, error) {
	var n, sum int64
	err := listWorkflows(ctx, c, ns, closedWithPrefix(prefix), func(e *workflowpb.WorkflowExecutionInfo) error {
		n++
		sum += e.GetHistoryLength()
		return nil
	})
	if err != nil || n == 0 {
		return 0, err
	}
	return float64(sum) / float64(n), nil
}

// listWorkflows calls fn for each workflow the visibility query matches.
func listWorkflows(ctx context.Context, c client.Client, ns, query string, fn func(*workflowpb.WorkflowExecutionInfo) error) error {
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ns, PageSize: 1000, NextPageToken: token, Query: query,
		})
		if err != nil {
			return fmt.Errorf("list workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if err := fn(e); err != nil {
				return err
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

func closedWithPrefix(prefix string) string {
	return fmt.Sprintf("WorkflowId STARTS_WITH %q AND ExecutionStatus != 'Running'", prefix)
}

// batchResult is scenario 4.
type batchResult struct {
	Items, Concurrency int
	Wall               time.Duration
	Succeeded, Failed  int
	Runs               int
	LongestBatch       int64
	LongestChild       int64
}

func (r batchResult) PerSecond() float64 { return float64(r.Items) / r.Wall.Seconds() }

// batch measures scenario 4: an N-item batch through the starter's code,
// the fake answering at once (webhook after 1 ms).
func (b *bench) batch(ctx context.Context) (batchResult, error) {
	o := b.opts
	r := batchResult{Items: o.batchItems, Concurrency: o.batchConcurrency}
	if err := b.setFaults(fakemodelslab.Faults{}); err != nil {
		return r, err
	}
	items := make([]contract.BatchItem, o.batchItems)
	for i := range items {
		in := generationInput(i, 0)
		items[i] = contract.BatchItem{Endpoint: in.Endpoint, Params: in.Params, Line: i + 1}
	}
	id := "bench-batch-" + b.run
	start := time.Now()
	if _, err := starter.StartBatch(ctx, b.s.c, b.s.temporal, starter.BatchSpec{ID: id, Items: items, Concurrency: o.batchConcurrency}); err != nil {
		return r, err
	}
	last := time.Now()
	res, err := starter.WaitBatch(ctx, b.s.c, id, 250*time.Millisecond, func(st contract.BatchState) {
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			b.log("    %d/%d done, %.1f items/s", st.Done(), st.Total, st.ItemsPerSecond)
		}
	})
	if err != nil {
		return r, err
	}
	r.Wall = time.Since(start)
	r.Succeeded, r.Failed, r.Runs = res.Succeeded, res.Failed, res.Runs
	if res.Succeeded != o.batchItems {
		return r, fmt.Errorf("batch %s: %d of %d items succeeded", id, res.Succeeded, o.batchItems)
	}
	r.LongestBatch, r.LongestChild, err = longestHistories(ctx, b.s.c, b.s.temporal.Namespace, id)
	return r, err
}

// longestHistories lists every run of the batch and every workflow whose
// ID starts with the batch ID (its children and page holders) and returns
// the longest history among batch runs and among the rest.
func longestHistories(ctx context.Context, c client.Client, ns, batchID string) (batchMax, childMax int64, err error) {
	err = listWorkflows(ctx, c, ns, fmt.Sprintf("WorkflowId STARTS_WITH %q", batchID), func(e *workflowpb.WorkflowExecutionInfo) error {
		if e.GetExecution().GetWorkflowId() == batchID {
			batchMax = max(batchMax, e.GetHistoryLength())
		} else {
			childMax = max(childMax, e.GetHistoryLength())
		}
		return nil
	})
	return batchMax, childMax, err
}

// slowRuns counts the closed workflows whose ID starts with prefix and
// that took longer than limit from start to close, and describes the
// first one's history (each event with its offset from the start): what
// a stall was waiting for.
func slowRuns(ctx context.Context, c client.Client, ns, prefix string, limit time.Duration) (n int, first string, err error) {
	err = listWorkflows(ctx, c, ns, closedWithPrefix(prefix), func(e *workflowpb.WorkflowExecutionInfo) error {
		start := e.GetStartTime().AsTime()
		if e.GetCloseTime().AsTime().Sub(start) <= limit {
			return nil
		}
		if n++; n > 1 {
			return nil
		}
		var b strings.Builder
		b.WriteString(e.GetExecution().GetWorkflowId() + ":")
		it := c.GetWorkflowHistory(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %s@%dms", strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"),
				ev.GetEventTime().AsTime().Sub(start).Milliseconds())
		}
		first = b.String()
		return nil
	})
	return n, first, err
}
