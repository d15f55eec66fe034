package webhookgateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
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
	// secrets are newest first: URLs are signed with secrets[0] and any
	// of them verifies, so a secret can be rotated without downtime.
	secrets   [][]byte
	publicURL *url.URL
}

// NewSigner returns a Signer for the gateway reachable at publicURL, with
// secrets newest first. publicURL may be empty when only verifying.
func NewSigner(publicURL string, secrets []string) (*Signer, error) {
	s := &Signer{}
	for i, sec := range secrets {
		if len(sec) < 16 {
			return nil, fmt.Errorf("webhook secret %d is %d bytes; use at least 16 random bytes", i+1, len(sec))
		}
		s.secrets = append(s.secrets, []byte(sec))
	}
	if len(s.secrets) == 0 {
		return nil, errors.New("no webhook secret given")
	}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("public URL %q is not an http(s) URL", publicURL)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawQuery, u.Fragment = "", ""
		s.publicURL = u
	}
	return s, nil
}

// Sign returns the sig of trackID under the newest secret.
func (s *Signer) Sign(trackID string) string { return sign(s.secrets[0], trackID) }

func sign(secret []byte, trackID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(trackID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig was made for trackID by any of the secrets.
// The comparison is constant-time in the sig's content.
func (s *Signer) Verify(trackID, sig string) bool {
	if sig == "" {
		return false
	}
	ok := false
	for _, sec := range s.secrets {
		if hmac.Equal([]byte(sign(sec, trackID)), []byte(sig)) {
			ok = true
		}
	}
	return ok
}

// URL returns the webhook URL for trackID.
func (s *Signer) URL(trackID string) (string, error) {
	if s.publicURL == nil {
		return "", errors.New("signer has no public URL")
	}
	u := *s.publicURL
	u.Path = u.Path + WebhookPathPrefix + trackID
	u.RawPath = ""
	u.RawPath = u.EscapedPath()
	u.RawQuery = url.Values{"sig": {s.Sign(trackID)}}.Encode()
	return u.String(), nil
}
