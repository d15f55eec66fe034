// Package testenv holds what genflow's programs that run real processes
// share, the tests and the bench: finding the Temporal CLI and picking
// free loopback ports.
package testenv

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// ErrNoTemporalCLI says that FindTemporalCLI found no CLI.
var ErrNoTemporalCLI = errors.New("no Temporal CLI found: run scripts/install-tools.sh or set TEMPORAL_CLI")

// FindTemporalCLI returns the Temporal CLI binary: $TEMPORAL_CLI (which
// must exist), else $(go env GOPATH)/bin/temporal, else temporal on the
// PATH; ErrNoTemporalCLI when there is none.
func FindTemporalCLI() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", ErrNoTemporalCLI
}

// TemporalCLI is FindTemporalCLI for a test: skipped without a CLI, failed
// when TEMPORAL_CLI names a missing file. scripts/test.sh installs the
// CLI and sets TEMPORAL_CLI.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	p, err := FindTemporalCLI()
	switch {
	case errors.Is(err, ErrNoTemporalCLI):
		t.Skip(err)
	case err != nil:
		t.Fatalf("TEMPORAL_CLI: %v", err)
	}
	return p
}

// LoopbackAddr returns a loopback host:port that was free a moment ago.
func LoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// FreeAddr is LoopbackAddr for a test.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := LoopbackAddr()
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	return addr
}

// CountingServer is a loopback HTTP server that answers every request
// with body and counts the requests: an internal service (a cloud
// metadata endpoint, an admin API) that the outbound policy's tests
// check is never reached. It closes with the test.
func CountingServer(t testing.TB, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// SyncBuffer is a bytes.Buffer that goroutines (a process's output, a
// logger's, the starter's) may write while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
