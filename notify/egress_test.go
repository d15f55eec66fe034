package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/notify"
)

// loopbackClient is the outbound policy's client with loopback allowed
// (the tests' receivers listen there), redirects followed as for any
// other request: Send must not follow them all the same.
var loopbackClient = egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}.Client()

func msg() notify.Message {
	return notify.Message{ID: "msg_x", Time: time.Now(), Body: []byte(`{"secret":"result"}`)}
}

// A Sender left with its default client reaches public addresses only: a
// notify URL on loopback (or any internal address) is refused before
// anything is sent, and no retry will change that.
func TestSendRefusesInternalAddressesByDefault(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t)
	s := &notify.Sender{Secrets: []notify.Secret{mustSecret(t)}}
	err := s.Send(context.Background(), srv.URL+"/admin/hook", msg())
	var e *notify.Error
	require.True(t, errors.As(err, &e), "%v", err)
	require.Equal(t, notify.Refused, e.Outcome)
	require.ErrorIs(t, err, egress.ErrRefused)
	require.ErrorContains(t, err, "loopback")
	require.Empty(t, got(), "nothing was sent")

	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/hook", "gopher://x/"} {
		err = s.Send(context.Background(), u, msg())
		require.True(t, errors.As(err, &e), "%v", err)
		require.Equal(t, notify.Refused, e.Outcome, u)
	}
}

// A 307 would resend the body and its signature to wherever the receiver
// points: Send follows no redirect, whatever its client does.
func TestSendFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		targetHits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(target.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)

	for name, c := range map[string]*http.Client{"policy client": loopbackClient, "plain client": {}} {
		s := &notify.Sender{Secrets: []notify.Secret{mustSecret(t)}, Client: c}
		err := s.Send(context.Background(), redirector.URL, msg())
		var e *notify.Error
		require.True(t, errors.As(err, &e), "%s: %v", name, err)
		require.Equal(t, notify.Rejected, e.Outcome, name)
		require.Equal(t, http.StatusTemporaryRedirect, e.Status, name)
		require.ErrorContains(t, err, "redirects are not followed", name)
		require.NotContains(t, err.Error(), target.URL, "the Location is not echoed")
	}
	require.Zero(t, targetHits.Load(), "the signed body went nowhere else")
}

// The receiver's reply stays out of the error, which Temporal records in
// the run's history and the run shows in its state.
func TestSendKeepsTheReplyOutOfTheError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "db password=hunter2 at /srv/app/handler.go:42", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	s := &notify.Sender{Secrets: []notify.Secret{mustSecret(t)}, Client: loopbackClient}
	err := s.Send(context.Background(), srv.URL, msg())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
	require.Equal(t, "notification rejected: HTTP 400 Bad Request", err.Error())
}

// An error without an answer names the URL without its user information
// and query, where tokens travel.
func TestSendErrorsRedactTheURL(t *testing.T) {
	t.Parallel()
	s := &notify.Sender{Secrets: []notify.Secret{mustSecret(t)}, Client: loopbackClient}
	err := s.Send(context.Background(), "http://user:pa55@127.0.0.1:1/hook?token=s3cret", msg())
	var e *notify.Error
	require.True(t, errors.As(err, &e), "%v", err)
	require.Equal(t, notify.Retryable, e.Outcome)
	require.NotContains(t, err.Error(), "s3cret")
	require.NotContains(t, err.Error(), "pa55")
	require.NotContains(t, err.Error(), "user")
	require.Contains(t, err.Error(), "http://127.0.0.1:1/hook")
}
