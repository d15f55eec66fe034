package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBatcherGathersCallsWhileASendIsInFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	b := newBatcher(100, func(_ context.Context, reqs []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(reqs))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release // the first send is in flight while the others arrive
		}
		out := make([]int, len(reqs))
		for i, r := range reqs {
			out[i] = r * 10
		}
		return out, nil
	})
	var wg sync.WaitGroup
	results := make([]int, 11)
	wg.Go(func() {
		r, err := b.do(t.Context(), 0)
		require.NoError(t, err)
		results[0] = r
	})
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 }, 5*time.Second, time.Millisecond)
	for i := 1; i <= 10; i++ {
		wg.Go(func() {
			r, err := b.do(t.Context(), i)
			require.NoError(t, err)
			results[i] = r
		})
	}
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 10 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.Equal(t, []int{1, 10}, sizes, "a lone call at once, then the ten that came meanwhile in one send")
	for i, r := range results {
		require.Equal(t, i*10, r, "each call gets its own reply")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	require.False(t, b.sending, "the loop ends when nothing waits")
}

func TestBatcherSplitsAtMaxAndSharesErrors(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	boom := errors.New("boom")
	b := newBatcher(3, func(_ context.Context, reqs []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(reqs))
		mu.Unlock()
		<-gate
		return nil, boom
	})
	var wg sync.WaitGroup
	call := func(i int) {
		wg.Go(func() {
			_, err := b.do(t.Context(), i)
			require.ErrorIs(t, err, boom)
		})
	}
	call(0)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 }, 5*time.Second, time.Millisecond)
	for i := 1; i <= 6; i++ {
		call(i)
	}
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 6 }, 5*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	require.Equal(t, []int{1, 3, 3}, sizes)
}

func TestBatcherCallerGivesUpAlone(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	b := newBatcher(10, func(_ context.Context, reqs []int) ([]int, error) {
		<-gate
		return reqs, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := b.do(ctx, 1); done <- err }()
	other := make(chan int, 1)
	go func() { r, _ := b.do(t.Context(), 2); other <- r }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	close(gate)
	require.Equal(t, 2, <-other, "the other call is still answered")
}

func TestBatcherShortReply(t *testing.T) {
	t.Parallel()
	b := newBatcher(10, func(_ context.Context, reqs []int) ([]int, error) { return nil, nil })
	_, err := b.do(t.Context(), 1)
	require.ErrorIs(t, err, errShortBatchReply)
}

func TestBatcherPostDoesNotWaitAndIdleDoes(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	b := newBatcher(10, func(_ context.Context, reqs []int) ([]int, error) {
		<-gate
		return reqs, nil
	})
	got := make(chan int, 1)
	b.post(t.Context(), 7, func(r int, err error) {
		require.NoError(t, err)
		got <- r
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.idle(ctx), context.DeadlineExceeded, "the posted call is still being sent")
	close(gate)
	require.NoError(t, b.idle(t.Context()))
	require.Equal(t, 7, <-got, "the posted call's reply reaches its callback")
}
