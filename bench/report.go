package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/genflow/genflow/internal/testenv"
)

type machine struct {
	CPU      string
	Cores    int
	MemGiB   float64
	Go       string
	OS       string
	Temporal string
}

type report struct {
	When       time.Time
	Command    string
	Opts       options
	Machine    machine
	Ingest     *ingestResult
	Latency    *latencyResult
	Throughput *throughputResult
	Batch      *batchResult
	// Account and AccountScale are the account limiter's (account.go).
	Account      *accountResult
	AccountScale *scaleResult
	GoBench      []goBench
	PeakRSSMiB   float64
}

// The targets of issue 7.
const (
	targetIngestRatio     = 0.90
	targetIngestP99Factor = 1.5
	targetE2ERatio        = 0.80
	targetLatencyP50      = 100 * time.Millisecond
)

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if kib := testenv.ProcField("/proc/meminfo", "MemTotal"); kib > 0 {
		m.MemGiB = kib / (1 << 20)
	}
	return m
}

func peakRSSMiB() float64 { return testenv.ProcField("/proc/self/status", "VmHWM") / 1024 }

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func rate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 0, 64) + "%" }

func met(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

// rounds lists a stat's per-round rates.
func rounds(s stat) string { return joinEach(s.Rounds, rate, " / ") }

// ratios lists per-round ratios as percentages.
func ratios(v []float64) string { return joinEach(v, pct, ", ") }

func joinEach(v []float64, format func(float64) string, sep string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = format(x)
	}
	return strings.Join(parts, sep)
}

