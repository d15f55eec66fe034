package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/fakemodelslab"
)

// TestCommonShares: submits are counted per batch only while every batch
// has submits left, from the latest first submit to the earliest last one.
func TestCommonShares(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) fakemodelslab.TrackStats {
		return fakemodelslab.TrackStats{Submissions: 1, SubmittedAt: []time.Time{t0.Add(time.Duration(s) * time.Second)}}
	}
	tracks := map[string]fakemodelslab.TrackStats{
		"a-00000": at(0), "a-00001": at(2), "a-00002": at(4), "a-00003": at(9),
		"b-00000": at(1), "b-00001": at(3), "b-00002": at(5),
		"other-1": at(3), // not a batch item
	}
	shares, common := commonShares(tracks, []string{"a", "b"})
	// From b's first (1 s) to b's last (5 s): a submitted at 2 and 4.
	require.Equal(t, []int{2, 3}, shares)
	require.Equal(t, 4*time.Second, common)

	shares, common = commonShares(tracks, []string{"a", "c"})
	require.Equal(t, []int{0, 0}, shares)
	require.Zero(t, common)

	r := accountResult{Shares: []int{95, 94, 95}, GenTime: time.Second, Limit: 5}
	require.InDelta(t, 94.0/(284.0/3)-1, -r.ShareSpread(), 1e-9)
	require.Equal(t, 1200*time.Millisecond, r.LatencyTarget())
}
