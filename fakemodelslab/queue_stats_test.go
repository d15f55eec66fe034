package fakemodelslab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

// TestQueueFullAndPeakInFlight: the queue limit's 429s are counted apart
// from Fault429's, and the peak is per key.
func TestQueueFullAndPeakInFlight(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{QueueLimit: 2, ProcessingTime: time.Hour,
		Faults: Faults{Rules: []Rule{{Fault: Fault429, Match: "injected", Times: 1}}}})
	submit := func(key, track string) error {
		_, err := newClient(t, srv, key).Submit(context.Background(),
			modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img(), TrackID: track})
		return err
	}
	require.Equal(t, modelslab.ErrTypeRateLimited, asError(t, submit("k", "injected")).Type)
	require.NoError(t, submit("k", "a-1"))
	require.NoError(t, submit("other", "b-1"))
	require.NoError(t, submit("k", "a-2"))
	require.Equal(t, modelslab.ErrTypeRateLimited, asError(t, submit("k", "a-3")).Type)
	require.Equal(t, modelslab.ErrTypeRateLimited, asError(t, submit("k", "a-4")).Type)

	st := srv.Stats()
	require.Equal(t, 3, st.Rejected429)
	require.Equal(t, 2, st.QueueFull)
	require.Equal(t, 3, st.InFlight)
	require.Equal(t, 2, st.PeakInFlight)
}
