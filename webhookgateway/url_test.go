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

// oddTrackIDs are track_ids at the edges of the track_id rule (package
// trackid), some of whose URLs need escaping.
var oddTrackIDs = []string{
	"video_001",
	"5f0c2a7e-3b1d-4c8e-9a6f-0d2b7e1c4a93",
	"dot..inside",
	"...",
	".hidden",
	"plus+sign",
	"semi;colon,comma",
	`quote"and'`,
	"tilde~and@at:colon",
	"<angle>&{brace}|pipe^caret`tick",
	"query=like&x=1",
	strings.Repeat("x", 200),
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
				raw, err := s.URL(id, testExpiry)
				require.NoError(t, err)

				u, err := url.Parse(raw)
				require.NoError(t, err)
				require.Equal(t, pu.prefix+WebhookPathPrefix+id, u.Path, raw)
				require.Equal(t, []string{s.Sign(id, testExpiry)}, u.Query()["sig"], raw)
				require.Equal(t, []string{testExp}, u.Query()["exp"], raw)
				require.Empty(t, u.Fragment, raw)

				// Through a real server and client: the escaped URL must reach
				// the router as the same track_id and verify. A reverse
				// proxy strips the public path prefix.
				sig := &fakeSignaler{}
				h := newTestHandler(t, Options{Signer: s, Signaler: sig})
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
