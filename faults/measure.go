package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/starter"
)

// outcome is where one generation ended.
type outcome struct {
	id string
	// status is succeeded, failed, canceled, terminated, timed_out,
	// running, not_found or unknown.
	status string
	res    contract.GenerationResult
	// received is the run's WebhooksReceived: every webhook signal it
	// took, duplicates included (from its result, else its state query).
	received int
	err      string
}

// collect reads the outcome of every run in ids.
func collect(ctx context.Context, s *stack, ids []string) []outcome {
	out := make([]outcome, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = collectOne(ctx, s, id)
		}()
	}
	wg.Wait()
	return out
}

func collectOne(ctx context.Context, s *stack, id string) outcome {
	o := outcome{id: id}
	var desc *client.WorkflowExecutionDescription
	err := retry(ctx, 30*time.Second, func(ctx context.Context) error {
		var err error
		desc, err = s.c.DescribeWorkflow(ctx, id, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			desc = nil
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		o.status, o.err = "unknown", err.Error()
		return o
	case desc == nil:
		o.status = "not_found"
		return o
	}
	switch desc.Status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		err := retry(ctx, 30*time.Second, func(ctx context.Context) error {
			return s.c.GetWorkflow(ctx, id, "").Get(ctx, &o.res)
		})
		if err != nil {
			o.status, o.err = "unknown", err.Error()
			return o
		}
		o.status, o.received = "succeeded", o.res.WebhooksReceived
		return o
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		o.status = "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		o.status = "failed"
		if err := s.c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
			o.err = starter.DescribeFailure(err).Message
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		o.status = "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		o.status = "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		o.status = "timed_out"
	default:
		o.status = "unknown"
	}
	// The state query counts the webhooks of a run without a result.
	qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if st, err := starter.QueryState(qctx, s.c, id, ""); err == nil {
		o.received = st.WebhooksReceived
	} else if o.err == "" {
		o.err = "state query: " + err.Error()
	}
	return o
}

// retry calls fn until it succeeds, ctx is done or limit passes.
func retry(ctx context.Context, limit time.Duration, fn func(context.Context) error) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn(cctx)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitClosed waits until no workflow whose ID starts with prefix is
// running, or limit passes; it returns how many still run.
func waitClosed(ctx context.Context, s *stack, prefix string, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	query := fmt.Sprintf("WorkflowId STARTS_WITH %q AND ExecutionStatus = 'Running'", prefix)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := s.c.CountWorkflow(cctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		cancel()
		if err == nil && resp.GetCount() == 0 {
			return 0, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return -1, fmt.Errorf("count running workflows: %w", err)
			}
			return int(resp.GetCount()), nil
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return -1, err
		}
	}
}

// tally sums outcomes into a result: lost (not succeeded, when every run
// should have), stuck (still running), false 200s (webhooks the gateway
// said it delivered that the run did not record) and run latency.
func (r *result) tally(outs []outcome, answers snapshot) {
	r.Runs += len(outs)
	var lat []time.Duration
	for _, o := range outs {
		switch o.status {
		case "succeeded":
			lat = append(lat, o.res.Timings.Total)
		case "running":
			r.Stuck++
			r.note("stuck: %s", o.id)
		default:
			r.Lost++
			r.note("lost: %s %s %s", o.id, o.status, o.err)
		}
		if d := answers.delivered[o.id] - o.received; d > 0 {
			r.False200 += d
			r.note("false 200: %s: gateway delivered %d, run recorded %d", o.id, answers.delivered[o.id], o.received)
		}
	}
	r.runLatencies = append(r.runLatencies, lat...)
}

// submissions counts from the fake's stats the track_ids submitted more
// than once, among ids.
func doubles(st fakemodelslab.Stats, ids []string) (n int, which []string) {
	for _, id := range ids {
		if st.Tracks[id].Submissions > 1 {
			n++
			which = append(which, id)
		}
	}
	return n, which
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
