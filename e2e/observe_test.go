package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/workflows"
)

// TestObservability checks what a user inspects runs with, on a real dev
// server: the search attributes (set at start, upserted as a generation
// moves), the state query, the starter's list, show, result and cancel,
// and the worker's and the gateway's /metrics after real generations.
func TestObservability(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{
		ProcessingTime: 300 * time.Millisecond,
		RetryAfter:     time.Second,
		Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
			{Match: "obs-drop-", Fault: fakemodelslab.FaultDrop},
			{Match: "obs-fail-", Fault: fakemodelslab.FaultFail},
			{Match: "obs-quiet-", Fault: fakemodelslab.FaultDrop},
			{Match: "obs-flaky-", Fault: fakemodelslab.Fault5xx, Times: 1},
			{Match: "obs-dup-", Fault: fakemodelslab.FaultDuplicate},
		}},
	})
	ctx := context.Background()

	generate := func(id, prompt string, extra ...string) {
		t.Helper()
		args := append([]string{"generate", "text2img", "--model", "flux", "--prompt", prompt, "--track-id", id, "--json"}, extra...)
		code, stdout, stderr := s.starter(t, args...)
		if slices.Contains(extra, "--wait") && !strings.HasPrefix(id, "obs-fail-") {
			require.Equal(t, starter.ExitOK, code, "%s\n%s", stdout, stderr)
		}
	}
	generate("obs-ok-1", "a red fox in fresh snow, golden hour", "--owner", "alice", "--wait")
	generate("obs-drop-1", "a lost webhook", "--poll-grace", "1s", "--wait")
	generate("obs-fail-1", "a failing one", "--wait")
	generate("obs-flaky-1", "a flaky submit", "--wait")
	generate("obs-dup-1", "a webhook sent twice", "--wait")
	generate("obs-quiet-1", "a webhook that never comes", "--poll-grace", "10m", "--owner", "bob")

	t.Run("search attributes follow the phase", func(t *testing.T) {
		requireListed(t, s, `GenflowState = "succeeded" AND GenflowEndpoint = "images/text2img" AND GenflowOwner = "alice"`,
			"obs-ok-1")
		requireListed(t, s, `GenflowState = "failed" AND GenflowModel = "flux" AND WorkflowId = "obs-fail-1"`, "obs-fail-1")
		requireListed(t, s, `GenflowState = "waiting_webhook" AND GenflowOwner = "bob" AND ExecutionStatus = "Running"`,
			"obs-quiet-1")
		// A run's history shows one upsert per phase after the first,
		// which the starter set at start: waiting_webhook, polling,
		// succeeded for the run whose webhook was lost.
		require.Equal(t, []string{"waiting_webhook", "polling", "succeeded"}, upsertedStates(t, s, "obs-drop-1"))
	})

	t.Run("state query", func(t *testing.T) {
		st, err := starter.QueryState(ctx, s.client, "obs-quiet-1", "")
		require.NoError(t, err)
		require.Equal(t, contract.PhaseWaitingWebhook, st.Phase)
		require.NotEmpty(t, st.ProviderID)
		require.Positive(t, st.ETA)
		require.Zero(t, st.WebhooksReceived)
		require.Zero(t, st.Polls)
		require.True(t, st.PollAfter.After(time.Now().Add(5*time.Minute)), "polls after eta + 10m")
	})

	t.Run("starter list", func(t *testing.T) {
		var runs []starter.RunInfo
		eventually(t, "list --state succeeded --owner alice", func() bool {
			code, stdout, _ := s.starter(t, "list", "--state", "succeeded", "--owner", "alice", "--json")
			require.Equal(t, starter.ExitOK, code)
			require.NoError(t, json.Unmarshal([]byte(stdout), &runs))
			return len(runs) == 1
		})
		r := runs[0]
		require.Equal(t, "obs-ok-1", r.TrackID)
		require.Equal(t, contract.GenerationWorkflow, r.Type)
		require.Equal(t, starter.StatusCompleted, r.Status)
		require.Equal(t, "succeeded", r.State)
		require.Equal(t, "images/text2img", r.Endpoint)
		require.Equal(t, "flux", r.Model)
		require.Equal(t, "images/text2img: a red fox in fresh snow, golden hour", r.Summary)
		require.NotNil(t, r.Closed)
		require.Contains(t, r.UIURL, "/namespaces/default/workflows/obs-ok-1/"+r.RunID)

		// The table: a header, aligned rows, no colour off a terminal,
		// the list's UI link last.
		code, stdout, stderr := s.starter(t, "list", "--endpoint", "text2img", "--status", "running")
		require.Equal(t, starter.ExitOK, code, stderr)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		require.Equal(t, []string{"TRACK_ID", "STATUS", "STATE", "AGE", "TOOK", "SUMMARY"}, strings.Fields(lines[0]))
		require.Regexp(t, `^obs-quiet-1 +running +waiting_webhook +\S+ +- +images/text2img: a webhook that never comes$`, lines[1])
		require.Equal(t, strings.Index(lines[0], "SUMMARY"), strings.Index(lines[1], "images/"))
		require.Equal(t, "1 run(s)", lines[2])
		require.Contains(t, lines[3], "Temporal UI: http://localhost:8233/namespaces/default/workflows?query=")
		require.NotContains(t, stdout, "\033[")
	})

	t.Run("starter show", func(t *testing.T) {
		code, stdout, stderr := s.starter(t, "show", "obs-quiet-1")
		require.Equal(t, starter.ExitOK, code, stderr)
		require.Contains(t, stdout, "obs-quiet-1  Generation  running  waiting_webhook\n")
		require.Regexp(t, `(?m)^  provider +request \S+, eta `, stdout)
		require.Regexp(t, `(?m)^  webhooks +0 received`, stdout)
		require.Contains(t, stdout, "owner bob")
		require.Contains(t, stdout, "  Temporal UI: http://localhost:8233/namespaces/default/workflows/obs-quiet-1/")

		var d struct {
			starter.RunInfo
			LiveState contract.State             `json:"live_state"`
			Result    *contract.GenerationResult `json:"result"`
			Error     *starter.Failure           `json:"error"`
			Failure   *contract.FailureDetails   `json:"failure_details"`
		}
		code, stdout, _ = s.starter(t, "show", "obs-drop-1", "--json")
		require.Equal(t, starter.ExitOK, code)
		require.NoError(t, json.Unmarshal([]byte(stdout), &d))
		require.Equal(t, contract.LearnedPoll, d.Result.LearnedBy)
		require.Positive(t, d.Result.Polls)

		d.Result = nil
		code, stdout, _ = s.starter(t, "show", "obs-fail-1", "--json")
		require.Equal(t, starter.ExitOK, code, "show reports a failure, it is not one")
		require.NoError(t, json.Unmarshal([]byte(stdout), &d))
		require.Equal(t, starter.StatusFailed, d.Status)
		require.Equal(t, contract.ErrTypeGenerationFailed, d.Error.Type)
		require.Equal(t, contract.PhaseWaitingWebhook, d.Failure.Phase)
		require.NotEmpty(t, d.Failure.ProviderID)

		code, _, stderr = s.starter(t, "show", "no-such-run")
		require.Equal(t, starter.ExitFailed, code)
		require.Contains(t, stderr, "no run has this ID")
	})

	t.Run("starter result", func(t *testing.T) {
		code, stdout, _ := s.starter(t, "result", "obs-ok-1")
		require.Equal(t, starter.ExitOK, code)
		require.Regexp(t, `^OK obs-ok-1 succeeded by webhook in \S+ \(1 webhook\(s\), 0 poll\(s\)\)\n  output: http://`, stdout)
		require.Contains(t, stdout, "  Temporal UI: http://localhost:8233/namespaces/default/workflows/obs-ok-1/")

		code, stdout, _ = s.starter(t, "result", "obs-fail-1")
		require.Equal(t, starter.ExitFailed, code)
		require.Contains(t, stdout, "FAILED obs-fail-1 failed: GenerationFailed: ")

		code, stdout, _ = s.starter(t, "result", "obs-quiet-1", "--json")
		require.Equal(t, starter.ExitRunning, code)
		require.Contains(t, stdout, `"status": "running"`)
	})

	t.Run("starter cancel", func(t *testing.T) {
		code, stdout, stderr := s.starter(t, "cancel", "obs-quiet-1", "--wait", "--json")
		require.Equal(t, starter.ExitOK, code, stderr)
		var r starter.RunInfo
		require.NoError(t, json.Unmarshal([]byte(stdout), &r))
		require.Equal(t, starter.StatusCanceled, r.Status)
		require.Equal(t, string(contract.PhaseCanceled), r.State)
		requireListed(t, s, `GenflowState = "canceled" AND ExecutionStatus = "Canceled"`, "obs-quiet-1")

		code, _, stderr = s.starter(t, "cancel", "obs-quiet-1")
		require.Equal(t, starter.ExitFailed, code)
		require.Contains(t, stderr, "not running (canceled)")
		code, stdout, _ = s.starter(t, "result", "obs-quiet-1")
		require.Equal(t, starter.ExitFailed, code)
		require.Contains(t, stdout, "Canceled")
	})

	t.Run("a batch's children carry its ID", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "prompts.txt")
		require.NoError(t, os.WriteFile(file, []byte("a lighthouse\na harbour at dawn\n"), 0o600))
		code, stdout, stderr := s.starter(t, "batch", file, "--endpoint", "text2img", "--model", "flux", "--owner", "carol",
			"--id", "obs-batch", "--wait", "--json", "--results", filepath.Join(t.TempDir(), "r.jsonl"))
		require.Equal(t, starter.ExitOK, code, "%s\n%s", stdout, stderr)
		requireListed(t, s, `GenflowParentID = "obs-batch" AND WorkflowType = "Generation" AND GenflowState = "succeeded" AND GenflowOwner = "carol"`,
			"obs-batch-00000", "obs-batch-00001")
		requireListed(t, s, `WorkflowId = "obs-batch" AND GenflowState = "completed"`, "obs-batch")

		var runs []starter.RunInfo
		code, stdout, _ = s.starter(t, "list", "--parent", "obs-batch", "--json")
		require.Equal(t, starter.ExitOK, code)
		require.NoError(t, json.Unmarshal([]byte(stdout), &runs))
		require.Len(t, runs, 2, "the page holder is left out")
		code, stdout, _ = s.starter(t, "list", "--parent", "obs-batch", "--type", "page", "--json")
		require.Equal(t, starter.ExitOK, code)
		require.NoError(t, json.Unmarshal([]byte(stdout), &runs))
		require.Len(t, runs, 1)
		require.Equal(t, contract.PageWorkflowID("obs-batch", 0), runs[0].TrackID)
	})

	t.Run("metrics", func(t *testing.T) {
		// A late webhook for a finished run: the gateway's unmatched.
		resp := s.postWebhook(t, "obs-ok-1", s.sign(t, "obs-ok-1"),
			`{"status":"success","id":"1","output":["https://x/y.png"],"track_id":"obs-ok-1"}`)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		s.postWebhook(t, "obs-ok-1", "forged", `{}`)

		gw := scrape(t, s.gatewayMetrics)
		require.GreaterOrEqual(t, gw.value(t, `genflow_webhooks_total{code="200"}`), 7.0)
		require.GreaterOrEqual(t, gw.value(t, `genflow_webhooks_total{code="401"}`), 1.0)
		require.GreaterOrEqual(t, gw.value(t, `genflow_webhooks_unmatched_total`), 1.0)
		require.GreaterOrEqual(t, gw.value(t, `genflow_webhook_signal_latency_seconds_count{outcome="delivered"}`), 6.0)
		gw.has(t, `genflow_webhook_signal_latency_seconds_bucket{outcome="delivered",le="0.1"}`)
		gw.has(t, `temporal_request_total{`, `namespace="default"`, `operation="SignalWorkflowExecution"`)

		wk := scrape(t, s.workerMetrics)
		// Recorded by the workflows through the SDK: its tags come along.
		gen := []string{`endpoint="images/text2img"`, `namespace="default"`, `task_queue="` + taskQueue + `"`, `workflow_type="Generation"`}
		with := func(labels ...string) []string { return append(slices.Clone(gen), labels...) }
		require.GreaterOrEqual(t, wk.sum(`genflow_generation_latency_seconds_count{`, with(`outcome="succeeded"`, `learned_by="webhook"`)...), 3.0)
		require.Equal(t, 1.0, wk.sum(`genflow_generation_latency_seconds_count{`, with(`outcome="succeeded"`, `learned_by="poll"`)...))
		require.Equal(t, 1.0, wk.sum(`genflow_generation_latency_seconds_count{`, with(`outcome="failed"`)...))
		require.Equal(t, 1.0, wk.sum(`genflow_generation_latency_seconds_count{`, with(`outcome="canceled"`)...))
		wk.has(t, `genflow_generation_latency_seconds_bucket{`, with(`outcome="succeeded"`, `le="21600"`)...)
		require.Equal(t, 1.0, wk.sum(`genflow_poll_fallbacks_total{`, gen...))
		require.GreaterOrEqual(t, wk.value(t, `genflow_provider_errors_total{operation="submit",type="ModelsLabServerError"}`), 1.0)
		require.GreaterOrEqual(t, wk.value(t, `genflow_provider_requests_total{operation="submit"}`), 9.0)
		require.GreaterOrEqual(t, wk.value(t, `genflow_provider_requests_total{operation="fetch"}`), 1.0)
		wk.has(t, `temporal_workflow_completed_total{`, `task_queue="`+taskQueue+`"`, `workflow_type="Generation"`)
		wk.has(t, `temporal_workflow_endtoend_latency_seconds_bucket{`)
		wk.has(t, `temporal_activity_execution_latency_seconds_bucket{`, `activity_type="Submit"`)
		wk.has(t, `temporal_request_total{`, `operation="RespondWorkflowTaskCompleted"`)
		wk.has(t, `temporal_long_request_total{`, `operation="PollWorkflowTaskQueue"`)
		wk.has(t, `temporal_worker_task_slots_available{`)
		// The webhook sent twice: the second copy is either ignored by
		// the open run or found the run closed.
		dups := wk.sum(`genflow_webhook_duplicates_total{`, gen...) + gw.value(t, `genflow_webhooks_unmatched_total`)
		require.GreaterOrEqual(t, dups, 2.0, "the duplicate and the late webhook")
	})

	t.Run("histories with search attribute upserts replay", func(t *testing.T) {
		replayer := worker.NewWorkflowReplayer()
		workflows.Register(replayer)
		for _, id := range []string{"obs-ok-1", "obs-drop-1", "obs-fail-1", "obs-quiet-1", "obs-batch"} {
			desc, err := s.client.DescribeWorkflow(ctx, id, "")
			require.NoError(t, err)
			exec := desc.RawResponse.GetWorkflowExecutionInfo().GetExecution()
			require.NoError(t, replayer.ReplayWorkflowExecution(ctx, s.client.WorkflowService(), nil, "default",
				workflowExecution(exec.GetWorkflowId(), exec.GetRunId())), id)
		}
	})
}

