// Package testenv holds what genflow's tests that run real processes
// share: finding the Temporal CLI and picking free loopback ports.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TemporalCLI returns the Temporal CLI binary: $TEMPORAL_CLI (which must
// exist), else $(go env GOPATH)/bin/temporal. Without either the test is
// skipped; scripts/test.sh installs the CLI and sets TEMPORAL_CLI.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TEMPORAL_CLI=%s: %v", p, err)
		}
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("Temporal CLI not found: run scripts/test.sh (it installs it) or set TEMPORAL_CLI")
	return ""
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	return addr
}