// markdown renders the report: the section docs/benchmarks.md holds
// between its bench markers.
func (r report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.Machine
	w("Measured %s by\n\n```sh\n%s\n```\n\n", r.When.Format("2006-01-02 15:04 MST"), r.Command)
	w("on %s, %d cores, %.0f GiB, %s, %s", m.CPU, m.Cores, m.MemGiB, m.OS, m.Go)
	if ext := r.Opts.external; ext.on() {
		w(", %s, gRPC compression %s", ext.describe(m.Temporal), r.Opts.compression)
	} else if m.Temporal != "" {
		db := "in memory"
		if r.Opts.onDisk {
			db = "on SQLite in WAL mode with synchronous=normal"
		}
		w(", Temporal CLI %s dev server %s, %d task-queue partition(s), eager activities, gRPC compression %s",
			m.Temporal, db, r.Opts.partitions, r.Opts.compression)
	}
	w(". The fake ModelsLab, the gateway (`webhookgateway.Run`), the worker (`worker.Run`), the floor's worker and the " +
		"load all run in the bench process on loopback sockets; the dev server is its own process. Both sides of each " +
		"comparison run in the same process against the same server, interleaved round by round.\n\n")

	if r.Ingest != nil || r.Latency != nil || r.Throughput != nil {
		w("| scenario | genflow | Temporal floor | genflow / floor | target |\n|---|---|---|---|---|\n")
	}
	if x := r.Ingest; x != nil {
		ratio := median(x.Ratios)
		p99 := float64(x.Gateway.P99) / float64(x.Raw.P99)
		w("| 1. webhook ingestion, %d senders, %d running generations: throughput | %s webhooks/s through the gateway | %s `SignalWorkflow`/s | %s (median of %d rounds) | ≥ 90%%: %s |\n",
			x.Senders, x.Targets, rate(x.Gateway.PerSecond()), rate(x.Raw.PerSecond()), pct(ratio), len(x.Ratios), met(ratio >= targetIngestRatio))
		w("| 1. webhook ingestion: latency p50 / p99 | %s / %s ms | %s / %s ms | p99 × %.2f | p99 ≤ 1.5×: %s |\n",
			ms(x.Gateway.P50), ms(x.Gateway.P99), ms(x.Raw.P50), ms(x.Raw.P99), p99, met(p99 <= targetIngestP99Factor))
	}
	if x := r.Latency; x != nil {
		w("| 2. result latency (webhook POST → result readable), p50 / p99 | %s / %s ms | %s / %s ms (signal → result) | p50 × %.2f | p50 < 100 ms: %s |\n",
			ms(x.Genflow.P50), ms(x.Genflow.P99), ms(x.Floor.P50), ms(x.Floor.P99),
			float64(x.Genflow.P50)/float64(x.Floor.P50), met(x.Genflow.P50 < targetLatencyP50))
	}
	if x := r.Throughput; x != nil {
		ratio := x.MedianRatio()
		w("| 3. end-to-end, %d clients, fake answering at once (webhook after 1 ms) | %s generations/s (p50 %s ms) | %s workflows/s (activity + signal, p50 %s ms) | %s (median of %d rounds) | ≥ 80%%: %s |\n",
			x.Clients, rate(x.Webhook.PerSecond()), ms(x.Webhook.P50), rate(x.Floor.PerSecond()), ms(x.Floor.P50),
			pct(ratio), len(x.Ratios), met(ratio >= targetE2ERatio))
		w("| 3. end-to-end, the result in the submit's reply | %s generations/s (p50 %s ms) | | %s | |\n",
			rate(x.Immediate.PerSecond()), ms(x.Immediate.P50), pct(x.Immediate.PerSecond()/x.Floor.PerSecond()))
		w("| 3. end-to-end against the floor with a generation's search attributes and summary | %s generations/s | %s workflows/s | %s | |\n",
			rate(x.Webhook.PerSecond()), rate(x.FloorAttributed.PerSecond()), pct(x.Webhook.PerSecond()/x.FloorAttributed.PerSecond()))
		if len(x.LimiterRatios) > 0 {
			w("| 3. the account limiter's cost: genflow against genflow without it (`ACCOUNT_QUEUE_LIMIT=0`) | %s generations/s | %s generations/s without the limiter (%s of the floor) | %s (median of %d rounds) | |\n",
				rate(x.Webhook.PerSecond()), rate(x.NoLimiter.PerSecond()), pct(median(x.NoLimiterFloorRatios())),
				pct(median(x.LimiterRatios)), len(x.LimiterRatios))
		}
	}
	if x := r.Batch; x != nil {
		w("\n| 4. batch | items | concurrency | wall time | items/s | batch runs | longest batch-run history | longest child history |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		w("| fake answering at once | %d | %d | %.1f s | %s | %d | %d events | %d events |\n",
			x.Items, x.Concurrency, x.Wall.Seconds(), rate(x.PerSecond()), x.Runs, x.LongestBatch, x.LongestChild)
	}
	if r.Ingest != nil || r.Throughput != nil {
		w("\nPer-round rates (per second):\n\n")
		if x := r.Ingest; x != nil {
			w("- ingestion, %d per round: gateway %s; raw signals %s; gateway / raw by round: %s. "+
				"CPU per webhook: dev server %.2f ms, bench process %.2f ms through the gateway; %.2f ms and %.2f ms as raw signals\n",
				x.PerRound, rounds(x.Gateway), rounds(x.Raw), ratios(x.Ratios),
				x.Gateway.perOp(x.Gateway.ServerCPU), x.Gateway.perOp(x.Gateway.SelfCPU), x.Raw.perOp(x.Raw.ServerCPU), x.Raw.perOp(x.Raw.SelfCPU))
		}
		if x := r.Throughput; x != nil {
			w("- end-to-end, %d per round: genflow %s; floor %s; immediate %s; floor with attributes %s; without the account limiter %s; genflow / floor by round: %s; genflow / without the limiter by round: %s. Learned by: %v\n",
				x.PerRound, rounds(x.Webhook), rounds(x.Floor), rounds(x.Immediate), rounds(x.FloorAttributed), rounds(x.NoLimiter),
				ratios(x.Ratios), ratios(x.LimiterRatios), x.LearnedBy)
		}
	}
	if x := r.Ingest; x != nil && r.Opts.external.on() {
		w("- ingestion, PostgreSQL's CPU per webhook: %.2f ms through the gateway, %.2f ms as raw signals (\"dev server\" above: the Temporal server)\n",
			x.Gateway.perOp(x.Gateway.PostgresCPU), x.Raw.perOp(x.Raw.PostgresCPU))
	}
	if x := r.Throughput; x != nil {
		w("\nWhat one end-to-end workflow costs (CPU time per workflow, from /proc; history events per workflow):\n\n")
		ext := r.Opts.external.on()
		if ext {
			w("| | Temporal server CPU | PostgreSQL CPU | bench process CPU | history events |\n|---|---:|---:|---:|---:|\n")
		} else {
			w("| | dev server CPU | bench process CPU | history events |\n|---|---:|---:|---:|\n")
		}
		for _, row := range []struct {
			name string
			s    stat
		}{{"floor", x.Floor}, {"floor + genflow's attributes", x.FloorAttributed}, {"genflow, webhook at once", x.Webhook},
			{"genflow, immediate result", x.Immediate}, {"genflow without the account limiter", x.NoLimiter}} {
			if ext {
				w("| %s | %.1f ms | %.1f ms | %.1f ms | %.1f |\n", row.name, row.s.perOp(row.s.ServerCPU), row.s.perOp(row.s.PostgresCPU),
					row.s.perOp(row.s.SelfCPU), x.Events[row.name])
				continue
			}
			w("| %s | %.1f ms | %.1f ms | %.1f |\n", row.name, row.s.perOp(row.s.ServerCPU), row.s.perOp(row.s.SelfCPU), x.Events[row.name])
		}
	}
	if x := r.Throughput; x != nil && len(x.Stalls) > 0 {
		w("\nStalls (workflows over 5 s):\n\n")
		for _, st := range x.Stalls {
			w("- %s\n", st)
		}
	}
	accountMarkdown(w, r.Account, r.AccountScale)
	if r.PeakRSSMiB > 0 {
		w("\nPeak memory of the bench process (gateway, worker, fake and clients together): %.0f MiB.\n", r.PeakRSSMiB)
	}
	if len(r.GoBench) > 0 {
		w("\n5. Go benchmarks (`go %s`):\n\n| benchmark | time/op | B/op | allocs/op |\n|---|---:|---:|---:|\n", strings.Join(goBenchArgs(), " "))
		for _, g := range r.GoBench {
			w("| `%s` | %s | %d | %d |\n", g.Name, nsop(g.NsPerOp), g.BytesPerOp, g.AllocsPerOp)
		}
	}
	return b.String()
}

func nsop(ns float64) string {
	if ns >= 1000 {
		return strconv.FormatFloat(ns/1000, 'f', 2, 64) + " µs"
	}
	return strconv.FormatFloat(ns, 'f', 0, 64) + " ns"
}

const (
	beginMarker = "<!-- bench:begin (written by go run ./bench -docs; edits inside are overwritten) -->"
	endMarker   = "<!-- bench:end -->"
)

// docSection is the part of the docs this program rewrites.
var docSection = testenv.Section{Name: "bench", Begin: beginMarker, End: endMarker}

// writeSection replaces what path holds between the bench markers with
// md, or appends the markers and md when there are none.
func writeSection(path, md string) error { return docSection.Write(path, md) }
