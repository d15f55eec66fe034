// Package notify delivers completion notifications to a URL of the user's,
// signed as the Standard Webhooks specification says
// (https://www.standardwebhooks.com): headers webhook-id,
// webhook-timestamp and webhook-signature, the signature being
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)) for
// each signing key (space-separated, so a key can be rotated). The key is
// written "whsec_" + base64 of its bytes.
//
// A Sender makes one delivery attempt and classifies its outcome; the
// caller (a Temporal activity, for issue 8) retries durably with the same
// message ID. Receivers verify with any Standard Webhooks library; the
// tests verify with the specification's reference Go library.
//
// A notify URL is the user's word: by default a Sender reaches it through
// genflow's outbound policy (public addresses only), follows no redirect,
// and keeps the receiver's reply and the URL's query and user information
// out of its errors, which end up in the run's history.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/genflow/genflow/internal/egress"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix starts a secret's written form.
const secretPrefix = "whsec_"

// MinKeyBytes is the shortest signing key accepted (the specification
// recommends 24 to 64 bytes).
const MinKeyBytes = 24

// Secret is a signing key.
type Secret []byte

// ParseSecret reads a "whsec_"-prefixed base64 key (the prefix may be
// left out).
func ParseSecret(s string) (Secret, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("notify secret is not whsec_ followed by base64: %w", err)
	}
	if len(b) < MinKeyBytes {
		return nil, fmt.Errorf("notify secret is %d bytes; use at least %d random bytes", len(b), MinKeyBytes)
	}
	return b, nil
}

// NewSecret returns a new random 32-byte key.
func NewSecret() (Secret, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// String is the key's written form, "whsec_" + base64.
func (s Secret) String() string { return secretPrefix + base64.StdEncoding.EncodeToString(s) }

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC>" per secret, space-separated, newest first.
func Sign(secrets []Secret, id string, ts time.Time, body []byte) string {
	parts := make([]string, len(secrets))
	for i, s := range secrets {
		m := hmac.New(sha256.New, s)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write(strconv.AppendInt(nil, ts.Unix(), 10))
		m.Write([]byte{'.'})
		m.Write(body)
		parts[i] = "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	return strings.Join(parts, " ")
}

// Message is one notification. The ID must stay the same across retries
// of the same notification, so receivers can drop duplicates.
type Message struct {
	ID   string
	Time time.Time
	Body []byte
}

// Outcome classifies a failed attempt.
type Outcome string

const (
	// Retryable: a network error, a timeout, HTTP 408, 425, 429 or 5xx.
	Retryable Outcome = "retryable"
	// Rejected: any other non-2xx answer (a redirect included: none is
	// followed); retrying would not change it.
	Rejected Outcome = "rejected"
	// Refused: the outbound policy refused the URL before anything was
	// sent (not http or https, or an internal address); retrying would
	// not change it.
	Refused Outcome = "refused"
)

// Error is a failed delivery attempt.
type Error struct {
	Outcome Outcome
	// Status is the HTTP status, 0 when there was no answer.
	Status int
	// RetryAfter is the receiver's Retry-After, when it sent one.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		if text := http.StatusText(e.Status); e.Err == nil || e.Err.Error() == text {
			return fmt.Sprintf("notification %s: HTTP %d %s", e.Outcome, e.Status, text)
		}
		return fmt.Sprintf("notification %s: HTTP %d %s: %v", e.Outcome, e.Status, http.StatusText(e.Status), e.Err)
	}
	return fmt.Sprintf("notification %s: %v", e.Outcome, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Sender POSTs signed messages.
type Sender struct {
	// Secrets sign each message, newest first. At least one.
	Secrets []Secret
	// Client sends the requests. Default: the outbound policy's client
	// (internal/egress), which reaches public addresses only, with a
	// 30 s timeout. Whatever the client, only http and https URLs are
	// sent to and no redirect is followed: a 307 would resend the body
	// and its signature wherever the receiver says.
	Client *http.Client
	// UserAgent is sent with each request. Default "genflow-notify/1".
	UserAgent string
}

// maxReplyBytes bounds how much of a receiver's answer is read (and
// dropped: a reply is never quoted, it would land in the run's history).
const maxReplyBytes = 4 << 10

// defaultClient is the client of a Sender without one.
var defaultClient = sync.OnceValue(func() *http.Client {
	return egress.Policy{MaxRedirects: egress.NoRedirects, Timeout: 30 * time.Second}.Client()
})

// noRedirects answers a redirect with itself.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Send makes one delivery attempt of m to url. A 2xx answer is a
// delivery; anything else is an *Error saying whether to retry. Errors
// name url as egress.Redact does (no user information, no query) and
// quote nothing of the receiver's reply but its status.
func (s *Sender) Send(ctx context.Context, url string, m Message) error {
	if len(s.Secrets) == 0 {
		return errors.New("notify: no signing secret")
	}
	if m.ID == "" {
		return errors.New("notify: message has no ID")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(m.Body))
	if err != nil {
		return &Error{Outcome: Rejected, Err: fmt.Errorf("%s is not a URL", egress.Redact(url))}
	}
	if err := egress.CheckURL(req.URL); err != nil {
		return &Error{Outcome: Refused, Err: err}
	}
	ua := s.UserAgent
	if ua == "" {
		ua = "genflow-notify/1"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ua)
	req.Header.Set(HeaderID, m.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(m.Time.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(s.Secrets, m.ID, m.Time, m.Body))
	c := s.Client
	if c == nil {
		c = defaultClient()
	}
	// Follow no redirect, whatever the client would do.
	nc := *c
	nc.CheckRedirect = noRedirects
	resp, err := nc.Do(req)
	if err != nil {
		err = egress.RedactError(err)
		if egress.IsRefused(err) {
			return &Error{Outcome: Refused, Err: err}
		}
		return &Error{Outcome: Retryable, Err: err}
	}
	defer resp.Body.Close()
	// Read a little of the reply, so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplyBytes))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := &Error{Outcome: Rejected, Status: resp.StatusCode, Err: errors.New(http.StatusText(resp.StatusCode))}
	if resp.StatusCode/100 == 3 {
		e.Err = errors.New("redirects are not followed")
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		e.Outcome = Retryable
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return e
}
