package starter

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/internal/config"
)

// DefaultCancelGrace is CancelOptions.Grace's default.
const DefaultCancelGrace = genflow.DefaultCancelGrace

// CancelOptions tune Cancel.
type CancelOptions struct {
	// Grace is how long a batch's or pipeline's child runs get to close
	// after the cancel request before they are terminated. Zero means
	// DefaultCancelGrace.
	Grace time.Duration
	// Poll is how often Cancel looks for child runs still open during
	// the grace. Zero means 250 ms.
	Poll time.Duration
}

// CancelReport is what Cancel did.
type CancelReport struct {
	RunInfo
	// Children is how many child runs (generations) of a batch or
	// pipeline were open when it was cancelled or started after.
	Children int `json:"children"`
	// ChildrenCanceled closed by themselves within the grace.
	ChildrenCanceled int `json:"children_canceled"`
	// ChildrenTerminated were still open when the grace ran out, and
	// were terminated.
	ChildrenTerminated int `json:"children_terminated"`
}

// Cancel asks a running run to cancel: a generation stops waiting, a
// batch or a pipeline cancels its running generations, and every child
// run of a batch or pipeline still open after opts.Grace is terminated,
// with a reason naming the parent and "(by the genflow starter)". It is
// genflow.Client.Cancel, whose comment says more.
//
// Cancel returns an error if no run is under id, or if it has ended and
// left nothing open.
func Cancel(ctx context.Context, c client.Client, cfg config.Temporal, id string, opts CancelOptions) (CancelReport, error) {
	r, err := newClient(c, cfg).Cancel(ctx, id, genflow.CancelOptions{Grace: opts.Grace, Poll: opts.Poll, By: "the genflow starter"})
	return CancelReport{
		RunInfo:            RunInfo{TrackID: r.ID, RunID: r.RunID, Type: r.Type, Status: r.Status},
		Children:           r.Children,
		ChildrenCanceled:   r.ChildrenCanceled,
		ChildrenTerminated: r.ChildrenTerminated,
	}, err
}
