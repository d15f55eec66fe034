package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/starter"
)

// suite runs scenarios, each on a stack of its own.
type suite struct {
	o    options
	bins string
	base string
	logf func(string, ...any)
	// tag makes this invocation's workflow IDs unique.
	tag string
	// prodInit is how long init.sh took; prodCPUText the CPU of -prod.
	prodInit    time.Duration
	prodCPUText string
}

// scenario is one entry of the suite.
type scenario struct {
	scale string
	stack stackOptions
	run   func(ctx context.Context, s *stack, r *result) error
}

func (su *suite) scenario(name string) scenario {
	o := su.o
	fast := map[string]string{fakemodelslab.EnvProcessingTime: "1s"}
	switch name {
	case "worker-kill-batch":
		return scenario{fmt.Sprintf("%d items, %d SIGKILLs", o.items, o.kills), stackOptions{fake: fast}, su.workerKillBatch}
	case "worker-kill-submit":
		return scenario{fmt.Sprintf("%d runs, %d SIGKILLs, submit held %s", 10*o.kills, o.kills, o.submitDelay),
			stackOptions{fake: fast}, su.workerKillSubmit}
	case "gateway-restart":
		return scenario{fmt.Sprintf("%d runs, %d restarts", o.runs, o.kills),
			stackOptions{fake: map[string]string{fakemodelslab.EnvProcessingTime: "2s"}}, su.gatewayRestart}
	case "temporal-outage":
		return scenario{fmt.Sprintf("%d-item batch, %s down, %.0f webhooks/s", o.runs, o.outage, o.outageRate),
			stackOptions{fake: map[string]string{fakemodelslab.EnvProcessingTime: "2s"}}, su.temporalOutage}
	case "provider-faults":
		return scenario{fmt.Sprintf("%d runs", o.runs), stackOptions{fake: map[string]string{
			fakemodelslab.EnvProcessingTime: "1s",
			fakemodelslab.EnvFaultRates:     "drop=0.3,duplicate=0.3,5xx=0.1,429=0.1,reorder=0.2,delay=0.2",
			fakemodelslab.EnvFaultDelay:     "3s",
		}}, su.providerFaults}
	case "abuse":
		return scenario{"the abuse list", stackOptions{fake: fast}, su.abuse}
	case "burst":
		return scenario{fmt.Sprintf("%.0f webhooks/s for %s", o.rate, o.duration), stackOptions{fake: fast}, su.burst}
	case "signal-limit":
		so := stackOptions{fake: fast}
		if o.signalLimit > 0 {
			so.dynamicConfig = []string{fmt.Sprintf("history.maximumSignalsPerExecution=%d", o.signalLimit)}
		}
		return scenario{fmt.Sprintf("limit %d", su.signalLimit()), so, su.signalLimitScenario}
	}
	panic("faults: unknown scenario " + name)
}

// run runs one scenario on a fresh stack.
func (su *suite) run(ctx context.Context, name string) (r result) {
	sc := su.scenario(name)
	r = result{Name: name, Scale: sc.scale}
	start := time.Now()
	defer func() { r.Wall = time.Since(start) }()
	dir := filepath.Join(su.base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.check(false, "%v", err)
		return r
	}
	su.logf("== %s (%s): logs in %s", name, sc.scale, dir)
	s, err := startStack(ctx, su.bins, dir, sc.stack, su.logf)
	if err != nil {
		r.check(false, "start the stack: %v", err)
		su.logf("   %s: %v", name, err)
		return r
	}
	r.RSSBefore = s.gateway.rssMiB()
	err = sc.run(ctx, s, &r)
	if r.RSSAfter == 0 {
		r.RSSAfter = s.gateway.rssMiB()
	}
	s.close()
	if err != nil {
		r.check(false, "%v", err)
	}
	r.finishLatency()
	su.logf("   %s: %s in %s; %s", name, strings.TrimPrefix(r.verdict(), "**"), time.Since(start).Round(time.Second), strings.Join(r.Facts, "; "))
	for _, f := range r.Failures {
		su.logf("   FAILED: %s", f)
	}
	if su.o.verbose || len(r.Failures) > 0 {
		for _, d := range r.details {
			su.logf("   - %s", d)
		}
	}
	return r
}

