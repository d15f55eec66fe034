package starter

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/genflow/genflow"
)

// argHints say where to find the argument a command's Use line names.
var argHints = map[string]string{
	"ENDPOINT":    " (`starter endpoints` lists them)",
	"TRACK_ID":    " (a generation's track_id, or a batch's or pipeline's ID; `starter list` shows the runs)",
	"BATCH_ID":    " (`starter list --type batch` shows the batches)",
	"PIPELINE_ID": " (`starter list --type pipeline` shows the pipelines)",
	"FILE":        "",
	"WORKFLOW_ID": " (the ModelsLab workflow's id, as its run URL names it)",
}

// oneArg takes exactly one argument, the one the command's Use line names
// ("generate ENDPOINT"), and says in those words what is missing or too
// many: "starter generate: missing ENDPOINT (`starter endpoints` lists
// them)", not cobra's "accepts 1 arg(s), received 0".
func oneArg(cmd *cobra.Command, args []string) error {
	name := "ARGUMENT"
	if f := strings.Fields(cmd.Use); len(f) > 1 {
		name = f[1]
	}
	switch {
	case len(args) == 0:
		return usageErr("%s: missing %s%s", cmd.CommandPath(), name, argHints[name])
	case len(args) > 1:
		return usageErr("%s: one %s, not %d (%s)", cmd.CommandPath(), name, len(args), strings.Join(quoteAll(args), " "))
	}
	return nil
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = fmt.Sprintf("%q", a)
	}
	return out
}

// plural is "1 run", "2 runs".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// itemStatusOrder is the order item counts are printed in.
var itemStatusOrder = []string{genflow.ItemSucceeded, genflow.ItemFailed, genflow.ItemCanceled, genflow.ItemRunning,
	genflow.ItemNotStarted, genflow.ItemUnknown}

// formatCounts writes item counts by status in words: "192 succeeded,
// 8 failed".
func formatCounts(counts map[string]int) string {
	var parts []string
	for _, s := range itemStatusOrder {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(s, "_", " ")))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		if n := counts[s]; n > 0 && !slices.Contains(itemStatusOrder, s) {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
