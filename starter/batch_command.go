package starter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
)

type batchFlags struct {
	endpoint    string
	model       string
	params      string
	pairs       []string
	id          string
	concurrency int
	failFast    bool
	deadline    time.Duration
	grace       time.Duration
	owner       string
	outcome     outcomeFlags
	pageSize    int
	wait        bool
	results     string
	priority    int
	json        bool
}

func newBatchCommand(env *Env) *cobra.Command {
	var f batchFlags
	cmd := &cobra.Command{
		Use:   "batch FILE",
		Short: "Start a batch of generations from a file (JSONL items or a plain prompt list)",
		Long: `batch starts one Batch workflow that runs every item of FILE as a Generation
child, at most --concurrency at a time. FILE is JSONL, one item per line:

  {"endpoint":"text2img","params":{"model_id":"flux","prompt":"a fox"},"track_id":"optional","priority":3}

or a plain list of prompts, one per line, with --endpoint and shared parameters.
With an account limit (the worker's ACCOUNT_QUEUE_LIMIT), items wait for a slot
of the account behind interactive generations: their priority is 1 unless
--priority or the item's "priority" (1 to 9, higher first) says otherwise.
Blank lines and lines starting with # are skipped. Every line is checked before
anything starts. An item without a track_id gets <batch id>-<index>, so a batch
never starts an item twice.`,
		Example: `  starter batch prompts.txt --endpoint text2img --model flux --wait
  starter batch items.jsonl --concurrency 10 --id my-batch --wait --results out.jsonl
  starter batch status my-batch
  starter batch results my-batch > results.jsonl
  starter batch cancel my-batch`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error { return runBatch(cmd.Context(), env, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.endpoint, "endpoint", "", "endpoint of a plain prompt list, default endpoint of JSONL items")
	fl.StringVar(&f.model, "model", "", "model_id for every item (items may override)")
	fl.StringVar(&f.params, "params", "", "shared parameters as a JSON object, or @FILE")
	fl.StringArrayVarP(&f.pairs, "param", "p", nil, "a shared parameter as key=value (repeatable)")
	fl.StringVar(&f.id, "id", "", "batch ID (= workflow ID); new when empty. Reusing one never starts anything twice")
	fl.IntVar(&f.concurrency, "concurrency", contract.DefaultBatchConcurrency, "most generations in flight (your ModelsLab queue: 5, 10 or 15)")
	fl.BoolVar(&f.failFast, "fail-fast", false, "stop the batch at the first failed item")
	fl.DurationVar(&f.deadline, "deadline", 0, "deadline per item (default by category)")
	fl.DurationVar(&f.grace, "poll-grace", 0, "per item, wait past the provider's eta before polling (default 30s)")
	fl.StringVar(&f.owner, "owner", "", "who asked, a free label")
	f.outcome.add(cmd, "the batch's outcome", "every item's outputs")
	fl.IntVar(&f.pageSize, "page-size", contract.DefaultBatchPageSize, "items per page and per workflow run (bounds history length)")
	fl.BoolVar(&f.wait, "wait", false, "wait for the batch, showing a progress bar, then write the results")
	fl.StringVar(&f.results, "results", "", "with --wait, write the results JSONL here (default <batch id>.results.jsonl)")
	fl.BoolVar(&f.json, "json", false, "print JSON documents for scripts")
	fl.IntVar(&f.priority, "priority", 0, "priority of the items that set none, 1 to 9, higher first, at the account limit (default 1; single generations default to 5)")
	cmd.AddCommand(newBatchStatusCommand(env), newBatchResultsCommand(env), newBatchCancelCommand(env))
	return cmd
}

func runBatch(ctx context.Context, env *Env, file string, f batchFlags) error {
	if f.concurrency < 1 || f.concurrency > 1000 {
		return usageErr("--concurrency %d: want 1 to 1000", f.concurrency)
	}
	if f.priority != 0 && (f.priority < 1 || f.priority > contract.PriorityMax) {
		return usageErr("--priority %d: want 1 (lowest) to %d (highest)", f.priority, contract.PriorityMax)
	}
	if f.pageSize < 1 || f.pageSize > 400 {
		return usageErr("--page-size %d: want 1 to 400 (a run's history grows about 10 events per item)", f.pageSize)
	}
	params, err := ParseParams(f.params, f.pairs, os.ReadFile)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.model != "" {
		params["model_id"] = f.model
	}
	fh, err := os.Open(file)
	if err != nil {
		return usageErr("%v", err)
	}
	items, err := ParseBatchFile(file, fh, BatchDefaults{Endpoint: f.endpoint, Params: params})
	fh.Close()
	if err != nil {
		return usageErr("%v", err)
	}
	spec := BatchSpec{ID: f.id, Items: items, Concurrency: f.concurrency,
		FailFast: f.failFast, Deadline: f.deadline, PollGrace: f.grace, Owner: f.owner, PageSize: f.pageSize,
		Priority: f.priority}
	// Refuse what StartBatch would refuse, an ID the batch could not
	// derive its IDs from, say, before anything starts.
	if err := spec.Check(); err != nil {
		if errors.Is(err, genflow.ErrInvalidID) {
			return usageErr("--id: %v", err)
		}
		return usageErr("%v", err)
	}
	if spec.NotifyURL, spec.Store, err = f.outcome.resolve(env); err != nil {
		return err
	}
	tcfg, c, err := env.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := StartBatch(ctx, c, tcfg, spec)
	if err != nil {
		return startError(err)
	}
	if f.json && !f.wait {
		return writeJSON(env.Stdout, map[string]any{"batch_id": st.TrackID, "run_id": st.RunID,
			"already_started": st.AlreadyStarted, "ui_url": st.UIURL, "items": len(items)})
	}
	if !f.json {
		if st.AlreadyStarted {
			fmt.Fprintf(env.Stdout, "batch %s already exists: nothing started again\n", st.TrackID)
		} else {
			fmt.Fprintf(env.Stdout, "started batch %s: %d items, %d at a time\n", st.TrackID, len(items), f.concurrency)
		}
		fmt.Fprintf(env.Stdout, "  Temporal UI: %s\n", st.UIURL)
	}
	if !f.wait {
		if !f.json {
			fmt.Fprintf(env.Stdout, "  follow it: starter batch status %s\n", st.TrackID)
		}
		return nil
	}
	return followBatch(ctx, env, c, st.TrackID, len(items), f)
}

func followBatch(ctx context.Context, env *Env, c client.Client, batchID string, total int, f batchFlags) error {
	prog := newBatchProgress(env.Stdout, total, env.IsTerminal && !f.json, f.json)
	res, werr := WaitBatch(ctx, c, batchID, time.Second, prog.update)
	if werr == nil {
		prog.update(finalBatchState(res))
	}
	prog.finish()
	if ctx.Err() != nil {
		return interrupted(env, "batch", batchID, f.json, nil)
	}
	path := f.results
	if path == "" {
		path = batchID + ".results.jsonl"
	}
	out, err := os.Create(path)
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("results: %w", err)}
	}
	counts, rerr := BatchResults(ctx, c, batchID, out)
	if cerr := out.Close(); rerr == nil {
		rerr = cerr
	}
	if f.json {
		doc := map[string]any{"batch_id": batchID, "results_file": path, "result": res, "item_counts": counts}
		if werr != nil {
			fail := DescribeFailure(werr)
			doc["error"] = fail
		}
		_ = writeJSON(env.Stdout, doc)
	} else {
		if werr != nil {
			fail := DescribeFailure(werr)
			fmt.Fprintf(env.Stdout, "batch %s stopped: %s: %s\n", batchID, fail.Type, fail.Message)
		} else {
			canceled := ""
			if res.Canceled > 0 {
				canceled = fmt.Sprintf(", %d canceled", res.Canceled)
			}
			fmt.Fprintf(env.Stdout, "batch %s done in %s: %d succeeded, %d failed%s (%s)\n", batchID,
				res.Duration.Round(time.Second), res.Succeeded, res.Failed, canceled, plural(res.Runs, "workflow run"))
		}
		for i, fl := range res.Failures {
			if i == 10 {
				fmt.Fprintf(env.Stdout, "  ... %d more failures in %s\n", len(res.Failures)-10+res.FailuresDropped, path)
				break
			}
			fmt.Fprintf(env.Stdout, "  failed #%d %s: %s: %s\n", fl.Index, fl.TrackID, fl.Type, fl.Message)
		}
		fmt.Fprintf(env.Stdout, "  results: %s\n", path)
	}
	switch {
	case rerr != nil:
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("results: %w", rerr)}
	case werr != nil || res.Failed > 0:
		return &ExitError{Code: ExitFailed}
	}
	return nil
}

