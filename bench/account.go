package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/worker"
)

// The account limiter's scenarios (issue 17) run on a rig of their own
// beside the stack: a fake ModelsLab with the account's queue limit and a
// generation time, and a genflow worker (worker.Run) on a task queue of
// its own with ACCOUNT_QUEUE_LIMIT set, under an API key of its own, so
// that its AccountLimiter is a workflow no other scenario touches. The
// dev server, the gateway and the clients are the stack's.

// accountRig is one such fake and worker.
type accountRig struct {
	fake *fakemodelslab.Server
	// temporal is the stack's Temporal settings with the rig's task
	// queue: what the starter's calls take.
	temporal  config.Temporal
	limiterID string
	stop      func() error
}

// startAccountRig starts a fake whose key may have fakeLimit requests
// processing, each taking genTime, and a worker whose
// ACCOUNT_QUEUE_LIMIT is limit.
func (b *bench) startAccountRig(name string, fakeLimit int, genTime time.Duration, limit int) (*accountRig, error) {
	s := b.s
	key := fmt.Sprintf("bench-%s-%s", name, b.run)
	fakeLog, closeFakeLog, err := fileLogger(filepath.Join(s.dir, "fakemodelslab-"+name+".log"))
	if err != nil {
		return nil, err
	}
	fake := fakemodelslab.NewServer(fakemodelslab.Options{
		Keys: []string{key}, QueueLimit: fakeLimit, ProcessingTime: genTime, Logger: fakeLog,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute,
		}},
	})
	metricsAddr, err := testenv.LoopbackAddr()
	if err != nil {
		fake.Close()
		_ = closeFakeLog()
		return nil, err
	}
	tc := s.temporal
	tc.TaskQueue = taskQueue + "-" + name
	// The stack's worker's settings (bench/stack.go), but for the task
	// queue, the key, the fake and the limit.
	wcfg := config.Worker{
		Temporal:          tc,
		ModelsLabKey:      key,
		ModelsLabBaseURL:  fake.BaseURL(),
		PublicURL:         s.gatewayURL,
		Secrets:           []string{benchSecret},
		MetricsAddr:       metricsAddr,
		AccountQueueLimit: limit,
	}
	logger, closeLog, err := fileLogger(filepath.Join(s.dir, "worker-"+name+".log"))
	if err != nil {
		fake.Close()
		_ = closeFakeLog()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, wcfg, logger) }()
	var once sync.Once
	var stopErr error
	r := &accountRig{fake: fake, temporal: tc, limiterID: activities.AccountLimiterID(key)}
	r.stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = errors.Join(<-done, closeLog())
			fake.Close()
			stopErr = errors.Join(stopErr, closeFakeLog())
		})
		return stopErr
	}
	if err := s.waitReady(context.Background(), "http://"+metricsAddr+"/metrics"); err != nil {
		return nil, errors.Join(err, r.stop())
	}
	return r, nil
}

