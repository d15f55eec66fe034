package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/notify"
	"github.com/genflow/genflow/worker"
)

// Issue 16, item 4: a worker without a notification secret says so in
// plain words at start; one with a secret does not.
func TestRunWarnsWithoutANotificationSecret(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	err := worker.Run(context.Background(), workerConfig(t), slog.New(slog.NewTextHandler(&logs, nil)))
	require.Error(t, err, "Temporal is unreachable")
	require.Contains(t, logs.String(), `level=WARN msg="no notification secret: runs started with --notify will send no notification`)
	require.Contains(t, logs.String(), "var="+config.EnvNotifySecrets)

	secret, err := notify.NewSecret()
	require.NoError(t, err)
	cfg := workerConfig(t)
	cfg.NotifySecrets = []string{secret.String()}
	logs.Reset()
	require.Error(t, worker.Run(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil))))
	require.NotContains(t, logs.String(), "no notification secret")
}
