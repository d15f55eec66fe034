package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/modelslab"
)

// Polling backoff once the webhook is overdue.
const (
	firstPollInterval = 5 * time.Second
	maxPollInterval   = 2 * time.Minute
	// defaultETA is assumed when the provider gives none.
	defaultETA = 10 * time.Second
)

// generationChange is the workflow.GetVersion change ID of this release's
// Generation changes, read once at the start of a run: a version marker
// and a TemporalChangeVersion upsert per run, whatever the number of
// changes behind it. Runs started earlier (no marker) read
// workflow.DefaultVersion and keep their commands.
const generationChange = "submit-races-webhook"

// submitRacesWebhook is the version of generationChange whose runs wait
// for the Submit activity and the webhook together (a webhook cancels the
// submit and settles it), heartbeat Submit, and fetch once at a deadline
// that comes before the first poll.
const submitRacesWebhook workflow.Version = 1

// webhookIDChecked is the version of generationChange whose runs do not
// take a webhook that names another provider request as their result
// (see onUpdate). Runs started at submitRacesWebhook took any webhook.
const webhookIDChecked workflow.Version = 2

// generationVersion is generationChange's newest version, the one new
// runs record.
const generationVersion = accountLimited

// submitHeartbeatTimeout is the Submit activity's heartbeat timeout (from
// submitRacesWebhook on): an attempt lost with its worker is retried after
// this, not after the minute of its start-to-close timeout.
const submitHeartbeatTimeout = 10 * time.Second

// acts is only used for method references; activities run on the worker.
var acts *activities.Activities

// Generation runs one generation: submit, then wait for the webhook
// signal, polling the provider if the webhook is overdue, until a terminal
// state or the deadline. Its workflow ID is the track_id.
func Generation(ctx workflow.Context, in contract.GenerationInput) (contract.GenerationResult, error) {
	g, err := newGeneration(ctx, in)
	if err != nil {
		return contract.GenerationResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, contract.StateQuery, func() (contract.State, error) {
		return g.state, nil
	}); err != nil {
		return contract.GenerationResult{}, err
	}
	res, err := g.run(ctx)
	if in.NotifyURL != "" {
		g.notify(ctx, res, err)
	}
	return res, err
}

// notify POSTs the run's outcome, signed, to its NotifyURL (see
// sendNotification); its fate is kept in the state query.
func (g *generation) notify(ctx workflow.Context, res contract.GenerationResult, runErr error) {
	data := contract.NotificationData{TrackID: g.state.TrackID, Endpoint: g.endpoint.Name}
	if runErr == nil {
		data.Result = &res
	}
	n := newNotification(ctx, runErr, data,
		contract.NotifyGenerationSucceeded, contract.NotifyGenerationCanceled, contract.NotifyGenerationFailed)
	g.state.Notified = "sending"
	g.state.Notified = sendNotification(ctx, g.in.NotifyURL, n)
}

// newNotification is the notification of a run that ended with runErr:
// of type ok, canceled or failed, with the error's type and message in
// its data (an activity's input: no command changes with its shape).
func newNotification(ctx workflow.Context, runErr error, data contract.NotificationData, ok, canceled, failed string) contract.Notification {
	n := contract.Notification{Type: ok, Timestamp: workflow.Now(ctx), Data: data}
	if runErr == nil {
		return n
	}
	f := contract.DescribeFailure(runErr)
	n.Type, n.Data.Error = failed, &f
	var cancelErr *temporal.CanceledError
	if errors.As(runErr, &cancelErr) {
		// "generation.canceled": the generation was cancelled.
		kind, _, _ := strings.Cut(canceled, ".")
		n.Type, f.Message = canceled, "the "+kind+" was cancelled"
	}
	return n
}

// NotifyNotConfigured is what the state's Notified says, after "failed: ",
// of a run whose worker has no notification secret.
const NotifyNotConfigured = "the worker has no notification secret (NOTIFY_SECRETS): no notification was sent"

