package webhookgateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/trackid"
	"github.com/genflow/genflow/webhookurl"
)

// Signaler sends a signal to a workflow. A client.Client is one.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg interface{}) error
}

// RouteReader reads a workflow run's route (contract.WorkflowRunRoute)
// by its ID. A client.Client is one.
type RouteReader interface {
	DescribeWorkflow(ctx context.Context, workflowID, runID string) (*client.WorkflowExecutionDescription, error)
}

// HealthChecker asks Temporal whether it serves. A client.Client is one.
type HealthChecker interface {
	CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

var (
	_ Signaler      = client.Client(nil)
	_ HealthChecker = client.Client(nil)
	_ RouteReader   = client.Client(nil)
)

// Metrics records what the gateway does with webhooks; *metrics.Gateway is
// the implementation the binary uses.
type Metrics interface {
	// Webhook records one answer of the webhook route, by status code.
	Webhook(code int)
	// Signal records a signal's outcome (metrics.SignalDelivered,
	// SignalUnmatched, SignalRefused or SignalFailed) and the time from
	// the webhook's arrival to Temporal's answer.
	Signal(outcome string, d time.Duration)
	// Dropped records an authentic webhook answered 200 but not
	// delivered, by reason (DropRefused: Temporal refused the signal for
	// good; DropRunCap: the run had MaxWebhooksPerRun already).
	Dropped(reason string)
}

// Signal outcomes passed to Metrics.Signal; the same strings as package
// metrics' Signal* constants.
const (
	signalDelivered = "delivered"
	signalUnmatched = "unmatched"
	signalRefused   = "refused"
	signalFailed    = "failed"
)

// Reasons passed to Metrics.Dropped; the same strings as package
// metrics' Drop* constants.
const (
	DropRefused = "refused"
	DropRunCap  = "run_cap"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultSignalTimeout = 5 * time.Second
	DefaultRetryAfter    = 5 * time.Second
	// DefaultMaxWebhooksPerRun is the default of Options.MaxWebhooksPerRun:
	// far above what one generation gets (a result, its duplicates, a
	// training's eight stages), far below Temporal's 10,000 signals per
	// run.
	DefaultMaxWebhooksPerRun = 100
	// DefaultRouteWait is the default of Options.RouteWait.
	DefaultRouteWait = 3 * time.Second
)

// readyTimeout bounds the health check behind GET /readyz.
const readyTimeout = 2 * time.Second

// Options configure NewHandler. The zero value of each optional field
// means its default.
type Options struct {
	// Signer verifies the exp and sig of each webhook URL. Required.
	Signer *webhookurl.Signer
	// Signaler delivers webhooks to workflows. Required; a client.Client.
	Signaler Signaler
	// Health backs GET /readyz of NewAdminHandler. Required; a
	// client.Client.
	Health HealthChecker
	// Routes reads the routes of ModelsLab workflow runs, for the
	// webhooks configured on a workflow (webhookurl.WorkflowPathPrefix).
	// Default: Signaler, when it is a RouteReader too (a client.Client
	// is); otherwise that route is not served (404).
	Routes RouteReader
	// RouteWait is how long a webhook configured on a workflow waits for
	// its run's route to appear: Submit records it just after the
	// provider's reply, and a run that ends at once can send its webhook
	// first. Past it the webhook is answered 200 with matched false, and
	// the run learns its result by polling. Default DefaultRouteWait
	// (3 s); the provider waits 30 s for an answer, and RouteWait plus
	// SignalTimeout bounds the whole request.
	RouteWait time.Duration
	// Logger receives the access log and the outcome of each webhook.
	// Default: logs are discarded.
	Logger *slog.Logger
	// MaxBodyBytes caps a webhook body. Default DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// SignalTimeout bounds the SignalWorkflow call per webhook. Default
	// DefaultSignalTimeout (5 s). ModelsLab waits 30 s for an answer.
	SignalTimeout time.Duration
	// RetryAfter is the Retry-After of a 503, rounded up to whole
	// seconds. Default DefaultRetryAfter (5 s).
	RetryAfter time.Duration
	// MaxWebhooksPerRun caps the webhooks this process delivers to one
	// track_id; later ones are answered 200 with delivered false, and
	// counted, so that a leaked URL replayed until it expires cannot push
	// a run to Temporal's limit of 10,000 signals (after which the run
	// could take no webhook at all). The run still learns its result by
	// polling. Each gateway process counts on its own, so a run gets at
	// most this many times the number of gateways (and of their
	// restarts). Default DefaultMaxWebhooksPerRun; negative: no cap.
	MaxWebhooksPerRun int
	// Now is the clock that stamps contract.Webhook.ReceivedAt. Default
	// time.Now.
	Now func() time.Time
	// Metrics records each webhook's answer and signal. Default: nothing
	// is recorded.
	Metrics Metrics
	// MetricsHandler, when set, is served on GET /metrics of
	// NewAdminHandler (the process's Prometheus registry). Default: no
	// /metrics route.
	MetricsHandler http.Handler
}

func (o *Options) validate() error {
	var errs []error
	if o.Signer == nil {
		errs = append(errs, errors.New("Signer is required"))
	}
	if o.Signaler == nil {
		errs = append(errs, errors.New("Signaler is required"))
	}
	if o.Health == nil {
		errs = append(errs, errors.New("Health is required"))
	}
	if o.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxBodyBytes is %d; it must not be negative", o.MaxBodyBytes))
	}
	if o.SignalTimeout < 0 {
		errs = append(errs, fmt.Errorf("SignalTimeout is %s; it must not be negative", o.SignalTimeout))
	}
	if o.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("RetryAfter is %s; it must not be negative", o.RetryAfter))
	}
	if o.RouteWait < 0 {
		errs = append(errs, fmt.Errorf("RouteWait is %s; it must not be negative", o.RouteWait))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.SignalTimeout == 0 {
		o.SignalTimeout = DefaultSignalTimeout
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.MaxWebhooksPerRun == 0 {
		o.MaxWebhooksPerRun = DefaultMaxWebhooksPerRun
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	if o.Routes == nil {
		o.Routes, _ = o.Signaler.(RouteReader)
	}
	if o.RouteWait == 0 {
		o.RouteWait = DefaultRouteWait
	}
	return o
}

// NewHandler returns the gateway's public HTTP handler, for the listener
// the provider reaches: a gin engine in release mode with the webhook
// route and GET /healthz (the process is up, for a proxy or load
// balancer), an access log and panic recovery. Readiness and metrics are
// on NewAdminHandler, never here: this listener faces the internet.
func NewHandler(opts Options) (http.Handler, error) {
	e, h, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	e.POST(webhookRoute, h.webhook)
	if h.opts.Routes != nil {
		e.POST(workflowRoute, h.workflowWebhook)
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		e.Handle(m, "/healthz", h.healthz)
	}
	return e, nil
}

// NewAdminHandler returns the gateway's admin handler, for a listener of
// its own that only operators reach (GATEWAY_ADMIN_ADDR, loopback by
// default): GET /healthz, GET /readyz (Temporal answers its health check)
// and, with opts.MetricsHandler, GET /metrics. It uses opts.Health,
// opts.Logger and opts.MetricsHandler; opts is validated as for
// NewHandler.
func NewAdminHandler(opts Options) (http.Handler, error) {
	e, h, err := newEngine(opts)
	if err != nil {
		return nil, err
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		e.Handle(m, "/healthz", h.healthz)
		e.Handle(m, "/readyz", h.readyz)
		if opts.MetricsHandler != nil {
			e.Handle(m, "/metrics", gin.WrapH(opts.MetricsHandler))
		}
	}
	return e, nil
}

// newEngine validates opts and returns a gin engine with the gateway's
// settings and middleware, and no route.
func newEngine(opts Options) (*gin.Engine, *handler, error) {
	if err := opts.validate(); err != nil {
		return nil, nil, fmt.Errorf("webhook gateway options: %w", err)
	}
	h := &handler{opts: opts.withDefaults()}
	if h.opts.MaxWebhooksPerRun > 0 {
		h.perRun = newRunCounter(runCounterSize)
	}
	// Release mode only silences gin's debug output (route listing and
	// warnings on stdout); the engine is otherwise configured explicitly.
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Redirects would turn a mistyped webhook URL into a 307 the provider
	// may not follow; answer plainly instead.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	// Route on the decoded path: Signer.URL escapes the track_id, and the
	// catch-all below takes it whole, slashes included.
	e.UseRawPath = false
	e.UseEscapedPath = false
	e.RemoveExtraSlash = false
	// No client IP is trusted or used.
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, nil, fmt.Errorf("webhook gateway: %w", err)
	}
	// countWebhook sits outside recover so that it sees the 500 of a
	// panic.
	e.Use(h.accessLog, h.countWebhook, h.recover)
	e.NoRoute(func(c *gin.Context) { c.JSON(http.StatusNotFound, gin.H{"error": "not found"}) })
	e.NoMethod(func(c *gin.Context) { c.JSON(http.StatusMethodNotAllowed, gin.H{"error": "method not allowed"}) })
	return e, h, nil
}

type handler struct {
	opts Options
	// perRun counts the webhooks delivered per track_id; nil without a
	// cap.
	perRun *runCounter
}

// webhookRoute is the webhook route's pattern: the track_id is the rest of
// the path.
const webhookRoute = WebhookPathPrefix + "*track_id"

// WebhookPathPrefix is the route under which webhooks are received; the
// track_id follows it.
const WebhookPathPrefix = webhookurl.PathPrefix

// trackIDKey is the gin context key under which the webhook route leaves
// the track_id for the access log.
const trackIDKey = "webhookgateway.track_id"

func (h *handler) webhook(c *gin.Context) {
	received := h.opts.Now()
	trackID := strings.TrimPrefix(c.Param("track_id"), "/")
	c.Set(trackIDKey, trackID)
	log := h.opts.Logger.With(slog.String("track_id", trackID))
	ctx := c.Request.Context()

	if err := h.opts.Signer.Verify(trackID, c.Query("exp"), c.Query("sig"), received); err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "webhook rejected", slog.String("reason", err.Error()))
		h.abort(c, http.StatusUnauthorized, err.Error())
		return
	}
	if err := trackid.Validate(trackID); err != nil {
		h.reject(c, log, http.StatusBadRequest, err.Error())
		return
	}
	body, ok := h.readBody(c, log)
	if !ok {
		return
	}
	update, err := modelslab.ParseWebhook(body)
	if err != nil {
		h.reject(c, log, http.StatusBadRequest, err.Error())
		return
	}
	if update.TrackID != "" && !modelslab.TrackIDMatches(update.TrackID, trackID) {
		h.reject(c, log, http.StatusBadRequest, "track_id in the body does not match the URL")
		return
	}
	// Training and workflow-run payloads do not echo the track_id; the
	// verified path does, so the workflow always sees it.
	update.TrackID = trackID
	h.deliver(ctx, c, log, trackID, update, received)
}

