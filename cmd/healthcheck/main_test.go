package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/genflow/genflow/internal/config"
)

const secret = "test-secret-0123456789abcdef"

func lookup(m map[string]string) config.Lookup {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

func readyServer(t *testing.T, tlsServer bool, status int) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	})
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	return p
}

func TestRun(t *testing.T) {
	t.Parallel()
	up := readyServer(t, false, http.StatusOK)
	down := readyServer(t, false, http.StatusServiceUnavailable)
	upTLS := readyServer(t, true, http.StatusOK)

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"http ok", []string{"http", up.URL + "/readyz"}, nil, exitHealthy},
		{"http 503", []string{"http", down.URL + "/readyz"}, nil, exitUnhealthy},
		{"http refused", []string{"-timeout", "2s", "http", "http://127.0.0.1:1/"}, nil, exitUnhealthy},
		{"gateway admin on all interfaces", []string{"gateway"}, map[string]string{
			config.EnvWebhookSecrets: secret, config.EnvGatewayAdmin: "0.0.0.0:" + port(t, up),
		}, exitHealthy},
		{"gateway not ready", []string{"gateway"}, map[string]string{
			config.EnvWebhookSecrets: secret, config.EnvGatewayAdmin: "127.0.0.1:" + port(t, down),
		}, exitUnhealthy},
		// Readiness is asked of the admin listener, never of the webhook
		// listener, which serves no /readyz.
		{"gateway ready on its webhook port only", []string{"gateway"}, map[string]string{
			config.EnvWebhookSecrets: secret, config.EnvGatewayListen: "127.0.0.1:" + port(t, up),
			config.EnvGatewayAdmin: "127.0.0.1:" + port(t, down),
		}, exitUnhealthy},
		// The admin listener is plain HTTP whatever the webhook listener
		// serves.
		{"gateway over TLS", []string{"gateway"}, map[string]string{
			config.EnvWebhookSecrets: secret, config.EnvGatewayListen: "127.0.0.1:" + port(t, upTLS),
			config.EnvGatewayAdmin:   "[::]:" + port(t, up),
			config.EnvGatewayTLSCert: "/certs/tls.crt", config.EnvGatewayTLSKey: "/certs/tls.key",
		}, exitHealthy},
		{"gateway admin over TLS is not asked", []string{"gateway"}, map[string]string{
			config.EnvWebhookSecrets: secret, config.EnvGatewayAdmin: "127.0.0.1:" + port(t, upTLS),
			config.EnvGatewayTLSCert: "/certs/tls.crt", config.EnvGatewayTLSKey: "/certs/tls.key",
		}, exitUnhealthy},
		{"gateway without its secret", []string{"gateway"}, map[string]string{}, exitUnhealthy},
		{"worker without its configuration", []string{"worker"}, map[string]string{}, exitUnhealthy},
		{"no mode", nil, nil, exitUnhealthy},
		{"unknown mode", []string{"proxy"}, nil, exitUnhealthy},
		{"http without URL", []string{"http"}, nil, exitUnhealthy},
		{"bad flag", []string{"-partitions", "0", "worker"}, nil, exitUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			got := run(tt.args, lookup(tt.env), &stderr)
			require.Equal(t, tt.want, got, "stderr: %s", stderr.String())
			if tt.want != exitHealthy {
				require.NotEmpty(t, stderr.String(), "a failed check says why")
			}
		})
	}
}

func TestGatewayReadyURL(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg  config.Gateway
		want string
	}{
		"loopback":     {config.Gateway{ListenAddr: "127.0.0.1:8080", AdminAddr: "127.0.0.1:9091"}, "http://127.0.0.1:9091/readyz"},
		"any ipv4":     {config.Gateway{ListenAddr: "0.0.0.0:8080", AdminAddr: "0.0.0.0:9091"}, "http://127.0.0.1:9091/readyz"},
		"any, no host": {config.Gateway{ListenAddr: ":9000", AdminAddr: ":9001"}, "http://127.0.0.1:9001/readyz"},
		"tls":          {config.Gateway{ListenAddr: "0.0.0.0:8443", AdminAddr: "0.0.0.0:9091", TLSCertFile: "c", TLSKeyFile: "k"}, "http://127.0.0.1:9091/readyz"},
		"named host":   {config.Gateway{ListenAddr: "gateway.local:8080", AdminAddr: "gateway.local:9091"}, "http://gateway.local:9091/readyz"},
	}
	for name, tt := range tests {
		got, err := gatewayReadyURL(tt.cfg)
		require.NoError(t, err, name)
		require.Equal(t, tt.want, got, name)
	}
}

func TestPartitionName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "genflow", partitionName("genflow", 0))
	require.Equal(t, "/_sys/genflow/3", partitionName("genflow", 3))
}

func TestPolledFrom(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	poller := func(identity string, age time.Duration) *taskqueuepb.PollerInfo {
		return &taskqueuepb.PollerInfo{Identity: identity, LastAccessTime: timestamppb.New(now.Add(-age))}
	}
	tests := map[string]struct {
		pollers []*taskqueuepb.PollerInfo
		want    bool
	}{
		"recent poll from this host": {[]*taskqueuepb.PollerInfo{poller("1@abc123@", time.Minute)}, true},
		"among others":               {[]*taskqueuepb.PollerInfo{poller("1@other@", 0), poller("7@abc123@genflow", 2*time.Minute)}, true},
		"too old":                    {[]*taskqueuepb.PollerInfo{poller("1@abc123@", 4*time.Minute)}, false},
		"another host":               {[]*taskqueuepb.PollerInfo{poller("1@abc1234@", 0)}, false},
		"custom identity":            {[]*taskqueuepb.PollerInfo{poller("abc123", 0)}, false},
		"no access time":             {[]*taskqueuepb.PollerInfo{{Identity: "1@abc123@"}}, false},
		"none":                       {nil, false},
	}
	for name, tt := range tests {
		require.Equal(t, tt.want, polledFrom(tt.pollers, "abc123", now, 3*time.Minute), name)
	}
}
