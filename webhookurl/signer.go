// Package webhookurl builds and checks genflow's per-request webhook URLs.
// ModelsLab does not sign webhooks, so each request gets a URL of its own:
//
//	{public URL}/webhooks/modelslab/{track_id}?exp={unix seconds}&sig={MAC}
//
// where MAC is HMAC-SHA256(secret, "genflow-webhook-v2\n" + track_id +
// "\n" + exp), base64url without padding. The worker builds URLs with a
// Signer and the gateway checks them with one, so the two never disagree.
// exp is the run's deadline plus a margin: a URL that leaks (through the
// provider's echo of request parameters, a log, a history) cannot be
// replayed once its run is over.
//
// Releases before expiring URLs signed the track_id alone, with no exp;
// those URLs are still accepted unless Options.RefuseUnexpiring is set,
// so runs that were waiting when the gateway was upgraded still get their
// webhooks.
//
// A ModelsLab workflow takes one webhook URL, configured on the workflow
// (in ModelsLab's workflow editor), not one per run. genflow's URL for it
// names the workflow, not a run:
//
//	{public URL}/webhooks/modelslab-workflow/{workflow_id}?sig={MAC}
//
// where MAC is HMAC-SHA256(secret, "genflow-modelslab-workflow-v1\n" +
// workflow_id + "\n" + exp), exp empty for a URL without expiry (the
// usual form: the URL is set once on the workflow) and Unix seconds for
// one with an expiry (then &exp= is in the URL too). The label keeps the
// two kinds apart: no per-run sig verifies as a workflow sig, or the
// other way round. The gateway routes such a webhook to the run waiting
// for its execution_id.
//
// The package has no dependency on the gateway's HTTP stack: the worker
// links it without gin.
package webhookurl

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PathPrefix is the route under which webhooks are received; the track_id
// follows it.
const PathPrefix = "/webhooks/modelslab/"

// WorkflowPathPrefix is the route under which the webhooks configured on
// a ModelsLab workflow are received; the workflow's id follows it.
const WorkflowPathPrefix = "/webhooks/modelslab-workflow/"

// MinSecretLen is the shortest webhook secret NewSigner accepts.
const MinSecretLen = 16

// Errors of Verify.
var (
	// ErrBadSignature: the sig is missing, malformed or made by none of
	// the secrets for this track_id and exp.
	ErrBadSignature = errors.New("invalid signature")
	// ErrExpired: the URL was genuine but its exp has passed.
	ErrExpired = errors.New("webhook URL expired")
	// ErrUnexpiring: the URL has no exp and the Signer refuses such URLs.
	ErrUnexpiring = errors.New("webhook URL has no expiry")
)

// Options configure NewSigner.
type Options struct {
	// PublicURL is the gateway's public root URL (http or https), under
	// which URL builds webhook URLs. Empty when only verifying.
	PublicURL string
	// Secrets are the HMAC keys, newest first, each at least
	// MinSecretLen bytes. URLs are signed with the first and any of them
	// verifies, so a secret can be rotated without downtime. Required.
	Secrets []string
	// RefuseUnexpiring refuses URLs without exp, the form releases before
	// expiring URLs handed out. Default false: they are accepted (they
	// are signed all the same), so runs started before an upgrade still
	// complete by webhook. Set it once no such run is open.
	RefuseUnexpiring bool
}

// Signer builds and checks webhook URLs. It is safe for concurrent use.
type Signer struct {
	// macs hold one HMAC-SHA256 per secret, newest first. Pooled: a keyed
	// HMAC costs allocations to build and is not safe for concurrent use.
	macs []*sync.Pool
	// urlPrefix is the public URL's escaped form up to the track_id
	// (scheme, host, path prefix and PathPrefix); empty without a public
	// URL.
	urlPrefix string
	// workflowPrefix is urlPrefix with WorkflowPathPrefix in place of
	// PathPrefix.
	workflowPrefix   string
	refuseUnexpiring bool
}

