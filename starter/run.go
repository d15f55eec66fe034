package starter

import (
	"context"

	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow"
)

// queryRun asks run id for its state through the named query, bounded by
// genflow.QueryTimeout so a missing worker cannot hang the caller; into
// any type, which Describe needs (a raw pipeline state, say).
func queryRun[S any](ctx context.Context, c client.Client, id, runID, name string) (S, error) {
	var st S
	qctx, cancel := context.WithTimeout(ctx, genflow.QueryTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, runID, name)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}
