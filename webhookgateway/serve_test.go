package webhookgateway

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t, "", newSecret)
	entered := make(chan struct{})
	release := make(chan struct{})
	sig := &fakeSignaler{fn: func(ctx context.Context) error {
		close(entered)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	logger, logs := newLogger()
	h := newTestHandler(t, Options{Signer: s, Signaler: sig, Logger: logger})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, logger) }()

	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, resp.Body.Close())

	// A webhook is in flight, waiting on Temporal, when the shutdown starts.
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	payload := readPayload(t, "generation_success.json")
	go func() {
		resp, err := http.Post(base+WebhookPathPrefix+"video_001?exp="+testExp+"&sig="+s.Sign("video_001", testExpiry),
			"application/json", bytes.NewReader(payload))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{status: resp.StatusCode, body: string(b), err: err}
	}()
	<-entered
	cancel()

	// New connections are refused once the listener is closed.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	}, 5*time.Second, 10*time.Millisecond)

	select {
	case err := <-served:
		t.Fatalf("Serve returned before the request in flight finished: %v", err)
	default:
	}
	close(release)

	a := <-answered
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.status)
	require.JSONEq(t, `{"matched":true}`, a.body)
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(ShutdownGrace):
		t.Fatal("Serve did not return after shutdown")
	}
	require.Contains(t, logs.String(), "shutting down http server")
}

func TestServeListenerError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	err = Serve(context.Background(), ln, http.NotFoundHandler(), nil)
	require.ErrorContains(t, err, "serve http")
}
