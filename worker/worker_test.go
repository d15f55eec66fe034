package worker_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/worker"
)

func workerConfig(t *testing.T) config.Worker {
	t.Helper()
	return config.Worker{
		Temporal:         config.Temporal{Address: "127.0.0.1:1", Namespace: "default", TaskQueue: "genflow-test"},
		ModelsLabKey:     "key",
		ModelsLabBaseURL: "http://127.0.0.1:1/api/",
		PublicURL:        "http://127.0.0.1:8080",
		Secrets:          []string{"0123456789abcdef0123"},
		MetricsAddr:      "127.0.0.1:0",
	}
}

func TestRunFailsWhenTheMetricsAddressIsTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := workerConfig(t)
	cfg.MetricsAddr = ln.Addr().String()
	err = worker.Run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, config.EnvWorkerMetrics)
}

func TestRunFailsWhenTemporalIsUnreachable(t *testing.T) {
	t.Parallel()
	err := worker.Run(context.Background(), workerConfig(t), slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "connect to Temporal at 127.0.0.1:1")
	require.ErrorContains(t, err, config.EnvTemporalAddress)
}
