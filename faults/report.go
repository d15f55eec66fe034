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

// result is what one scenario measured.
type result struct {
	Name  string
	Scale string
	Runs  int
	// Lost counts runs that should have succeeded and did not; Stuck
	// those still open past the scenario's bound.
	Lost, Stuck int
	// Doubles counts track_ids the fake accepted more than once.
	Doubles int
	// Kills counts SIGKILLs of the worker; KillsInSubmit those that
	// landed while submit calls were in flight, InSubmit how many calls
	// were, DoublesInSubmit how many of their track_ids were submitted
	// twice.
	Kills, KillsInSubmit, InSubmit, DoublesInSubmit int
	// False200 counts webhooks the gateway answered 200 (delivered) that
	// the run did not record.
	False200 int
	// Count5xx counts the gateway's 5xx answers.
	Count5xx int
	// P99 is the 99th percentile of P99What.
	P99     time.Duration
	P99What string
	// RSSBefore and RSSAfter are the gateway's VmRSS in MiB at the start
	// and the end of the scenario.
	RSSBefore, RSSAfter float64
	// Facts are short findings for the notes.
	Facts []string
	// Failures are the checks that failed.
	Failures []string
	Wall     time.Duration

	// expected5xx, when set, says why the scenario's 5xx are right.
	expected5xx      string
	details          []string
	inSubmitTracks   []string
	runLatencies     []time.Duration
	webhookLatencies []time.Duration
}

func (r *result) fact(format string, args ...any) {
	r.Facts = append(r.Facts, fmt.Sprintf(format, args...))
}

// note keeps a detail (a lost run, a false 200) for the log; the first
// 20 are kept.
func (r *result) note(format string, args ...any) {
	if len(r.details) < 20 {
		r.details = append(r.details, fmt.Sprintf(format, args...))
	}
}

// check records a failed check unless ok.
func (r *result) check(ok bool, format string, args ...any) {
	if !ok {
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	}
}

// checkCommon applies the suite's promises: nothing lost, nothing stuck,
// no false 200, no double submission without a kill during Submit.
func (r *result) checkCommon() {
	r.check(r.Lost == 0, "%d run(s) lost", r.Lost)
	r.check(r.Stuck == 0, "%d run(s) stuck", r.Stuck)
	r.check(r.False200 == 0, "%d false 200(s): webhooks answered delivered that no run recorded", r.False200)
	r.check(r.Doubles == r.DoublesInSubmit, "%d double submission(s), %d of them of calls a kill interrupted: a retry submitted again after the provider answered",
		r.Doubles, r.DoublesInSubmit)
}

// finishLatency sets P99 from the run or webhook latencies.
func (r *result) finishLatency() {
	switch {
	case r.P99What != "":
	case len(r.runLatencies) > 0:
		r.P99, r.P99What = percentile(r.runLatencies, 0.99), "run"
	case len(r.webhookLatencies) > 0:
		r.P99, r.P99What = percentile(r.webhookLatencies, 0.99), "webhook answer"
	}
}

func (r result) doublesCell() string {
	s := strconv.Itoa(r.Doubles)
	if r.Kills == 0 {
		return s
	}
	s += fmt.Sprintf(" (%d kill(s), %d during Submit", r.Kills, r.KillsInSubmit)
	if r.KillsInSubmit > 0 {
		s += fmt.Sprintf(": %d call(s) cut off, %d submitted again", r.InSubmit, r.DoublesInSubmit)
	}
	return s + ")"
}

func (r result) count5xxCell() string {
	if r.Count5xx > 0 && r.expected5xx != "" {
		return fmt.Sprintf("%d (%s)", r.Count5xx, r.expected5xx)
	}
	return strconv.Itoa(r.Count5xx)
}

func (r result) p99Cell() string {
	if r.P99What == "" {
		return "–"
	}
	return durationText(r.P99) + " " + r.P99What
}

func durationText(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 0, 64) + " s"
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d >= 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64) + " ms"
	default:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	}
}

func (r result) verdict() string {
	if len(r.Failures) == 0 {
		return "pass"
	}
	return "**FAIL**"
}

// report is one run of the suite.
type report struct {
	When    time.Time
	Command string
	Results []result
	Wall    time.Duration
	// prod is set by -prod, whose report differs (prod.go).
	prod *prodReport
}

// failed reports whether any check failed.
func (rep report) failed() bool {
	for _, r := range rep.Results {
		if len(r.Failures) > 0 {
			return true
		}
	}
	return false
}

// notes is a result's facts, then its failures, for the line under the
// table: " fact; fact. FAILED: why."
func (r result) notes() string {
	s := ""
	if len(r.Facts) > 0 {
		s = " " + strings.Join(r.Facts, "; ")
	}
	s += "."
	for _, f := range r.Failures {
		s += " FAILED: " + f + "."
	}
	return s
}

// markdown renders the table and the notes: the section
// docs/reliability.md holds between its faults markers.
func (rep report) markdown() string {
	if rep.prod != nil {
		return rep.prodMarkdown()
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("Measured %s (%s in all) by\n\n```sh\n%s\n```\n\n", rep.When.Format("2006-01-02 15:04 MST"), durationText(rep.Wall.Round(time.Second)), rep.Command)
	w("on %s, %d cores, %s; Temporal CLI %s dev server on SQLite (WAL, synchronous=normal); every part its own process on loopback.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.Version(), testenv.TemporalVersion())
	w("| scenario | scale | runs | lost | stuck | double submissions | false 200s | gateway 5xx | p99 | gateway RSS before → after | verdict |\n")
	w("|---|---|---:|---:|---:|---|---:|---:|---|---|---|\n")
	for _, r := range rep.Results {
		w("| %s | %s | %d | %d | %d | %s | %d | %s | %s | %.0f → %.0f MiB | %s |\n",
			r.Name, r.Scale, r.Runs, r.Lost, r.Stuck, r.doublesCell(), r.False200, r.count5xxCell(), r.p99Cell(),
			r.RSSBefore, r.RSSAfter, r.verdict())
	}
	w("\n")
	for _, r := range rep.Results {
		if len(r.Facts) == 0 && len(r.Failures) == 0 {
			continue
		}
		w("- **%s** (%s):%s\n", r.Name, durationText(r.Wall.Round(time.Second)), r.notes())
	}
	return b.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

const (
	beginMarker = "<!-- faults:begin (written by go run ./faults -docs; edits inside are overwritten) -->"
	endMarker   = "<!-- faults:end -->"
)

// docSection is the part of the docs this program rewrites.
var docSection = testenv.Section{Name: "faults", Begin: beginMarker, End: endMarker}

// section is the part of the docs the report goes to: docs/reliability.md's
// faults section, or for -prod docs/deploy.md's "What was run".
func (rep report) section() testenv.Section {
	if rep.prod != nil {
		return prodSection
	}
	return docSection
}

// writeSection replaces what path holds between the faults markers with
// md, or appends the markers and md when there are none.
func writeSection(path, md string) error { return docSection.Write(path, md) }