// starter runs the starter in-process against the stack and returns its
// exit code and output.
func (s *stack) starter(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{config.EnvTemporalAddress: s.temporal.Address, config.EnvTaskQueue: taskQueue}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := starter.Main(ctx, args, starter.Env{
		Stdout: &stdout, Stderr: &stderr,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	return code, stdout.String(), stderr.String()
}

// requireListed waits until the visibility query lists exactly ids.
func requireListed(t *testing.T, s *stack, query string, ids ...string) {
	t.Helper()
	var got []string
	eventually(t, "visibility: "+query, func() bool {
		resp, err := s.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: query,
		})
		require.NoError(t, err, query)
		got = got[:0]
		for _, e := range resp.GetExecutions() {
			got = append(got, e.GetExecution().GetWorkflowId())
		}
		slices.Sort(got)
		return slices.Equal(got, ids)
	})
}

// upsertedStates reads the GenflowState values a run upserted, in order.
func upsertedStates(t *testing.T, s *stack, id string) []string {
	t.Helper()
	var states []string
	it := s.client.GetWorkflowHistory(context.Background(), id, "", false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		attrs := ev.GetUpsertWorkflowSearchAttributesEventAttributes()
		if attrs == nil {
			continue
		}
		if p, ok := attrs.GetSearchAttributes().GetIndexedFields()[contract.SAState.GetName()]; ok {
			var v string
			require.NoError(t, json.Unmarshal(p.GetData(), &v))
			states = append(states, v)
		}
	}
	return states
}

