package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/testenv"
)

// ciScenarios are the bounded subset CI runs, at the -short scale.
var ciScenarios = []string{"worker-kill-batch", "provider-faults", "abuse", "burst"}

// TestFaultSuiteShort runs the CI subset of the fault suite on real
// processes: the worker SIGKILLed once during a 30-item batch, every
// provider fault at once on 40 runs, the abuse list, and 500 signed
// webhooks a second for 5 s. Each must lose nothing, leave nothing
// stuck, answer no false 200 and no 5xx, and submit nothing twice unless
// a kill cut a Submit call off. `make faults` runs the whole suite at
// full scale.
func TestFaultSuiteShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite runs real processes; run it without -short, or go run ./faults -short")
	}
	testenv.TemporalCLI(t)
	o, err := parseFlags([]string{"-short", "-scenario", strings.Join(ciScenarios, ",")}, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	base := t.TempDir()
	bins := filepath.Join(base, "bin")
	require.NoError(t, buildBinaries(ctx, bins))
	su := &suite{o: o, bins: bins, base: base, tag: "ci", logf: func(format string, a ...any) { t.Logf(format, a...) }}
	rep := report{When: time.Now(), Command: "go test ./faults -run TestFaultSuiteShort"}
	for _, name := range o.scenarios {
		t.Run(name, func(t *testing.T) {
			r := su.run(ctx, name)
			rep.Results = append(rep.Results, r)
			require.Empty(t, r.Failures, "failed checks of %s (logs in %s)", name, filepath.Join(base, name))
			require.Positive(t, r.Runs, "no run was measured")
			require.Zero(t, r.Lost, "lost runs")
			require.Zero(t, r.Stuck, "stuck runs")
			require.Zero(t, r.False200, "webhooks answered 200 that no run recorded")
			require.Zero(t, r.Count5xx, "5xx answers of the gateway")
			require.Equal(t, r.DoublesInSubmit, r.Doubles, "double submissions without a kill during Submit")
			if name == "worker-kill-batch" {
				require.Equal(t, o.kills, r.Kills, "SIGKILLs of the worker")
			}
		})
	}
	t.Log("\n" + rep.markdown())
	if t.Failed() {
		// Keep the logs and databases of a failed run for a look.
		if dir, err := os.MkdirTemp("", "genflow-faults-failed-"); err == nil {
			if err := os.CopyFS(dir, os.DirFS(base)); err == nil {
				t.Logf("logs and databases copied to %s", dir)
			}
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o options)
		wantErr bool
	}{
		{name: "defaults run every scenario", args: nil, check: func(t *testing.T, o options) {
			require.Equal(t, scenarioNames, o.scenarios)
			require.Equal(t, 300, o.items)
			require.Equal(t, 2000.0, o.rate)
			require.Equal(t, 20*time.Second, o.duration)
		}},
		{name: "short scale, explicit flags win", args: []string{"-short", "-items", "12"}, check: func(t *testing.T, o options) {
			require.Equal(t, 12, o.items)
			require.Equal(t, 1, o.kills)
			require.Equal(t, 40, o.runs)
			require.Equal(t, 5*time.Second, o.duration)
		}},
		{name: "listed order kept, no repeats", args: []string{"-scenario", "signal-limit,burst,abuse,burst"}, check: func(t *testing.T, o options) {
			require.Equal(t, []string{"abuse", "burst", "signal-limit"}, o.scenarios)
		}},
		{name: "unknown scenario", args: []string{"-scenario", "meteor"}, wantErr: true},
		{name: "no runs", args: []string{"-runs", "0"}, wantErr: true},
		{name: "stray argument", args: []string{"now"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestWriteSection(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "reliability.md")
	require.NoError(t, os.WriteFile(path, []byte("# Reliability\n\nintro\n"), 0o644))
	require.NoError(t, writeSection(path, "table one\n"))
	require.NoError(t, os.WriteFile(path, append(must(os.ReadFile(path)), "\n## After\n"...), 0o644))
	require.NoError(t, writeSection(path, "table two\n"))
	got := string(must(os.ReadFile(path)))
	require.Equal(t, "# Reliability\n\nintro\n\n"+beginMarker+"\ntable two\n"+endMarker+"\n\n## After\n", got)

	require.NoError(t, os.WriteFile(path, []byte(beginMarker+"\n"), 0o644))
	require.ErrorContains(t, writeSection(path, "x"), "one faults marker without the other")
}

func TestReportMarkdown(t *testing.T) {
	t.Parallel()
	rep := report{When: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Command: "go run ./faults", Results: []result{
		{Name: "worker-kill-submit", Scale: "30 runs", Runs: 30, Doubles: 15, Kills: 3, KillsInSubmit: 3, InSubmit: 30,
			DoublesInSubmit: 15, P99: 21 * time.Second, P99What: "run", RSSBefore: 30, RSSAfter: 31, Facts: []string{"late: 15 of 15"}},
		{Name: "abuse", Scale: "the abuse list", Runs: 4, Count5xx: 1, Failures: []string{"1 5xx answers"}},
	}}
	md := rep.markdown()
	require.Contains(t, md, "| worker-kill-submit | 30 runs | 30 | 0 | 0 | 15 (3 kill(s), 3 during Submit: 30 call(s) cut off, 15 submitted again) | 0 | 0 | 21 s run | 30 → 31 MiB | pass |")
	require.Contains(t, md, "| abuse | the abuse list | 4 | 0 | 0 | 0 | 0 | 1 | – | 0 → 0 MiB | **FAIL** |")
	require.Contains(t, md, "FAILED: 1 5xx answers.")
	require.Contains(t, md, "): late: 15 of 15.\n")
	require.Contains(t, md, "):. FAILED: 1 5xx answers.\n")
	require.True(t, rep.failed())
}

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code                          int
		body                          string
		delivered, unmatched, refused bool
	}{
		{200, `{"matched":true}`, true, false, false},
		{200, `{"matched":false}`, false, true, false},
		{200, `{"matched":true,"delivered":false,"reason":"cap"}`, false, false, true},
		{200, `{"matched":true,"delivered":true}`, true, false, false},
		{503, `{"error":"temporal unavailable"}`, false, false, false},
		{200, `not json`, false, false, false},
		{0, ``, false, false, false},
	}
	for _, tc := range cases {
		d, u, r := classify(tc.code, []byte(tc.body))
		require.Equal(t, []bool{tc.delivered, tc.unmatched, tc.refused}, []bool{d, u, r}, "%d %s", tc.code, tc.body)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 99*time.Millisecond, percentile(d, 0.99))
	require.Equal(t, 50*time.Millisecond, percentile(d, 0.5))
	require.Zero(t, percentile(nil, 0.99))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
