package deploy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
)

// process is a built binary running in the background.
type process struct {
	cmd  *exec.Cmd
	out  *testenv.SyncBuffer
	done chan error
}

func start(t *testing.T, bin string, env map[string]string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin), out: &testenv.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = envList(env)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		if err := <-p.done; err != nil {
			t.Logf("%s: %v (killed)", filepath.Base(bin), err)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.out)
		}
	})
	return p
}

// stop sends SIGTERM, as docker stop does, and returns the exit code.
func (p *process) stop(t *testing.T, within time.Duration) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(within):
		t.Fatalf("%s did not stop within %s", p.cmd.Path, within)
		return -1
	}
}

func envList(env map[string]string) []string {
	list := []string{}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

func withEnv(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// run runs a binary to completion and returns its exit code and output.
func run(t *testing.T, env map[string]string, name string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = envList(env)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	require.NoError(t, err, "%s", out)
	return 0, string(out)
}

// eventually runs check every 250 ms until it returns true or the
// deadline passes.
func eventually(t *testing.T, within time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, detail := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %s", what, within, detail)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestStackAgainstDevServer runs the deployment's moving parts against a
// real Temporal: the init script the temporal-init service runs (with the
// same Temporal CLI version as the admin-tools image), and the worker,
// gateway and healthcheck binaries exactly as deploy/build.sh builds them.
func TestStackAgainstDevServer(t *testing.T) {
	t.Parallel()
	temporal := testenv.TemporalCLI(t)
	bin := builtBinaries(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: temporal,
		ClientOptions: &client.Options{
			HostPort: testenv.FreeAddr(t), Namespace: "default",
			Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		},
		LogLevel: "error",
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = dev.Stop() })
	addr := dev.FrontendHostPort()
	const namespace = "genflow-deploy-test"

	// The variables the genflow services get in compose, pointed here.
	base := map[string]string{
		config.EnvTemporalAddress:   addr,
		config.EnvTemporalNamespace: namespace,
		config.EnvWebhookSecrets:    testSecret,
	}

	t.Run("init script registers the namespace and search attributes, once", func(t *testing.T) {
		initEnv := mustLoad(t, exampleEnv(t)).Services["temporal-init"].Environment
		env := map[string]string{
			"PATH":                filepath.Dir(temporal) + ":" + os.Getenv("PATH"),
			"HOME":                t.TempDir(),
			"TEMPORAL_ADDRESS":    addr,
			"NAMESPACE":           namespace,
			"NAMESPACE_RETENTION": "24h",
			"SEARCH_ATTRIBUTES":   *initEnv["SEARCH_ATTRIBUTES"],
			"SETTLE_SECONDS":      "0",
		}
		script := filepath.Join(repoRoot, "deploy", "temporal", "init.sh")
		code, out := run(t, env, "sh", script)
		require.Equal(t, 0, code, out)
		require.Contains(t, out, "creating namespace "+namespace)
		for _, sa := range contract.SearchAttributeNames {
			require.Contains(t, out, "creating search attribute "+strings.Split(sa, "=")[0])
		}

		resp, err := dev.Client().OperatorService().ListSearchAttributes(ctx,
			&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		require.NoError(t, err)
		for _, sa := range contract.SearchAttributeNames {
			require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, resp.GetCustomAttributes()[strings.Split(sa, "=")[0]], sa)
		}

		code, out = run(t, env, "sh", script)
		require.Equal(t, 0, code, out)
		require.NotContains(t, out, "creating")
		require.Contains(t, out, "namespace "+namespace+" exists")
		require.Equal(t, len(contract.SearchAttributeNames), strings.Count(out, ") exists"), out)

		code, out = run(t, withEnv(env, "SEARCH_ATTRIBUTES", "GenflowState=Int"), "sh", script)
		require.Equal(t, 1, code, "a clash of types is an error, not ignored")
		require.Contains(t, out, "GenflowState exists with type Keyword, not Int")
	})

	t.Run("worker healthcheck sees this host's pollers", func(t *testing.T) {
		env := withEnv(base,
			config.EnvModelsLabKey, "test-key",
			config.EnvModelsLabBaseURL, "http://127.0.0.1:1/api/",
			config.EnvTaskQueue, "genflow-deploy-worker",
			// Not the default port: a local stack's worker may hold it.
			config.EnvWorkerMetrics, testenv.FreeAddr(t))
		w := start(t, filepath.Join(bin, "worker"), env)
		healthcheck := filepath.Join(bin, "healthcheck")
		eventually(t, 30*time.Second, "worker healthy", func() (bool, string) {
			code, out := run(t, env, healthcheck, "-timeout", "5s", "worker")
			return code == 0, out
		})
		code, out := run(t, withEnv(env, config.EnvTaskQueue, "nobody-polls-this"), healthcheck, "worker")
		require.Equal(t, 1, code, out)
		require.Contains(t, out, "no workflow poller from host")
		require.Equal(t, 0, w.stop(t, 40*time.Second), "a clean stop on SIGTERM")
	})

	t.Run("gateway serves HTTPS and picks up a renewed certificate", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		first := writeCert(t, certFile, keyFile, 1)
		listen := testenv.FreeAddr(t)
		env := withEnv(base,
			config.EnvGatewayListen, listen,
			config.EnvGatewayAdmin, testenv.FreeAddr(t),
			config.EnvGatewayTLSCert, certFile,
			config.EnvGatewayTLSKey, keyFile)
		gw := start(t, filepath.Join(bin, "gateway"), env)
		healthcheck := filepath.Join(bin, "healthcheck")
		eventually(t, 20*time.Second, "gateway ready over HTTPS", func() (bool, string) {
			code, out := run(t, env, healthcheck, "gateway")
			return code == 0, out
		})

		get := func(trust *x509.Certificate) *http.Response {
			pool := x509.NewCertPool()
			pool.AddCert(trust)
			c := &http.Client{Transport: &http.Transport{
				TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "localhost"},
				ForceAttemptHTTP2: true,
				DisableKeepAlives: true,
			}}
			resp, err := c.Get("https://" + listen + "/healthz")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			require.NoError(t, resp.Body.Close())
			return resp
		}
		resp := get(first)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, 2, resp.ProtoMajor, "HTTP/2 is offered")
		require.Equal(t, first.SerialNumber, resp.TLS.PeerCertificates[0].SerialNumber)

		second := writeCert(t, certFile, keyFile, 2)
		resp = get(second)
		require.Equal(t, second.SerialNumber, resp.TLS.PeerCertificates[0].SerialNumber, "renewed certificate served without a restart")

		// A renewal caught halfway, new key but old certificate: the last
		// good pair stays in service until the certificate follows.
		scratch := t.TempDir()
		third := writeCert(t, filepath.Join(scratch, "tls.crt"), filepath.Join(scratch, "tls.key"), 3)
		copyFile(t, filepath.Join(scratch, "tls.key"), keyFile)
		resp = get(second)
		require.Equal(t, second.SerialNumber, resp.TLS.PeerCertificates[0].SerialNumber)
		copyFile(t, filepath.Join(scratch, "tls.crt"), certFile)
		resp = get(third)
		require.Equal(t, third.SerialNumber, resp.TLS.PeerCertificates[0].SerialNumber)
		require.Contains(t, gw.out.String(), "does not load; keeping the previous one")

		require.Equal(t, 0, gw.stop(t, 20*time.Second), "a clean stop on SIGTERM")
	})

	t.Run("gateway refuses a bad TLS configuration at start", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		writeCert(t, certFile, keyFile, 4)
		otherKey := filepath.Join(dir, "other.key")
		writeCert(t, filepath.Join(dir, "other.crt"), otherKey, 5)
		gateway := filepath.Join(bin, "gateway")

		code, out := run(t, withEnv(base, config.EnvGatewayListen, testenv.FreeAddr(t), config.EnvGatewayAdmin, testenv.FreeAddr(t),
			config.EnvGatewayTLSCert, certFile, config.EnvGatewayTLSKey, otherKey), gateway)
		require.Equal(t, 1, code, out)
		require.Contains(t, out, "GATEWAY_TLS_CERT_FILE/GATEWAY_TLS_KEY_FILE")

		code, out = run(t, withEnv(base, config.EnvGatewayTLSCert, certFile), gateway)
		require.Equal(t, 2, code, out)
		require.Contains(t, out, "GATEWAY_TLS_KEY_FILE: required when GATEWAY_TLS_CERT_FILE is set")
	})
}

// writeCert writes a self-signed certificate for localhost with the given
// serial number, key first, as a renewal might, and returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}