// limiterState asks the limiter for its state.
func (b *bench) limiterState(ctx context.Context, id string) (contract.LimiterState, error) {
	var st contract.LimiterState
	v, err := b.s.c.QueryWorkflow(ctx, id, "", contract.LimiterStateQuery)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// limiterRuns describes the runs of a limiter workflow: how many there
// were (one more than its continue-as-new count), the longest history
// (events and bytes) and the largest input, which after the first run is
// the state carried across continue-as-new.
type limiterRuns struct {
	Runs          int
	LongestEvents int64
	LongestBytes  int64
	TotalEvents   int64
	// LargestInput is the largest LimiterInput payload of a run, in
	// bytes, and LargestCarry the holders and waiters it carried.
	LargestInput, LargestCarry int
}

func (b *bench) describeLimiter(ctx context.Context, id string) (limiterRuns, error) {
	var r limiterRuns
	var runs []*workflowpb.WorkflowExecutionInfo
	err := listWorkflows(ctx, b.s.c, b.s.temporal.Namespace, fmt.Sprintf("WorkflowId = %q", id), func(e *workflowpb.WorkflowExecutionInfo) error {
		runs = append(runs, e)
		return nil
	})
	if err != nil {
		return r, err
	}
	r.Runs = len(runs)
	for _, e := range runs {
		// Visibility has a running workflow's history length only once
		// it closes: describe each run.
		d, err := b.s.c.DescribeWorkflow(ctx, id, e.GetExecution().GetRunId())
		if err != nil {
			return r, fmt.Errorf("describe %s: %w", id, err)
		}
		info := d.RawResponse.GetWorkflowExecutionInfo()
		r.LongestEvents = max(r.LongestEvents, info.GetHistoryLength())
		r.LongestBytes = max(r.LongestBytes, info.GetHistorySizeBytes())
		r.TotalEvents += info.GetHistoryLength()
		it := b.s.c.GetWorkflowHistory(ctx, id, e.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if !it.HasNext() {
			continue
		}
		ev, err := it.Next()
		if err != nil {
			return r, fmt.Errorf("history of %s: %w", id, err)
		}
		in := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
		if size := proto.Size(in); size > r.LargestInput {
			r.LargestInput, r.LargestCarry = size, 0
			var li contract.LimiterInput
			if p := in.GetPayloads(); len(p) == 1 && json.Unmarshal(p[0].GetData(), &li) == nil {
				if c, err := li.CarriedState(); err == nil && c != nil {
					r.LargestCarry = len(c.Holders) + len(c.Waiters)
				}
			}
		}
	}
	return r, nil
}

// limiterSampler queries the limiter every interval: its peak waiters
// and slots in use, and how often every slot was in use.
type limiterSampler struct {
	mu                      sync.Mutex
	peakWaiting, peakInUse  int
	samples, full, failures int
	admitted                int64
	stop                    context.CancelFunc
	done                    chan struct{}
}

func (b *bench) sampleLimiter(ctx context.Context, id string, every time.Duration) *limiterSampler {
	ctx, cancel := context.WithCancel(ctx)
	ls := &limiterSampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(ls.done)
		for {
			qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
			st, err := b.limiterState(qctx, id)
			qcancel()
			ls.mu.Lock()
			if err == nil {
				ls.samples++
				ls.peakWaiting = max(ls.peakWaiting, st.Waiting)
				ls.peakInUse = max(ls.peakInUse, st.InUse)
				ls.admitted = st.Admitted
				if st.InUse >= st.Effective {
					ls.full++
				}
			} else if ctx.Err() == nil {
				ls.failures++
			}
			ls.mu.Unlock()
			if sleep(ctx, every) != nil {
				return
			}
		}
	}()
	return ls
}

func (ls *limiterSampler) close() {
	ls.stop()
	<-ls.done
}

// accountResult is the account limiter's scenario: batches and
// interactive generations sharing one account.
type accountResult struct {
	GenTime                             time.Duration
	Limit                               int
	Batches, Items, Window, Interactive int
	// Wall is from the first batch's start to the last result; Ideal
	// is every generation at the provider's pace, items × T / limit.
	Wall, Ideal time.Duration
	// QueueFull are the fake's 429s for its queue limit; Rejected429 all
	// its 429s (the same here: no fault is injected).
	QueueFull, Rejected429, PeakInFlight int
	// Latency is the interactive generations', start to result.
	Latency stat
	// Shares are the submits of each batch while all of them had items
	// left, over Common.
	Shares []int
	Common time.Duration
	// Where the time above the ideal went, from the fake's submit times:
	// Startup from the start to the first submit; Handover the mean
	// time a slot sat idle at the provider between one request's end and
	// the next submit; Tail from the last request's end to the last
	// result.
	Startup, Handover, Tail time.Duration
	// MaxGap is the longest time without a submit between the first and
	// the last: a stall of the limiter's path shows here.
	MaxGap time.Duration
	// PeakWaiting and FullSamples: from the limiter's state query.
	PeakWaiting          int
	FullSamples, Samples int
	Limiter              limiterRuns
	LearnedBy            map[contract.LearnedBy]int
	Admissions           *admissionResult
}

// Efficiency is the ideal time over the actual.
func (r accountResult) Efficiency() float64 { return r.Ideal.Seconds() / r.Wall.Seconds() }

// LatencyTarget is the interactive p50 target: its own generation and
// one slot's wait, T + T/limit.
func (r accountResult) LatencyTarget() time.Duration {
	return r.GenTime + r.GenTime/time.Duration(r.Limit)
}

// ShareSpread is the largest relative distance of a batch's share from
// the equal one.
func (r accountResult) ShareSpread() float64 {
	total := 0
	for _, n := range r.Shares {
		total += n
	}
	if total == 0 || len(r.Shares) == 0 {
		return 0
	}
	equal := float64(total) / float64(len(r.Shares))
	spread := 0.0
	for _, n := range r.Shares {
		spread = max(spread, abs(float64(n)/equal-1))
	}
	return spread
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// Targets of issue 17.
const (
	targetAccountEfficiency = 0.95
	targetShareSpread       = 0.10
)

// account measures the limiter's scenario: `accountBatches` batches of
// `accountItems` items at a window of `accountWindow`, and
// `accountInteractive` interactive generations started one by one while
// the batches run (each meets an account whose slots are all held and
// whose queue is long), on a fake whose key takes `accountLimit`
// requests at once, each `accountGenTime` long, with the worker's
// ACCOUNT_QUEUE_LIMIT at the same limit. Every generation must succeed.
func (b *bench) account(ctx context.Context) (accountResult, error) {
	o := b.opts
	T, limit := o.accountGenTime, o.accountLimit
	r := accountResult{GenTime: T, Limit: limit, Batches: o.accountBatches, Items: o.accountItems, Window: o.accountWindow,
		Interactive: o.accountInteractive, LearnedBy: map[contract.LearnedBy]int{}}
	rig, err := b.startAccountRig("account", limit, T, limit)
	if err != nil {
		return r, err
	}
	defer func() { _ = rig.stop() }()
	cfg := rig.temporal

	// One generation, unmeasured, starts the limiter and warms the path.
	warm := fmt.Sprintf("bench-acct-warm-%s", b.run)
	if _, err := starter.Start(ctx, b.s.c, cfg, warm, generationInput(0, 0)); err != nil {
		return r, err
	}
	if err := b.s.c.GetWorkflow(ctx, warm, "").Get(ctx, nil); err != nil {
		return r, fmt.Errorf("warm-up generation: %w", err)
	}
	before := rig.fake.Stats()

	total := o.accountBatches*o.accountItems + o.accountInteractive
	r.Ideal = time.Duration(total) * T / time.Duration(limit)
	sampler := b.sampleLimiter(ctx, rig.limiterID, 250*time.Millisecond)
	defer sampler.close()
	batchIDs := make([]string, o.accountBatches)
	start := time.Now()
	for j := range batchIDs {
		batchIDs[j] = fmt.Sprintf("bench-acct-%s-b%d", b.run, j)
		items := make([]contract.BatchItem, o.accountItems)
		for i := range items {
			in := generationInput(i, 0)
			items[i] = contract.BatchItem{Endpoint: in.Endpoint, Params: in.Params, Line: i + 1}
		}
		if _, err := starter.StartBatch(ctx, b.s.c, cfg, starter.BatchSpec{ID: batchIDs[j], Items: items,
			Concurrency: o.accountWindow, PageSize: max(o.accountItems, 1)}); err != nil {
			return r, err
		}
	}
	// The interactive generations arrive one by one over the ideal
	// time, so that each meets a full account, not the others.
	var mu sync.Mutex
	var lat []time.Duration
	interactive := make(chan error, o.accountInteractive)
	for i := range o.accountInteractive {
		go func() {
			at := start.Add(r.Ideal * time.Duration(i+1) / time.Duration(o.accountInteractive+1))
			if err := sleep(ctx, time.Until(at)); err != nil {
				interactive <- err
				return
			}
			id := fmt.Sprintf("bench-acct-int-%s-%d", b.run, i)
			t0 := time.Now()
			if _, err := starter.Start(ctx, b.s.c, cfg, id, generationInput(i, 0)); err != nil {
				interactive <- err
				return
			}
			var res contract.GenerationResult
			if err := b.s.c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
				interactive <- fmt.Errorf("interactive %s: %w", id, err)
				return
			}
			mu.Lock()
			lat = append(lat, time.Since(t0))
			r.LearnedBy[res.LearnedBy]++
			mu.Unlock()
			interactive <- nil
		}()
	}
	var errs []error
	for _, id := range batchIDs {
		res, err := starter.WaitBatch(ctx, b.s.c, id, 100*time.Millisecond, nil)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
		case res.Succeeded != o.accountItems:
			errs = append(errs, fmt.Errorf("batch %s: %d of %d items succeeded: %v", id, res.Succeeded, o.accountItems, res.Failures))
		default:
			for k, n := range res.Learned {
				r.LearnedBy[contract.LearnedBy(k)] += n
			}
		}
	}
	for range o.accountInteractive {
		if err := <-interactive; err != nil {
			errs = append(errs, err)
		}
	}
	r.Wall = time.Since(start)
	sampler.close()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	r.Latency = stat{N: len(lat), Wall: r.Wall, durs: lat}
	r.Latency.summarise()
	r.PeakWaiting, r.FullSamples, r.Samples = sampler.peakWaiting, sampler.full, sampler.samples

	after := rig.fake.Stats()
	r.QueueFull = after.QueueFull - before.QueueFull
	r.Rejected429 = after.Rejected429 - before.Rejected429
	r.PeakInFlight = after.PeakInFlight
	r.Shares, r.Common = commonShares(after.Tracks, batchIDs)
	var submits []time.Time
	for track, ts := range after.Tracks {
		if track != warm {
			submits = append(submits, ts.SubmittedAt...)
		}
	}
	if len(submits) > limit {
		slices.SortFunc(submits, time.Time.Compare)
		first, last := submits[0], submits[len(submits)-1]
		r.Startup = first.Sub(start)
		idle := time.Duration(limit)*(last.Add(T).Sub(first)) - time.Duration(len(submits))*T
		r.Handover = idle / time.Duration(len(submits)-limit)
		r.Tail = start.Add(r.Wall).Sub(last.Add(T))
		for i := 1; i < len(submits); i++ {
			r.MaxGap = max(r.MaxGap, submits[i].Sub(submits[i-1]))
		}
	}
	if r.Limiter, err = b.describeLimiter(ctx, rig.limiterID); err != nil {
		return r, err
	}
	b.log("    %d generations in %.1f s (ideal %.1f s: %s); 429s %d; interactive p50 %s ms (target %s ms); shares %v over %.1f s; peak waiting %d; handover %s ms, longest gap %s ms",
		total, r.Wall.Seconds(), r.Ideal.Seconds(), pct(r.Efficiency()), r.QueueFull, ms(r.Latency.P50), ms(r.LatencyTarget()),
		r.Shares, r.Common.Seconds(), r.PeakWaiting, ms(r.Handover), ms(r.MaxGap))

	if o.admissions > 0 {
		a, err := b.admissions(ctx, cfg.TaskQueue)
		if err != nil {
			return r, fmt.Errorf("admissions: %w", err)
		}
		r.Admissions = &a
	}
	return r, nil
}

