package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/storage"
)

func newListCommand(env *Env) *cobra.Command {
	var f ListFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List runs: what is running, what is stuck, what failed (newest first)",
		Long: `list shows genflow's runs from Temporal's visibility store, filtered by the
search attributes every run carries: its state (a generation's phase), endpoint,
model, owner and parent batch or pipeline. It ends with the Temporal UI link of
the same list. Batch page holders are left out unless --type page or --all.`,
		Example: `  starter list                                   # the last 50 runs
  starter list --status running --state polling  # webhooks that did not come
  starter list --state failed --endpoint text2img --limit 10
  starter list --parent launch-42                # a batch's or a pipeline's generations
  starter list --owner alice --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), env, f, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.State, "state", "", "a generation's phase (submitting, waiting_webhook, polling, storing, succeeded, failed, canceled), a batch's state (running, completed, failed, canceled) or a pipeline's (running, succeeded, partial, failed, canceled)")
	fl.StringVar(&f.Endpoint, "endpoint", "", "endpoint, e.g. text2img or images/text2img")
	fl.StringVar(&f.Model, "model", "", "model_id")
	fl.StringVar(&f.Owner, "owner", "", "owner label given at start")
	fl.StringVar(&f.Parent, "parent", "", "batch or pipeline ID: the runs it started")
	fl.StringVar(&f.Status, "status", "", "running, completed, failed, canceled, terminated, timed_out, continued_as_new")
	fl.StringVar(&f.Type, "type", "", "generation, batch, pipeline or page (default: all but page holders)")
	fl.BoolVar(&f.All, "all", false, "include the batches' page holders and the routes of ModelsLab workflow runs")
	fl.StringVar(&f.Query, "query", "", "a further Temporal visibility query, ANDed with the flags")
	fl.IntVar(&f.Limit, "limit", DefaultListLimit, "most runs listed")
	fl.BoolVar(&asJSON, "json", false, "print a JSON array for scripts")
	return cmd
}

func runList(ctx context.Context, env *Env, f ListFilter, asJSON bool) error {
	if f.Limit < 1 || f.Limit > 10000 {
		return usageErr("--limit %d: want 1 to 10000", f.Limit)
	}
	query, err := f.VisibilityQuery()
	if err != nil {
		return usageErr("%v", err)
	}
	tcfg, c, err := env.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	runs, err := ListRuns(ctx, c, tcfg, f)
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	if asJSON {
		if runs == nil {
			runs = []RunInfo{}
		}
		return writeJSON(env.Stdout, runs)
	}
	if len(runs) == 0 {
		fmt.Fprintln(env.Stdout, "no runs match")
	} else {
		printRuns(env.Stdout, runs, time.Now(), env.IsTerminal, termWidth(env))
	}
	more := ""
	if len(runs) == f.Limit {
		more = fmt.Sprintf(" (the newest %d; --limit for more)", f.Limit)
	}
	fmt.Fprintf(env.Stdout, "%d run(s)%s\n  Temporal UI: %s\n", len(runs), more, ListUIURL(tcfg, query))
	return nil
}

// printRuns writes runs as a table with aligned columns. On a terminal the
// status is coloured and the summary cut to fit width; the TYPE column
// only appears when the runs are of more than one type.
func printRuns(w io.Writer, runs []RunInfo, now time.Time, tty bool, width int) {
	showType := false
	for _, r := range runs[1:] {
		if r.Type != runs[0].Type {
			showType = true
		}
	}
	header := []string{"TRACK_ID", "STATUS", "STATE", "AGE", "TOOK", "SUMMARY"}
	if showType {
		header = append(header[:1], append([]string{"TYPE"}, header[1:]...)...)
	}
	rows := [][]string{header}
	for _, r := range runs {
		took := "-"
		if r.Closed != nil {
			took = shortDuration(r.Duration(now))
		}
		state := r.State
		if state == "" {
			state = "-"
		}
		summary := r.Summary
		if summary == "" {
			summary = r.Endpoint
		}
		row := []string{r.TrackID, r.Status, state, shortDuration(now.Sub(r.Started)), took, summary}
		if showType {
			row = append(row[:1], append([]string{r.Type}, row[1:]...)...)
		}
		rows = append(rows, row)
	}
	statusCol := 1
	if showType {
		statusCol = 2
	}
	writeTable(w, rows, width, func(row, col int, cell string) string {
		if !tty || row == 0 || col != statusCol {
			return cell
		}
		return colourStatus(cell, runs[row-1].Status)
	})
}

// writeTable pads every column but the last to its widest cell, two spaces
// apart, and cuts the last column so a line fits width (0: no limit).
// paint may wrap a padded cell in colour codes: padding is measured
// before, so colours never break the alignment.
func writeTable(w io.Writer, rows [][]string, width int, paint func(row, col int, cell string) string) {
	if len(rows) == 0 {
		return
	}
	cols := len(rows[0])
	widths := make([]int, cols)
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	lead := 0
	for _, wd := range widths[:cols-1] {
		lead += wd + 2
	}
	var b strings.Builder
	for r, row := range rows {
		b.Reset()
		for i, cell := range row {
			if i == cols-1 {
				if width > 0 && lead+utf8.RuneCountInString(cell) > width {
					cell = clip(cell, max(width-lead, 8))
				}
				b.WriteString(paint(r, i, cell))
				break
			}
			pad := widths[i] - utf8.RuneCountInString(cell) + 2
			b.WriteString(paint(r, i, cell))
			b.WriteString(strings.Repeat(" ", pad))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// clip cuts s to n runes, the last one an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ANSI colours, all of one length so that coloured columns stay aligned.
const (
	ansiGreen  = "\033[32m"
	ansiRed    = "\033[31m"
	ansiYellow = "\033[33m"
	ansiCyan   = "\033[36m"
	ansiGrey   = "\033[90m"
	ansiReset  = "\033[0m"
)

func colourStatus(cell, status string) string {
	c := ansiGrey
	switch status {
	case StatusRunning:
		c = ansiCyan
	case StatusCompleted:
		c = ansiGreen
	case StatusFailed, StatusTimedOut:
		c = ansiRed
	case StatusCanceled, StatusTerminated:
		c = ansiYellow
	}
	return c + cell + ansiReset
}

// shortDuration is a duration in its largest unit: 45s, 12m, 3h, 2d.
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// termWidth is the terminal's width, or 0 when Stdout is not a terminal
// (no cutting: the output goes to a file or a pipe). COLUMNS overrides.
func termWidth(env *Env) int {
	if !env.IsTerminal {
		return 0
	}
	if env.Lookup != nil {
		if v, ok := env.Lookup("COLUMNS"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				return n
			}
		}
	}
	if f, ok := env.Stdout.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 120
}

func newShowCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show TRACK_ID",
		Short: "Show one run: search attributes, summary, live state or result, UI link",
		Long: `show describes a run (a generation's track_id, a batch's or a pipeline's ID):
its status, search attributes and summary; while it runs, its live state from
its query (phase, provider request ID, eta, webhooks received, polls made, next
poll, deadline); once closed, its result or error. It ends with the run's
Temporal UI link.`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			tcfg, c, err := env.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			d, err := Describe(cmd.Context(), c, tcfg, args[0], "")
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			if asJSON {
				return writeJSON(env.Stdout, d)
			}
			printDetails(env.Stdout, d, time.Now(), env.IsTerminal)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document for scripts")
	return cmd
}

// printDetails writes a run's details as aligned "key  value" lines.
func printDetails(w io.Writer, d RunDetails, now time.Time, tty bool) {
	status := d.Status
	if tty {
		status = colourStatus(status, d.Status)
	}
	head := fmt.Sprintf("%s  %s  %s", d.TrackID, d.Type, status)
	if d.State != "" {
		head += "  " + d.State
	}
	fmt.Fprintln(w, head)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	line("summary", d.Summary)
	var attrs []string
	for _, kv := range [][2]string{{"endpoint", d.Endpoint}, {"model", d.Model}, {"owner", d.Owner}, {"parent", d.Parent}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0]+" "+kv[1])
		}
	}
	line("attributes", strings.Join(attrs, ", "))
	started := fmt.Sprintf("%s (%s ago)", d.Started.UTC().Format(time.DateTime+" MST"), shortDuration(now.Sub(d.Started)))
	line("started", started)
	if d.Closed != nil {
		line("closed", fmt.Sprintf("%s (took %s)", d.Closed.UTC().Format(time.DateTime+" MST"), d.Duration(now).Round(10*time.Millisecond)))
	}
	line("run", fmt.Sprintf("%s, %d history events", d.RunID, d.HistoryLength))

	switch st := d.LiveState.(type) {
	case *contract.State:
		line("phase", fmt.Sprintf("%s since %s (%s)", st.Phase, st.Since.UTC().Format(time.TimeOnly), shortDuration(now.Sub(st.Since))))
		line("account", accountText(*st))
		if st.ProviderID != "" {
			p := "request " + st.ProviderID
			if st.ETA > 0 {
				p += fmt.Sprintf(", eta %gs", st.ETA)
			}
			if st.Stage != "" {
				p += ", stage " + st.Stage
			}
			line("provider", p)
		}
		line("webhooks", fmt.Sprintf("%d received, %d duplicate(s) ignored", st.WebhooksReceived, st.DuplicatesIgnored))
		polls := fmt.Sprintf("%d made", st.Polls)
		if !st.PollAfter.IsZero() {
			polls += ", next at " + st.PollAfter.UTC().Format(time.TimeOnly)
		}
		line("polls", polls)
		if st.Retry != nil {
			line("retrying", retryText(st.Retry, false, now, time.UTC))
		}
		line("deadline", st.Deadline.UTC().Format(time.DateTime+" MST"))
		line("notified", st.Notified)
	case *contract.BatchState:
		line("progress", fmt.Sprintf("%d of %d done; %s; page %d of %d",
			st.Done(), st.Total, batchItemCounts(*st), min(st.Page+1, st.Pages), st.Pages))
		line("notified", st.Notified)
		line("more", "starter batch status "+d.TrackID)
	case *json.RawMessage:
		line("more", "starter pipeline status "+d.TrackID)
	}
	line("query", d.QueryError)

	switch r := d.Result.(type) {
	case *contract.GenerationResult:
		line("result", fmt.Sprintf("succeeded by %s in %s (%d webhook(s), %d poll(s))",
			r.LearnedBy, r.Timings.Total.Round(10*time.Millisecond), r.WebhooksReceived, r.Polls))
		if r.ProviderID != "" {
			line("provider", "request "+r.ProviderID)
		}
		for _, o := range r.Output {
			line("output", o)
		}
	case *contract.BatchResult:
		line("result", fmt.Sprintf("%d of %d succeeded, %d failed, in %s", r.Succeeded, r.Total, r.Failed, r.Duration.Round(time.Second)))
		line("more", "starter batch results "+d.TrackID)
	case *contract.PipelineResult:
		line("result", fmt.Sprintf("%s, %d step(s)", r.Status, len(r.Steps)))
		line("more", "starter pipeline status "+d.TrackID)
	case *json.RawMessage:
		line("result", clip(string(*r), 200))
	}
	if d.Error != nil {
		line("error", d.Error.Type+": "+d.Error.Message)
	}
	line("notified", d.Notified)
	if d.Failure != nil {
		p := "phase " + string(d.Failure.Phase)
		if d.Failure.ProviderID != "" {
			p += ", provider request " + d.Failure.ProviderID
		}
		line("failed in", p)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "  Temporal UI: %s\n", d.UIURL)
}

func newResultCommand(env *Env) *cobra.Command {
	var asJSON bool
	var dir string
	cmd := &cobra.Command{
		Use:   "result TRACK_ID",
		Short: "Print a finished run's outputs or its failure (exit 1 on failure, 3 if still running)",
		Long: `result prints what a finished run produced: a generation's output URLs (and
their stored copies), or its error with the provider's message. It does not
wait: a run still going exits with code 3 (use "starter wait" to wait). Exit
code 1 means the run failed, was cancelled or was terminated.

With --download DIR it fetches the stored copies of a generation's outputs (of
every step of a pipeline into DIR/<step>/, of every item of a batch into
DIR/<track_id>/) from the worker's storage: a
file:// location is read where it is, an s3:// one through STORE_S3_ENDPOINT
and its keys. Each file appears only once its size and SHA-256 match the
stored copy; a broken download resumes, and running it again skips what is
already there.`,
		Example: `  starter result 0b6e...c1
  starter result 0b6e...c1 --download ./outputs
  starter result pipe-7 --download ./promo --json`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			tcfg, c, err := env.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			return runResult(cmd.Context(), env, c, tcfg, args[0], asJSON, dir)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document for scripts")
	cmd.Flags().StringVar(&dir, "download", "", "fetch the stored copies of the outputs into this directory")
	return cmd
}

// resultOutput is the --json document of result.
type resultOutput struct {
	TrackID   string     `json:"track_id"`
	RunID     string     `json:"run_id"`
	Type      string     `json:"type"`
	Status    string     `json:"status"`
	State     string     `json:"state,omitempty"`
	Result    any        `json:"result,omitempty"`
	Error     *Failure   `json:"error,omitempty"`
	Downloads []Download `json:"downloads,omitempty"`
	UIURL     string     `json:"ui_url"`
}

func runResult(ctx context.Context, env *Env, c client.Client, tcfg config.Temporal, id string, asJSON bool, dir string) error {
	d, err := Describe(ctx, c, tcfg, id, "")
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	out := resultOutput{TrackID: d.TrackID, RunID: d.RunID, Type: d.Type, Status: d.Status, State: d.State,
		Result: d.Result, Error: d.Error, UIURL: d.UIURL}
	code := ExitOK
	switch {
	case d.Status == StatusRunning:
		code = ExitRunning
	case d.Error != nil:
		code = ExitFailed
	}
	if r, ok := d.Result.(*contract.BatchResult); ok && r.Failed > 0 {
		code = ExitFailed // as `starter batch --wait`
	}
	if r, ok := d.Result.(*contract.PipelineResult); ok && r.Status == contract.PipelinePartial {
		code = ExitFailed // steps failed, with continue_on_error
	}
	if !asJSON {
		line := newStatusLine(env.Stdout, env.IsTerminal, false)
		switch {
		case code == ExitRunning:
			fmt.Fprintf(env.Stdout, "%s is still running (%s); `starter wait %s` waits for it\n", d.TrackID, orDash(d.State), d.TrackID)
		case d.Error != nil:
			fmt.Fprintf(env.Stdout, "%s %s %s: %s: %s\n", line.mark(false), d.TrackID, d.Status, d.Error.Type, d.Error.Message)
		default:
			printResult(env.Stdout, line, d)
		}
	}
	var downloadErr error
	// A failed pipeline or batch may still have stored the outputs of
	// the steps or items that succeeded.
	canDownload := code == ExitOK ||
		(d.Type == contract.PipelineWorkflow || d.Type == contract.BatchWorkflow) && d.Status != StatusRunning
	if dir != "" && canDownload {
		cfg, err := env.starterConfig()
		if err != nil {
			return err
		}
		progress := env.Stdout
		if asJSON {
			progress = io.Discard
		}
		out.Downloads, downloadErr = downloadStored(ctx, c, d, dir, s3Options(cfg.S3), progress)
		if downloadErr != nil {
			code = ExitFailed
		}
	}
	if asJSON {
		if err := writeJSON(env.Stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "  Temporal UI: %s\n", d.UIURL)
	}
	if code != ExitOK {
		return &ExitError{Code: code, Err: downloadErr}
	}
	return nil
}

// printResult writes a closed run's result.
func printResult(w io.Writer, line *statusLine, d RunDetails) {
	switch r := d.Result.(type) {
	case *contract.GenerationResult:
		fmt.Fprintf(w, "%s %s succeeded by %s in %s (%d webhook(s), %d poll(s))\n", line.mark(true), d.TrackID,
			r.LearnedBy, r.Timings.Total.Round(10*time.Millisecond), r.WebhooksReceived, r.Polls)
		printOutputs(w, *r)
	case *contract.BatchResult:
		canceled := ""
		if r.Canceled > 0 {
			canceled = fmt.Sprintf(", %d canceled", r.Canceled)
		}
		fmt.Fprintf(w, "%s batch %s: %d of %d succeeded, %d failed%s (`starter batch results %s` for every item)\n",
			line.mark(r.Failed == 0), d.TrackID, r.Succeeded, r.Total, r.Failed, canceled, d.TrackID)
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  failed: #%d %s: %s: %s\n", f.Index, f.TrackID, f.Type, f.Message)
		}
	case *contract.PipelineResult:
		fmt.Fprintf(w, "%s pipeline %s %s\n", line.mark(r.Status == contract.PipelineSucceeded), d.TrackID, r.Status)
		printPipelineStepOutputs(w, r.PipelineState)
	case *json.RawMessage:
		fmt.Fprintf(w, "%s %s %s %s\n", line.mark(true), d.Type, d.TrackID, d.Status)
		_ = writeJSON(w, r)
	default:
		fmt.Fprintf(w, "%s %s %s %s\n", line.mark(true), d.Type, d.TrackID, d.Status)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newCancelCommand(env *Env) *cobra.Command {
	return newCancelCommandFor(env, "cancel TRACK_ID", "Cancel a running generation, batch or pipeline")
}

// newCancelCommandFor is the cancel command under another name: batch
// cancel and pipeline cancel are the same operation on their IDs.
func newCancelCommandFor(env *Env, use, short string) *cobra.Command {
	var wait, asJSON bool
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: `cancel asks a running run to stop. A generation stops waiting for its webhook
and ends canceled (ModelsLab has no cancel call: a request already submitted
may still be processed, and billed, by the provider).