func generationInput(i int, pollGrace time.Duration) contract.GenerationInput {
	return contract.GenerationInput{
		Endpoint:  "images/text2img",
		Params:    map[string]any{"model_id": "flux", "prompt": fmt.Sprintf("fault suite %d: a lighthouse in a storm", i)},
		PollGrace: pollGrace,
	}
}

// startRuns starts a generation per id through the starter's code path.
func startRuns(ctx context.Context, s *stack, ids []string, pollGrace time.Duration) error {
	return forEach(ctx, len(ids), 16, func(ctx context.Context, i int) error {
		_, err := starter.Start(ctx, s.c, s.cfg, ids[i], generationInput(i, pollGrace))
		return err
	})
}

// forEach calls fn for 0..n-1 from up to workers goroutines and returns
// the first error.
func forEach(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		once  sync.Once
		first error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// waitFor polls cond until it holds or limit passes.
func waitFor(ctx context.Context, limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// awaitWaiting waits until each run waits for its webhook and returns
// their provider ids.
func awaitWaiting(ctx context.Context, s *stack, ids []string) ([]string, error) {
	pids := make([]string, len(ids))
	err := forEach(ctx, len(ids), 16, func(ctx context.Context, i int) error {
		return waitFor(ctx, time.Minute, ids[i]+" waiting for its webhook", func() bool {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			st, err := starter.QueryState(qctx, s.c, ids[i], "")
			pids[i] = st.ProviderID
			return err == nil && st.Phase == contract.PhaseWaitingWebhook
		})
	})
	return pids, err
}

// killWorker SIGKILLs the worker and records whether submit calls were in
// flight at the provider.
func (s *stack) killWorker(ctx context.Context, r *result) (time.Time, error) {
	st, err := s.fakeStats(ctx)
	if err != nil {
		return time.Time{}, err
	}
	at := time.Now()
	if err := s.wkr.kill(); err != nil {
		return at, err
	}
	r.Kills++
	r.cutOff(st.Submitting)
	return at, nil
}

// cutOff records the submit calls a kill cut off, whose reply will never
// reach Temporal: the track_ids in flight at the provider (or, for
// Temporal, accepted while it was down), less those an earlier kill
// already cut off (the provider may still be holding their calls).
func (r *result) cutOff(tracks []string) {
	n := 0
	for _, id := range tracks {
		if !slices.Contains(r.inSubmitTracks, id) {
			r.inSubmitTracks = append(r.inSubmitTracks, id)
			n++
		}
	}
	if n > 0 {
		r.KillsInSubmit++
		r.InSubmit += n
	}
}

// countDoubles fills Doubles and DoublesInSubmit from the fake's stats.
// account collects the runs' outcomes once they have closed, tallies
// them against the gateway's answers in snap, and counts the double
// submissions and the gateway's 5xx: what every scenario with runs of
// its own measures the same way.
func (r *result) account(ctx context.Context, s *stack, ids []string, snap snapshot) ([]outcome, fakemodelslab.Stats, error) {
	outs := collect(ctx, s, ids)
	r.tally(outs, snap)
	st, err := s.fakeStats(ctx)
	if err != nil {
		return outs, st, err
	}
	r.countDoubles(st, ids)
	r.Count5xx = snap.count5xx()
	return outs, st, nil
}

func (r *result) countDoubles(st fakemodelslab.Stats, ids []string) []string {
	var which []string
	r.Doubles, which = doubles(st, ids)
	seen := map[string]bool{}
	for _, id := range r.inSubmitTracks {
		if !seen[id] && st.Tracks[id].Submissions > 1 {
			r.DoublesInSubmit++
		}
		seen[id] = true
	}
	for _, id := range which {
		r.note("submitted %d times: %s", st.Tracks[id].Submissions, id)
	}
	return which
}

// webhookBody is a webhook as ModelsLab sends it.
func webhookBody(track string, status modelslab.Status, providerID, fakeURL string) []byte {
	m := map[string]any{"status": status, "id": providerID, "track_id": track,
		"meta": map[string]any{"prompt": "fault suite: a lighthouse in a storm", "model_id": "flux"}}
	if status == modelslab.StatusSuccess {
		m["output"] = []string{fakeURL + "/files/" + providerID + "-0.png"}
		m["generationTime"] = 1.0
	} else {
		m["eta"] = 30
		m["messege"] = "Request processing"
		m["output"] = []string{}
	}
	b, _ := json.Marshal(m)
	return b
}

// webhookURL is the signed URL of track on the gateway itself, valid for
// a day.
func (s *stack) webhookURL(track string) string {
	u, err := s.signer.URL(track, time.Now().Add(24*time.Hour))
	if err != nil {
		panic(err)
	}
	return u
}

// finishTargets posts each waiting run its success webhook through the
// gateway, until delivered.
func finishTargets(ctx context.Context, s *stack, rec *recorder, ids, pids []string) error {
	return forEach(ctx, len(ids), 16, func(ctx context.Context, i int) error {
		body := webhookBody(ids[i], modelslab.StatusSuccess, pids[i], s.fakeURL)
		return waitFor(ctx, time.Minute, "the success webhook of "+ids[i]+" delivered", func() bool {
			a := s.post(ctx, rec, s.webhookURL(ids[i]), ids[i], body, "application/json")
			return a.delivered || a.code == 200 // 200 matched:false: the run ended already
		})
	})
}

// learnedBy counts the successes by how they were learned.
func learnedBy(outs []outcome) string {
	n := map[contract.LearnedBy]int{}
	for _, o := range outs {
		if o.status == "succeeded" {
			n[o.res.LearnedBy]++
		}
	}
	var parts []string
	for _, by := range []contract.LearnedBy{contract.LearnedWebhook, contract.LearnedPoll, contract.LearnedImmediate} {
		if n[by] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", by, n[by]))
		}
	}
	return "learned by " + strings.Join(parts, ", ")
}

// workerKillBatch SIGKILLs the worker -kills times during an -items
// batch, at even steps of its progress, and restarts it each time.
func (su *suite) workerKillBatch(ctx context.Context, s *stack, r *result) error {
	o := su.o
	id := "fk-batch-" + su.tag
	items := make([]contract.BatchItem, o.items)
	for i := range items {
		in := generationInput(i, 0)
		items[i] = contract.BatchItem{Endpoint: in.Endpoint, Params: in.Params, Line: i + 1}
	}
	conc := min(30, o.items)
	if _, err := starter.StartBatch(ctx, s.c, s.cfg, starter.BatchSpec{ID: id, Items: items, Concurrency: conc,
		PollGrace: 5 * time.Second}); err != nil {
		return err
	}
	for k := 1; k <= o.kills; k++ {
		target := o.items * k / (o.kills + 1)
		if err := waitFor(ctx, o.bound, fmt.Sprintf("%d items done", target), func() bool {
			st, err := s.fakeStats(ctx)
			return err == nil && st.Succeeded >= target
		}); err != nil {
			return err
		}
		if _, err := s.killWorker(ctx, r); err != nil {
			return err
		}
		su.logf("   SIGKILLed the worker at %d/%d items", target, o.items)
		if err := sleepCtx(ctx, o.restartDelay); err != nil {
			return err
		}
		if err := s.restartWorker(ctx); err != nil {
			return err
		}
	}
	stuck, err := waitClosed(ctx, s, id, o.bound)
	if err != nil {
		return err
	}
	ids := make([]string, o.items)
	for i := range ids {
		ids[i] = contract.ItemTrackID(id, i)
	}
	outs := collect(ctx, s, ids)
	r.tally(outs, s.tap.rec.snapshot())
	if stuck > 0 && r.Stuck == 0 {
		r.Stuck = stuck // the batch itself or a page holder
	}
	var res contract.BatchResult
	if err := s.c.GetWorkflow(ctx, id, "").Get(ctx, &res); err == nil {
		r.fact("batch: %d/%d succeeded in %s over %d run(s)", res.Succeeded, res.Total, durationText(res.Duration), res.Runs)
	} else if stuck == 0 {
		r.check(false, "batch %s: %v", id, err)
	}
	st, err := s.fakeStats(ctx)
	if err != nil {
		return err
	}
	r.countDoubles(st, ids)
	r.fact("%s; run p50 %s", learnedBy(outs), durationText(percentile(r.runLatencies, 0.5)))
	r.Count5xx = s.tap.rec.snapshot().count5xx()
	r.checkCommon()
	return nil
}

// workerKillSubmit starts waves of 10 runs against a provider that holds
// each submit's reply for -submit-delay and SIGKILLs the worker while
// every submit of the wave waits for its reply. Half the runs' webhooks
// come a second after the submit ("fast"), half -late-webhook later
// ("late"): a webhook that comes before the lost Submit attempt is
// retried settles the run; one that comes after it cannot stop the
// retry from submitting again. That is where at-least-once ends, and the
// scenario measures when the retry comes.
func (su *suite) workerKillSubmit(ctx context.Context, s *stack, r *result) error {
	o := su.o
	if err := s.setFaults(ctx, fakemodelslab.Faults{
		Rules:       []fakemodelslab.Rule{{Fault: fakemodelslab.FaultSlowSubmit}, {Match: "-late-", Fault: fakemodelslab.FaultDelay}},
		SubmitDelay: o.submitDelay, Delay: o.lateWebhook,
	}); err != nil {
		return err
	}
	var ids []string
	killAt := map[string]time.Time{}
	for k := range o.kills {
		wave := make([]string, 10)
		for i := range wave {
			kind := "fast"
			if i%2 == 1 {
				kind = "late"
			}
			wave[i] = fmt.Sprintf("fk-sub-%s-%s-%d-%d", su.tag, kind, k, i)
		}
		ids = append(ids, wave...)
		// The provider holds the calls of the last wave's dead worker
		// for a while: start when none is in flight, so that each kill
		// cuts off its own wave.
		if err := waitFor(ctx, o.submitDelay+30*time.Second, "no submit call in flight", func() bool {
			st, err := s.fakeStats(ctx)
			return err == nil && st.SubmitsInFlight == 0
		}); err != nil {
			return err
		}
		if err := startRuns(ctx, s, wave, 5*time.Second); err != nil {
			return err
		}
		if err := waitFor(ctx, 30*time.Second, "every submit of the wave at the provider", func() bool {
			st, err := s.fakeStats(ctx)
			if err != nil {
				return false
			}
			for _, id := range wave {
				if st.Tracks[id].Submissions == 0 {
					return false
				}
			}
			return true
		}); err != nil {
			return err
		}
		before := r.InSubmit
		at, err := s.killWorker(ctx, r)
		if err != nil {
			return err
		}
		for _, id := range wave {
			killAt[id] = at
		}
		su.logf("   SIGKILLed the worker with %d submit call(s) in flight", r.InSubmit-before)
		if err := sleepCtx(ctx, o.restartDelay); err != nil {
			return err
		}
		if err := s.restartWorker(ctx); err != nil {
			return err
		}
	}
	if _, err := waitClosed(ctx, s, "fk-sub-"+su.tag, o.bound+o.lateWebhook); err != nil {
		return err
	}
	outs, st, err := r.account(ctx, s, ids, s.tap.rec.snapshot())
	if err != nil {
		return err
	}
	inFlight := map[string]bool{}
	for _, id := range r.inSubmitTracks {
		inFlight[id] = true
	}
	for _, kind := range []string{"fast", "late"} {
		var n, doubled int
		var resubmit []time.Duration
		for _, id := range ids {
			if !strings.Contains(id, "-"+kind+"-") || !inFlight[id] {
				continue
			}
			n++
			if t := st.Tracks[id]; t.Submissions > 1 {
				doubled++
				if len(t.SubmittedAt) > 1 {
					resubmit = append(resubmit, t.SubmittedAt[1].Sub(killAt[id]))
				}
			}
		}
		what := "webhook 1 s after the submit"
		if kind == "late" {
			what = fmt.Sprintf("webhook %s after it", durationText(o.lateWebhook+time.Second))
		}
		f := fmt.Sprintf("%s (%s): %d of %d cut off mid-Submit submitted again", kind, what, doubled, n)
		if len(resubmit) > 0 {
			slices.Sort(resubmit)
			lo, hi := durationText(resubmit[0]), durationText(resubmit[len(resubmit)-1])
			if lo == hi {
				f += fmt.Sprintf(", %s after the kill", lo)
			} else {
				f += fmt.Sprintf(", %s–%s after the kill", lo, hi)
			}
		}
		r.fact("%s", f)
		if kind == "fast" {
			r.check(doubled == 0, "%d fast run(s) submitted twice: a webhook that came during Submit did not settle the run", doubled)
		}
	}
	r.fact("%s", learnedBy(outs))
	r.Count5xx = s.tap.rec.snapshot().count5xx()
	r.checkCommon()
	return nil
}

// gatewayRestart starts -runs generations over 10 s and kills the gateway
// -kills times while their webhooks arrive (SIGKILL and SIGTERM in turn),
// each time starting it again after -restart-delay.
func (su *suite) gatewayRestart(ctx context.Context, s *stack, r *result) error {
	o := su.o
	ids := make([]string, o.runs)
	for i := range ids {
		ids[i] = fmt.Sprintf("fk-gw-%s-%03d", su.tag, i)
	}
	const spread = 10 * time.Second
	t0 := time.Now()
	startErr := make(chan error, 1)
	go func() {
		startErr <- forEach(ctx, len(ids), 4, func(ctx context.Context, i int) error {
			if err := sleepCtx(ctx, time.Until(t0.Add(spread*time.Duration(i)/time.Duration(len(ids))))); err != nil {
				return err
			}
			_, err := starter.Start(ctx, s.c, s.cfg, ids[i], generationInput(i, 5*time.Second))
			return err
		})
	}()
	var how []string
	for k := range o.kills {
		// Webhooks come from 2 s (the processing time) to 12 s.
		at := t0.Add(2*time.Second + spread*time.Duration(k+1)/time.Duration(o.kills+1))
		if err := sleepCtx(ctx, time.Until(at)); err != nil {
			return err
		}
		sig := syscall.SIGKILL
		if k%2 == 1 {
			sig = syscall.SIGTERM
		}
		if err := s.gateway.signal(sig, 15*time.Second); err != nil {
			return err
		}
		how = append(how, map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM"}[sig])
		if err := sleepCtx(ctx, o.restartDelay); err != nil {
			return err
		}
		if err := s.restartGateway(ctx); err != nil {
			return err
		}
	}
	if err := <-startErr; err != nil {
		return err
	}
	if _, err := waitClosed(ctx, s, "fk-gw-"+su.tag, o.bound); err != nil {
		return err
	}
	snap := s.tap.rec.snapshot()
	outs, st, err := r.account(ctx, s, ids, snap)
	if err != nil {
		return err
	}
	r.fact("restarts by %s, each down %s", strings.Join(how, ", "), o.restartDelay)
	r.fact("%d webhook deliveries found the gateway down and %d webhook(s) were given up by the provider", snap.codes[0], st.WebhooksUndelivered)
	r.fact("%s", learnedBy(outs))
	r.fact("RSS after is the last restarted process's")
	r.checkCommon()
	return nil
}

// temporalOutage runs a -runs item batch and, from the start, posts
// signed "processing" webhooks at -outage-rate to runs that wait for
// theirs; when a third of the batch is done it SIGKILLs the dev server
// and starts it again on its database file -outage later.
func (su *suite) temporalOutage(ctx context.Context, s *stack, r *result) error {
	o := su.o
	batchID := "fk-out-" + su.tag + "-batch"
	// Enough targets that none nears the gateway's per-run cap (100).
	posting := 15*time.Second + o.outage
	nTargets := max(10, int(o.outageRate*posting.Seconds())/60+1)
	targets := make([]string, nTargets)
	for i := range targets {
		targets[i] = fmt.Sprintf("fk-out-%s-tgt-%03d", su.tag, i)
	}
	if err := s.setFaults(ctx, fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "-tgt-", Fault: fakemodelslab.FaultDrop}}}); err != nil {
		return err
	}
	if err := startRuns(ctx, s, targets, time.Hour); err != nil {
		return err
	}
	pids, err := awaitWaiting(ctx, s, targets)
	if err != nil {
		return err
	}
	rec := newRecorder()
	bodies := make([][]byte, nTargets)
	urls := make([]string, nTargets)
	for i, id := range targets {
		bodies[i], urls[i] = webhookBody(id, modelslab.StatusProcessing, pids[i], s.fakeURL), s.webhookURL(id)
	}
	postCtx, stopPosting := context.WithCancel(ctx)
	defer stopPosting()
	type paced struct{ sent, skipped int }
	posted := make(chan paced, 1)
	postStart := time.Now()
	go func() {
		sent, skipped := pace(postCtx, o.outageRate, time.Hour, 64, func(ctx context.Context, i int) {
			k := i % nTargets
			s.post(ctx, rec, urls[k], targets[k], bodies[k], "application/json")
		})
		posted <- paced{sent, skipped}
	}()

	items := make([]contract.BatchItem, o.runs)
	for i := range items {
		in := generationInput(i, 0)
		items[i] = contract.BatchItem{Endpoint: in.Endpoint, Params: in.Params, Line: i + 1}
	}
	if _, err := starter.StartBatch(ctx, s.c, s.cfg, starter.BatchSpec{ID: batchID, Items: items, Concurrency: 20,
		PollGrace: 5 * time.Second}); err != nil {
		return err
	}
	if err := waitFor(ctx, o.bound, "a third of the batch done", func() bool {
		st, err := s.fakeStats(ctx)
		return err == nil && st.Succeeded >= nTargets+o.runs/3
	}); err != nil {
		return err
	}
	st, err := s.fakeStats(ctx)
	if err != nil {
		return err
	}
	if err := s.temporal.kill(); err != nil {
		return err
	}
	r.Kills++
	atKill := st.Submitting
	down := time.Now()
	su.logf("   SIGKILLed the Temporal dev server at %d/%d items", o.runs/3, o.runs)
	if err := sleepCtx(ctx, o.outage); err != nil {
		return err
	}
	if err := s.restartTemporal(ctx); err != nil {
		return err
	}
	back := time.Since(down)
	up := time.Now()
	su.logf("   Temporal back after %s", back.Round(100*time.Millisecond))
	if err := sleepCtx(ctx, 10*time.Second); err != nil {
		return err
	}
	stopPosting()
	p := <-posted
	postWall := time.Since(postStart)
	if err := finishTargets(ctx, s, rec, targets, pids); err != nil {
		return err
	}
	prefix := "fk-out-" + su.tag
	if _, err := waitClosed(ctx, s, prefix, o.bound); err != nil {
		return err
	}
	ids := append([]string{}, targets...)
	for i := range o.runs {
		ids = append(ids, contract.ItemTrackID(batchID, i))
	}
	outs := collect(ctx, s, ids)
	snap := s.tap.rec.snapshot()
	snap.merge(rec.snapshot())
	r.tally(outs, snap)
	fst, err := s.fakeStats(ctx)
	if err != nil {
		return err
	}
	// A Submit the provider accepted while Temporal was down could not
	// report its reply: like one a kill cuts off, its retry submits again
	// unless the webhook settles the run first.
	var during []string
	for _, id := range ids {
		if t := fst.Tracks[id]; len(t.SubmittedAt) > 0 && t.SubmittedAt[0].After(down) && t.SubmittedAt[0].Before(up) {
			during = append(during, id)
		}
	}
	r.cutOff(append(slices.Clone(atKill), during...))
	r.countDoubles(fst, ids)
	again := 0
	for _, id := range during {
		if fst.Tracks[id].Submissions > 1 {
			again++
		}
	}
	r.Count5xx = snap.count5xx()
	r.expected5xx = "all 503, while Temporal was down or reconnecting"
	posts := rec.snapshot()
	var delivered int
	for _, v := range posts.delivered {
		delivered += v
	}
	r.fact("Temporal down %s (SIGKILL to healthy again)", durationText(back))
	r.fact("Submit calls in flight at the kill: %d; accepted by the provider while Temporal was down: %d, of which %d submitted again after it came back",
		len(atKill), len(during), again)
	r.fact("posted %d webhooks in %s (%d skipped with all 64 senders waiting): %d delivered and recorded; answers %s",
		p.sent, durationText(postWall), p.skipped, delivered, posts.text())
	r.fact("the fake's own webhooks: %d answered 2xx, %d given up after 3 tries", fst.WebhooksSent, fst.WebhooksUndelivered)
	r.fact("%s", learnedBy(outs))
	r.webhookLatencies = snap.latencies
	r.P99, r.P99What = percentile(snap.latencies, 0.99), "webhook answer"
	r.check(snap.count5xx() == snap.codes[503], "%d 5xx other than 503", snap.count5xx()-snap.codes[503])
	r.checkCommon()
	return nil
}

