package webhookgateway

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
	"strings"
	"sync"
)

// WebhookPathPrefix is the route under which webhooks are received; the
// track_id follows it.
const WebhookPathPrefix = "/webhooks/modelslab/"

// Signer builds and checks the per-request webhook URLs. ModelsLab does not
// sign webhooks, so each request gets its own URL whose sig parameter is
// HMAC-SHA256(secret, track_id), base64url without padding. The worker
// builds URLs with it and the gateway checks them with it, so the two can
// never disagree.
type Signer struct {
	// macs hold one HMAC-SHA256 per secret, newest first: URLs are signed
	// with the first and any of them verifies, so a secret can be rotated
	// without downtime. Pooled: a keyed HMAC costs allocations to build
	// and is not safe for concurrent use.
	macs []*sync.Pool
	// urlPrefix is the public URL's escaped form up to the track_id
	// (scheme, host, path prefix and WebhookPathPrefix); empty without a
	// public URL.
	urlPrefix string
}

// NewSigner returns a Signer for the gateway reachable at publicURL, with
// secrets newest first. publicURL may be empty when only verifying.
func NewSigner(publicURL string, secrets []string) (*Signer, error) {
	s := &Signer{}
	for i, sec := range secrets {
		if len(sec) < 16 {
			return nil, fmt.Errorf("webhook secret %d is %d bytes; use at least 16 random bytes", i+1, len(sec))
		}
		key := []byte(sec)
		s.macs = append(s.macs, &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }})
	}
	if len(s.macs) == 0 {
		return nil, errors.New("no webhook secret given")
	}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("public URL %q is not an http(s) URL", publicURL)
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + WebhookPathPrefix
		u.RawPath = ""
		u.RawPath = u.EscapedPath()
		u.RawQuery, u.Fragment = "", ""
		s.urlPrefix = u.String()
	}
	return s, nil
}

// sigLen is the length of a sig: 32 bytes of HMAC-SHA256, base64url
// without padding.
var sigLen = base64.RawURLEncoding.EncodedLen(sha256.Size)

// sigEncoding decodes sigs strictly, so that each MAC has one sig.
var sigEncoding = base64.RawURLEncoding.Strict()

// mac appends the HMAC of trackID under the secret of pool to dst.
func mac(pool *sync.Pool, dst []byte, trackID string) []byte {
	m := pool.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, trackID)
	dst = m.Sum(dst)
	pool.Put(m)
	return dst
}

// Sign returns the sig of trackID under the newest secret.
func (s *Signer) Sign(trackID string) string {
	var buf [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(mac(s.macs[0], buf[:0], trackID))
}

// Verify reports whether sig was made for trackID by any of the secrets.
// Every secret is tried, and the MACs are compared in constant time.
func (s *Signer) Verify(trackID, sig string) bool {
	var got [sha256.Size]byte
	if len(sig) != sigLen {
		return false
	}
	if n, err := sigEncoding.Decode(got[:], []byte(sig)); err != nil || n != sha256.Size {
		return false
	}
	ok := 0
	var want [sha256.Size]byte
	for _, pool := range s.macs {
		ok |= subtle.ConstantTimeCompare(mac(pool, want[:0], trackID), got[:])
	}
	return ok == 1
}

// URL returns the webhook URL for trackID.
func (s *Signer) URL(trackID string) (string, error) {
	if s.urlPrefix == "" {
		return "", errors.New("signer has no public URL")
	}
	// The sig is base64url: nothing in it needs escaping in a query.
	return s.urlPrefix + (&url.URL{Path: trackID}).EscapedPath() + "?sig=" + s.Sign(trackID), nil
}
