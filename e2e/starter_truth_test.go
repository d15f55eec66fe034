package e2e

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
)

// signature matches a webhook URL's signature: a sig parameter with a
// value, plain or URL-encoded, that is not the provider client's
// "[redacted]".
var signature = regexp.MustCompile(`(?i)sig(=|%3D)[A-Za-z0-9_-]{8,}`)

// Issue 16, item 3: while Submit is retried after 429s, the live line,
// show and the state say which attempt is due, when, and why the last one
// failed.
func TestRetriesAreVisible(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 300 * time.Millisecond, RetryAfter: 3 * time.Second})
	require.NoError(t, s.fake.SetFaults(fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
		{Match: "retry-", Fault: fakemodelslab.Fault429, Times: 2},
	}}))

	code, stdout, stderr := s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "retry-1")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	// Decoded by hand: the test reads what --json prints.
	var shown struct {
		LiveState *struct {
			Phase contract.Phase `json:"phase"`
			Retry *struct {
				Activity        string    `json:"activity"`
				Attempt         int       `json:"attempt"`
				LastFailure     string    `json:"last_failure"`
				LastFailureType string    `json:"last_failure_type"`
				NextAttemptAt   time.Time `json:"next_attempt_at"`
			} `json:"retry"`
		} `json:"live_state"`
	}
	eventually(t, "show to report the retry", func() bool {
		code, stdout, _ := s.starter(t, "show", "retry-1", "--json")
		shown.LiveState = nil
		return code == starter.ExitOK && json.Unmarshal([]byte(stdout), &shown) == nil &&
			shown.LiveState != nil && shown.LiveState.Retry != nil
	})
	r := shown.LiveState.Retry
	require.Equal(t, "Submit", r.Activity)
	require.GreaterOrEqual(t, r.Attempt, 2)
	require.Equal(t, "ModelsLabRateLimited", r.LastFailureType)
	require.NotEmpty(t, r.LastFailure)
	require.WithinDuration(t, time.Now(), r.NextAttemptAt, 5*time.Second)
	require.Equal(t, contract.PhaseSubmitting, shown.LiveState.Phase)

	_, stdout, _ = s.starter(t, "show", "retry-1")
	require.Regexp(t, `retrying\s+Submit attempt [23] at \d\d:\d\d:\d\d \([12] failed; last: ModelsLabRateLimited: `, stdout)

	// The state the Go client returns says the same.
	st, err := starter.QueryState(context.Background(), s.client, "retry-1", "")
	require.NoError(t, err)
	if st.Phase == contract.PhaseSubmitting {
		b, err := json.Marshal(st)
		require.NoError(t, err)
		require.Contains(t, string(b), `"retry":{"activity":"Submit"`)
	}

	// The live line of --wait, not on a terminal: one line per change.
	code, stdout, stderr = s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", "a hare", "--track-id", "retry-2", "--wait")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	require.Regexp(t, `submitting  Submit attempt 2 at \d\d:\d\d:\d\d \(1 failed; last: ModelsLabRateLimited: `, stdout)
	require.Regexp(t, `submitting  Submit attempt 3 at \d\d:\d\d:\d\d \(2 failed; last: ModelsLabRateLimited: `, stdout)
	require.Contains(t, stdout, "OK retry-2 succeeded by")

	code, stdout, _ = s.starter(t, "wait", "retry-1", "--json")
	require.Equal(t, starter.ExitOK, code, stdout)
	require.Equal(t, 1, s.fake.Submissions("retry-1"), "accepted once, after two 429s")
}

// Issue 16, item 4: a worker without a notification secret sends nothing,
// and show and the state say so in plain words.
func TestNotifyWithoutSecretSaysSo(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 300 * time.Millisecond},
		func(c *config.Worker) { c.NotifySecrets = nil })
	receiver, received := notifyReceiver(t, 0)
	const want = "failed: the worker has no notification secret (NOTIFY_SECRETS): no notification was sent"

	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "nosecret-1",
		"--notify", receiver+"/hooks", "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	require.Empty(t, received())

	st, err := starter.QueryState(context.Background(), s.client, "nosecret-1", "")
	require.NoError(t, err)
	require.Equal(t, want, st.Notified)

	code, stdout, stderr := s.starter(t, "show", "nosecret-1")
	require.Equal(t, starter.ExitOK, code, stderr)
	require.Regexp(t, `notified\s+`+regexp.QuoteMeta(want)+"\n", stdout)
	code, stdout, stderr = s.starter(t, "show", "nosecret-1", "--json")
	require.Equal(t, starter.ExitOK, code, stderr)
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &d))
	require.Equal(t, want, d["notified"])
}

