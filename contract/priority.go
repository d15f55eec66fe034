package contract

import "fmt"

// CheckPriority reports why p cannot be a run's priority: a priority is 1
// (PriorityBatch) to PriorityMax, and zero means the default of where the
// run comes from (PriorityInteractive for a generation or a pipeline
// step, the batch's default for a batch item).
func CheckPriority(p int) error {
	if p < 0 || p > PriorityMax {
		return fmt.Errorf("priority %d: want 1 (lowest, batch default) to %d (highest); %d is an interactive run's default",
			p, PriorityMax, PriorityInteractive)
	}
	return nil
}