// providerFaults runs -runs generations with every provider fault at
// once and checks each result is the provider's.
func (su *suite) providerFaults(ctx context.Context, s *stack, r *result) error {
	o := su.o
	ids := make([]string, o.runs)
	for i := range ids {
		ids[i] = fmt.Sprintf("fk-pf-%s-%03d", su.tag, i)
	}
	if err := startRuns(ctx, s, ids, 3*time.Second); err != nil {
		return err
	}
	if _, err := waitClosed(ctx, s, "fk-pf-"+su.tag, o.bound); err != nil {
		return err
	}
	outs, st, err := r.account(ctx, s, ids, s.tap.rec.snapshot())
	if err != nil {
		return err
	}
	rates, _ := fakemodelslab.ParseFaultRates("drop=0.3,duplicate=0.3,5xx=0.1,429=0.1,reorder=0.2,delay=0.2")
	picked := map[fakemodelslab.Fault]int{}
	correct := 0
	for _, out := range outs {
		for _, f := range (fakemodelslab.Faults{Rates: rates}).Picks(out.id) {
			picked[f]++
		}
		t := st.Tracks[out.id]
		if out.status == "succeeded" && len(t.IDs) == 1 && out.res.ProviderID == t.IDs[0] &&
			slices.Equal(out.res.Output, []string{s.fakeURL + "/files/" + t.IDs[0] + "-0.png"}) {
			correct++
		} else if out.status == "succeeded" {
			r.note("wrong result: %s: provider ids %v, result %s %v", out.id, t.IDs, out.res.ProviderID, out.res.Output)
		}
	}
	r.check(correct == len(outs), "%d of %d results are the provider's", correct, len(outs))
	var ps []string
	for _, f := range []fakemodelslab.Fault{fakemodelslab.FaultDrop, fakemodelslab.FaultDuplicate, fakemodelslab.Fault5xx,
		fakemodelslab.Fault429, fakemodelslab.FaultReorder, fakemodelslab.FaultDelay} {
		ps = append(ps, fmt.Sprintf("%s %d", f, picked[f]))
	}
	r.fact("%d/%d correct (the provider's id and output)", correct, len(outs))
	r.fact("faults hit: %s (late = delay, 3 s)", strings.Join(ps, ", "))
	r.fact("the provider answered %d×5xx and %d×429 to submits", st.Rejected5xx, st.Rejected429)
	r.fact("%s", learnedBy(outs))
	r.checkCommon()
	return nil
}

