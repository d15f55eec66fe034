package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRenderCaddyfile renders the project's own Caddyfile for loopback:
// the compose service's DNS upstreams become the gateways' addresses,
// the ports move, Caddy binds to 127.0.0.1, and nothing else changes.
func TestRenderCaddyfile(t *testing.T) {
	t.Parallel()
	src := filepath.Join("..", "deploy", "caddy", "Caddyfile")
	got, err := renderCaddyfile(src, []string{"127.0.0.1:21001", "127.0.0.1:21002"}, "21080", "21443", "21081")
	require.NoError(t, err)
	require.Contains(t, got, "\t\tto 127.0.0.1:21001 127.0.0.1:21002\n\t\tlb_policy round_robin\n")
	require.NotContains(t, got, "dynamic a")
	require.Contains(t, got, "\thttp_port 21080\n\tdefault_bind 127.0.0.1\n")
	require.Contains(t, got, "\thttps_port 21443\n")
	require.Contains(t, got, "http://:21081 {")
	for _, kept := range []string{"lb_try_duration 10s", "fail_duration 10s", "handle /metrics*", "{$GATEWAY_SITE_ADDRESS::8080} {"} {
		require.Contains(t, got, kept)
	}

	other := filepath.Join(t.TempDir(), "Caddyfile")
	require.NoError(t, os.WriteFile(other, []byte(":8080 {\n\treverse_proxy gateway:8080\n}\n"), 0o644))
	_, err = renderCaddyfile(other, []string{"127.0.0.1:1"}, "1", "2", "3")
	require.ErrorContains(t, err, "dynamic a")
}

func TestParseFlagsProd(t *testing.T) {
	t.Parallel()
	_, err := parseFlags([]string{"-prod"}, io.Discard)
	require.ErrorIs(t, err, errNoProd)
	o, err := parseFlags([]string{"-prod", "-prod-server", "s", "-prod-config", "c", "-prod-caddy", "k", "-items", "500"}, io.Discard)
	require.NoError(t, err)
	require.True(t, o.prod.on)
	require.Equal(t, "deploy/caddy/Caddyfile", o.prod.caddyfile)
	require.Equal(t, 500, o.items)
}

func TestProdMarkdown(t *testing.T) {
	t.Parallel()
	rep := report{When: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), Command: "make prod-check", Wall: 5 * time.Minute,
		prod: &prodReport{Init: 66 * time.Second, CPU: "CPU seconds during the run: Temporal server 40", Server: "1.29.1",
			Caddy: "v2.10.2", Postgres: "15.14"},
		Results: []result{
			{Name: "prod: batch", Scale: "500 items", Runs: 500, Doubles: 1, DoublesInSubmit: 1, Count5xx: 2,
				expected5xx: "during the restarts", Wall: 3 * time.Minute, Facts: []string{"restarts: worker 1"}},
			{Name: "prod: example pipelines", Scale: "3 examples × 5 restarts", Runs: 15, Lost: 1, Failures: []string{"1 run(s) lost"}},
		}}
	md := rep.markdown()
	require.Contains(t, md, "make prod-check")
	require.Contains(t, md, "the Temporal server 1.29.1")
	require.Contains(t, md, "PostgreSQL 15.14")
	require.Contains(t, md, "| prod: batch | 500 items | 500 | 500 | 0 | 0 | 1 (1 with a Submit in flight at a restart) | 0 | 2 (during the restarts) | – | 180 s | pass |")
	require.Contains(t, md, "| prod: example pipelines | 3 examples × 5 restarts | 15 | 14 | 1 | 0 |")
	require.Contains(t, md, "- CPU seconds during the run: Temporal server 40.")
	require.True(t, strings.Contains(md, "FAILED: 1 run(s) lost."))
	require.Equal(t, prodSection, rep.section())
}
