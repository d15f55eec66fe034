package storage_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/storage"
)

// A Copier left with its default client reaches public addresses only:
// an output link on loopback is refused at once, for good, and nothing
// is stored.
func TestCopyRefusesInternalAddressesByDefault(t *testing.T) {
	t.Parallel()
	srv, hits := testenv.CountingServer(t, `{"AccessKeyId":"AKIAFAKE","SecretAccessKey":"fake"}`)
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	c := &storage.Copier{Backend: local, RetryDelay: time.Second}

	start := time.Now()
	_, _, err = c.Copy(context.Background(), "t/0", []string{srv.URL + "/latest/meta-data/iam/security-credentials/role"}, nil)
	require.Error(t, err)
	require.True(t, storage.IsPermanent(err), "no retry can help: %v", err)
	require.ErrorIs(t, err, storage.ErrRefused)
	require.ErrorContains(t, err, "refused by the outbound policy")
	require.ErrorContains(t, err, "loopback")
	require.Equal(t, 1, strings.Count(err.Error(), "refused by the outbound policy"), "said once: %v", err)
	require.Less(t, time.Since(start), time.Second, "not retried")
	require.Zero(t, hits.Load(), "nothing reached the internal service")
	_, err = local.Stat(context.Background(), "t/0")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// file:// (and any scheme but http and https) is refused for good, not
// retried for the whole store window.
func TestCopyRefusesOtherSchemesAtOnce(t *testing.T) {
	t.Parallel()
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	allowed := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}.Client()
	for _, c := range []*storage.Copier{
		{Backend: local, RetryDelay: time.Second},
		{Backend: local, RetryDelay: time.Second, HTTP: allowed},
		{Backend: local, RetryDelay: time.Second, HTTP: &http.Client{}}, // a caller's own client
	} {
		start := time.Now()
		_, _, err = c.Copy(context.Background(), "t/0", []string{"file:///etc/passwd"}, nil)
		require.True(t, storage.IsPermanent(err), "%v", err)
		require.ErrorIs(t, err, storage.ErrRefused)
		require.ErrorContains(t, err, `scheme "file" is not http or https`)
		require.Less(t, time.Since(start), time.Second, "not retried")
	}
}

// The local stack's allowance lets loopback through.
func TestCopyWithALoopbackAllowance(t *testing.T) {
	t.Parallel()
	srv, hits := testenv.CountingServer(t, `{"AccessKeyId":"AKIAFAKE","SecretAccessKey":"fake"}`)
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	c := &storage.Copier{Backend: local, HTTP: egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}.Client()}
	obj, _, err := c.Copy(context.Background(), "t/0", []string{srv.URL + "/out.json"}, nil)
	require.NoError(t, err)
	require.Positive(t, obj.Size)
	require.EqualValues(t, 1, hits.Load())
}

// A public link that redirects to an internal address is refused at the
// redirect; the proxy link still gets its turn.
func TestCopyRefusesARedirectToAnInternalAddress(t *testing.T) {
	t.Parallel()
	internal, hits := testenv.CountingServer(t, `{"AccessKeyId":"AKIAFAKE","SecretAccessKey":"fake"}`)
	// 127.0.0.2 plays the public host: allowed, where 127.0.0.1 is not.
	public := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/proxy/a.png" {
			_, _ = io.WriteString(w, "png")
			return
		}
		http.Redirect(w, r, internal.URL+"/latest/meta-data/", http.StatusFound)
	}))
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	public.Listener.Close()
	public.Listener = ln
	public.Start()
	t.Cleanup(public.Close)

	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	c := &storage.Copier{Backend: local, RetryDelay: time.Second,
		HTTP: egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}.Client()}
	_, _, err = c.Copy(context.Background(), "t/0", []string{public.URL + "/a.png"}, nil)
	require.True(t, storage.IsPermanent(err), "%v", err)
	require.ErrorIs(t, err, storage.ErrRefused)
	require.Zero(t, hits.Load())

	obj, _, err := c.Copy(context.Background(), "t/1", []string{public.URL + "/a.png", public.URL + "/proxy/a.png"}, nil)
	require.NoError(t, err, "the refused link gives way to the next")
	require.Equal(t, public.URL+"/proxy/a.png", obj.Source)
}

// A transport error quotes the link without its signed query.
func TestCopyErrorsLeaveOutTheQuery(t *testing.T) {
	t.Parallel()
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	c := fastCopier(local)
	c.Attempts = 1
	_, _, err = c.Copy(context.Background(), "t/0", []string{"http://127.0.0.1:1/a.png?X-Amz-Signature=s3cret"}, nil)
	require.Error(t, err)
	require.False(t, storage.IsPermanent(err))
	require.NotContains(t, err.Error(), "s3cret")
	require.Contains(t, err.Error(), "http://127.0.0.1:1/a.png")
}