// readBody checks the Content-Type and the size of a webhook and reads
// its body; false when it answered the request instead.
func (h *handler) readBody(c *gin.Context, log *slog.Logger) ([]byte, bool) {
	// ModelsLab documents no headers for its webhooks: no Content-Type
	// is taken as JSON (the body must parse as such); an explicit other
	// type is refused.
	if ct := c.GetHeader("Content-Type"); ct != "" && !isJSON(ct) {
		h.reject(c, log, http.StatusUnsupportedMediaType, "content type must be application/json")
		return nil, false
	}
	limit := h.opts.MaxBodyBytes
	if c.Request.ContentLength > limit {
		h.tooLarge(c, log)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.tooLarge(c, log)
			return nil, false
		}
		h.reject(c, log, http.StatusBadRequest, "read body: "+err.Error())
		return nil, false
	}
	return body, true
}

// deliver signals update to the run trackID and answers the webhook
// with Temporal's outcome.
func (h *handler) deliver(ctx context.Context, c *gin.Context, log *slog.Logger, trackID string, update modelslab.Result, received time.Time) {
	outcome := []slog.Attr{
		slog.String("status", string(update.Status)),
		slog.String("provider_id", update.ID),
	}
	if h.perRun != nil && h.perRun.get(trackID) >= h.opts.MaxWebhooksPerRun {
		h.opts.Metrics.Dropped(DropRunCap)
		log.LogAttrs(ctx, slog.LevelWarn, "webhook dropped: the run reached its webhook cap",
			append(outcome, slog.Int("cap", h.opts.MaxWebhooksPerRun))...)
		c.JSON(http.StatusOK, gin.H{"matched": true, "delivered": false, "reason": "this run took its maximum number of webhooks"})
		return
	}

	sctx, cancel := context.WithTimeout(ctx, h.opts.SignalTimeout)
	defer cancel()
	err := h.opts.Signaler.SignalWorkflow(sctx, trackID, "", contract.WebhookSignal,
		contract.Webhook{Update: update, ReceivedAt: received})
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		if h.perRun != nil {
			h.perRun.add(trackID)
		}
		h.opts.Metrics.Signal(signalDelivered, h.opts.Now().Sub(received))
		log.LogAttrs(ctx, slog.LevelInfo, "webhook delivered", outcome...)
		c.JSON(http.StatusOK, gin.H{"matched": true})
	case errors.As(err, &notFound):
		h.opts.Metrics.Signal(signalUnmatched, h.opts.Now().Sub(received))
		log.LogAttrs(ctx, slog.LevelInfo, "webhook matched no open workflow",
			append(outcome, slog.String("error", err.Error()))...)
		c.JSON(http.StatusOK, gin.H{"matched": false})
	case !Retryable(err):
		// Retrying cannot help (the run's signal limit, a payload
		// Temporal will never take): tell the provider not to, and
		// leave the result to the run's polls.
		h.opts.Metrics.Signal(signalRefused, h.opts.Now().Sub(received))
		h.opts.Metrics.Dropped(DropRefused)
		log.LogAttrs(ctx, slog.LevelError, "webhook refused by Temporal for good; the run will poll",
			append(outcome, slog.String("error", err.Error()))...)
		c.JSON(http.StatusOK, gin.H{"matched": true, "delivered": false, "reason": "temporal refused the signal: " + err.Error()})
	default:
		h.opts.Metrics.Signal(signalFailed, h.opts.Now().Sub(received))
		log.LogAttrs(ctx, slog.LevelWarn, "signal workflow failed; asking the provider to retry",
			append(outcome, slog.String("error", err.Error()))...)
		h.unavailable(c)
	}
}

