package worker_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/notify"
	"github.com/genflow/genflow/storage"
	"github.com/genflow/genflow/worker"
)

// The worker's output copier and notifier go through the outbound
// policy: loopback is refused unless OUTBOUND_ALLOW_CIDRS allows it.
func TestActivitiesFollowTheOutboundPolicy(t *testing.T) {
	t.Parallel()
	srv, hits := testenv.CountingServer(t, "ok")
	secret, err := notify.NewSecret()
	require.NoError(t, err)
	cfg := workerConfig(t)
	cfg.Store = config.Store{URL: "file://" + t.TempDir()}
	cfg.NotifySecrets = []string{secret.String()}
	msg := notify.Message{ID: "msg_x", Time: time.Now(), Body: []byte(`{}`)}

	acts, err := worker.NewActivities(cfg)
	require.NoError(t, err)
	_, _, err = acts.Store.Copy(context.Background(), "t/0", []string{srv.URL + "/a.png"}, nil)
	require.ErrorIs(t, err, storage.ErrRefused)
	err = acts.Notifier.Send(context.Background(), srv.URL+"/hook", msg)
	var ne *notify.Error
	require.ErrorAs(t, err, &ne)
	require.Equal(t, notify.Refused, ne.Outcome)
	require.Zero(t, hits.Load())

	cfg.OutboundAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	acts, err = worker.NewActivities(cfg)
	require.NoError(t, err)
	_, _, err = acts.Store.Copy(context.Background(), "t/0", []string{srv.URL + "/a.png"}, nil)
	require.NoError(t, err)
	require.NoError(t, acts.Notifier.Send(context.Background(), srv.URL+"/hook", msg))
	require.EqualValues(t, 2, hits.Load())
}

func TestRegisterRefusesAnInvalidAllowance(t *testing.T) {
	t.Parallel()
	o := validOptions()
	o.OutboundAllow = []netip.Prefix{{}}
	err := worker.Register(&registry{}, lazyClient(t), o)
	require.ErrorContains(t, err, "RegisterOptions.OutboundAllow")
	require.True(t, strings.Contains(err.Error(), "invalid"), err.Error())
}