// sendNotification POSTs n, signed, to url with the Notify activity,
// retried for up to contract.NotifyRetryFor under one message ID per run,
// and returns "delivered" or "failed: ..." . It runs on a disconnected
// context, so a cancelled run still notifies, and it never changes the
// run's outcome.
func sendNotification(ctx workflow.Context, url string, n contract.Notification) string {
	nctx, _ := workflow.NewDisconnectedContext(ctx)
	nctx = workflow.WithActivityOptions(nctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: contract.NotifyRetryFor,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeNotifyRejected, activities.ErrTypeNotifyNotConfigured},
		},
		Summary: "notify " + n.Type,
	})
	info := workflow.GetInfo(ctx)
	err := workflow.ExecuteActivity(nctx, acts.Notify, activities.NotifyInput{
		URL:          url,
		MessageID:    "msg_" + info.WorkflowExecution.ID + "_" + info.WorkflowExecution.RunID,
		Notification: n,
	}).Get(nctx, nil)
	if err != nil {
		// Log and state only: no command changes with them.
		msg := egress.RedactIn(err.Error(), url)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotifyNotConfigured {
			msg = NotifyNotConfigured
		}
		workflow.GetLogger(ctx).Warn("notification not delivered", "url", egress.Redact(url), "error", msg)
		return "failed: " + msg
	}
	return "delivered"
}

// generation is the state of one Generation run.
type generation struct {
	in       contract.GenerationInput
	endpoint modelslab.Endpoint
	state    contract.State
	result   contract.GenerationResult
	// stages seen in non-terminal updates, to tell progress from
	// duplicates.
	stages map[string]bool
	// saDirty is whether the phase changed since it was last upserted.
	saDirty bool
	// v1 is startedAsV1, read once the submit has returned (the run's
	// first task, where a v1 run recorded its version, is behind it by
	// then). Until then it is false, as startedAsV1 is during that task.
	v1 bool
	// attributed is whether the endpoint, model and owner attributes
	// have been checked.
	attributed bool
	// version is the run's generationChange version, read at its start.
	version workflow.Version
	// metrics records through the SDK, tagged with the endpoint.
	metrics client.MetricsHandler
	// slot is the account limiter the run holds (or waits for) a slot
	// of, until it releases it (accountLimited).
	slot string
}

func newGeneration(ctx workflow.Context, in contract.GenerationInput) (*generation, error) {
	info := workflow.GetInfo(ctx)
	trackID := info.WorkflowExecution.ID
	ep, err := modelslab.Lookup(in.Endpoint)
	if err == nil {
		err = ep.Validate(in.Params)
	}
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), contract.ErrTypeInvalidInput, err)
	}
	deadline := in.Deadline
	if deadline <= 0 {
		deadline = contract.DefaultDeadline(string(ep.Category))
	}
	if in.PollGrace <= 0 {
		in.PollGrace = contract.DefaultPollGrace
	}
	now := workflow.Now(ctx)
	g := &generation{
		in:       in,
		endpoint: ep,
		stages:   map[string]bool{},
		metrics:  workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"endpoint": ep.Name}),
		state: contract.State{
			TrackID:  trackID,
			Endpoint: ep.Name,
			Phase:    contract.PhaseSubmitting,
			Since:    now,
			Deadline: now.Add(deadline),
		},
	}
	g.result = contract.GenerationResult{TrackID: trackID, Endpoint: ep.Name, Timings: contract.Timings{StartedAt: now}}
	return g, nil
}

