package starter

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
)

// awaitRun blocks until run id ends and returns its result, calling tick
// about every interval while it runs (to show live state). runID empty
// follows the run chain through continue-as-new.
func awaitRun[R any](ctx context.Context, c client.Client, id, runID string, interval time.Duration, tick func()) (R, error) {
	type outcome struct {
		res R
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		o.err = c.GetWorkflow(ctx, id, runID).Get(ctx, &o.res)
		done <- o
	}()
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case o := <-done:
			return o.res, o.err
		case <-ctx.Done():
			var zero R
			return zero, ctx.Err()
		case <-ticker.C:
			if tick != nil {
				tick()
			}
		}
	}
}

// querying returns a tick that queries the run's state and hands it to
// onState, or nil when there is no onState.
func querying[S any](ctx context.Context, query func(context.Context) (S, error), onState func(S)) func() {
	if onState == nil {
		return nil
	}
	return func() {
		if st, err := query(ctx); err == nil {
			onState(st)
		}
	}
}

// queryRun asks run id for its state through the named query, bounded to
// 5 s so a missing worker cannot hang the caller.
func queryRun[S any](ctx context.Context, c client.Client, id, runID, name string) (S, error) {
	var st S
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, runID, name)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}
