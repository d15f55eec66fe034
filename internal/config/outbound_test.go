package config_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
)

func workerEnv(extra map[string]string) config.Lookup {
	env := map[string]string{
		config.EnvModelsLabKey:   "k",
		config.EnvWebhookSecrets: "0123456789abcdef0123456789abcdef",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// The outbound policy allows nothing but public addresses unless
// OUTBOUND_ALLOW_CIDRS names ranges.
func TestLoadWorkerOutboundAllow(t *testing.T) {
	t.Parallel()
	c, err := config.LoadWorker(workerEnv(nil))
	require.NoError(t, err)
	require.Empty(t, c.OutboundAllow, "nothing allowed by default")

	c, err = config.LoadWorker(workerEnv(map[string]string{config.EnvOutboundAllow: "127.0.0.0/8, ::1,172.18.0.0/16"}))
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("172.18.0.0/16"),
	}, c.OutboundAllow)

	for _, bad := range []string{"localhost", "127.0.0.0/33", "10.0.0.0/8;192.168.0.0/16"} {
		_, err = config.LoadWorker(workerEnv(map[string]string{config.EnvOutboundAllow: bad}))
		require.ErrorContains(t, err, config.EnvOutboundAllow+": ", bad)
		require.ErrorContains(t, err, "CIDR", bad)
	}
}