// exposition is a scraped /metrics page.
type exposition string

func scrape(t *testing.T, url string) exposition {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return exposition(b)
}

// has requires a series starting with prefix whose line holds every one
// of labels.
func (e exposition) has(t *testing.T, prefix string, labels ...string) {
	t.Helper()
	for _, l := range strings.Split(string(e), "\n") {
		if strings.HasPrefix(l, prefix) && !slices.ContainsFunc(labels, func(s string) bool { return !strings.Contains(l, s) }) {
			return
		}
	}
	t.Fatalf("no series %s with %v in:\n%s", prefix, labels, e.genflow())
}

// value is the value of the series named exactly series.
func (e exposition) value(t *testing.T, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(string(e))
	if m == nil {
		t.Fatalf("no series %s in:\n%s", series, e.genflow())
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

// sum adds the values of every series starting with prefix whose line
// holds every one of labels.
func (e exposition) sum(prefix string, labels ...string) float64 {
	var total float64
	for _, l := range strings.Split(string(e), "\n") {
		if strings.HasPrefix(l, prefix) && !slices.ContainsFunc(labels, func(s string) bool { return !strings.Contains(l, s) }) {
			if i := strings.LastIndexByte(l, ' '); i > 0 {
				v, _ := strconv.ParseFloat(l[i+1:], 64)
				total += v
			}
		}
	}
	return total
}

// genflow is the genflow_ part of the page, for failure messages.
func (e exposition) genflow() string {
	var b strings.Builder
	for _, l := range strings.Split(string(e), "\n") {
		if strings.HasPrefix(l, "genflow_") || strings.HasPrefix(l, "temporal_request_total") {
			fmt.Fprintln(&b, l)
		}
	}
	return b.String()
}