// finalBatchState is the state a completed batch's result stands for, the
// progress's last tick.
func finalBatchState(res contract.BatchResult) contract.BatchState {
	done := res.Succeeded + res.Failed + res.Canceled
	return contract.BatchState{BatchID: res.BatchID, Total: res.Total, Succeeded: res.Succeeded, Failed: res.Failed,
		Canceled: res.Canceled, Pending: res.Total - done, State: contract.BatchCompleted,
		ItemsPerSecond: float64(done) / max(res.Duration.Seconds(), 0.001)}
}

// batchProgress shows a batch's progress: a bar with counts and ETA on a
// terminal, a line every few seconds otherwise, nothing in JSON mode. Its
// last tick shows the last counts it was given, whether or not the batch
// got through every item, and no line is printed twice at the end.
type batchProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	quiet bool
	total int
	// latest is the last state given; last and printed are when the
	// last line was printed (not on a terminal) and its counts.
	latest  *contract.BatchState
	last    time.Time
	printed string
}

func newBatchProgress(w io.Writer, total int, tty, quiet bool) *batchProgress {
	p := &batchProgress{w: w, quiet: quiet, total: total}
	if tty && !quiet && total > 0 {
		// No throttle: states come a second apart, and a throttled
		// render could leave the last counts unshown.
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("starting"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSpinnerType(14),
		)
	}
	return p
}

