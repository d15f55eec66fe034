package modelslab

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error type names. They are the Temporal application error types the
// activities raise, so workflows list them in NonRetryableErrorTypes and
// tests match on them; keep them stable.
const (
	ErrTypeInvalidKey          = "ModelsLabInvalidKey"
	ErrTypeInsufficientCredits = "ModelsLabInsufficientCredits"
	ErrTypeForbidden           = "ModelsLabForbidden"
	ErrTypeInvalidRequest      = "ModelsLabInvalidRequest"
	ErrTypeNotFound            = "ModelsLabNotFound"
	ErrTypeRateLimited         = "ModelsLabRateLimited"
	ErrTypeServer              = "ModelsLabServerError"
	ErrTypeTransport           = "ModelsLabTransportError"
	ErrTypeBadReply            = "ModelsLabBadReply"
	// ErrTypeUnusableReply: a submit was answered 2xx, so the provider
	// may have accepted (and charged) it, but the reply cannot be
	// followed (not JSON, no status, no request id). Never retried: a
	// retry could submit and charge twice. The message carries the
	// reply, redacted.
	ErrTypeUnusableReply = "ModelsLabUnusableReply"
	// ErrTypeRedirect: the provider answered with a redirect (3xx), which
	// the client never follows: the request carries the API key (and a
	// submit the signed webhook URL), which must reach the configured
	// base URL only. The request was not delivered; not retried, since
	// the same URL answers the same way: check MODELSLAB_BASE_URL.
	ErrTypeRedirect = "ModelsLabRedirect"
)

// NonRetryableErrorTypes are the error types no retry can fix.
var NonRetryableErrorTypes = []string{
	ErrTypeInvalidKey,
	ErrTypeInsufficientCredits,
	ErrTypeForbidden,
	ErrTypeInvalidRequest,
	ErrTypeNotFound,
	ErrTypeUnusableReply,
	ErrTypeRedirect,
}

var _ error = (*Error)(nil)

// Error is a failed call to the provider.
type Error struct {
	// Type is one of the ErrType constants.
	Type string
	// Endpoint is the catalogue name of the endpoint called.
	Endpoint string
	// HTTPStatus is the reply's status code, zero for transport errors.
	HTTPStatus int
	// Message is the provider's message, or a description of what failed.
	Message string
	// RetryAfter is the provider's retry_after on a 429, zero otherwise.
	RetryAfter time.Duration
	// Err is the underlying error for transport failures.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("modelslab ")
	b.WriteString(e.Endpoint)
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending the same request later may succeed.
func (e *Error) Retryable() bool {
	switch e.Type {
	case ErrTypeRateLimited, ErrTypeServer, ErrTypeTransport, ErrTypeBadReply:
		return true
	}
	return false
}

// IsRetryable reports whether err is a provider error worth retrying. Errors
// that are not *Error (context cancellation, programming errors) are not.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// classify picks the error type from the HTTP status and the provider's
// message. The provider sends error bodies under 200 as often as under
// 4xx, so the message decides when the status does not.
func classify(httpStatus int, message string) string {
	m := strings.ToLower(message)
	switch {
	case httpStatus == http.StatusTooManyRequests || strings.Contains(m, "rate limit"):
		return ErrTypeRateLimited
	case httpStatus == http.StatusUnauthorized ||
		strings.Contains(m, "invalid api key") || strings.Contains(m, "api key required") ||
		strings.Contains(m, "invalid key") || strings.Contains(m, "key is required"):
		return ErrTypeInvalidKey
	case httpStatus == http.StatusPaymentRequired || strings.Contains(m, "insufficient credit") ||
		strings.Contains(m, "out of credit") || strings.Contains(m, "insufficient balance"):
		return ErrTypeInsufficientCredits
	case httpStatus == http.StatusForbidden || strings.Contains(m, "premium subscription"):
		return ErrTypeForbidden
	case httpStatus >= 500 || httpStatus == http.StatusRequestTimeout:
		return ErrTypeServer
	case httpStatus == http.StatusNotFound:
		return ErrTypeNotFound
	default:
		return ErrTypeInvalidRequest
	}
}
