package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
)

// TestBenchRunsEveryScenario runs the bench at toy sizes on a real dev
// server: every scenario must complete (each checks its own results:
// every webhook counted, every result learned as expected, every batch
// item succeeded) and the docs section must hold each row.
func TestBenchRunsEveryScenario(t *testing.T) {
	t.Setenv("TEMPORAL_CLI", testenv.TemporalCLI(t))
	docs := filepath.Join(t.TempDir(), "benchmarks.md")
	require.NoError(t, os.WriteFile(docs, []byte("# Benchmarks\n\nHand-written text stays.\n"), 0o644))
	o := options{senders: 4, targets: 4, signals: 40, rounds: 2, latencySamples: 3, clients: 4, generations: 8,
		batchItems: 6, batchConcurrency: 2, only: []string{"ingest", "latency", "throughput", "batch", "account"},
		accountGenTime: 100 * time.Millisecond, accountLimit: 3, accountBatches: 2, accountItems: 5, accountWindow: 5,
		accountInteractive: 2, admissions: 20, admissionHolders: 4,
		docs: docs, compression: config.CompressionNone, partitions: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, o, []string{"-test"}, &out, io.Discard))
	b, err := os.ReadFile(docs)
	require.NoError(t, err)
	md := string(b)
	require.True(t, strings.HasPrefix(md, "# Benchmarks\n\nHand-written text stays.\n"), md)
	for _, want := range []string{beginMarker, endMarker, "go run ./bench -test",
		"| 1. webhook ingestion, 4 senders, 4 running generations: throughput |",
		"| 2. result latency", "| 3. end-to-end, 4 clients", "| fake answering at once | 6 | 2 |",
		"map[immediate:16 webhook:32]", "| floor | ", "| 3. the account limiter's cost: genflow against genflow without it",
		"| genflow without the account limiter | ",
		"| 6. account limiter (issue 17): 2 batches of 5 items (window 5) and 2 interactive generations",
		"| 429s from genflow's own traffic (counted at the fake) | 0 ", "| the limiter alone: 4 holders",
		"Learned by (batch items and interactive): map[webhook:12]"} {
		require.Contains(t, md, want)
	}
	require.Contains(t, out.String(), "| 2. result latency")
}

func TestWriteSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.md")

	// No file yet: the section is the file.
	require.NoError(t, writeSection(path, "one\n"))
	// Text around the markers stays; what is between them is replaced.
	b, _ := os.ReadFile(path)
	require.NoError(t, os.WriteFile(path, append(append([]byte("before\n"), b...), "after\n"...), 0o644))
	require.NoError(t, writeSection(path, "two\n"))
	b, _ = os.ReadFile(path)
	require.Equal(t, "before\n\n"+beginMarker+"\ntwo\n"+endMarker+"\nafter\n", string(b))

	// A lone marker is an error, and the file is left alone.
	require.NoError(t, os.WriteFile(path, []byte("x\n"+endMarker+"\n"), 0o644))
	require.ErrorContains(t, writeSection(path, "three\n"), "one bench marker without the other")
	b, _ = os.ReadFile(path)
	require.Equal(t, "x\n"+endMarker+"\n", string(b))
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/genflow/genflow/webhookgateway
BenchmarkSignerVerify/secrets=1-2         	 3660339	       340.1 ns/op	      80 B/op	       2 allocs/op
BenchmarkParseWebhook-2   	  190107	      6600 ns/op	  32.88 MB/s	    3696 B/op	      53 allocs/op
PASS
`
	got, err := parseGoBench(out)
	require.NoError(t, err)
	require.Equal(t, []goBench{
		{Name: "BenchmarkSignerVerify/secrets=1", NsPerOp: 340.1, BytesPerOp: 80, AllocsPerOp: 2},
		{Name: "BenchmarkParseWebhook", NsPerOp: 6600, BytesPerOp: 3696, AllocsPerOp: 53},
	}, got)
	_, err = parseGoBench("PASS\n")
	require.Error(t, err)
}

func TestPercentileAndMedian(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	require.Equal(t, 50*time.Millisecond, percentile(d, 50))
	require.Equal(t, 99*time.Millisecond, percentile(d, 99))
	require.Equal(t, 100*time.Millisecond, percentile(d, 100))
	require.Equal(t, time.Duration(0), percentile(nil, 50))
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseFlags([]string{"-only", "ingest,nope"}, &stderr)
	require.Error(t, err)
	require.Contains(t, stderr.String(), `unknown scenario "nope"`)
	stderr.Reset()
	_, err = parseFlags([]string{"-clients", "0"}, &stderr)
	require.Error(t, err)
	require.Contains(t, stderr.String(), "-clients is 0")
	stderr.Reset()
	_, err = parseFlags([]string{"-grpc-compression", "zstd"}, &stderr)
	require.Error(t, err)
	require.Contains(t, stderr.String(), `"zstd"`)
	o, err := parseFlags([]string{"-only", "batch", "-batch-items", "10000"}, &stderr)
	require.NoError(t, err)
	require.True(t, o.wants("batch"))
	require.False(t, o.wants("ingest"))
	// The scale scenario runs only when named.
	o, err = parseFlags(nil, &stderr)
	require.NoError(t, err)
	require.True(t, o.wants("account"))
	require.False(t, o.wants("account-scale"))
	o, err = parseFlags([]string{"-only", "account-scale"}, &stderr)
	require.NoError(t, err)
	require.True(t, o.wants("account-scale"))
}