// commonShares counts each batch's accepted submits while every batch
// had submits left to make: from the latest first submit of a batch to
// the earliest last one.
func commonShares(tracks map[string]fakemodelslab.TrackStats, batchIDs []string) ([]int, time.Duration) {
	times := make([][]time.Time, len(batchIDs))
	for track, ts := range tracks {
		for j, id := range batchIDs {
			if strings.HasPrefix(track, id+"-") && len(ts.SubmittedAt) > 0 {
				times[j] = append(times[j], ts.SubmittedAt[0])
			}
		}
	}
	var from, to time.Time
	for j, t := range times {
		if len(t) == 0 {
			return make([]int, len(batchIDs)), 0
		}
		slices.SortFunc(t, time.Time.Compare)
		if j == 0 || t[0].After(from) {
			from = t[0]
		}
		if j == 0 || t[len(t)-1].Before(to) {
			to = t[len(t)-1]
		}
	}
	shares := make([]int, len(batchIDs))
	for j, t := range times {
		for _, at := range t {
			if !at.Before(from) && !at.After(to) {
				shares[j]++
			}
		}
	}
	return shares, to.Sub(from)
}

// admissionResult is the limiter alone: acquires and releases from
// `holders` concurrent callers through activities.TemporalAccount.
type admissionResult struct {
	Holders, Limit int
	// Admissions is one acquire (granted) and its release each.
	Admissions stat
	// Retries are acquires Temporal refused (more than 10 updates in
	// flight on the limiter), retried after a second as the
	// AcquireSlot local activity's retry policy does.
	Retries   int64
	Reclaimed int64
	Limiter   limiterRuns
}

