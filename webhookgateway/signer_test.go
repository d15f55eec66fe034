package webhookgateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// oddTrackIDs are track_ids whose URL needs escaping, all of which
// ValidateTrackID accepts.
var oddTrackIDs = []string{
	"video_001",
	"5f0c2a7e-3b1d-4c8e-9a6f-0d2b7e1c4a93",
	"with space",
	"a/b/c",
	"/leading-slash",
	"trailing-slash/",
	"double//slash",
	"dot/../dot",
	".",
	"..",
	"ünïcødé-日本語",
	"emoji 🎉",
	"query?sig=forged&x=1",
	"hash#fragment",
	"percent%2Fencoded%",
	"plus+sign",
	"semi;colon,comma",
	`quote"and'back\slash`,
	"tilde~and@at:colon",
	"<angle>&{brace}|pipe^caret`tick",
}

func TestSignerURLRoundTrip(t *testing.T) {
	t.Parallel()
	publicURLs := []struct {
		name, url, prefix string
	}{
		{"bare host", "http://localhost:8080", ""},
		{"bare host with slash", "https://gw.example.com/", ""},
		{"path prefix", "https://example.com/genflow", "/genflow"},
		{"path prefix with slash", "https://example.com/team/genflow/", "/team/genflow"},
		{"escaped path prefix", "https://example.com/gen%20flow", "/gen flow"},
	}
	for _, pu := range publicURLs {
		for _, id := range oddTrackIDs {
			t.Run(pu.name+"/"+id, func(t *testing.T) {
				t.Parallel()
				s := newTestSigner(t, pu.url, newSecret, oldSecret)
				raw, err := s.URL(id)
				require.NoError(t, err)

				u, err := url.Parse(raw)
				require.NoError(t, err)
				require.Equal(t, pu.prefix+WebhookPathPrefix+id, u.Path, raw)
				require.Equal(t, []string{s.Sign(id)}, u.Query()["sig"], raw)
				require.Empty(t, u.Fragment, raw)
				require.True(t, s.Verify(id, u.Query().Get("sig")))

				// Through a real server and client: the escaped URL must reach
				// the router as the same track_id and verify. A reverse
				// proxy strips the public path prefix.
				sig := &fakeSignaler{}
				var h http.Handler = newTestHandler(t, Options{Signer: s, Signaler: sig})
				if pu.prefix != "" {
					h = http.StripPrefix(pu.prefix, h)
				}
				srv := httptest.NewServer(h)
				t.Cleanup(srv.Close)
				target, err := url.Parse(srv.URL)
				require.NoError(t, err)
				u.Scheme, u.Host = target.Scheme, target.Host

				body, err := json.Marshal(map[string]any{"status": "success", "id": 1, "output": []string{"https://x/y.png"}, "track_id": id})
				require.NoError(t, err)
				resp, err := srv.Client().Post(u.String(), "application/json", bytes.NewReader(body))
				require.NoError(t, err)
				defer resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s", u)

				calls := sig.Calls()
				require.Len(t, calls, 1)
				require.Equal(t, id, calls[0].WorkflowID)
				require.Equal(t, id, calls[0].Arg.Update.TrackID)
			})
		}
	}
}

func TestSignerVerify(t *testing.T) {
	t.Parallel()
	rotating := newTestSigner(t, "", newSecret, oldSecret)
	newOnly := newTestSigner(t, "", newSecret)
	oldOnly := newTestSigner(t, "", oldSecret)
	retired := newTestSigner(t, "", retiredSecret)
	const id = "video_001"
	good := rotating.Sign(id)
	tests := []struct {
		name    string
		signer  *Signer
		trackID string
		sig     string
		want    bool
	}{
		{"newest secret", rotating, id, good, true},
		{"old secret while rotating", rotating, id, oldOnly.Sign(id), true},
		{"old secret after rotation", newOnly, id, oldOnly.Sign(id), false},
		{"retired secret", rotating, id, retired.Sign(id), false},
		{"empty sig", rotating, id, "", false},
		{"other track_id", rotating, "video_002", good, false},
		{"empty track_id", rotating, "", good, false},
		{"prefix of the track_id", rotating, "video_00", good, false},
		{"truncated sig", rotating, id, good[:len(good)-1], false},
		{"padded sig", rotating, id, good + "=", false},
		{"sig with a changed character", rotating, id, flipFirst(good), false},
		{"upper-cased sig", rotating, id, strings.ToUpper(good), good == strings.ToUpper(good)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.signer.Verify(tt.trackID, tt.sig))
		})
	}

	t.Run("signs with the newest secret", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, newOnly.Sign(id), rotating.Sign(id))
		require.NotEqual(t, oldOnly.Sign(id), rotating.Sign(id))
		require.Len(t, good, 43) // 32 bytes, base64url without padding
		require.NotContains(t, good, "=")
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
		{"short secret", "", []string{newSecret, "short"}, "secret 2"},
		{"not http", "ftp://example.com", []string{newSecret}, "not an http(s) URL"},
		{"no host", "https:///path", []string{newSecret}, "not an http(s) URL"},
		{"unparsable", "http://[::1", []string{newSecret}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSigner(tt.publicURL, tt.secrets)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			_, err = s.URL("x")
			if tt.publicURL == "" {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestSignerURLDropsQueryAndFragment(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "https://example.com/base/?sig=stale#frag", newSecret)
	raw, err := s.URL("id-1")
	require.NoError(t, err)
	require.Equal(t, "https://example.com/base/webhooks/modelslab/id-1?sig="+s.Sign("id-1"), raw)
}
