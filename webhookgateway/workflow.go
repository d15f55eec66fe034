package webhookgateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/trackid"
	"github.com/genflow/genflow/webhookurl"
)

// WorkflowPathPrefix is the route under which the webhooks configured on a
// ModelsLab workflow are received; the workflow's id follows it.
const WorkflowPathPrefix = webhookurl.WorkflowPathPrefix

// workflowRoute is the pattern of the workflow webhook route: the
// workflow id is the rest of the path.
const workflowRoute = WorkflowPathPrefix + "*workflow_id"

// workflowIDKey is the gin context key under which the workflow route
// leaves the workflow id for the access log.
const workflowIDKey = "webhookgateway.workflow_id"

// Errors of lookupRoute.
var (
	// errNoRoute: no run's route names the execution, after RouteWait.
	errNoRoute = errors.New("no route")
	// errBadRoute: the route's memo holds no track_id (not one genflow
	// recorded).
	errBadRoute = errors.New("malformed route")
)

// Backoff of the route lookup while the route is not there yet.
const (
	firstRouteRetry = 50 * time.Millisecond
	maxRouteRetry   = time.Second
)

// workflowWebhook serves a webhook configured on a ModelsLab workflow:
// the URL names the workflow (signed), the payload the execution. The
// route recorded by the run's Submit gives the track_id, and the webhook
// is then delivered as a run's own.
func (h *handler) workflowWebhook(c *gin.Context) {
	received := h.opts.Now()
	workflowID := strings.TrimPrefix(c.Param("workflow_id"), "/")
	c.Set(workflowIDKey, workflowID)
	log := h.opts.Logger.With(slog.String("workflow_id", workflowID))
	ctx := c.Request.Context()

	if err := h.opts.Signer.VerifyWorkflow(workflowID, c.Query("exp"), c.Query("sig"), received); err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "webhook rejected", slog.String("reason", err.Error()))
		h.abort(c, http.StatusUnauthorized, err.Error())
		return
	}
	// The track_id rule keeps the id one path segment of printable
	// ASCII, which the route's ID needs.
	if err := trackid.Validate(workflowID); err != nil {
		h.reject(c, log, http.StatusBadRequest, "workflow id: "+err.Error())
		return
	}
	body, ok := h.readBody(c, log)
	if !ok {
		return
	}
	update, payloadWorkflow, err := modelslab.ParseWorkflowWebhook(body)
	if err != nil {
		h.reject(c, log, http.StatusBadRequest, err.Error())
		return
	}
	if payloadWorkflow != "" && payloadWorkflow != workflowID {
		h.reject(c, log, http.StatusBadRequest, "workflow_id in the body does not match the URL")
		return
	}
	if err := trackid.Validate(update.ID); err != nil {
		h.reject(c, log, http.StatusBadRequest, "execution id: "+err.Error())
		return
	}
	log = log.With(slog.String("execution_id", update.ID))

	// RouteWait and one SignalTimeout bound the lookup and the signal
	// together, within the provider's 30 s.
	ctx, cancel := context.WithTimeout(ctx, h.opts.RouteWait+h.opts.SignalTimeout)
	defer cancel()
	trackID, err := h.lookupRoute(ctx, workflowID, update.ID)
	switch {
	case err == nil:
	case errors.Is(err, errNoRoute):
		h.opts.Metrics.Signal(signalUnmatched, h.opts.Now().Sub(received))
		log.LogAttrs(ctx, slog.LevelInfo, "workflow webhook matched no run: no genflow run waits for this execution",
			slog.String("status", string(update.Status)), slog.Duration("waited", h.opts.RouteWait))
		c.JSON(http.StatusOK, gin.H{"matched": false,
			"reason": fmt.Sprintf("no genflow run waits for execution %s of workflow %s", update.ID, workflowID)})
		return
	case Retryable(err) && !errors.Is(err, errBadRoute):
		h.opts.Metrics.Signal(signalFailed, h.opts.Now().Sub(received))
		log.LogAttrs(ctx, slog.LevelWarn, "route lookup failed; asking the provider to retry", slog.String("error", err.Error()))
		h.unavailable(c)
		return
	default:
		h.opts.Metrics.Signal(signalRefused, h.opts.Now().Sub(received))
		h.opts.Metrics.Dropped(DropRefused)
		log.LogAttrs(ctx, slog.LevelError, "route lookup refused by Temporal; the run will poll", slog.String("error", err.Error()))
		c.JSON(http.StatusOK, gin.H{"matched": false, "delivered": false, "reason": "temporal refused the route lookup: " + err.Error()})
		return
	}
	c.Set(trackIDKey, trackID)
	log = log.With(slog.String("track_id", trackID))
	update.TrackID = trackID
	h.deliver(ctx, c, log, trackID, update, received)
}

// lookupRoute returns the track_id of the run waiting for execution
// executionID of workflowID, read from its route's memo. A route not
// there yet is asked for again, backing off, until RouteWait has passed:
// then errNoRoute. Other errors are Temporal's, or a route without a
// track_id.
func (h *handler) lookupRoute(ctx context.Context, workflowID, executionID string) (string, error) {
	id := contract.WorkflowRunRouteID(workflowID, executionID)
	giveUp := time.Now().Add(h.opts.RouteWait)
	wait := firstRouteRetry
	for {
		dctx, cancel := context.WithTimeout(ctx, h.opts.SignalTimeout)
		desc, err := h.opts.Routes.DescribeWorkflow(dctx, id, "")
		cancel()
		var notFound *serviceerror.NotFound
		switch {
		case err == nil:
			return routeTrackID(desc.Memo.GetFields()[contract.WorkflowRunRouteMemo])
		case !errors.As(err, &notFound):
			return "", err
		}
		left := time.Until(giveUp)
		if left <= 0 {
			return "", errNoRoute
		}
		t := time.NewTimer(min(wait, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, maxRouteRetry)
	}
}

// routeTrackID decodes the track_id of a route's memo; errBadRoute when
// it has none that is one.
func routeTrackID(p *commonpb.Payload) (string, error) {
	if p == nil {
		return "", fmt.Errorf("%w: no track_id in its memo", errBadRoute)
	}
	var trackID string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &trackID); err != nil {
		return "", fmt.Errorf("%w: track_id: %v", errBadRoute, err)
	}
	if err := trackid.Validate(trackID); err != nil {
		return "", fmt.Errorf("%w: track_id: %v", errBadRoute, err)
	}
	return trackID, nil
}