// NewSigner returns a Signer for opts.
func NewSigner(opts Options) (*Signer, error) {
	s := &Signer{refuseUnexpiring: opts.RefuseUnexpiring}
	for i, sec := range opts.Secrets {
		if len(sec) < MinSecretLen {
			return nil, fmt.Errorf("webhook secret %d is %d bytes; use at least %d random bytes", i+1, len(sec), MinSecretLen)
		}
		key := []byte(sec)
		s.macs = append(s.macs, &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }})
	}
	if len(s.macs) == 0 {
		return nil, errors.New("no webhook secret given")
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("public URL %q is not an http(s) URL", opts.PublicURL)
		}
		base := strings.TrimSuffix(u.Path, "/")
		u.RawQuery, u.Fragment = "", ""
		for _, p := range []struct {
			dst    *string
			prefix string
		}{{&s.urlPrefix, PathPrefix}, {&s.workflowPrefix, WorkflowPathPrefix}} {
			u.Path, u.RawPath = base+p.prefix, ""
			u.RawPath = u.EscapedPath()
			*p.dst = u.String()
		}
	}
	return s, nil
}

// sigLen is the length of a sig: 32 bytes of HMAC-SHA256, base64url
// without padding.
var sigLen = base64.RawURLEncoding.EncodedLen(sha256.Size)

// sigEncoding decodes sigs strictly, so that each MAC has one sig.
var sigEncoding = base64.RawURLEncoding.Strict()

// v2Label starts the signed message of an expiring URL. A track_id holds
// no newline, so no expiring URL's message is another URL's track_id.
const v2Label = "genflow-webhook-v2\n"

// urlKind is what a URL's MAC is of: a run's URL (keyed by track_id) or
// a ModelsLab workflow's (keyed by workflow ID). The kinds' messages
// never equal each other (see workflowLabel).
type urlKind bool

const (
	runURL      urlKind = false
	workflowURL urlKind = true
)

// mac appends the MAC of the URL of kind for id under the secret of pool
// to dst; exp is empty for a URL without expiry.
func mac(pool *sync.Pool, dst []byte, kind urlKind, id, exp string) []byte {
	m := pool.Get().(hash.Hash)
	m.Reset()
	// A hash.Hash never fails to write.
	switch {
	case kind == workflowURL:
		_, _ = io.WriteString(m, workflowLabel)
		_, _ = io.WriteString(m, id)
		_, _ = io.WriteString(m, "\n")
		_, _ = io.WriteString(m, exp)
	case exp != "":
		_, _ = io.WriteString(m, v2Label)
		_, _ = io.WriteString(m, id)
		_, _ = io.WriteString(m, "\n")
		_, _ = io.WriteString(m, exp)
	default:
		_, _ = io.WriteString(m, id)
	}
	dst = m.Sum(dst)
	pool.Put(m)
	return dst
}

// Sign returns the sig of the URL for trackID that expires at expires,
// under the newest secret.
func (s *Signer) Sign(trackID string, expires time.Time) string {
	return s.sign(trackID, formatExp(expires))
}

func (s *Signer) sign(trackID, exp string) string { return s.signKind(runURL, trackID, exp) }

