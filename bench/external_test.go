package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestExternalReport: with -temporal-address the report names the server
// and adds PostgreSQL's CPU per workflow, and -docs goes to the second
// table's markers; without it, the dev server's as before.
func TestExternalReport(t *testing.T) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ext := externalFlags(fs)
	require.NoError(t, fs.Parse([]string{"-temporal-address", "127.0.0.1:7233", "-server-pid", "12", "-postgres-pid", "34"}))
	require.True(t, ext.on())
	require.Equal(t, cpuMeter{serverPID: 12, postgresPID: 34}, ext.meter())
	require.Equal(t, prodSection, ext.section())

	var none *external
	require.False(t, none.on())
	require.Equal(t, docSection, none.section())

	st := func(n int, server, pg time.Duration) stat {
		return stat{N: n, Wall: time.Second, ServerCPU: server, PostgresCPU: pg, SelfCPU: time.Duration(n) * time.Millisecond}
	}
	rep := report{When: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), Command: "go run ./bench -temporal-address 127.0.0.1:7233",
		Opts:    options{external: ext, compression: "none", partitions: 1},
		Machine: machine{Temporal: "1.29.1"},
		Ingest:  &ingestResult{Senders: 32, Targets: 100, PerRound: 10, Gateway: st(10, 20*time.Millisecond, 10*time.Millisecond), Raw: st(10, 10*time.Millisecond, 5*time.Millisecond), Ratios: []float64{0.95}},
		Throughput: &throughputResult{Clients: 32, PerRound: 10, Webhook: st(10, 300*time.Millisecond, 200*time.Millisecond),
			Immediate: st(10, 250*time.Millisecond, 150*time.Millisecond), Floor: st(10, 240*time.Millisecond, 120*time.Millisecond),
			FloorAttributed: st(10, 260*time.Millisecond, 130*time.Millisecond), Ratios: []float64{0.8},
			Events: map[string]float64{"floor": 11}},
	}
	md := rep.markdown()
	require.Contains(t, md, "the Temporal server 1.29.1 at 127.0.0.1:7233")
	require.Contains(t, md, "| | Temporal server CPU | PostgreSQL CPU | bench process CPU | history events |")
	require.Contains(t, md, "| floor | 24.0 ms | 12.0 ms | 1.0 ms | 11.0 |")
	require.Contains(t, md, "- ingestion, PostgreSQL's CPU per webhook: 1.00 ms through the gateway, 0.50 ms as raw signals")

	rep.Opts.external = nil
	md = rep.markdown()
	require.Contains(t, md, "| | dev server CPU | bench process CPU | history events |")
	require.NotContains(t, md, "PostgreSQL")
}