// admissions measures the limiter alone: `admissionHolders` goroutines
// each acquire a slot for a holder ID of their own and release it, again
// and again, `admissions` times in all, through the TemporalAccount the
// worker uses. The holders are not workflows: the limit is above the
// holders so every acquire is granted in its reply (a grant signal to a
// holder that does not exist would fail and free the slot at once), and
// the limiter's reclaim (every minute, ClosedHolders) would take back a
// slot held at that moment, which the release then finds free.
func (b *bench) admissions(ctx context.Context, taskQueue string) (admissionResult, error) {
	o := b.opts
	limit := o.admissionHolders * 2
	r := admissionResult{Holders: o.admissionHolders, Limit: limit}
	acct := &activities.TemporalAccount{Client: b.s.c, LimiterID: activities.AccountLimiterID("bench-admissions-" + b.run), Limit: limit}
	var seq atomic.Int64
	var retries atomic.Int64
	op := func(ctx context.Context, i int) error {
		holder := fmt.Sprintf("bench-adm-%s-%d", b.run, seq.Add(1))
		req := contract.AcquireRequest{Holder: holder, RunID: "00000000-0000-0000-0000-000000000000", Priority: contract.PriorityBatch, Key: holder}
		for attempt := 0; ; attempt++ {
			reply, err := acct.Acquire(ctx, taskQueue, req)
			if err == nil {
				if !reply.Granted {
					return fmt.Errorf("%s queued at %s although the limit is above the holders", holder, reply.String())
				}
				break
			}
			if ctx.Err() != nil || attempt >= 30 {
				return err
			}
			retries.Add(1)
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
		}
		return acct.Release(ctx, acct.LimiterID, contract.ReleaseRequest{Holder: holder, RunID: req.RunID})
	}
	if _, err := runConcurrent(ctx, o.admissionHolders, o.admissionHolders, op); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	retries.Store(0)
	st, err := runMetered(ctx, b.cpu, o.admissions, o.admissionHolders, op)
	if err != nil {
		return r, err
	}
	r.Admissions, r.Retries = st, retries.Load()
	ls, err := b.limiterState(ctx, acct.LimiterID)
	if err != nil {
		return r, err
	}
	r.Reclaimed = ls.Reclaimed
	if r.Limiter, err = b.describeLimiter(ctx, acct.LimiterID); err != nil {
		return r, err
	}
	b.log("    limiter alone: %.1f admissions/s (acquire p50 %s ms, p99 %s ms), %d retried acquires, %d limiter runs, longest %d events",
		st.PerSecond(), ms(st.P50), ms(st.P99), r.Retries, r.Limiter.Runs, r.Limiter.LongestEvents)
	return r, nil
}