// unavailable answers 503 with Retry-After: Temporal could not be
// reached, and the provider may deliver the webhook later.
func (h *handler) unavailable(c *gin.Context) {
	c.Header("Retry-After", strconv.FormatInt(retryAfterSeconds(h.opts.RetryAfter), 10))
	c.JSON(http.StatusServiceUnavailable, gin.H{"error": "temporal unavailable, retry later"})
}

// Retryable reports whether a failed SignalWorkflow call may succeed
// later, so that the webhook is answered 503 and the provider retries:
// Temporal unreachable, unavailable, overloaded or too slow, or refusing
// this gateway's own connection settings (credentials, namespace), which
// an operator can fix while the provider retries. Anything else is a
// refusal of this signal that no retry changes: the run's limit of
// signals, a payload over the size limit (InvalidArgument), a run in a
// state that takes no signal (FailedPrecondition).
func Retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	switch serviceerror.ToStatus(err).Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange, codes.AlreadyExists, codes.Unimplemented:
		return false
	}
	return true
}

func (h *handler) reject(c *gin.Context, log *slog.Logger, status int, reason string) {
	log.LogAttrs(c.Request.Context(), slog.LevelInfo, "webhook rejected",
		slog.Int("status", status), slog.String("reason", reason))
	h.abort(c, status, reason)
}

func (h *handler) tooLarge(c *gin.Context, log *slog.Logger) {
	// The rest of the body is not read; close rather than drain it.
	c.Header("Connection", "close")
	h.reject(c, log, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("body exceeds %d bytes", h.opts.MaxBodyBytes))
}

func (h *handler) abort(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}

func (h *handler) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (h *handler) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if _, err := h.opts.Health.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		h.opts.Logger.LogAttrs(c.Request.Context(), slog.LevelWarn, "temporal health check failed",
			slog.String("error", err.Error()))
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "temporal unreachable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	// A malformed parameter still leaves a usable media type.
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return false
	}
	return mt == "application/json"
}

func retryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}
