package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
)

func TestAccountQueueLimitNamesTheVariable(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"-1", "five", "10001"} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			_, err := config.LoadWorker(newEnv(with(workerRequired, map[string]string{config.EnvAccountQueueLimit: bad})).lookup)
			require.Error(t, err)
			require.Contains(t, err.Error(), config.EnvAccountQueueLimit)
		})
	}
}

func TestAccountQueueLimitZeroTurnsTheLimiterOff(t *testing.T) {
	t.Parallel()
	c, err := config.LoadWorker(newEnv(with(workerRequired, map[string]string{config.EnvAccountQueueLimit: "0"})).lookup)
	require.NoError(t, err)
	require.Zero(t, c.AccountQueueLimit)
}
