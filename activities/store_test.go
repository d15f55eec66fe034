package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/metrics"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/storage"
)

func TestStoreOutputs(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	failing := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case failing.Load():
			w.WriteHeader(http.StatusBadGateway)
		case strings.HasPrefix(r.URL.Path, "/gone"):
			http.NotFound(w, r)
		case r.URL.Path == "/huge.mp4":
			w.Header().Set("Content-Length", "5000")
			_, _ = w.Write(make([]byte, 5000))
		default:
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte("png bytes of " + r.URL.Path))
		}
	}))
	defer srv.Close()
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	counts := &resultCounts{}
	a := &activities.Activities{Store: &storage.Copier{Backend: local, MaxBytes: 4096, RetryDelay: time.Millisecond, HTTP: loopbackClient},
		Results: counts}
	run := func(a *activities.Activities, in activities.StoreInput) ([]contract.StoredOutput, error) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		v, err := env.ExecuteActivity(a.StoreOutputs, in)
		if err != nil {
			return nil, err
		}
		var out []contract.StoredOutput
		require.NoError(t, v.Get(&out))
		return out, nil
	}
	in := activities.StoreInput{
		TrackID:    "gen-1",
		Output:     []string{srv.URL + "/a.png", srv.URL + "/gone/b.png", srv.URL + "/huge.mp4"},
		ProxyLinks: []string{srv.URL + "/proxy/a.png", srv.URL + "/proxy/b.png"},
	}

	out, err := run(a, in)
	require.NoError(t, err)
	require.Len(t, out, 3)
	require.Equal(t, local.Location("gen-1/0-a.png"), out[0].Location)
	require.Equal(t, int64(len("png bytes of /a.png")), out[0].Size)
	require.False(t, out[0].Reused)
	require.Equal(t, local.Location("gen-1/1-b.png"), out[1].Location, "the proxy link stood in for the expired one")
	require.Empty(t, out[2].Location)
	require.Contains(t, out[2].Error, "over the size limit", "one output too large does not stop the others")
	require.Equal(t, map[string]int{metrics.OutputStored: 2, metrics.OutputNotStored: 1}, counts.outputs)
	require.EqualValues(t, len("png bytes of /a.png")+len("png bytes of /proxy/b.png"), counts.bytes)
	first := hits.Load()

	// Run again (a retried activity, a re-run): nothing fetched, nothing
	// stored twice.
	again, err := run(a, in)
	require.NoError(t, err)
	require.True(t, again[0].Reused && again[1].Reused)
	require.Equal(t, out[0].SHA256, again[0].SHA256)
	require.Equal(t, first+1, hits.Load(), "only the oversized output is asked for again")
	require.Equal(t, map[string]int{metrics.OutputStored: 2, metrics.OutputReused: 2, metrics.OutputNotStored: 2}, counts.outputs)

	// A provider that fails is retried by Temporal: the activity fails.
	failing.Store(true)
	_, err = run(a, activities.StoreInput{TrackID: "gen-2", Output: []string{srv.URL + "/c.png"}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, activities.ErrTypeStoreFailed, appErr.Type())
	require.False(t, appErr.NonRetryable())
	require.Equal(t, 1, counts.storeFailed)
	require.Contains(t, appErr.Error(), "store output 1 of 1 ("+srv.URL+"/c.png): answered 502 Bad Gateway (after 4 tries)")

	// No storage configured: not retried.
	_, err = run(&activities.Activities{}, in)
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, activities.ErrTypeStoreNotConfigured, appErr.Type())
	require.True(t, appErr.NonRetryable())
}

// fetcher is a Provider whose Fetch answers the current links.
type fetcher struct {
	res     modelslab.Result
	fetches int
}

func (f *fetcher) Submit(context.Context, modelslab.SubmitRequest) (modelslab.Result, error) {
	return modelslab.Result{}, errors.New("no submit here")
}

func (f *fetcher) Fetch(_ context.Context, ep modelslab.Endpoint, id string, _ map[string]any) (modelslab.Result, error) {
	f.fetches++
	if ep.Name != "images/text2img" || id != "777" {
		return modelslab.Result{}, errors.New("wrong request")
	}
	return f.res, nil
}

// A webhook carries no proxy links: when the output links have expired,
// the activity asks the provider for the current ones, once.
func TestStoreOutputsAsksForFreshLinks(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/expired/") {
			http.Error(w, "link expired", http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte("bytes of " + r.URL.Path))
	}))
	defer srv.Close()
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	f := &fetcher{res: modelslab.Result{Status: modelslab.StatusSuccess, ID: "777",
		Output:     []string{srv.URL + "/expired/a.png", srv.URL + "/expired/b.png"},
		ProxyLinks: []string{srv.URL + "/cdn/a.png", srv.URL + "/cdn/b.png"}}}
	a := &activities.Activities{Provider: f, Store: &storage.Copier{Backend: local, RetryDelay: time.Millisecond, HTTP: loopbackClient}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.StoreOutputs, activities.StoreInput{
		TrackID: "gen-9", Output: []string{srv.URL + "/expired/a.png", srv.URL + "/expired/b.png"},
		Endpoint: "text2img", ProviderID: "777",
	})
	require.NoError(t, err)
	var out []contract.StoredOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, 1, f.fetches, "asked once for both outputs")
	for i, name := range []string{"a.png", "b.png"} {
		require.Empty(t, out[i].Error)
		obj, err := local.Stat(context.Background(), "gen-9/"+strconv.Itoa(i)+"-"+name)
		require.NoError(t, err)
		require.Equal(t, srv.URL+"/cdn/"+name, obj.Source)
	}
}

// resultCounts records what the activities report to ResultMetrics.
type resultCounts struct {
	mu            sync.Mutex
	outputs       map[string]int
	bytes         int64
	storeFailed   int
	notifications map[string]int
}

func (r *resultCounts) OutputStored(outcome string, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outputs == nil {
		r.outputs = map[string]int{}
	}
	r.outputs[outcome]++
	if outcome == metrics.OutputStored {
		r.bytes += bytes
	}
}

func (r *resultCounts) StoreAttemptFailed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.storeFailed++
}

func (r *resultCounts) Notification(outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notifications == nil {
		r.notifications = map[string]int{}
	}
	r.notifications[outcome]++
}
