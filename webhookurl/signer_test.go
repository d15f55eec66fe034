package webhookurl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	newSecret     = "new-secret-0123456789abcdef"
	oldSecret     = "old-secret-0123456789abcdef"
	retiredSecret = "retired-secret-0123456789abcdef"
)

var (
	now     = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	expires = now.Add(time.Hour)
	exp     = strconv.FormatInt(expires.Unix(), 10)
)

func newSigner(t testing.TB, opts Options) *Signer {
	t.Helper()
	s, err := NewSigner(opts)
	require.NoError(t, err)
	return s
}

// legacySig is the sig releases before expiring URLs put in their URLs:
// HMAC-SHA256(secret, track_id), base64url.
func legacySig(secret, trackID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(trackID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestVerify(t *testing.T) {
	t.Parallel()
	rotating := newSigner(t, Options{Secrets: []string{newSecret, oldSecret}})
	newOnly := newSigner(t, Options{Secrets: []string{newSecret}})
	oldOnly := newSigner(t, Options{Secrets: []string{oldSecret}})
	retired := newSigner(t, Options{Secrets: []string{retiredSecret}})
	strict := newSigner(t, Options{Secrets: []string{newSecret}, RefuseUnexpiring: true})
	const id = "video_001"
	good := rotating.Sign(id, expires)
	tests := []struct {
		name         string
		signer       *Signer
		trackID, exp string
		sig          string
		at           time.Time
		want         error
	}{
		{"newest secret", rotating, id, exp, good, now, nil},
		{"old secret while rotating", rotating, id, exp, oldOnly.Sign(id, expires), now, nil},
		{"old secret after rotation", newOnly, id, exp, oldOnly.Sign(id, expires), now, ErrBadSignature},
		{"retired secret", rotating, id, exp, retired.Sign(id, expires), now, ErrBadSignature},
		{"a second before expiry", rotating, id, exp, good, expires.Add(-time.Second), nil},
		{"at expiry", rotating, id, exp, good, expires, ErrExpired},
		{"after expiry", rotating, id, exp, good, expires.Add(time.Hour), ErrExpired},
		{"exp moved later", rotating, id, strconv.FormatInt(expires.Unix()+86400, 10), good, expires, ErrBadSignature},
		{"exp removed", rotating, id, "", good, now, ErrBadSignature},
		{"exp with a sign", rotating, id, "+" + exp, good, now, ErrBadSignature},
		{"exp with leading zero", rotating, id, "0" + exp, good, now, ErrBadSignature},
		{"exp not a number", rotating, id, "soon", good, now, ErrBadSignature},
		{"exp too long", rotating, id, strings.Repeat("9", 40), good, now, ErrBadSignature},
		{"empty sig", rotating, id, exp, "", now, ErrBadSignature},
		{"other track_id", rotating, "video_002", exp, good, now, ErrBadSignature},
		{"prefix of the track_id", rotating, "video_00", exp, good, now, ErrBadSignature},
		{"truncated sig", rotating, id, exp, good[:len(good)-1], now, ErrBadSignature},
		{"padded sig", rotating, id, exp, good + "=", now, ErrBadSignature},
		{"sig with a changed character", rotating, id, exp, flipFirst(good), now, ErrBadSignature},
		{"unexpiring URL of an earlier release", rotating, id, "", legacySig(newSecret, id), now.AddDate(5, 0, 0), nil},
		{"unexpiring URL, old secret", rotating, id, "", legacySig(oldSecret, id), now, nil},
		{"unexpiring URL, other track_id", rotating, "video_002", "", legacySig(newSecret, id), now, ErrBadSignature},
		{"unexpiring URL refused", strict, id, "", legacySig(newSecret, id), now, ErrUnexpiring},
		{"forged unexpiring URL refused as forged", strict, id, "", legacySig(retiredSecret, id), now, ErrBadSignature},
		{"unexpiring sig with an exp added", rotating, id, exp, legacySig(newSecret, id), now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.signer.Verify(tt.trackID, tt.exp, tt.sig, tt.at)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}

	t.Run("signs with the newest secret", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, newOnly.Sign(id, expires), rotating.Sign(id, expires))
		require.NotEqual(t, oldOnly.Sign(id, expires), rotating.Sign(id, expires))
		require.Len(t, good, 43) // 32 bytes, base64url without padding
	})
	t.Run("an expiring sig is not the unexpiring one", func(t *testing.T) {
		t.Parallel()
		require.NotEqual(t, legacySig(newSecret, id), newOnly.Sign(id, expires))
	})
}

func TestURL(t *testing.T) {
	t.Parallel()
	s := newSigner(t, Options{PublicURL: "https://example.com/base/?sig=stale#frag", Secrets: []string{newSecret}})
	raw, err := s.URL("id-1", expires)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/base/webhooks/modelslab/id-1?exp="+exp+"&sig="+s.Sign("id-1", expires), raw)

	u, err := url.Parse(raw)
	require.NoError(t, err)
	require.NoError(t, s.Verify("id-1", u.Query().Get("exp"), u.Query().Get("sig"), now))

	t.Run("sub-second expiry rounds up", func(t *testing.T) {
		raw, err := s.URL("id-1", expires.Add(-time.Millisecond))
		require.NoError(t, err)
		require.Contains(t, raw, "exp="+exp+"&")
	})
	t.Run("no expiry", func(t *testing.T) {
		_, err := s.URL("id-1", time.Time{})
		require.ErrorContains(t, err, "needs an expiry")
	})
	t.Run("no public URL", func(t *testing.T) {
		_, err := newSigner(t, Options{Secrets: []string{newSecret}}).URL("id-1", expires)
		require.ErrorContains(t, err, "no public URL")
	})
}

func TestNewSigner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		publicURL string
		secrets   []string
		wantErr   string
	}{
		{"verify only", "", []string{newSecret}, ""},
		{"public URL", "https://example.com/x", []string{newSecret, oldSecret}, ""},
		{"no secret", "", nil, "no webhook secret"},
		{"short secret", "", []string{newSecret, "short"}, "secret 2 is 5 bytes"},
		{"not http", "ftp://example.com", []string{newSecret}, "not an http(s) URL"},
		{"no host", "https:///path", []string{newSecret}, "not an http(s) URL"},
		{"unparsable", "http://[::1", []string{newSecret}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSigner(Options{PublicURL: tt.publicURL, Secrets: tt.secrets})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func FuzzVerify(f *testing.F) {
	s := newSigner(f, Options{Secrets: []string{newSecret, oldSecret}})
	f.Add("video_001", exp, s.Sign("video_001", expires), int64(0))
	f.Add("video_001", "", legacySig(newSecret, "video_001"), int64(0))
	f.Add("x", "1", "", int64(-5))
	f.Fuzz(func(t *testing.T, trackID, exp, sig string, offset int64) {
		at := now.Add(time.Duration(offset) * time.Second)
		err := s.Verify(trackID, exp, sig, at)
		if err != nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrExpired) {
			t.Fatalf("unexpected error %v", err)
		}
		// Nothing verifies that the secrets did not sign.
		if err == nil || errors.Is(err, ErrExpired) {
			want := s.sign(trackID, exp)
			if exp == "" {
				want = legacySig(newSecret, trackID)
				if sig != want {
					want = legacySig(oldSecret, trackID)
				}
			} else if sig != want {
				want = newSigner(t, Options{Secrets: []string{oldSecret}}).sign(trackID, exp)
			}
			if sig != want {
				t.Fatalf("accepted sig %q for %q exp %q", sig, trackID, exp)
			}
		}
	})
}

// BenchmarkVerify checks a valid sig, with one secret and with two
// (during a rotation the old secret is tried as well).
func BenchmarkVerify(b *testing.B) {
	for _, secrets := range [][]string{{newSecret}, {newSecret, oldSecret}} {
		b.Run(fmt.Sprintf("secrets=%d", len(secrets)), func(b *testing.B) {
			signer := newSigner(b, Options{Secrets: secrets})
			trackID := "gen-0b6f2d1e-8c1a-4f7e-9d3b-5a2c7e9f1b40"
			sig := signer.Sign(trackID, expires)
			b.ReportAllocs()
			for b.Loop() {
				if err := signer.Verify(trackID, exp, sig, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkURL builds the webhook URL the worker sends with each submit.
func BenchmarkURL(b *testing.B) {
	signer := newSigner(b, Options{PublicURL: "https://hooks.example.com/genflow", Secrets: []string{newSecret}})
	trackID := "gen-0b6f2d1e-8c1a-4f7e-9d3b-5a2c7e9f1b40"
	b.ReportAllocs()
	for b.Loop() {
		u, err := signer.URL(trackID, expires)
		if err != nil || len(u) == 0 {
			b.Fatalf("URL: %q %v", u, err)
		}
	}
}
