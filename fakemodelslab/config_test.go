package fakemodelslab

import (
	"bytes"
	"flag"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{name: "defaults", want: Config{ListenAddr: DefaultListenAddr,
			Options: Options{PublicURL: "http://" + DefaultListenAddr}}},
		{name: "everything from the environment", env: map[string]string{
			EnvListenAddr: "127.0.0.1:9000", EnvPublicURL: "http://fake.local:9000/", EnvProcessingTime: "250ms",
			EnvQueueLimit: "10", EnvRetryAfter: "1", EnvKeys: "a, b,,", EnvFaultRates: "drop=0.1,fail=0.2",
			EnvFaultDelay: "2s", EnvSubmitDelay: "3s", EnvAuthErrorStatus: "401", EnvWebhookAttempts: "5", EnvLogLevel: "debug", EnvLogFormat: "JSON",
		}, want: Config{
			ListenAddr: "127.0.0.1:9000",
			Options: Options{PublicURL: "http://fake.local:9000", ProcessingTime: 250 * time.Millisecond, QueueLimit: 10,
				RetryAfter: time.Second, Keys: []string{"a", "b"}, AuthErrorStatus: 401, WebhookAttempts: 5,
				Faults: Faults{Rates: map[Fault]float64{FaultDrop: 0.1, FaultFail: 0.2}, Delay: 2 * time.Second,
					SubmitDelay: 3 * time.Second}},
			LogLevel: slog.LevelDebug, LogJSON: true,
		}},
		{name: "flags win over the environment",
			args: []string{"-listen", "127.0.0.1:7000", "-processing-time", "3s"},
			env:  map[string]string{EnvListenAddr: "127.0.0.1:9000", EnvProcessingTime: "1s"},
			want: Config{ListenAddr: "127.0.0.1:7000", Options: Options{PublicURL: "http://127.0.0.1:7000", ProcessingTime: 3 * time.Second}}},
		{name: "all interfaces use the request host", env: map[string]string{EnvListenAddr: "0.0.0.0:8090"},
			want: Config{ListenAddr: "0.0.0.0:8090"}},
		{name: "empty host uses the request host", env: map[string]string{EnvListenAddr: ":8090"},
			want: Config{ListenAddr: ":8090"}},
		{name: "errors name the variable", env: map[string]string{
			EnvListenAddr: "nowhere", EnvPublicURL: "ftp://x", EnvProcessingTime: "soon", EnvQueueLimit: "0",
			EnvFaultRates: "boom=1", EnvAuthErrorStatus: "99", EnvLogLevel: "loud", EnvLogFormat: "xml",
		}, wantErr: []string{
			`FAKE_LISTEN_ADDR: "nowhere" is not host:port`,
			`FAKE_PUBLIC_URL: "ftp://x" is not an http(s) URL`,
			`FAKE_PROCESSING_TIME: "soon" is not a positive duration`,
			`FAKE_QUEUE_LIMIT: "0" is not a positive integer`,
			`FAKE_FAULT_RATES: unknown fault "boom"`,
			`FAKE_AUTH_ERROR_STATUS: "99" is not an HTTP status`,
			`LOG_LEVEL: "loud"`,
			`LOG_FORMAT: "xml"`,
		}},
		{name: "errors name the flag", args: []string{"-queue-limit", "many"},
			wantErr: []string{`-queue-limit: "many" is not a positive integer`}},
		{name: "stray argument", args: []string{"serve"}, wantErr: []string{`unexpected argument "serve"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := func(k string) (string, bool) {
				v, ok := tc.env[k]
				return v, ok
			}
			var out bytes.Buffer
			got, err := ParseConfig(tc.args, env, &out)
			if len(tc.wantErr) > 0 {
				for _, want := range tc.wantErr {
					require.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := ParseConfig([]string{"-h"}, func(string) (string, bool) { return "", false }, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, env := range []string{EnvListenAddr, EnvPublicURL, EnvProcessingTime, EnvQueueLimit, EnvRetryAfter, EnvKeys, EnvFaultRates} {
		require.Contains(t, out.String(), "$"+env)
	}
}

func TestConfigLogger(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	Config{LogJSON: true, LogLevel: slog.LevelWarn}.Logger(&out).Info("hidden")
	require.Empty(t, out.String())
	Config{LogJSON: true}.Logger(&out).Info("shown", "id", 1)
	require.Contains(t, out.String(), `"msg":"shown"`)
}
