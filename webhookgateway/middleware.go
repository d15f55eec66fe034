package webhookgateway

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
)

// accessLog logs one line per request. It logs the path without the
// query: the query holds the sig, which is a credential for its track_id.
func (h *handler) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Duration("latency", time.Since(start)),
		slog.String("remote_addr", c.Request.RemoteAddr),
	}
	if id, ok := c.Get(workflowIDKey); ok {
		attrs = append(attrs, slog.Any("workflow_id", id))
	}
	if id, ok := c.Get(trackIDKey); ok {
		attrs = append(attrs, slog.Any("track_id", id))
	}
	h.opts.Logger.LogAttrs(c.Request.Context(), slog.LevelInfo, "http request", attrs...)
}

// countWebhook records the answer of every request to the webhook routes,
// whatever it is (401 before the body is read, 500 after a panic).
func (h *handler) countWebhook(c *gin.Context) {
	c.Next()
	if p := c.FullPath(); p == webhookRoute || p == workflowRoute {
		h.opts.Metrics.Webhook(c.Writer.Status())
	}
}

// noMetrics records nothing.
type noMetrics struct{}

func (noMetrics) Webhook(int)                  {}
func (noMetrics) Signal(string, time.Duration) {}
func (noMetrics) Dropped(string)               {}

// recover turns a panic in a handler into a logged error and a 500, so
// that one bad request neither crashes the process nor leaves the
// provider without an answer.
func (h *handler) recover(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked as is
			// net/http's way to abort a response on purpose.
			panic(v)
		}
		h.opts.Logger.LogAttrs(c.Request.Context(), slog.LevelError, "panic in handler",
			slog.Any("panic", v),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("stack", string(debug.Stack())))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
	}()
	c.Next()
}
