package starter

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/modelslab"
)

// completionTimeout bounds what a shell completion may spend asking
// Temporal for run IDs: a completion that hangs is worse than none.
const completionTimeout = 2 * time.Second

// completionRuns is how many of the newest runs a completion offers.
const completionRuns = 200

// completeEndpoints completes an ENDPOINT with the catalogue's names and
// their unambiguous short forms, each described by its category.
func completeEndpoints(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, e := range modelslab.Endpoints() {
		for _, name := range []string{e.Name, e.ShortName()} {
			if name == "" {
				continue
			}
			if strings.HasPrefix(name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(name, string(e.Category)))
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeRunIDs completes the ID of a run of one of types (all genflow
// runs but the batches' page holders when none), asking Temporal for the
// newest runs within completionTimeout; it offers nothing when Temporal
// cannot be reached.
func completeRunIDs(env *Env, types ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		runs, err := env.recentRuns(ctx, types)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		seen := map[string]bool{}
		for _, r := range runs {
			if seen[r.TrackID] || !strings.HasPrefix(r.TrackID, toComplete) {
				continue
			}
			seen[r.TrackID] = true
			out = append(out, cobra.CompletionWithDesc(r.TrackID, strings.TrimSpace(r.Type+" "+r.Status+" "+r.Summary)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// recentRuns lists the newest runs of types, bounded by ctx, dialling
// Temporal in the background so a server that does not answer cannot
// hold the shell past ctx.
func (env *Env) recentRuns(ctx context.Context, types []string) ([]RunInfo, error) {
	type dialed struct {
		cfg config.Temporal
		c   client.Client
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		cfg, c, err := env.connect()
		ch <- dialed{cfg, c, err}
	}()
	var d dialed
	select {
	case d = <-ch:
	case <-ctx.Done():
		go func() {
			if d := <-ch; d.err == nil {
				d.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
	if d.err != nil {
		return nil, d.err
	}
	defer d.c.Close()
	f := ListFilter{Limit: completionRuns}
	if len(types) > 0 {
		quoted := make([]string, len(types))
		for i, t := range types {
			quoted[i] = "WorkflowType = \"" + t + "\""
		}
		f.Query = strings.Join(quoted, " OR ")
	}
	// The summaries cost one call per run; the IDs alone are enough to
	// complete, and the list's own fields describe them.
	return listRuns(ctx, d.c, d.cfg, f, false)
}

// addCompletions registers the completion of flags and arguments that
// have a known set of values.
func addCompletions(root *cobra.Command, env *Env) {
	ids := map[string]cobra.CompletionFunc{
		"wait": completeRunIDs(env), "show": completeRunIDs(env), "result": completeRunIDs(env), "cancel": completeRunIDs(env),
		"gallery":      completeRunIDs(env, contract.GenerationWorkflow, contract.BatchWorkflow, contract.PipelineWorkflow),
		"batch status": completeRunIDs(env, contract.BatchWorkflow), "batch results": completeRunIDs(env, contract.BatchWorkflow),
		"batch cancel":    completeRunIDs(env, contract.BatchWorkflow),
		"pipeline status": completeRunIDs(env, contract.PipelineWorkflow),
		"pipeline cancel": completeRunIDs(env, contract.PipelineWorkflow),
		"generate":        completeEndpoints,
	}
	for path, fn := range ids {
		if cmd, _, err := root.Find(strings.Fields(path)); err == nil && cmd != root {
			cmd.ValidArgsFunction = fn
		}
	}
	fixed := func(values ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	if list, _, err := root.Find([]string{"list"}); err == nil {
		_ = list.RegisterFlagCompletionFunc("state", fixed(States...))
		_ = list.RegisterFlagCompletionFunc("status", fixed(StatusRunning, StatusCompleted, StatusFailed, StatusCanceled,
			StatusTerminated, StatusTimedOut, StatusContinuedAsNew))
		_ = list.RegisterFlagCompletionFunc("type", fixed("generation", "batch", "pipeline", "page"))
		_ = list.RegisterFlagCompletionFunc("endpoint", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return completeEndpoints(cmd, nil, toComplete)
		})
	}
	if batch, _, err := root.Find([]string{"batch"}); err == nil {
		_ = batch.RegisterFlagCompletionFunc("endpoint", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return completeEndpoints(cmd, nil, toComplete)
		})
	}
}
