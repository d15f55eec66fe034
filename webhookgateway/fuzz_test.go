package webhookgateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/trackid"
)

// fuzzMaxBody keeps the fuzzer's 413 path reachable with small inputs.
const fuzzMaxBody = 4096

// FuzzWebhookHandler throws arbitrary bodies, content types, track_ids and
// sigs at the handler. Invariants: no panic escapes (a recovered one
// would answer 500, which is not allowed), the status is one the gateway
// documents, the answer is JSON, and a signal is sent exactly when the
// sig is valid and the request is well-formed, with the parsed body.
//
// When signIt is true the sig is replaced by the valid one, so that the
// fuzzer reaches the paths behind the sig check; mode picks what Temporal
// answers.
func FuzzWebhookHandler(f *testing.F) {
	s := newTestSigner(f, "", newSecret, oldSecret)
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for i, file := range files {
		body, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(body, "application/json", "video_001", "", true, uint8(i))
		f.Add(body, "application/json; charset=utf-8", "wf/run 1", "", true, uint8(0))
		f.Add(body, "application/json", "video_001", s.Sign("video_002", testExpiry), false, uint8(0))
	}
	success := readPayload(f, "generation_success.json")
	f.Add(success, "text/plain", "video_001", "", true, uint8(0))
	f.Add(success, "", "video_001", "", true, uint8(0))
	f.Add(success, "application/json", "video_002", "", true, uint8(0))
	f.Add(success, "application/json", "video_001", "forged", false, uint8(0))
	f.Add(success, "application/json", "", "", true, uint8(0))
	f.Add(success, "application/json", "ünï\x00", "", true, uint8(0))
	f.Add(bytes.Repeat([]byte("{"), fuzzMaxBody+1), "application/json", "x", "", true, uint8(0))
	f.Add([]byte(`{"status":"success","id":1,"output":""}`), "application/json", "x", "", true, uint8(0))
	f.Add([]byte(`{"status":"processing","output":{"output":[1,{"a":null}]},"eta":"NaN"}`), "application/json", "x", "", true, uint8(1))
	f.Add([]byte(`{"event":"","execution":{},"track_id":["x"]}`), "application/json", "x", "", true, uint8(2))
	f.Add([]byte(`{"training_status":"model_ready","meta":{"track_id":{"a":1}}}`), "application/json", "x", "", true, uint8(0))
	f.Add([]byte(`{"status":"success","id":"a","track_id":12}`), "application/json", "12", "", true, uint8(0))
	f.Add([]byte("\xef\xbb\xbf{\"status\":\"failed\"}"), "application/json", "x", "", true, uint8(0))
	f.Add([]byte(`{"status":"failed"} trailing`), "application/json", "x", "", true, uint8(0))
	f.Add([]byte(`{"status":"failed","messege":{"a":[1,2,{"b":"c"}]}}`), "application/json", "x", "", true, uint8(0))

	// One handler per Temporal answer, built once: the fuzz function runs
	// its inputs one at a time, and the signaler is reset for each.
	var (
		signalers [3]*fakeSignaler
		handlers  [3]http.Handler
	)
	for i, err := range []error{
		nil,
		serviceerror.NewNotFound("workflow not found"),
		serviceerror.NewUnavailable("connection refused"),
	} {
		signalers[i] = &fakeSignaler{err: err}
		handlers[i] = newTestHandler(f, Options{Signer: s, Signaler: signalers[i], MaxBodyBytes: fuzzMaxBody})
	}

	f.Fuzz(func(t *testing.T, body []byte, contentType, trackID, sig string, signIt bool, mode uint8) {
		if signIt {
			sig = s.Sign(trackID, testExpiry)
		}
		signaler, h := signalers[mode%3], handlers[mode%3]
		signaler.Reset()

		req := webhookRequest(trackID, sig, "", bytes.NewReader(body))
		req.Header["Content-Type"] = []string{contentType}
		rec := serve(h, req)

		switch rec.Code {
		case 200, 400, 401, 413, 415, 503:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		require.True(t, json.Valid(rec.Body.Bytes()), "answer is not JSON: %q", rec.Body.String())

		valid := s.Verify(trackID, testExp, sig, fixedNow) == nil
		if !valid {
			require.Equal(t, http.StatusUnauthorized, rec.Code)
		}
		calls := signaler.Calls()
		if rec.Code == 200 || rec.Code == 503 {
			require.Len(t, calls, 1)
		} else {
			require.Empty(t, calls)
			return
		}

		// A signal went out: everything it depends on must hold.
		require.True(t, valid, "signal without a valid sig")
		require.NoError(t, trackid.Validate(trackID))
		require.True(t, contentType == "" || isJSON(contentType))
		require.LessOrEqual(t, len(body), fuzzMaxBody)
		parsed, err := modelslab.ParseWebhook(body)
		require.NoError(t, err, "signal for a body that does not parse")
		require.True(t, parsed.TrackID == "" || parsed.TrackID == trackID)
		require.Equal(t, trackID, calls[0].WorkflowID)
		require.Equal(t, trackID, calls[0].Arg.Update.TrackID)
		require.Equal(t, parsed.Status, calls[0].Arg.Update.Status)
		require.Equal(t, parsed.ID, calls[0].Arg.Update.ID)
	})
}

// FuzzSignerURL checks that the URL Signer.URL builds for any valid
// track_id, under a public URL with a path prefix, reaches the router
// with the same track_id and verifies.
func FuzzSignerURL(f *testing.F) {
	for _, id := range oddTrackIDs {
		f.Add(id)
	}
	s := newTestSigner(f, "https://example.com/gf", newSecret)
	f.Fuzz(func(t *testing.T, trackID string) {
		if trackid.Validate(trackID) != nil {
			t.Skip()
		}
		raw, err := s.URL(trackID, testExpiry)
		require.NoError(t, err)
		u, err := url.Parse(raw)
		require.NoError(t, err, raw)
		require.Equal(t, "/gf"+WebhookPathPrefix+trackID, u.Path, raw)
		require.Empty(t, u.Fragment, raw)

		// As net/http's server would see the request line.
		req, err := http.ReadRequest(bufioReader("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: example.com\r\n" +
			"Content-Type: application/json\r\nContent-Length: 31\r\n\r\n" + `{"status":"failed","id":"abc1"}`))
		require.NoError(t, err, raw)
		sig := &fakeSignaler{}
		h := http.StripPrefix("/gf", newTestHandler(t, Options{Signer: s, Signaler: sig}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", raw, rec.Body.String())
		calls := sig.Calls()
		require.Len(t, calls, 1)
		require.Equal(t, trackID, calls[0].WorkflowID)
		require.True(t, utf8.ValidString(calls[0].WorkflowID))
	})
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