func (s *Signer) signKind(kind urlKind, id, exp string) string {
	var buf [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(mac(s.macs[0], buf[:0], kind, id, exp))
}

// formatExp is expires as exp carries it: Unix seconds, rounded up.
func formatExp(expires time.Time) string {
	sec := expires.Unix()
	if expires.Nanosecond() > 0 {
		sec++
	}
	return strconv.FormatInt(sec, 10)
}

// maxExpDigits bounds exp: Unix seconds until the year 33658.
const maxExpDigits = 12

// Verify checks the URL parameters exp and sig of a webhook for trackID
// at now: nil when sig was made by any of the secrets and exp has not
// passed; ErrBadSignature, ErrExpired or ErrUnexpiring otherwise. Every
// secret is tried, and the MACs are compared in constant time. The
// signature is checked before the expiry, so ErrExpired is only ever
// said of a genuine URL.
func (s *Signer) Verify(trackID, exp, sig string, now time.Time) error {
	if err := s.verify(runURL, trackID, exp, sig, now); err != nil {
		return err
	}
	if exp == "" && s.refuseUnexpiring {
		return ErrUnexpiring
	}
	return nil
}

// verify checks sig and exp of a URL of kind for id: ErrBadSignature
// unless sig was made by one of the secrets (all tried, compared in
// constant time), then ErrExpired if exp has passed.
func (s *Signer) verify(kind urlKind, id, exp, sig string, now time.Time) error {
	var got [sha256.Size]byte
	if len(sig) != sigLen {
		return ErrBadSignature
	}
	if n, err := sigEncoding.Decode(got[:], []byte(sig)); err != nil || n != sha256.Size {
		return ErrBadSignature
	}
	expAt, valid := parseExp(exp)
	if !valid {
		return ErrBadSignature
	}
	ok := 0
	var want [sha256.Size]byte
	for _, pool := range s.macs {
		ok |= subtle.ConstantTimeCompare(mac(pool, want[:0], kind, id, exp), got[:])
	}
	switch {
	case ok != 1:
		return ErrBadSignature
	case exp != "" && now.Unix() >= expAt:
		return ErrExpired
	}
	return nil
}

// workflowLabel starts the signed message of a workflow URL. Neither
// other kind of message can equal one: an unexpiring per-run message is
// a track_id, which holds no newline, and an expiring one starts with
// v2Label.
const workflowLabel = "genflow-modelslab-workflow-v1\n"

// SignWorkflow returns the sig of the workflow URL for workflowID, under
// the newest secret; a zero expires means no expiry.
func (s *Signer) SignWorkflow(workflowID string, expires time.Time) string {
	return s.signWorkflow(workflowID, workflowExp(expires))
}

func (s *Signer) signWorkflow(workflowID, exp string) string {
	return s.signKind(workflowURL, workflowID, exp)
}

func workflowExp(expires time.Time) string {
	if expires.IsZero() {
		return ""
	}
	return formatExp(expires)
}

// VerifyWorkflow checks the URL parameters exp and sig of a webhook
// received on the workflow URL of workflowID at now, as Verify does for
// a run's: nil when sig was made by any of the secrets for this
// workflowID and exp (empty: a URL without expiry) and exp has not
// passed; ErrBadSignature or ErrExpired otherwise. A URL without expiry
// is this kind's usual form, so Options.RefuseUnexpiring does not apply.
func (s *Signer) VerifyWorkflow(workflowID, exp, sig string, now time.Time) error {
	return s.verify(workflowURL, workflowID, exp, sig, now)
}

// parseExp reads exp: empty, or digits (at most maxExpDigits) of Unix
// seconds. ok is false for anything else.
func parseExp(exp string) (int64, bool) {
	if exp == "" {
		return 0, true
	}
	if len(exp) > maxExpDigits {
		return 0, false
	}
	for i := 0; i < len(exp); i++ {
		if exp[i] < '0' || exp[i] > '9' {
			return 0, false
		}
	}
	n, _ := strconv.ParseInt(exp, 10, 64)
	return n, true
}

// WorkflowURL returns the webhook URL to configure on the ModelsLab
// workflow workflowID, so that the gateway routes its runs' webhooks to
// the genflow runs waiting for them. A zero expires means no expiry.
func (s *Signer) WorkflowURL(workflowID string, expires time.Time) (string, error) {
	if s.workflowPrefix == "" {
		return "", errors.New("signer has no public URL")
	}
	if workflowID == "" {
		return "", errors.New("workflow URL needs a workflow id")
	}
	exp := workflowExp(expires)
	q := "?sig=" + s.signWorkflow(workflowID, exp)
	if exp != "" {
		q = "?exp=" + exp + "&" + q[1:]
	}
	return s.workflowPrefix + (&url.URL{Path: workflowID}).EscapedPath() + q, nil
}

// URL returns the webhook URL for trackID, valid until expires.
func (s *Signer) URL(trackID string, expires time.Time) (string, error) {
	if s.urlPrefix == "" {
		return "", errors.New("signer has no public URL")
	}
	if expires.IsZero() {
		return "", errors.New("webhook URL needs an expiry")
	}
	exp := formatExp(expires)
	// exp is digits and the sig base64url: nothing in them needs
	// escaping in a query.
	return s.urlPrefix + (&url.URL{Path: trackID}).EscapedPath() + "?exp=" + exp + "&sig=" + s.sign(trackID, exp), nil
}