// setPhase moves the run to phase p: the state query, the current
// details shown in the Temporal UI, and the GenflowState search
// attribute. A final phase is upserted at once; any other when the run is
// about to wait in it (flushState), so a phase the run passes through
// without waiting costs no upsert. Runs started as v1 upserted each phase
// at once, and still do.
func (g *generation) setPhase(ctx workflow.Context, p contract.Phase, details string) {
	g.state.Phase = p
	g.state.Since = workflow.Now(ctx)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s** since %s  \n%s", p, g.state.Since.UTC().Format(time.RFC3339), details))
	g.saDirty = true
	if p.Final() || g.v1 {
		g.flushState(ctx)
	}
}

// flushState upserts the current phase if it changed since the last
// upsert. The run calls it before it waits: for an activity or a webhook.
func (g *generation) flushState(ctx workflow.Context) {
	if !g.saDirty {
		return
	}
	g.saDirty = false
	p := g.state.Phase
	var ups []temporal.SearchAttributeUpdate
	// The starter sets the first phase at start; no need to set it again.
	if cur, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(contract.SAState); !ok || cur != string(p) {
		ups = append(ups, contract.SAState.ValueSet(string(p)))
	}
	if !g.attributed {
		g.attributed = true
		ups = append(ups, missingAttributes(ctx, g.endpoint.Name, g.in)...)
	}
	upsertSearchAttributes(ctx, ups...)
}

// recordOutcome records the generation's latency by outcome.
func (g *generation) recordOutcome(ctx workflow.Context, outcome string, by contract.LearnedBy) {
	g.metrics.WithTags(map[string]string{"outcome": outcome, "learned_by": string(by)}).
		Timer(MetricGenerationLatency).Record(workflow.Now(ctx).Sub(g.result.Timings.StartedAt))
}

// behaviour is the run's generationChange version: its input's Revision
// when its starter gave one (no marker, no visibility write: the bench
// measured that GetVersion's marker and TemporalChangeVersion upsert cost
// a fifth of a generation's server time), else what GetVersion records
// or, on replay, recorded (runs started by earlier releases or by hand).
// A revision newer than this worker knows runs as its newest.
func (g *generation) behaviour(ctx workflow.Context) workflow.Version {
	if g.in.Revision > 0 {
		return min(workflow.Version(g.in.Revision), generationVersion)
	}
	return workflow.GetVersion(ctx, generationChange, workflow.DefaultVersion, generationVersion)
}

