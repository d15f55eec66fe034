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
	"time"
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
	// Rejected: any other non-2xx answer; retrying would not change it.
	Rejected Outcome = "rejected"
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
		return fmt.Sprintf("notification %s: HTTP %d: %v", e.Outcome, e.Status, e.Err)
	}
	return fmt.Sprintf("notification %s: %v", e.Outcome, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Sender POSTs signed messages.
type Sender struct {
	// Secrets sign each message, newest first. At least one.
	Secrets []Secret
	// Client sends the requests. Default: a client with a 30 s timeout.
	Client *http.Client
	// UserAgent is sent with each request. Default "genflow-notify/1".
	UserAgent string
}

// maxReplyBytes bounds how much of a receiver's answer is read (for the
// error message).
const maxReplyBytes = 4 << 10

// Send makes one delivery attempt of m to url. A 2xx answer is a
// delivery; anything else is an *Error saying whether to retry.
func (s *Sender) Send(ctx context.Context, url string, m Message) error {
	if len(s.Secrets) == 0 {
		return errors.New("notify: no signing secret")
	}
	if m.ID == "" {
		return errors.New("notify: message has no ID")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(m.Body))
	if err != nil {
		return &Error{Outcome: Rejected, Err: err}
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
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return &Error{Outcome: Retryable, Err: err}
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := &Error{Outcome: Rejected, Status: resp.StatusCode, Err: fmt.Errorf("%s", bytes.TrimSpace(reply))}
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