// burst posts -rate signed "processing" webhooks a second for -duration
// to runs that wait for theirs, then settles them with their results.
func (su *suite) burst(ctx context.Context, s *stack, r *result) error {
	o := su.o
	total := int(o.rate * o.duration.Seconds())
	// Enough runs that none nears the gateway's per-run cap (100).
	n := max(20, total/80+1)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("fk-burst-%s-%04d", su.tag, i)
	}
	if err := s.setFaults(ctx, fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "fk-burst-", Fault: fakemodelslab.FaultDrop}}}); err != nil {
		return err
	}
	if err := startRuns(ctx, s, ids, time.Hour); err != nil {
		return err
	}
	pids, err := awaitWaiting(ctx, s, ids)
	if err != nil {
		return err
	}
	bodies := make([][]byte, n)
	urls := make([]string, n)
	for i, id := range ids {
		bodies[i], urls[i] = webhookBody(id, modelslab.StatusProcessing, pids[i], s.fakeURL), s.webhookURL(id)
	}
	rec := newRecorder()
	r.RSSBefore = s.gateway.rssMiB()
	cpu0, load := s.cpu(), loadAverage()
	start := time.Now()
	sent, skipped := pace(ctx, o.rate, o.duration, o.senders, func(ctx context.Context, i int) {
		k := i % n
		s.post(ctx, rec, urls[k], ids[k], bodies[k], "application/json")
	})
	wall := time.Since(start)
	cpu1 := s.cpu()
	r.RSSAfter = s.gateway.rssMiB()
	burst := rec.snapshot()
	if err := finishTargets(ctx, s, rec, ids, pids); err != nil {
		return err
	}
	if _, err := waitClosed(ctx, s, "fk-burst-"+su.tag, o.bound); err != nil {
		return err
	}
	all := rec.snapshot()
	all.merge(s.tap.rec.snapshot())
	if _, _, err := r.account(ctx, s, ids, all); err != nil {
		return err
	}
	var delivered int
	for _, v := range burst.delivered {
		delivered += v
	}
	r.P99, r.P99What = percentile(burst.latencies, 0.99), "webhook answer"
	r.fact("%d webhooks to %d runs in %s: %.0f/s answered (%s), %d not sent with all %d senders busy; answer p50 %s",
		sent, n, durationText(wall), float64(sent)/wall.Seconds(), burst.text(), skipped, o.senders,
		durationText(percentile(burst.latencies, 0.5)))
	r.fact("during the burst %s (of %.0f on %d cores; load average %s before)", cpuText(cpu0, cpu1),
		wall.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU(), load)
	r.check(r.Count5xx == 0, "%d 5xx answers", r.Count5xx)
	r.check(burst.codes[0] == 0, "%d webhooks got no answer", burst.codes[0])
	r.checkCommon()
	return nil
}