func (g *generation) run(ctx workflow.Context) (contract.GenerationResult, error) {
	g.version = g.behaviour(ctx)
	if g.version >= accountLimited {
		if err := g.admit(ctx); err != nil {
			return g.fail(ctx, err)
		}
	}
	g.setPhase(ctx, contract.PhaseSubmitting, "submitting to "+g.endpoint.Name)
	sub, hook, err := g.submit(ctx)
	g.v1 = startedAsV1(ctx)
	if err != nil && hook == nil {
		return g.fail(ctx, err)
	}
	if hook != nil {
		sub = hook.Update
	}
	g.state.ProviderID = sub.ID
	g.state.ETA = sub.ETA
	g.result.Timings.SubmittedAt = workflow.Now(ctx)
	if hook != nil {
		// The provider took the request: its webhook came while Submit
		// ran or waited to be retried, and stands for Submit's reply.
		if done, res, err := g.onUpdate(ctx, hook.Update, contract.LearnedWebhook); done {
			return res, err
		}
	} else if sub.Status == modelslab.StatusSuccess {
		return g.succeed(ctx, sub, contract.LearnedImmediate)
	}

	eta := time.Duration(sub.ETA * float64(time.Second))
	if eta <= 0 {
		eta = defaultETA
	}
	nextPoll := workflow.Now(ctx).Add(eta + g.in.PollGrace)
	if g.version >= submitRacesWebhook && g.state.ProviderID == "" {
		// A progress webhook without an id: nothing to poll, the
		// webhooks alone can settle the run.
		nextPoll = g.state.Deadline
	}
	g.state.PollAfter = nextPoll
	g.setPhase(ctx, contract.PhaseWaitingWebhook, fmt.Sprintf("waiting for the webhook of provider request %s; polling after %s",
		sub.ID, nextPoll.UTC().Format(time.RFC3339)))

	webhooks := workflow.GetSignalChannel(ctx, contract.WebhookSignal)
	interval := firstPollInterval
	for {
		now := workflow.Now(ctx)
		if !now.Before(g.state.Deadline) {
			return g.atDeadline(ctx)
		}
		if webhooks.Len() > 0 && !g.v1 {
			// A webhook is already here (a provider that answers at
			// once beats the submit's workflow task): handle it with no
			// timer and no wait.
			var w contract.Webhook
			webhooks.ReceiveAsync(&w)
			if done, res, err := g.onUpdate(ctx, w.Update, contract.LearnedWebhook); done {
				return res, err
			}
			continue
		}
		g.flushState(ctx)
		wake := nextPoll
		if g.state.Deadline.Before(wake) {
			wake = g.state.Deadline
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		summary := "webhook overdue: poll"
		if g.state.Phase == contract.PhasePolling {
			summary = "next poll"
		}
		if wake.Equal(g.state.Deadline) {
			summary = "deadline"
		}
		timer := workflow.NewTimerWithOptions(timerCtx, wake.Sub(now), workflow.TimerOptions{Summary: summary})

		var hook *contract.Webhook
		timedOut := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(webhooks, func(c workflow.ReceiveChannel, _ bool) {
			var w contract.Webhook
			c.Receive(ctx, &w)
			hook = &w
		})
		sel.AddFuture(timer, func(f workflow.Future) {
			timedOut = f.Get(ctx, nil) == nil
		})
		sel.Select(ctx)
		if err := ctx.Err(); err != nil {
			return g.fail(ctx, temporal.NewCanceledError("generation cancelled"))
		}
		if hook != nil {
			cancelTimer()
			if done, res, err := g.onUpdate(ctx, hook.Update, contract.LearnedWebhook); done {
				return res, err
			}
			continue
		}
		cancelTimer()
		if !timedOut {
			continue
		}
		if !workflow.Now(ctx).Before(g.state.Deadline) {
			return g.atDeadline(ctx)
		}

		if g.state.Phase != contract.PhasePolling {
			g.metrics.Counter(MetricPollFallbacks).Inc(1)
			workflow.GetLogger(ctx).Info("webhook overdue, polling", "provider_id", g.state.ProviderID)
			g.setPhase(ctx, contract.PhasePolling, "webhook overdue; polling provider request "+g.state.ProviderID)
		}
		upd, err := g.fetch(ctx)
		g.state.Polls++
		if err != nil {
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.NonRetryable() {
				return g.fail(ctx, err)
			}
			// A transient fetch failure costs one poll; the next one
			// (or the webhook) may still bring the result.
			workflow.GetLogger(ctx).Warn("poll failed", "error", err)
		} else if done, res, err := g.onUpdate(ctx, upd, contract.LearnedPoll); done {
			return res, err
		}
		nextPoll = workflow.Now(ctx).Add(interval)
		g.state.PollAfter = nextPoll
		interval = min(interval*2, maxPollInterval)
	}
}

// onUpdate applies a provider update from a webhook or a poll. done is
// true when the update is terminal; res and err are then the workflow's
// outcome. From webhookIDChecked on, a webhook that names a provider
// request other than the run's is not applied (see otherRequest).
func (g *generation) onUpdate(ctx workflow.Context, u modelslab.Result, by contract.LearnedBy) (done bool, res contract.GenerationResult, err error) {
	if by == contract.LearnedWebhook {
		g.state.WebhooksReceived++
		if g.version >= webhookIDChecked && g.otherRequest(u) {
			g.state.WebhookIDMismatches++
			g.metrics.Counter(MetricWebhookIDMismatches).Inc(1)
			workflow.GetLogger(ctx).Warn("webhook for another provider request ignored; polling decides",
				"provider_id", g.state.ProviderID, "webhook_provider_id", u.ID, "status", u.Status)
			return false, res, nil
		}
	}
	switch u.Status {
	case modelslab.StatusSuccess:
		res, err = g.succeed(ctx, u, by)
		return true, res, err
	case modelslab.StatusFailed:
		msg := u.Message
		if msg == "" {
			msg = "the provider reported the generation failed"
		}
		g.state.Stage = u.Stage
		res, err = g.fail(ctx, temporal.NewNonRetryableApplicationError(msg, contract.ErrTypeGenerationFailed, nil, g.details(msg)))
		return true, res, err
	}
	key := string(u.Status) + "/" + u.Stage
	if by == contract.LearnedWebhook && g.stages[key] {
		g.state.DuplicatesIgnored++
		g.metrics.Counter(MetricWebhookDuplicates).Inc(1)
		return false, res, nil
	}
	g.stages[key] = true
	if u.Stage != "" && u.Stage != g.state.Stage {
		g.state.Stage = u.Stage
		workflow.GetLogger(ctx).Info("provider progress", "stage", u.Stage)
	}
	return false, res, nil
}

// otherRequest reports whether webhook u names a provider request other
// than the run's: both ids are known and differ (modelslab.SameID: an id
// sent as a number and as a string is one id). Such a webhook is not the
// run's result, whoever sent it: a holder of a leaked webhook URL with
// outputs of their choosing, or a payload meant for another request. A
// webhook without an id, or one before the run knows its provider id (it
// came while Submit ran, and stands for its reply), is taken as before.
// Training webhooks carry model_id, which the provider's examples show
// equal to the submit's training_id; workflow runs carry execution_id.
func (g *generation) otherRequest(u modelslab.Result) bool {
	return u.ID != "" && g.state.ProviderID != "" && !modelslab.SameID(u.ID, g.state.ProviderID)
}

// atDeadline ends a run whose deadline has come, with the timeout error.
// A run of submitRacesWebhook that has a provider id and never polled (its
// deadline came before eta + grace) asks the provider once first, and
// takes a terminal result rather than throwing it away.
func (g *generation) atDeadline(ctx workflow.Context) (contract.GenerationResult, error) {
	if g.version < submitRacesWebhook || g.state.Polls > 0 || g.state.ProviderID == "" {
		return g.fail(ctx, g.timeoutError())
	}
	g.metrics.Counter(MetricPollFallbacks).Inc(1)
	workflow.GetLogger(ctx).Info("deadline before the first poll: fetching once", "provider_id", g.state.ProviderID)
	upd, err := g.fetch(ctx)
	g.state.Polls++
	switch {
	case ctx.Err() != nil:
		return g.fail(ctx, temporal.NewCanceledError("generation cancelled"))
	case err != nil:
		workflow.GetLogger(ctx).Warn("poll failed", "error", err)
	case upd.Status.Terminal():
		_, res, err := g.onUpdate(ctx, upd, contract.LearnedPoll)
		return res, err
	}
	return g.fail(ctx, g.timeoutError())
}

// submit runs the Submit activity. From submitRacesWebhook on, it waits
// for the activity and the webhook signal together: a webhook that comes
// while Submit runs or waits to be retried proves the provider took the
// request, so it cancels the activity (no further attempt) and is
// returned as hook, standing for Submit's reply. A webhook already here
// when Submit fails for good is taken the same way.
func (g *generation) submit(ctx workflow.Context) (res modelslab.Result, hook *contract.Webhook, err error) {
	left := g.state.Deadline.Sub(workflow.Now(ctx))
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: left,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: modelslab.NonRetryableErrorTypes,
		},
		Summary: "submit " + g.endpoint.Name,
	}
	in := activities.SubmitInput{
		TrackID: g.state.TrackID, Endpoint: g.endpoint.Name, Params: g.in.Params, Deadline: g.state.Deadline,
	}
	g.flushState(ctx)
	if g.version < submitRacesWebhook {
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), acts.Submit, in).Get(ctx, &res)
		return res, nil, err
	}
	// The attempt is one HTTP call with nothing to undo: the workflow
	// need not wait for a cancelled one to stop.
	opts.HeartbeatTimeout = submitHeartbeatTimeout
	opts.WaitForCancellation = false
	sctx, cancel := workflow.WithCancel(ctx)
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(sctx, opts), acts.Submit, in)
	webhooks := workflow.GetSignalChannel(ctx, contract.WebhookSignal)
	sel := workflow.NewSelector(ctx)
	// The future first: a reply and a webhook at hand together take the
	// reply, then the webhook, as before this change.
	sel.AddFuture(f, func(f workflow.Future) { err = f.Get(ctx, &res) })
	sel.AddReceive(webhooks, func(c workflow.ReceiveChannel, _ bool) {
		var w contract.Webhook
		c.Receive(ctx, &w)
		hook = &w
	})
	sel.Select(ctx)
	if hook != nil {
		workflow.GetLogger(ctx).Info("webhook during submit: submit cancelled", "provider_id", hook.Update.ID)
		cancel()
		return modelslab.Result{}, hook, nil
	}
	if err != nil && ctx.Err() == nil {
		var w contract.Webhook
		if webhooks.ReceiveAsync(&w) {
			return modelslab.Result{}, &w, nil
		}
	}
	return res, nil, err
}

