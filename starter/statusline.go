package starter

import (
	"fmt"
	"io"
	"time"

	"github.com/genflow/genflow/contract"
)

// statusLine shows a generation's live state: rewritten in place on a
// terminal, one line per change otherwise, nothing in JSON mode.
type statusLine struct {
	w       io.Writer
	tty     bool
	quiet   bool
	last    string
	spin    int
	written bool
}

func newStatusLine(w io.Writer, tty, quiet bool) *statusLine {
	return &statusLine{w: w, tty: tty, quiet: quiet}
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (s *statusLine) update(st contract.State) {
	if s.quiet {
		return
	}
	text := string(st.Phase)
	if w := accountText(st); w != "" {
		text += "  " + w
	}
	if st.ProviderID != "" {
		text += "  provider id " + st.ProviderID
	}
	if st.Stage != "" {
		text += "  stage " + st.Stage
	}
	if st.Retry != nil {
		text += "  " + retryText(st.Retry, s.tty, time.Now(), time.Local)
	}
	counts := fmt.Sprintf("  webhooks %d  polls %d", st.WebhooksReceived, st.Polls)
	if s.tty {
		s.spin = (s.spin + 1) % len(spinner)
		elapsed := time.Since(st.Since).Round(time.Second)
		fmt.Fprintf(s.w, "\r\033[K%s %s for %s%s", spinner[s.spin], text, elapsed, counts)
		s.written = true
		return
	}
	if text != s.last {
		fmt.Fprintf(s.w, "  %s %s%s\n", time.Now().Format("15:04:05"), text, counts)
		s.last = text
	}
}

// accountText says where a queued run stands at its account: "waiting
// for the account: 3rd of 12, limit 5" (the genflow client refreshes the
// place from the limiter while the run waits); "" when it is not queued.
func accountText(st contract.State) string {
	if st.Phase != contract.PhaseQueued || st.Account == nil {
		return ""
	}
	return "waiting for the account: " + st.Account.String()
}

// retryText says which attempt of which activity is due, and why the
// last one failed: "Submit attempt 3 at 15:04:05 (2 failed; last:
// ModelsLabRateLimited: queue full)". On a terminal the time is a
// countdown ("in 4s"); elsewhere a clock time in loc, so the line only
// changes when the retry does.
func retryText(r *contract.Retry, relative bool, now time.Time, loc *time.Location) string {
	s := fmt.Sprintf("%s attempt %d", r.Activity, r.Attempt)
	switch {
	case r.NextAttemptAt.IsZero():
		s += " running"
	case relative:
		s += " in " + max(r.NextAttemptAt.Sub(now), 0).Round(time.Second).String()
	default:
		s += " at " + r.NextAttemptAt.In(loc).Format(time.TimeOnly)
	}
	last := r.LastFailure
	if r.LastFailureType != "" {
		last = r.LastFailureType + ": " + last
	}
	return fmt.Sprintf("%s (%d failed; last: %s)", s, r.Attempt-1, last)
}

func (s *statusLine) done() {
	if s.tty && s.written {
		fmt.Fprint(s.w, "\r\033[K")
	}
}

func (s *statusLine) mark(ok bool) string {
	switch {
	case !s.tty && ok:
		return "OK"
	case !s.tty:
		return "FAILED"
	case ok:
		return "\033[32m✔\033[0m"
	default:
		return "\033[31m✘\033[0m"
	}
}