// batchCounts describes a state's counts.
func batchCounts(st contract.BatchState) string {
	s := fmt.Sprintf("ok %d  failed %d", st.Succeeded, st.Failed)
	if st.Canceled > 0 {
		s += fmt.Sprintf("  canceled %d", st.Canceled)
	}
	return s + fmt.Sprintf("  running %d", st.Running)
}

func (p *batchProgress) update(st contract.BatchState) {
	if p.quiet {
		return
	}
	p.latest = &st
	if p.bar != nil {
		// The count, then the description: the last render has both.
		_ = p.bar.Set(st.Done())
		p.bar.Describe(fmt.Sprintf("%s  %.1f/s", batchCounts(st), st.ItemsPerSecond))
		return
	}
	if time.Since(p.last) < 5*time.Second && st.Done() < st.Total {
		return
	}
	p.printLine(st)
}

// printLine prints st's line, unless the last line had the same counts.
func (p *batchProgress) printLine(st contract.BatchState) {
	key := fmt.Sprintf("%d/%d  %s", st.Done(), st.Total, batchCounts(st))
	if key == p.printed {
		return
	}
	p.last, p.printed = time.Now(), key
	eta := "-"
	if st.ItemsPerSecond > 0 && st.Done() < st.Total {
		eta = (time.Duration(float64(st.Total-st.Done())/st.ItemsPerSecond) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "  %s %s  %.1f/s  eta %s\n", time.Now().Format("15:04:05"), key, st.ItemsPerSecond, eta)
}

// finish ends the display with the last state given: a full bar only
// when every item is done.
func (p *batchProgress) finish() {
	if p.quiet {
		return
	}
	if p.bar == nil {
		if p.latest != nil {
			p.printLine(*p.latest)
		}
		return
	}
	if p.latest != nil && p.latest.Done() >= p.total {
		_ = p.bar.Finish()
	} else {
		_ = p.bar.Exit()
	}
	fmt.Fprintln(p.w)
}

func newBatchStatusCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status BATCH_ID",
		Short: "Show a batch's counts, throughput and failures",
		Args:  oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			tcfg, c, err := env.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := QueryBatch(cmd.Context(), c, args[0])
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("batch %s: %w", args[0], err)}
			}
			if asJSON {
				return writeJSON(env.Stdout, st)
			}
			fmt.Fprintf(env.Stdout, "batch %s: %s\n", st.BatchID, st.State)
			fmt.Fprintf(env.Stdout, "  items      %s\n", batchItemCounts(st))
			fmt.Fprintf(env.Stdout, "  progress   page %d of %d, run %d, %d at a time, %.2f items/s\n",
				min(st.Page+1, st.Pages), st.Pages, st.Run, st.Concurrency, st.ItemsPerSecond)
			if st.Notified != "" {
				fmt.Fprintf(env.Stdout, "  notified   %s\n", st.Notified)
			}
			for i, f := range st.Failures {
				if i == 10 {
					fmt.Fprintf(env.Stdout, "  ... %d more failures (starter batch results %s)\n", len(st.Failures)-10, st.BatchID)
					break
				}
				fmt.Fprintf(env.Stdout, "  failed #%d %s: %s: %s\n", f.Index, f.TrackID, f.Type, f.Message)
			}
			fmt.Fprintf(env.Stdout, "  Temporal UI: %s\n", UIURL(tcfg, st.BatchID, ""))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the state as JSON")
	return cmd
}

// batchItemCounts says where a batch's items stand: "20 total:
// 5 succeeded, 0 failed, 5 canceled, 0 running, 10 not started". Items
// still pending in a batch that has ended will never start.
func batchItemCounts(st contract.BatchState) string {
	s := fmt.Sprintf("%d total: %d succeeded, %d failed", st.Total, st.Succeeded, st.Failed)
	if st.Canceled > 0 || st.State == contract.BatchCanceled {
		s += fmt.Sprintf(", %d canceled", st.Canceled)
	}
	s += fmt.Sprintf(", %d running", st.Running)
	if st.State == contract.BatchRunning {
		return s + fmt.Sprintf(", %d pending", st.Pending)
	}
	return s + fmt.Sprintf(", %d not started", st.Pending)
}

func newBatchResultsCommand(env *Env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "results BATCH_ID",
		Short: "Write one JSON line per item: track_id, status, output, error",
		Args:  oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := env.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			w := env.Stdout
			if out != "" && out != "-" {
				fh, err := os.Create(out)
				if err != nil {
					return usageErr("%v", err)
				}
				defer fh.Close()
				w = fh
			}
			counts, err := BatchResults(cmd.Context(), c, args[0], w)
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			fmt.Fprintf(env.Stderr, "%s: %s\n", plural(sum(counts), "item"), formatCounts(counts))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func newBatchCancelCommand(env *Env) *cobra.Command {
	return newCancelCommandFor(env, "cancel BATCH_ID", "Cancel a batch and its running generations")
}