func (g *generation) fetch(ctx workflow.Context) (modelslab.Result, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: modelslab.NonRetryableErrorTypes,
		},
		Summary: "fetch " + g.state.ProviderID,
	})
	g.flushState(ctx)
	var res modelslab.Result
	err := workflow.ExecuteActivity(actx, acts.Fetch, activities.FetchInput{
		Endpoint: g.endpoint.Name, ProviderID: g.state.ProviderID, Params: g.in.Params,
	}).Get(ctx, &res)
	return res, err
}

func (g *generation) succeed(ctx workflow.Context, u modelslab.Result, by contract.LearnedBy) (contract.GenerationResult, error) {
	g.releaseSlot(ctx)
	now := workflow.Now(ctx)
	g.drain(ctx)
	r := &g.result
	r.Output = u.Output
	if r.Output == nil {
		r.Output = []string{}
	}
	r.ProxyLinks = u.ProxyLinks
	r.Meta = u.Meta
	r.LearnedBy = by
	r.GenerationTime = u.GenerationTime
	// The counters live in the state (the query shows them live); the
	// result takes their final values.
	r.ProviderID = g.state.ProviderID
	if r.ProviderID == "" {
		r.ProviderID = u.ID
	}
	r.WebhooksReceived, r.DuplicatesIgnored, r.Polls = g.state.WebhooksReceived, g.state.DuplicatesIgnored, g.state.Polls
	r.Timings.CompletedAt = now
	r.Timings.Total = now.Sub(r.Timings.StartedAt)
	g.state.Stage = u.Stage
	details := fmt.Sprintf("%d output(s), learned by %s", len(r.Output), by)
	if g.in.Store && len(r.Output) > 0 {
		r.Stored = g.store(ctx, r.Output, u.ProxyLinks, r.ProviderID)
		details += ", " + storedSummary(r.Stored)
		g.drain(ctx)
	}
	g.setPhase(ctx, contract.PhaseSucceeded, details)
	g.recordOutcome(ctx, "succeeded", by)
	return *r, nil
}

