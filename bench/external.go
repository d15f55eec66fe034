package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
)

// external is a Temporal server the bench does not start
// (-temporal-address): scripts/prod-check.sh's server on PostgreSQL. The
// connection's other settings (mTLS files, server name, an API key) come
// from the TEMPORAL_* variables, as every genflow binary reads them. Its
// namespace must exist and hold genflow's search attributes
// (deploy/temporal/init.sh). A nil *external is the dev server.
type external struct {
	address     string
	serverPID   int
	postgresPID int
	// serverVersion is what the server says of itself.
	serverVersion string
}

func externalFlags(fs *flag.FlagSet) *external {
	e := &external{}
	fs.StringVar(&e.address, "temporal-address", "", "use this Temporal server (host:port; TLS and the rest from the TEMPORAL_* variables) instead of starting a dev server; -docs then writes the second table of docs/benchmarks.md")
	fs.IntVar(&e.serverPID, "server-pid", 0, "with -temporal-address: the server's pid, for its CPU time")
	fs.IntVar(&e.postgresPID, "postgres-pid", 0, "with -temporal-address: PostgreSQL's postmaster pid, for its CPU time (its backends' included)")
	return e
}

func (e *external) on() bool { return e != nil && e.address != "" }

// connect dials the server and sets s's client and Temporal settings.
func (e *external) connect(ctx context.Context, s *stack, compression string, logger *slog.Logger) error {
	st, err := config.LoadStarter(os.LookupEnv)
	if err != nil {
		return fmt.Errorf("the TEMPORAL_* variables: %w", err)
	}
	t := st.Temporal
	t.Address, t.TaskQueue, t.Compression = e.address, taskQueue, compression
	s.c, err = client.DialContext(ctx, t.ClientOptions(tlog.NewStructuredLogger(logger), nil))
	if err != nil {
		return fmt.Errorf("Temporal server at %s: %w", t.Describe(), err)
	}
	s.stops = append(s.stops, func() error { s.c.Close(); return nil })
	s.temporal = t
	return nil
}

// version is the server's version (the Temporal CLI's for the dev
// server).
func (e *external) version(ctx context.Context, s *stack) string {
	if !e.on() {
		return testenv.TemporalVersion()
	}
	info, err := s.c.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		return "unknown"
	}
	e.serverVersion = info.GetServerVersion()
	return e.serverVersion
}

// describe says what the server is, for the report.
func (e *external) describe(version string) string {
	return fmt.Sprintf("the Temporal server %s at %s (scripts/prod-check.sh: deploy/temporal-server on PostgreSQL %s for persistence "+
		"and visibility, deploy/dynamicconfig/production-sql.yaml, 4 history shards, frontend on mutual TLS; its own process; "+
		"load average %s when the report was written)",
		version, e.address, postgresVersion(e.postgresPID), loadAverage())
}

// postgresVersion is the version of the postgres binary running as pid.
func postgresVersion(pid int) string {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return "(version unknown)"
	}
	out, err := execOutput(exe, "--version")
	if err != nil {
		return "(version unknown)"
	}
	// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
	if f := strings.Fields(out); len(f) >= 3 {
		return f[2]
	}
	return "(version unknown)"
}

// meter measures the server's CPU: the dev server child, or the pids
// given.
func (e *external) meter() cpuMeter {
	if !e.on() {
		return cpuMeter{serverPID: childPID("temporal")}
	}
	return cpuMeter{serverPID: e.serverPID, postgresPID: e.postgresPID}
}

const (
	prodBeginMarker = "<!-- bench-prod:begin (written by make prod-check: go run ./bench -temporal-address -docs; edits inside are overwritten) -->"
	prodEndMarker   = "<!-- bench-prod:end -->"
)

// prodSection is docs/benchmarks.md's second table: the bench on the
// server of scripts/prod-check.sh.
var prodSection = testenv.Section{Name: "bench-prod", Begin: prodBeginMarker, End: prodEndMarker}

// section is the part of the docs this run rewrites.
func (e *external) section() testenv.Section {
	if e.on() {
		return prodSection
	}
	return docSection
}

// loadAverage is the 1-minute load average: other work on the machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