func (su *suite) signalLimit() int {
	if su.o.signalLimit > 0 {
		return su.o.signalLimit
	}
	return 10000
}

// signalLimitScenario pushes one run past Temporal's limit of signals per
// execution (with SignalWorkflow, as the gateway would after many
// webhooks), then posts the run's real result through the gateway: it
// must not be a 503 (the provider would retry it forever) and the run
// must still complete, by polling.
func (su *suite) signalLimitScenario(ctx context.Context, s *stack, r *result) error {
	limit := su.signalLimit()
	id := "fk-lim-" + su.tag
	if err := s.setFaults(ctx, fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "fk-lim-", Fault: fakemodelslab.FaultDrop}}}); err != nil {
		return err
	}
	// The run must not poll before the limit is reached: allow 2 ms a
	// signal (10,000 took 8 s on 2 cores) and 20 s.
	grace := 20*time.Second + time.Duration(limit)*2*time.Millisecond
	start := time.Now()
	if err := startRuns(ctx, s, []string{id}, grace); err != nil {
		return err
	}
	pids, err := awaitWaiting(ctx, s, []string{id})
	if err != nil {
		return err
	}
	var accepted, failed atomic.Int64
	var refusal atomic.Value
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	satStart := time.Now()
	_ = forEach(sctx, limit*2, 32, func(ctx context.Context, i int) error {
		err := s.c.SignalWorkflow(ctx, id, "", contract.WebhookSignal, contract.Webhook{
			Update:     modelslab.Result{Status: modelslab.StatusProcessing, ID: pids[0], TrackID: id},
			ReceivedAt: time.Now(),
		})
		var invalid *serviceerror.InvalidArgument
		switch {
		case err == nil:
			accepted.Add(1)
			return nil
		case errors.As(err, &invalid):
			refusal.CompareAndSwap(nil, err.Error())
			return err
		case ctx.Err() != nil:
			return err
		default:
			failed.Add(1)
			r.note("signal %d: %v", i, err)
			return nil
		}
	})
	satWall := time.Since(satStart)
	why, _ := refusal.Load().(string)
	r.check(why != "", "Temporal took %d signals and refused none (limit %d)", accepted.Load(), limit)
	rec := newRecorder()
	body := webhookBody(id, modelslab.StatusSuccess, pids[0], s.fakeURL)
	var codes []string
	for range 3 {
		a := s.post(ctx, rec, s.webhookURL(id), id, body, "")
		codes = append(codes, fmt.Sprintf("%d delivered=%v", a.code, a.delivered))
	}
	snap := rec.snapshot()
	r.check(snap.codes[503] == 0, "the gateway answered 503 %d time(s) for a run past its signal limit", snap.codes[503])
	resp, err := s.http.Get(s.gatewayAdmin + "/readyz")
	if err == nil {
		resp.Body.Close()
		r.check(resp.StatusCode == 200, "/readyz answered %d after the refusals", resp.StatusCode)
	}
	if _, err := waitClosed(ctx, s, id, grace+su.o.bound); err != nil {
		return err
	}
	outs := collect(ctx, s, []string{id})
	all := rec.snapshot()
	all.merge(s.tap.rec.snapshot())
	r.tally(outs, all)
	r.Count5xx = all.count5xx()
	st, err := s.fakeStats(ctx)
	if err != nil {
		return err
	}
	r.countDoubles(st, []string{id})
	r.fact("%d signals taken in %s (and %d that failed otherwise, such as a timeout under load, which Temporal may have counted) before it refused the next (%q)",
		accepted.Load(), durationText(satWall), failed.Load(), why)
	r.fact("the result's webhook, posted 3 times, answered %s", strings.Join(codes, ", "))
	if o := outs[0]; o.status == "succeeded" {
		r.fact("the run completed, learned by %s, %s after it started", o.res.LearnedBy, durationText(time.Since(start)))
		r.check(o.res.LearnedBy == contract.LearnedPoll, "learned by %s, not poll", o.res.LearnedBy)
	}
	r.checkCommon()
	return nil
}