// store copies the outputs to the worker's storage with the StoreOutputs
// activity, retried for up to contract.StoreRetryFor. It never fails the
// generation, which has succeeded: outputs it could not store carry the
// reason in their Error. A run cancelled while storing stops storing and
// still returns its result.
func (g *generation) store(ctx workflow.Context, output, proxyLinks []string, providerID string) []contract.StoredOutput {
	g.setPhase(ctx, contract.PhaseStoring, fmt.Sprintf("copying %d output(s) to storage", len(output)))
	g.flushState(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Hour,
		HeartbeatTimeout:       time.Minute,
		ScheduleToCloseTimeout: contract.StoreRetryFor,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeStoreNotConfigured},
		},
		Summary: fmt.Sprintf("store %d output(s)", len(output)),
	})
	var stored []contract.StoredOutput
	err := workflow.ExecuteActivity(actx, acts.StoreOutputs, activities.StoreInput{
		TrackID: g.state.TrackID, Output: output, ProxyLinks: proxyLinks,
		Endpoint: g.endpoint.Name, ProviderID: providerID, Params: g.in.Params,
	}).Get(ctx, &stored)
	if err == nil && len(stored) == len(output) {
		return stored
	}
	if err == nil {
		err = fmt.Errorf("storage answered for %d of %d outputs", len(stored), len(output))
	}
	workflow.GetLogger(ctx).Warn("outputs not stored", "error", err)
	stored = make([]contract.StoredOutput, len(output))
	for i, o := range output {
		stored[i] = contract.StoredOutput{Output: o, Error: "not stored: " + err.Error()}
	}
	return stored
}