// scaleResult is many items waiting for one account.
type scaleResult struct {
	Batches, Items, Limit, DrainLimit int
	GenTime                           time.Duration
	// Fill is from the first batch's start until every item waited or
	// held a slot; PeakWaiting the most the limiter had waiting.
	Fill, Total time.Duration
	PeakWaiting int
	// Started is the items of the batches started; Stalled says the
	// waiters stopped growing before all were.
	Started int
	Stalled bool
	// AtPeak describes the limiter's runs when the most waited; After
	// once every item has succeeded.
	AtPeak, After limiterRuns
	QueueFull     int
}

// accountScale measures scenario 6: `scaleBatches` batches of
// `scaleItems` items, their window their size, wait for one account.
// While they are started, five running workflows of the bench (the
// floor's signal waiters) hold the account's slots, so that every item
// waits; once all wait (or the count stops growing for a minute), the
// limiter's runs are described, then the holders release, a bench acquire
// raises the limit to `scaleDrainLimit` (the latest request's limit
// wins, as when workers restart with a new ACCOUNT_QUEUE_LIMIT), and
// every item must succeed.
func (b *bench) accountScale(ctx context.Context) (scaleResult, error) {
	o := b.opts
	limit := o.accountLimit
	r := scaleResult{Batches: o.scaleBatches, Items: o.scaleItems, Limit: limit, DrainLimit: o.scaleDrainLimit, GenTime: o.accountGenTime}
	rig, err := b.startAccountRig("scale", o.scaleDrainLimit, o.accountGenTime, limit)
	if err != nil {
		return r, err
	}
	defer func() { _ = rig.stop() }()
	cfg := rig.temporal
	acct := &activities.TemporalAccount{Client: b.s.c, LimiterID: rig.limiterID, Limit: limit}

	// The blockers: running workflows, so that the limiter's reclaim
	// finds them running and leaves their slots held.
	blockers := make([]contract.ReleaseRequest, limit)
	for i := range blockers {
		id := fmt.Sprintf("bench-scale-blocker-%s-%d", b.run, i)
		run, err := b.s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: floorTaskQueue}, floorSignalWF)
		if err != nil {
			return r, err
		}
		blockers[i] = contract.ReleaseRequest{Holder: id, RunID: run.GetRunID()}
		reply, err := acct.Acquire(ctx, cfg.TaskQueue, contract.AcquireRequest{Holder: id, RunID: run.GetRunID(),
			Priority: contract.PriorityMax, Key: id})
		if err != nil {
			return r, err
		}
		if !reply.Granted {
			return r, fmt.Errorf("blocker %s not granted: %s", id, reply.String())
		}
	}
	defer func() {
		for _, bl := range blockers {
			_ = b.s.c.SignalWorkflow(context.WithoutCancel(ctx), bl.Holder, bl.RunID, floorSignalName, "done")
		}
	}()

	// The batches start one at a time, each once the last one's items
	// all wait, so that the dev server meets a growing queue rather
	// than 10,000 new workflows at once; they stop starting when the
	// waiters stop growing for scaleStall (as many as this server and
	// worker sustain).
	var batchIDs []string
	start := time.Now()
	for j := range o.scaleBatches {
		id := fmt.Sprintf("%s-%s-%02d", starter.NewBatchID(), b.run, j)
		items := make([]contract.BatchItem, o.scaleItems)
		for i := range items {
			in := generationInput(i, 0)
			items[i] = contract.BatchItem{Endpoint: in.Endpoint, Params: in.Params, Line: i + 1}
		}
		t0 := time.Now()
		// The items wait the whole fill (about 8 acquires a second on the
		// bench's machine): past an image's 30-minute default deadline.
		if _, err := starter.StartBatch(ctx, b.s.c, cfg, starter.BatchSpec{ID: id, Items: items,
			Concurrency: o.scaleItems, PageSize: o.scaleItems, Deadline: scaleDeadline}); err != nil {
			return r, err
		}
		batchIDs = append(batchIDs, id)
		want := len(batchIDs) * o.scaleItems
		stalled, err := b.awaitWaiters(ctx, rig.limiterID, want, &r.PeakWaiting)
		if err != nil {
			return r, err
		}
		b.log("    batch %d: %d of %d waiting, %.0f s for this batch, %.0f s in all", j+1, r.PeakWaiting, want,
			time.Since(t0).Seconds(), time.Since(start).Seconds())
		if stalled {
			b.log("    the waiters stopped growing at %d of %d: no more batches", r.PeakWaiting, want)
			r.Stalled = true
			break
		}
	}
	r.Started = len(batchIDs) * o.scaleItems
	r.Fill = time.Since(start)
	b.log("    %d waiting after %.1f s", r.PeakWaiting, r.Fill.Seconds())
	if r.AtPeak, err = b.describeLimiter(ctx, rig.limiterID); err != nil {
		return r, err
	}
	b.log("    limiter at the peak: %d runs, longest %d events (%d bytes), largest input %d bytes",
		r.AtPeak.Runs, r.AtPeak.LongestEvents, r.AtPeak.LongestBytes, r.AtPeak.LargestInput)

	// Drain: free the blockers' slots, raise the limit.
	for _, bl := range blockers {
		if err := acct.Release(ctx, rig.limiterID, bl); err != nil {
			return r, err
		}
	}
	raise := &activities.TemporalAccount{Client: b.s.c, LimiterID: rig.limiterID, Limit: o.scaleDrainLimit}
	rh := fmt.Sprintf("bench-scale-raise-%s", b.run)
	raiseRun := uuid.NewString() // the limiter takes run IDs that are UUIDs
	if _, err := raise.Acquire(ctx, cfg.TaskQueue, contract.AcquireRequest{Holder: rh, RunID: raiseRun, Priority: contract.PriorityMax, Key: rh}); err != nil {
		return r, fmt.Errorf("raise the limit: %w", err)
	}
	if err := raise.Release(ctx, rig.limiterID, contract.ReleaseRequest{Holder: rh, RunID: raiseRun}); err != nil {
		return r, err
	}
	var errs []error
	for j, id := range batchIDs {
		res, err := starter.WaitBatch(ctx, b.s.c, id, time.Second, nil)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
		case res.Succeeded != o.scaleItems:
			errs = append(errs, fmt.Errorf("batch %s: %d of %d items succeeded: %v", id, res.Succeeded, o.scaleItems, res.Failures))
		}
		b.log("    batch %d done, %.0f s in all", j+1, time.Since(start).Seconds())
	}
	r.Total = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	r.QueueFull = rig.fake.Stats().QueueFull
	if r.After, err = b.describeLimiter(ctx, rig.limiterID); err != nil {
		return r, err
	}
	b.log("    all %d started succeeded after %.1f s; limiter: %d runs, longest %d events (%d bytes), largest input %d bytes",
		r.Started, r.Total.Seconds(), r.After.Runs, r.After.LongestEvents, r.After.LongestBytes, r.After.LargestInput)
	return r, nil
}

