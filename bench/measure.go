package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stat summarises one side of a comparison: how many operations, over
// how long, and their latency percentiles.
type stat struct {
	N    int
	Wall time.Duration
	P50  time.Duration
	P99  time.Duration
	Max  time.Duration
	// Rounds is the per-round rate (operations per second), when the
	// stat merges several rounds.
	Rounds []float64
	// ServerCPU and SelfCPU are the CPU time the dev server and the bench
	// process (gateway, worker, fake, clients) used over the rounds.
	ServerCPU, SelfCPU time.Duration
	// PostgresCPU is PostgreSQL's, with -postgres-pid.
	PostgresCPU time.Duration
	durs        []time.Duration
}

// PerSecond is the operations per second over the wall time.
func (s stat) PerSecond() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return float64(s.N) / s.Wall.Seconds()
}

// add merges another round into s.
func (s *stat) add(r stat) {
	s.N += r.N
	s.Wall += r.Wall
	s.durs = append(s.durs, r.durs...)
	s.Rounds = append(s.Rounds, r.PerSecond())
	s.ServerCPU += r.ServerCPU
	s.SelfCPU += r.SelfCPU
	s.PostgresCPU += r.PostgresCPU
	s.summarise()
}

func (s *stat) summarise() {
	d := slices.Clone(s.durs)
	slices.Sort(d)
	s.P50, s.P99 = percentile(d, 50), percentile(d, 99)
	if len(d) > 0 {
		s.Max = d[len(d)-1]
	}
}

// percentile is the nearest-rank percentile of sorted d.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// runConcurrent calls op(i) for i in [0, n) from `workers` goroutines,
// each taking the next i when its previous call returns (a closed loop),
// and times every call and the whole. The first error stops the rest.
func runConcurrent(ctx context.Context, n, workers int, op func(ctx context.Context, i int) error) (stat, error) {
	return runMetered(ctx, cpuMeter{}, n, workers, op)
}

// perOp is d per operation of s, in milliseconds.
func (s stat) perOp(d time.Duration) float64 {
	if s.N == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(s.N)
}

// runMetered is runConcurrent that also records the CPU time m sees used.
func runMetered(ctx context.Context, m cpuMeter, n, workers int, op func(ctx context.Context, i int) error) (stat, error) {
	cpu0 := m.sample()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	perWorker := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, i); err != nil {
					cancel(fmt.Errorf("operation %d: %w", i, err))
					return
				}
				perWorker[w] = append(perWorker[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	s := stat{N: n, Wall: time.Since(start)}
	used := m.since(cpu0)
	s.ServerCPU, s.SelfCPU, s.PostgresCPU = used.server, used.self, used.postgres
	if err := context.Cause(ctx); err != nil {
		return s, err
	}
	for _, d := range perWorker {
		s.durs = append(s.durs, d...)
	}
	s.summarise()
	return s, nil
}

// median of v (0 when empty).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
