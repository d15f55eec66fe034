package notify_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/notify"
)

func mustSecret(t *testing.T) notify.Secret {
	t.Helper()
	s, err := notify.NewSecret()
	require.NoError(t, err)
	return s
}

// received is what a receiver saw.
type received struct {
	header http.Header
	body   []byte
}

// receiver answers with the given statuses in turn (then 200) and records
// every request.
func receiver(t *testing.T, statuses ...int) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{header: r.Header.Clone(), body: b})
		n := len(got)
		mu.Unlock()
		if n <= len(statuses) {
			if statuses[n-1] == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "7")
			}
			http.Error(w, "not now", statuses[n-1])
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

// The signature is checked by the specification's reference library, not
// by this package's own code.
func TestSendIsVerifiedByTheReferenceLibrary(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t)
	srv, got := receiver(t)
	s := &notify.Sender{Secrets: []notify.Secret{secret}, Client: loopbackClient}
	body := []byte(`{"type":"generation.succeeded","data":{"track_id":"gen-1","output":["https://cdn.example/a.png"]}}`)
	require.NoError(t, s.Send(context.Background(), srv.URL, notify.Message{ID: "msg_gen-1", Time: time.Now(), Body: body}))

	reqs := got()
	require.Len(t, reqs, 1)
	require.Equal(t, "application/json", reqs[0].header.Get("Content-Type"))
	require.Equal(t, "msg_gen-1", reqs[0].header.Get(notify.HeaderID))
	require.Equal(t, body, reqs[0].body)
	wh, err := standardwebhooks.NewWebhook(secret.String())
	require.NoError(t, err)
	require.NoError(t, wh.Verify(reqs[0].body, reqs[0].header))

	// A tampered body, another secret, or a stale timestamp fail.
	require.Error(t, wh.Verify(append(reqs[0].body, ' '), reqs[0].header))
	other, err := standardwebhooks.NewWebhook(mustSecret(t).String())
	require.NoError(t, err)
	require.Error(t, other.Verify(reqs[0].body, reqs[0].header))
	old := reqs[0].header.Clone()
	old.Set(notify.HeaderTimestamp, "1000000000")
	require.Error(t, wh.Verify(reqs[0].body, old))
}

// During a rotation each message carries one signature per secret, and a
// receiver holding either verifies it.
func TestSignWithTwoSecrets(t *testing.T) {
	t.Parallel()
	newS, oldS := mustSecret(t), mustSecret(t)
	ts := time.Unix(1_700_000_000, 0)
	body := []byte(`{"a":1}`)
	sig := notify.Sign([]notify.Secret{newS, oldS}, "msg_1", ts, body)
	require.Len(t, strings.Fields(sig), 2)
	h := http.Header{}
	h.Set(notify.HeaderID, "msg_1")
	h.Set(notify.HeaderTimestamp, "1700000000")
	h.Set(notify.HeaderSignature, sig)
	for _, s := range []notify.Secret{newS, oldS} {
		wh, err := standardwebhooks.NewWebhook(s.String())
		require.NoError(t, err)
		require.NoError(t, wh.VerifyIgnoringTimestamp(body, h))
	}
	// The same signature as the reference library computes.
	wh, err := standardwebhooks.NewWebhook(newS.String())
	require.NoError(t, err)
	want, err := wh.Sign("msg_1", ts, body)
	require.NoError(t, err)
	require.Equal(t, want, strings.Fields(sig)[0])
}

func TestSendClassifiesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     int
		outcome    notify.Outcome
		retryAfter time.Duration
	}{
		{http.StatusInternalServerError, notify.Retryable, 0},
		{http.StatusBadGateway, notify.Retryable, 0},
		{http.StatusTooManyRequests, notify.Retryable, 7 * time.Second},
		{http.StatusRequestTimeout, notify.Retryable, 0},
		{http.StatusBadRequest, notify.Rejected, 0},
		{http.StatusUnauthorized, notify.Rejected, 0},
		{http.StatusGone, notify.Rejected, 0},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			srv, got := receiver(t, tt.status)
			s := &notify.Sender{Secrets: []notify.Secret{mustSecret(t)}, Client: loopbackClient}
			err := s.Send(context.Background(), srv.URL, notify.Message{ID: "msg_x", Time: time.Now(), Body: []byte(`{}`)})
			var e *notify.Error
			require.True(t, errors.As(err, &e), "%v", err)
			require.Equal(t, tt.outcome, e.Outcome)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.retryAfter, e.RetryAfter)
			require.NotContains(t, e.Error(), "not now", "the reply stays out of the history")
			require.Len(t, got(), 1)
		})
	}
}

// A receiver that fails twice gets the same message (same ID, body and
// signature over them) on the third attempt, and takes it.
func TestRetriedMessageIsTheSame(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t)
	srv, got := receiver(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	s := &notify.Sender{Secrets: []notify.Secret{secret}, Client: loopbackClient}
	m := notify.Message{ID: "msg_retry", Time: time.Now(), Body: []byte(`{"n":1}`)}
	for i := 0; ; i++ {
		err := s.Send(context.Background(), srv.URL, m)
		if err == nil {
			break
		}
		var e *notify.Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, notify.Retryable, e.Outcome)
		require.Less(t, i, 2, "still failing after two failures")
	}
	reqs := got()
	require.Len(t, reqs, 3)
	wh, err := standardwebhooks.NewWebhook(secret.String())
	require.NoError(t, err)
	for _, r := range reqs {
		require.Equal(t, "msg_retry", r.header.Get(notify.HeaderID))
		require.Equal(t, reqs[0].header.Get(notify.HeaderSignature), r.header.Get(notify.HeaderSignature))
		require.NoError(t, wh.Verify(r.body, r.header))
	}
}

func TestSendWithoutAnAnswerIsRetryable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := &notify.Sender{Secrets: []notify.Secret{mustSecret(t)}, Client: loopbackClient}
	err := s.Send(context.Background(), url, notify.Message{ID: "msg_x", Time: time.Now(), Body: []byte(`{}`)})
	var e *notify.Error
	require.True(t, errors.As(err, &e), "%v", err)
	require.Equal(t, notify.Retryable, e.Outcome)
	require.Zero(t, e.Status)
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	s := mustSecret(t)
	for _, in := range []string{s.String(), strings.TrimPrefix(s.String(), "whsec_"), " " + s.String() + "\n"} {
		got, err := notify.ParseSecret(in)
		require.NoError(t, err, in)
		require.Equal(t, s, got)
	}
	_, err := notify.ParseSecret("whsec_not base64!")
	require.ErrorContains(t, err, "base64")
	_, err = notify.ParseSecret("whsec_c2hvcnQ=")
	require.ErrorContains(t, err, "at least 24")
}

func TestSendNeedsASecretAndAnID(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, (&notify.Sender{}).Send(context.Background(), "http://127.0.0.1:1", notify.Message{ID: "x"}), "no signing secret")
	s := &notify.Sender{Secrets: []notify.Secret{mustSecret(t)}, Client: loopbackClient}
	require.ErrorContains(t, s.Send(context.Background(), "http://127.0.0.1:1", notify.Message{}), "no ID")
}