// storedSummary says how many outputs were stored, for the UI's details.
func storedSummary(stored []contract.StoredOutput) string {
	n := 0
	for _, s := range stored {
		if s.Location != "" {
			n++
		}
	}
	return fmt.Sprintf("%d of %d stored", n, len(stored))
}

// fail records the failure (or the cancellation) in the state and
// returns err as the workflow's error, with the provider's message up
// front.
func (g *generation) fail(ctx workflow.Context, err error) (contract.GenerationResult, error) {
	g.releaseSlot(ctx)
	g.drain(ctx)
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		g.setPhase(ctx, contract.PhaseCanceled, "cancelled")
		g.recordOutcome(ctx, "canceled", "")
		return contract.GenerationResult{}, err
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		g.state.Error = appErr.Error()
		if appErr.Type() != contract.ErrTypeGenerationFailed && appErr.Type() != contract.ErrTypeGenerationTimeout &&
			appErr.Type() != contract.ErrTypeInvalidInput {
			// A provider error from an activity: keep its type (for
			// example ModelsLabInvalidKey) and message, and say where it
			// happened.
			msg := appErr.Message()
			err = temporal.NewNonRetryableApplicationError(msg, appErr.Type(), err, g.details(msg))
		}
	} else {
		g.state.Error = err.Error()
	}
	g.setPhase(ctx, contract.PhaseFailed, strings.TrimSpace(g.state.Error))
	g.recordOutcome(ctx, "failed", "")
	return contract.GenerationResult{}, err
}

func (g *generation) timeoutError() error {
	msg := fmt.Sprintf("no result from the provider within %s (phase %s, %d polls)",
		g.state.Deadline.Sub(g.result.Timings.StartedAt), g.state.Phase, g.state.Polls)
	return temporal.NewNonRetryableApplicationError(msg, contract.ErrTypeGenerationTimeout, nil, g.details(msg))
}

func (g *generation) details(msg string) contract.FailureDetails {
	return contract.FailureDetails{
		TrackID: g.state.TrackID, Endpoint: g.endpoint.Name, ProviderID: g.state.ProviderID,
		Message: msg, Phase: g.state.Phase,
	}
}

// drain counts webhooks that arrived but were not read, so none is left
// unhandled when the run closes: after the outcome they are duplicates or
// late by definition.
func (g *generation) drain(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, contract.WebhookSignal)
	for {
		var w contract.Webhook
		if !ch.ReceiveAsync(&w) {
			return
		}
		g.state.WebhooksReceived++
		g.state.DuplicatesIgnored++
		g.metrics.Counter(MetricWebhookDuplicates).Inc(1)
	}
}