// Issue 16, item 5: a used ID with other parameters is refused, naming
// what differs, with exit code 4; the same parameters follow the
// existing run. Nothing is submitted twice either way.
func TestReusedIDWithOtherParameters(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 300 * time.Millisecond})

	code, stdout, stderr := s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "reuse-1",
		"--deadline", "20m", "--wait")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)

	code, stdout, stderr = s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", "a hare", "--track-id", "reuse-1",
		"--deadline", "20m")
	require.Equal(t, 4, code, "stdout: %s\nstderr: %s", stdout, stderr)
	require.Contains(t, stderr, "generation track_id reuse-1 is already used by a run with other parameters (params.prompt differs)")
	code, _, stderr = s.starter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "reuse-1")
	require.Equal(t, 4, code, stderr)
	require.Contains(t, stderr, "(deadline differs)")

	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "reuse-1",
		"--deadline", "20m", "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	require.True(t, out.AlreadyStarted)
	require.Equal(t, "succeeded", out.Status)
	require.Equal(t, 1, s.fake.Submissions("reuse-1"))

	// A batch: other items, or other options, are refused before any
	// page holder is started.
	items := writeTestFile(t, "items.txt", "a fox\na hare\n")
	other := writeTestFile(t, "other.txt", "a fox\nan owl\n")
	code, stdout, stderr = s.starter(t, "batch", items, "--endpoint", "text2img", "--model", "flux", "--id", "reuse-b", "--wait",
		"--results", t.TempDir()+"/results.jsonl")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	code, stdout, stderr = s.starter(t, "batch", items, "--endpoint", "text2img", "--model", "flux", "--id", "reuse-b")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	require.Contains(t, stdout, "batch reuse-b already exists")
	code, _, stderr = s.starter(t, "batch", other, "--endpoint", "text2img", "--model", "flux", "--id", "reuse-b")
	require.Equal(t, 4, code, stderr)
	require.Contains(t, stderr, "batch ID reuse-b is already used by a run with other parameters (items differs)")
	code, _, stderr = s.starter(t, "batch", items, "--endpoint", "text2img", "--model", "flux", "--id", "reuse-b", "--concurrency", "2")
	require.Equal(t, 4, code, stderr)
	require.Contains(t, stderr, "(concurrency differs)")

	// A pipeline: other inputs.
	pipe := writeTestFile(t, "one.yaml", `inputs:
  subject: {default: a fox}
steps:
  only:
    endpoint: text2img
    params: {model_id: flux, prompt: "${inputs.subject}"}
`)
	code, stdout, stderr = s.starter(t, "pipeline", "run", pipe, "--id", "reuse-p", "--wait")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	code, _, stderr = s.starter(t, "pipeline", "run", pipe, "--id", "reuse-p", "--input", "subject=an owl")
	require.Equal(t, 4, code, stderr)
	require.Contains(t, stderr, "pipeline ID reuse-p is already used by a run with other parameters (inputs.subject differs)")
	code, stdout, stderr = s.starter(t, "pipeline", "run", pipe, "--id", "reuse-p")
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", stdout, stderr)
	require.Contains(t, stdout, "already exists")
}

// Issue 16, item 7: a notification's data.error is {type, message} as
// --json prints it, timings name their unit, and no webhook signature
// reaches a notification or the starter's JSON.
func TestNotificationPayloadsAreTidy(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 300 * time.Millisecond})
	require.NoError(t, s.fake.SetFaults(fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
		{Match: "tidy-fail", Fault: fakemodelslab.FaultFail},
	}}))
	receiver, received := notifyReceiver(t, 0)

	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "tidy-ok",
		"--notify", receiver+"/hooks", "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	code, failedOut := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "a fox", "--track-id", "tidy-fail",
		"--notify", receiver+"/hooks", "--wait", "--json")
	require.Equal(t, starter.ExitFailed, code, "%+v", failedOut)

	got := received()
	require.Len(t, got, 2)
	bodies := map[string]map[string]any{}
	for _, r := range got {
		require.NotRegexp(t, signature, string(r.body))
		var n map[string]any
		require.NoError(t, json.Unmarshal(r.body, &n))
		bodies[n["type"].(string)] = n["data"].(map[string]any)
	}
	ok := bodies[contract.NotifyGenerationSucceeded]
	require.NotNil(t, ok, "%v", bodies)
	timings := ok["result"].(map[string]any)["timings"].(map[string]any)
	require.Greater(t, timings["total_seconds"], 0.0)
	require.InDelta(t, timings["total"].(float64)/1e9, timings["total_seconds"], 0.001)

	failed := bodies[contract.NotifyGenerationFailed]
	require.NotNil(t, failed, "%v", bodies)
	require.Equal(t, map[string]any{"type": failedOut.Error.Type, "message": failedOut.Error.Message}, failed["error"],
		"data.error is what --json prints")
	require.Equal(t, contract.ErrTypeGenerationFailed, failedOut.Error.Type)

	for _, args := range [][]string{{"show", "tidy-ok", "--json"}, {"result", "tidy-ok", "--json"}, {"wait", "tidy-ok", "--json"}} {
		_, stdout, _ := s.starter(t, args...)
		require.NotRegexp(t, signature, stdout, "%v", args)
		require.Contains(t, stdout, `"total_seconds"`, "%v", args)
	}
}

// writeTestFile writes content to a file named name in a fresh directory.
func writeTestFile(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	path := dir + "/" + name
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}