// accountMarkdown writes the account limiter's rows of the report.
func accountMarkdown(w func(string, ...any), a *accountResult, sc *scaleResult) {
	if a != nil {
		T, L := a.GenTime, a.Limit
		total := a.Batches*a.Items + a.Interactive
		w("\n| 6. account limiter (issue 17): %d batches of %d items (window %d) and %d interactive generations on one account, "+
			"the fake's queue limit %d and generation time T = %s, the worker's `ACCOUNT_QUEUE_LIMIT` %d | measured | target |\n|---|---|---|\n",
			a.Batches, a.Items, a.Window, a.Interactive, L, T, L)
		w("| total time against the ideal, %d generations × T / %d | %.1f s against %.1f s: %s | ≥ 95%%: %s |\n",
			total, L, a.Wall.Seconds(), a.Ideal.Seconds(), pct(a.Efficiency()), met(a.Efficiency() >= targetAccountEfficiency))
		w("| 429s from genflow's own traffic (counted at the fake) | %d (peak in flight at the fake: %d of %d) | 0: %s |\n",
			a.QueueFull, a.PeakInFlight, L, met(a.QueueFull == 0))
		w("| interactive latency, start to result, p50 / max (%d, started one by one while the batches ran) | %s / %s ms | p50 ≤ T + T/limit = %s ms: %s |\n",
			a.Latency.N, ms(a.Latency.P50), ms(a.Latency.Max), ms(a.LatencyTarget()), met(a.Latency.P50 <= a.LatencyTarget()))
		w("| each batch's submits while all %d had items left (%.1f s) | %s (farthest from equal: %s) | within ±10%% of equal: %s |\n",
			a.Batches, a.Common.Seconds(), joinInts(a.Shares, " / "), pct(a.ShareSpread()), met(a.ShareSpread() <= targetShareSpread && a.Common > 0))
		full := 0.0
		if a.Samples > 0 {
			full = float64(a.FullSamples) / float64(a.Samples)
		}
		w("| where the time above the ideal went | %.1f s to the first submit; a slot idle %s ms on average between a request's end at the provider and the next submit (%d handovers); the longest time without a submit %s ms; %.1f s from the last request's end to the last result | |\n",
			a.Startup.Seconds(), ms(a.Handover), total-L, ms(a.MaxGap), a.Tail.Seconds())
		w("| the window: %d per batch, so the limiter shares | up to %d runs waiting at the limiter; every slot in use in %s of %d samples | |\n",
			a.Window, a.PeakWaiting, pct(full), a.Samples)
		w("| the limiter's workflow | %d run(s), longest history %d events (%s), largest input %s | |\n",
			a.Limiter.Runs, a.Limiter.LongestEvents, kib(a.Limiter.LongestBytes), kib(int64(a.Limiter.LargestInput)))
		if x := a.Admissions; x != nil {
			provider := float64(L) / T.Seconds()
			perAdm := 0.0
			if x.Admissions.N > 0 {
				perAdm = float64(x.Limiter.TotalEvents) / float64(x.Admissions.N+x.Holders)
			}
			w("| the limiter alone: %d holders acquire (granted at once: limit %d) and release through `activities.TemporalAccount`, %d times | "+
				"%s admissions/s (%s acquires + releases/s), acquire + release p50 %s / p99 %s ms; %d acquires refused and retried after 1 s | "+
				"above the provider's %s generations/s (limit / T): %.0f× |\n",
				x.Holders, x.Limit, x.Admissions.N, rate(x.Admissions.PerSecond()), rate(2*x.Admissions.PerSecond()),
				ms(x.Admissions.P50), ms(x.Admissions.P99), x.Retries, rate(provider), x.Admissions.PerSecond()/provider)
			w("| the limiter alone: its workflow | %d run(s) (%d continue-as-new), longest history %d events (%s), %.1f events per admission; %d slots reclaimed | ≤ 51,200 events, 50 MB |\n",
				x.Limiter.Runs, max(0, x.Limiter.Runs-1), x.Limiter.LongestEvents, kib(x.Limiter.LongestBytes), perAdm, x.Reclaimed)
		}
		w("\nLearned by (batch items and interactive): %v\n", a.LearnedBy)
	}
	if x := sc; x != nil {
		n := x.Batches * x.Items
		w("\n| 6b. %d items waiting for one account: %d batches of %d (window and page %d), limit %d | measured | Temporal's limit |\n|---|---|---|\n",
			n, x.Batches, x.Items, x.Items, x.Limit)
		stalled := ""
		if x.Stalled {
			stalled = fmt.Sprintf("; the count stopped growing (for %s) with %d items started, so no more batches started", scaleStall, x.Started)
		}
		w("| runs waiting at once (the batches started one by one, each once the last one's items all waited) | %d of %d, %.0f s after the first batch started%s | |\n",
			x.PeakWaiting, n, x.Fill.Seconds(), stalled)
		for _, row := range []struct {
			when string
			l    limiterRuns
		}{{"when the most waited", x.AtPeak}, {"after all succeeded", x.After}} {
			w("| the limiter %s: runs (continue-as-new + 1) | %d | 2,000 updates per run (it continues after 1,000) |\n", row.when, row.l.Runs)
			w("| the limiter %s: longest history | %d events, %s | 51,200 events, 50 MB |\n", row.when, row.l.LongestEvents, kib(row.l.LongestBytes))
			w("| the limiter %s: largest input (the carry after continue-as-new) | %s for %d holders and waiters | 2 MB per payload |\n",
				row.when, kib(int64(row.l.LargestInput)), row.l.LargestCarry)
		}
		w("| drained at limit %d (T = %s), every item started succeeded | %d items, %.0f s in all; 429s at the fake %d | |\n",
			x.DrainLimit, x.GenTime, x.Started, x.Total.Seconds(), x.QueueFull)
	}
}

func kib(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func joinInts(v []int, sep string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, sep)
}

// scaleDeadline is each scale item's deadline.
const scaleDeadline = 3 * time.Hour

// scaleStall is how long the waiters may stop growing before the scale
// scenario starts no more batches.
const scaleStall = time.Minute

// awaitWaiters waits until the limiter has want runs waiting, or their
// count has not grown for scaleStall (stalled), keeping the peak.
func (b *bench) awaitWaiters(ctx context.Context, limiterID string, want int, peak *int) (stalled bool, err error) {
	last, grew := -1, time.Now()
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := b.limiterState(qctx, limiterID)
		cancel()
		if err == nil {
			*peak = max(*peak, st.Waiting)
			if st.Waiting > last {
				last, grew = st.Waiting, time.Now()
			}
			if st.Waiting >= want {
				return false, nil
			}
		}
		if time.Since(grew) > scaleStall {
			return true, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return false, err
		}
	}
}