A batch or a pipeline cancels its running generations too, and cancel makes
sure every one of them ends, whatever its state: it waits up to --grace for
them to close, then terminates those still open (a generation whose workflow
tasks keep failing never acts on a cancel request) with a reason naming the
batch or pipeline, and reports how many were cancelled and how many
terminated. A batch or pipeline that has already ended but left generations
open gets the same treatment. Terminating a generation while it submits its
request may lose track of a request ModelsLab accepted: it may still be
processed, and billed, with no run waiting for its result.`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace <= 0 {
				return usageErr("--grace %s: want a positive duration", grace)
			}
			tcfg, c, err := env.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			r, err := Cancel(ctx, c, tcfg, args[0], CancelOptions{Grace: grace})
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			r.UIURL = UIURL(tcfg, r.TrackID, r.RunID)
			r.Status = "cancel_requested"
			if wait {
				werr := c.GetWorkflow(ctx, r.TrackID, "").Get(ctx, nil)
				d, err := Describe(ctx, c, tcfg, r.TrackID, "")
				if err != nil {
					return &ExitError{Code: ExitFailed, Err: errors.Join(werr, err)}
				}
				r.RunInfo = d.RunInfo
			}
			if asJSON {
				return writeJSON(env.Stdout, r)
			}
			if wait {
				fmt.Fprintf(env.Stdout, "%s %s is %s\n", r.Type, r.TrackID, r.Status)
			} else {
				fmt.Fprintf(env.Stdout, "cancel requested: %s %s (`starter show %s` to follow)\n", r.Type, r.TrackID, r.TrackID)
			}
			if r.Type == contract.BatchWorkflow || r.Type == contract.PipelineWorkflow {
				fmt.Fprintf(env.Stdout, "  %d generation(s) open: %d cancelled, %d terminated (still open %s after the request)\n",
					r.Children, r.ChildrenCanceled, r.ChildrenTerminated, grace)
				if r.ChildrenTerminated > 0 {
					fmt.Fprintln(env.Stdout, "  a terminated generation may leave a request ModelsLab still processes, and bills")
				}
			}
			fmt.Fprintf(env.Stdout, "  Temporal UI: %s\n", r.UIURL)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the run has stopped")
	cmd.Flags().DurationVar(&grace, "grace", DefaultCancelGrace,
		"for a batch or pipeline: how long its generations get to close before they are terminated")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document for scripts")
	return cmd
}

// s3Options are the storage options of the STORE_S3_* settings.
func s3Options(s config.S3) storage.S3Options {
	return storage.S3Options{Endpoint: s.Endpoint, Region: s.Region, AccessKey: s.AccessKey, SecretKey: s.SecretKey}
}
