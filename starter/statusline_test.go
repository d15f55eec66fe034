package starter

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

func waiting(since time.Time) contract.State {
	return contract.State{Phase: contract.PhaseWaitingWebhook, ProviderID: "42", Since: since}
}

func TestStatusLineTerminal(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	line := newStatusLine(&buf, true, false)
	since := time.Now().Add(-3 * time.Second)

	line.update(waiting(since))
	first := buf.String()
	require.True(t, strings.HasPrefix(first, "\r\033[K"), "%q", first)
	require.Contains(t, first, "waiting_webhook  provider id 42 for ")
	require.Regexp(t, `for [34]s  webhooks 0  polls 0$`, first)
	require.NotContains(t, first, "\n", "a terminal line is rewritten in place")

	// The same state again still redraws (the spinner and the clock move).
	buf.Reset()
	line.update(waiting(since))
	second := buf.String()
	require.True(t, strings.HasPrefix(second, "\r\033[K"), "%q", second)
	require.NotEqual(t, first, second, "the spinner did not turn")

	buf.Reset()
	st := waiting(since)
	st.Phase, st.Stage, st.Polls, st.WebhooksReceived = contract.PhasePolling, "model_ready", 2, 1
	line.update(st)
	require.Contains(t, buf.String(), "polling  provider id 42  stage model_ready for ")
	require.True(t, strings.HasSuffix(buf.String(), "  webhooks 1  polls 2"), "%q", buf.String())
	require.NotContains(t, buf.String(), "\n")

	buf.Reset()
	line.done()
	require.Equal(t, "\r\033[K", buf.String(), "done clears the line")

	require.Equal(t, "\033[32m✔\033[0m", line.mark(true))
	require.Equal(t, "\033[31m✘\033[0m", line.mark(false))
}

func TestStatusLineTerminalDoneWithoutUpdate(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	line := newStatusLine(&buf, true, false)
	line.done()
	require.Empty(t, buf.String(), "nothing was drawn, so nothing to clear")
}

func TestStatusLinePlain(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	line := newStatusLine(&buf, false, false)
	since := time.Now()

	line.update(contract.State{Phase: contract.PhaseSubmitting, Since: since})
	line.update(contract.State{Phase: contract.PhaseSubmitting, Since: since})
	line.update(waiting(since))
	line.update(waiting(since))
	line.update(waiting(since))
	st := waiting(since)
	st.Phase, st.Polls = contract.PhasePolling, 1
	line.update(st)
	line.done()

	out := buf.String()
	require.NotContains(t, out, "\r")
	require.NotContains(t, out, "\033")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, "one line per change: %q", out)
	clock := `  \d\d:\d\d:\d\d `
	require.Regexp(t, regexp.MustCompile("^"+clock+"submitting  webhooks 0  polls 0$"), lines[0])
	require.Regexp(t, regexp.MustCompile("^"+clock+"waiting_webhook  provider id 42  webhooks 0  polls 0$"), lines[1])
	require.Regexp(t, regexp.MustCompile("^"+clock+"polling  provider id 42  webhooks 0  polls 1$"), lines[2])

	require.Equal(t, "OK", line.mark(true))
	require.Equal(t, "FAILED", line.mark(false))
}

func TestStatusLineJSONIsQuiet(t *testing.T) {
	t.Parallel()

	for _, tty := range []bool{false, true} {
		var buf bytes.Buffer
		line := newStatusLine(&buf, tty, true)
		line.update(contract.State{Phase: contract.PhaseSubmitting, Since: time.Now()})
		line.update(waiting(time.Now()))
		line.done()
		require.Empty(t, buf.String(), "tty %v", tty)
	}
}

// TestStatusLineQueued: a run waiting for its account says where it
// stands, and a new place is a new line off a terminal.
func TestStatusLineQueued(t *testing.T) {
	t.Parallel()
	queued := func(pos int) contract.State {
		return contract.State{Phase: contract.PhaseQueued, Since: time.Now(), Account: &contract.AccountWait{
			Limiter: "genflow-account-1", QueuePosition: contract.QueuePosition{Position: pos, Waiting: 12, InUse: 5, Limit: 5}}}
	}
	var buf bytes.Buffer
	line := newStatusLine(&buf, false, false)
	line.update(queued(3))
	line.update(queued(3))
	line.update(queued(2))
	st := waiting(time.Now())
	st.Account = &contract.AccountWait{Limiter: "genflow-account-1", QueuePosition: contract.QueuePosition{Holding: true}}
	line.update(st)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 3, "%q", buf.String())
	require.Regexp(t, `^  \d\d:\d\d:\d\d queued  waiting for the account: 3rd of 12, limit 5  webhooks 0  polls 0$`, lines[0])
	require.Contains(t, lines[1], "queued  waiting for the account: 2nd of 12, limit 5")
	require.Contains(t, lines[2], "waiting_webhook  provider id 42")
	require.NotContains(t, lines[2], "account", "a run holding its slot no longer waits")

	buf.Reset()
	tty := newStatusLine(&buf, true, false)
	tty.update(queued(1))
	require.Contains(t, buf.String(), "queued  waiting for the account: 1st of 12, limit 5 for ")
}
