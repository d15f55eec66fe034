package activities_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/notify"
	"github.com/genflow/genflow/storage"
)

// loopbackClient is the outbound policy's client with loopback allowed,
// as the local stack and the tests configure it.
var loopbackClient = egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}.Client()

func storeOutputs(t *testing.T, a *activities.Activities, in activities.StoreInput) []contract.StoredOutput {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.StoreOutputs, in)
	require.NoError(t, err)
	var out []contract.StoredOutput
	require.NoError(t, v.Get(&out))
	return out
}

// A success webhook whose output points at an internal service stores
// nothing from it: the link is refused without a request, recorded as
// not stored, and not retried. With the local stack's allowance the same
// link is stored.
func TestStoreOutputsRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	srv, hits := testenv.CountingServer(t, `{"AccessKeyId":"AKIAFAKE","SecretAccessKey":"fake","Token":"fake"}`)
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	counts := &resultCounts{}
	in := activities.StoreInput{TrackID: "gen-ssrf", Output: []string{
		srv.URL + "/latest/meta-data/iam/security-credentials/role", "file:///etc/passwd",
	}}

	a := &activities.Activities{Store: &storage.Copier{Backend: local, RetryDelay: time.Second}, Results: counts}
	start := time.Now()
	out := storeOutputs(t, a, in)
	require.Less(t, time.Since(start), time.Second, "refused at once, not retried")
	require.Len(t, out, 2)
	for _, o := range out {
		require.Empty(t, o.Location)
		require.Contains(t, o.Error, "refused by the outbound policy")
	}
	require.Contains(t, out[0].Error, "loopback")
	require.Contains(t, out[1].Error, `scheme "file"`)
	require.Zero(t, hits.Load(), "no request reached the internal service")
	require.Equal(t, map[string]int{metrics.OutputNotStored: 2}, counts.outputs)

	allowed := &activities.Activities{Store: &storage.Copier{Backend: local, HTTP: loopbackClient}}
	out = storeOutputs(t, allowed, activities.StoreInput{TrackID: "gen-local", Output: in.Output[:1]})
	require.Empty(t, out[0].Error)
	require.NotEmpty(t, out[0].Location, "stored with the allowance")
}

// One result stores at most activities.MaxStoredOutputs outputs; the
// rest are listed as not stored, with the reason, and never fetched.
func TestStoreOutputsBoundsTheOutputsOfOneResult(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	counts := &resultCounts{}
	a := &activities.Activities{Store: &storage.Copier{Backend: local, HTTP: loopbackClient}, Results: counts}
	n := activities.MaxStoredOutputs + 5
	links := make([]string, n)
	for i := range links {
		links[i] = fmt.Sprintf("%s/%d.png", srv.URL, i)
	}
	out := storeOutputs(t, a, activities.StoreInput{TrackID: "gen-many", Output: links})
	require.Len(t, out, n, "one entry per output, as the workflow expects")
	for i, o := range out {
		require.Equal(t, links[i], o.Output)
		if i < activities.MaxStoredOutputs {
			require.NotEmpty(t, o.Location, i)
			continue
		}
		require.Empty(t, o.Location, i)
		require.Equal(t, fmt.Sprintf("not stored: the result lists %d outputs; at most %d are stored", n, activities.MaxStoredOutputs), o.Error)
	}
	require.EqualValues(t, activities.MaxStoredOutputs, hits.Load())
	require.Equal(t, map[string]int{metrics.OutputStored: activities.MaxStoredOutputs, metrics.OutputNotStored: 5}, counts.outputs)
}

func notifyOnce(t *testing.T, a *activities.Activities, url string, logs io.Writer) error {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	_, err := env.ExecuteActivity(a.Notify, activities.NotifyInput{URL: url, MessageID: "msg_x",
		Notification: contract.Notification{Type: contract.NotifyGenerationSucceeded, Timestamp: time.Now()}})
	return err
}

// A notify URL on an internal address fails the activity for good, with
// its own type, and nothing is sent.
func TestNotifyRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	srv, hits := testenv.CountingServer(t, `{"AccessKeyId":"AKIAFAKE","SecretAccessKey":"fake","Token":"fake"}`)
	secret, err := notify.NewSecret()
	require.NoError(t, err)
	counts := &resultCounts{}
	a := &activities.Activities{Notifier: &notify.Sender{Secrets: []notify.Secret{secret}}, Results: counts}
	err = notifyOnce(t, a, srv.URL+"/hook?token=s3cret", io.Discard)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, activities.ErrTypeNotifyRefused, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), "refused by the outbound policy")
	require.NotContains(t, appErr.Error(), "s3cret")
	require.Zero(t, hits.Load())
	require.Equal(t, map[string]int{metrics.NotifyRejected: 1}, counts.notifications)
}

// The notify URL is logged without its query and user information, where
// receivers put their tokens.
func TestNotifyLogsTheURLRedacted(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	secret, err := notify.NewSecret()
	require.NoError(t, err)
	a := &activities.Activities{Notifier: &notify.Sender{Secrets: []notify.Secret{secret}, Client: loopbackClient}}
	var logs testenv.SyncBuffer
	hook := strings.Replace(srv.URL, "http://", "http://app:pa55word@", 1) + "/hooks/genflow?token=s3cret"
	require.NoError(t, notifyOnce(t, a, hook, &logs))
	require.Contains(t, logs.String(), "notification delivered")
	require.Contains(t, logs.String(), srv.URL+"/hooks/genflow")
	require.NotContains(t, logs.String(), "s3cret")
	require.NotContains(t, logs.String(), "pa55word")
}
