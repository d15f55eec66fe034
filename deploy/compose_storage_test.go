package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/storage"
	"github.com/genflow/genflow/worker"
)

// minioAPIPort is the port `minio server` serves the S3 API on when no
// --address is given; the console is on --console-address.
const minioAPIPort = "9000"

// redirect sends every request for host to an S3 server on this machine
// instead, and records the hosts asked for: the compose service names the
// worker and the starter would dial.
type redirect struct {
	host   string
	to     *url.URL
	mu     sync.Mutex
	asked  []string
	parent http.RoundTripper
}

func (r *redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.asked = append(r.asked, req.URL.Host)
	r.mu.Unlock()
	if req.URL.Host != r.host {
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: http.ErrNotSupported}
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = r.to.Scheme, r.to.Host
	return r.parent.RoundTrip(out)
}

func (r *redirect) hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(r.asked)))
}

// TestComposeOutputStorage checks the minio service and how the worker
// and the starter reach it, as .env.example ships: the worker waits for
// MinIO and for minio-init, stores into its bucket with genflow's own key
// (never MinIO's root credentials), and the starter reads the stored
// copies back from the same store.
func TestComposeOutputStorage(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, exampleEnv(t))
	minio := p.Services["minio"]
	env := func(svc types.ServiceConfig, name string) string {
		t.Helper()
		v, ok := svc.Environment[name]
		require.True(t, ok && v != nil, "%s: %s is not set", svc.Name, name)
		return *v
	}

	t.Run("minio serves from a named volume", func(t *testing.T) {
		require.Equal(t, []string{"server", "/data", "--console-address", ":9001"}, []string(minio.Command))
		require.Len(t, minio.Volumes, 1)
		v := minio.Volumes[0]
		require.Equal(t, types.VolumeTypeVolume, v.Type)
		require.Equal(t, "minio-data", v.Source)
		require.Equal(t, "/data", v.Target)
		require.Contains(t, p.Volumes, "minio-data")
		// MinIO refuses to start with a shorter password.
		require.GreaterOrEqual(t, len(env(minio, "MINIO_ROOT_PASSWORD")), 8)
		require.GreaterOrEqual(t, len(env(minio, "MINIO_ROOT_USER")), 3)
		published := map[uint32]string{}
		for _, port := range minio.Ports {
			published[port.Target] = port.HostIP + ":" + port.Published
		}
		require.Equal(t, map[uint32]string{9000: "127.0.0.1:9000", 9001: "127.0.0.1:9001"}, published)
	})

	t.Run("the worker waits for a healthy minio", func(t *testing.T) {
		dep, ok := p.Services["worker"].DependsOn["minio"]
		require.True(t, ok, "worker does not depend on minio")
		require.Equal(t, types.ServiceConditionHealthy, dep.Condition)
		require.True(t, dep.Required)
		require.NotNil(t, minio.HealthCheck)
		require.Equal(t, types.HealthCheckTest{"CMD", "mc", "ready", "local"}, minio.HealthCheck.Test)
	})

	w, err := config.LoadWorker(lookupIn(p.Services["worker"]))
	require.NoError(t, err)
	s, err := config.LoadStarter(lookupIn(p.AllServices()["starter"]))
	require.NoError(t, err)

	t.Run("the worker stores into minio with genflow's own key", func(t *testing.T) {
		svc := p.Services["worker"]
		require.Equal(t, "s3://genflow-outputs/", env(svc, config.EnvStoreURL))
		require.Equal(t, "http://minio:9000", env(svc, config.EnvStoreS3Endpoint))
		require.Equal(t, "s3://genflow-outputs/", w.Store.URL)
		host, port := hostPort(t, w.Store.S3.Endpoint)
		require.Contains(t, p.ServiceNames(), host)
		require.Equal(t, "minio", host)
		require.Equal(t, minioAPIPort, port)
		init := p.Services["minio-init"]
		require.Equal(t, env(init, "MINIO_STORE_USER"), w.Store.S3.AccessKey)
		require.Equal(t, env(init, "MINIO_STORE_PASSWORD"), w.Store.S3.SecretKey)
		require.Equal(t, "genflow-store", w.Store.S3.AccessKey)
		require.NotEqual(t, env(minio, "MINIO_ROOT_USER"), w.Store.S3.AccessKey, "not MinIO's root user")
		require.NotEqual(t, env(minio, "MINIO_ROOT_PASSWORD"), w.Store.S3.SecretKey, "not MinIO's root password")
		for _, name := range []string{"worker", "starter"} {
			for k, v := range p.AllServices()[name].Environment {
				require.NotEqual(t, env(minio, "MINIO_ROOT_PASSWORD"), *v, "%s gets MinIO's root password in %s", name, k)
			}
		}
		require.Empty(t, w.Store.S3.Region, "MinIO tells its region")
		require.EqualValues(t, storage.DefaultMaxBytes, w.Store.MaxBytes)
		acts, err := worker.NewActivities(w)
		require.NoError(t, err)
		require.NotNil(t, acts.Store, "storing is on")
	})

	t.Run("the worker has a writable /tmp for its spool files", func(t *testing.T) {
		// Its root file system is read-only; the Copier spools outputs in
		// os.TempDir().
		svc := p.Services["worker"]
		require.True(t, svc.ReadOnly)
		var tmp string
		for _, m := range svc.Tmpfs {
			if path, opts, _ := strings.Cut(m, ":"); path == "/tmp" {
				tmp = opts
			}
		}
		require.NotEmpty(t, tmp, "no tmpfs at /tmp")
		require.Contains(t, tmp, "mode=1777", "the worker runs as nonroot")
		size := tmpfsSize(t, tmp)
		require.GreaterOrEqual(t, size, int64(storage.DefaultMaxBytes), "/tmp holds the largest output")
	})

	t.Run("the starter reads the same store", func(t *testing.T) {
		require.Equal(t, w.Store.S3, s.S3)
		require.False(t, s.StoreOutputs, "--store stays opt-in")
		env := exampleEnv(t)
		env[config.EnvStoreOutputs] = "true"
		s, err := config.LoadStarter(lookupIn(mustLoad(t, env).AllServices()["starter"]))
		require.NoError(t, err)
		require.True(t, s.StoreOutputs)
	})

	t.Run("an output goes in by the worker's settings and comes out by the starter's", func(t *testing.T) {
		srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
		t.Cleanup(srv.Close)
		to, err := url.Parse(srv.URL)
		require.NoError(t, err)
		endpoint, err := url.Parse(w.Store.S3.Endpoint)
		require.NoError(t, err)
		rt := &redirect{host: endpoint.Host, to: to, parent: http.DefaultTransport}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		opts := worker.S3Options(w.Store.S3)
		opts.Transport = rt
		backend, err := storage.New(storage.Config{URL: w.Store.URL, S3: opts})
		require.NoError(t, err)
		s3, ok := backend.(*storage.S3)
		require.True(t, ok, "%T", backend)
		require.NoError(t, s3.EnsureBucket(ctx), "the worker creates its bucket")

		body := []byte("a red fox in snow")
		sum := sha256.Sum256(body)
		obj, err := backend.Put(ctx, bytes.NewReader(body), storage.Object{
			Key: storage.Key("track-1", 0, "https://cdn.example/out.png"), Size: int64(len(body)),
			ContentType: "image/png", SHA256: hex.EncodeToString(sum[:]),
		})
		require.NoError(t, err)
		require.Equal(t, "s3://genflow-outputs/track-1/0-out.png", obj.Location)

		opts = worker.S3Options(s.S3)
		opts.Transport = rt
		rc, err := storage.OpenLocation(ctx, obj.Location, 0, opts)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, body, got)
		require.Equal(t, []string{"minio:" + minioAPIPort}, rt.hosts(), "only the minio service is dialled")
	})
}

// TestComposeOutputStorageSettings follows .env.example's "Stored
// outputs" section: other MinIO credentials, storing off, AWS S3, R2.
func TestComposeOutputStorageSettings(t *testing.T) {
	t.Parallel()
	load := func(t *testing.T, set map[string]string) (config.Worker, config.Starter, types.ServiceConfig) {
		t.Helper()
		env := exampleEnv(t)
		for k, v := range set {
			env[k] = v
		}
		p := mustLoad(t, env)
		w, err := config.LoadWorker(lookupIn(p.Services["worker"]))
		require.NoError(t, err)
		s, err := config.LoadStarter(lookupIn(p.AllServices()["starter"]))
		require.NoError(t, err)
		_, err = worker.NewActivities(w)
		require.NoError(t, err)
		return w, s, p.Services["minio"]
	}

	t.Run("genflow's MinIO key reaches the worker and the starter, the root's does not", func(t *testing.T) {
		w, s, minio := load(t, map[string]string{
			"MINIO_ROOT_USER": "admin", "MINIO_ROOT_PASSWORD": "a-long-root-secret",
			"MINIO_STORE_USER": "outputs", "MINIO_STORE_PASSWORD": "a-long-secret",
		})
		require.Equal(t, "admin", *minio.Environment["MINIO_ROOT_USER"])
		require.Equal(t, "a-long-root-secret", *minio.Environment["MINIO_ROOT_PASSWORD"])
		require.Equal(t, "outputs", w.Store.S3.AccessKey)
		require.Equal(t, "a-long-secret", w.Store.S3.SecretKey)
		require.Equal(t, w.Store.S3, s.S3)
	})

	t.Run("STORE_URL set empty turns storing off", func(t *testing.T) {
		w, _, _ := load(t, map[string]string{config.EnvStoreURL: ""})
		require.Empty(t, w.Store.URL)
		acts, err := worker.NewActivities(w)
		require.NoError(t, err)
		require.Nil(t, acts.Store)
	})

	t.Run("AWS S3 with the instance role", func(t *testing.T) {
		w, s, _ := load(t, map[string]string{
			config.EnvStoreURL:         "s3://acme-genflow/outputs",
			config.EnvStoreS3Endpoint:  "",
			config.EnvStoreS3Region:    "eu-west-1",
			config.EnvStoreS3AccessKey: "",
			config.EnvStoreS3SecretKey: "",
			config.EnvStoreMaxBytes:    strconv.Itoa(512 << 20),
		})
		require.Equal(t, "s3://acme-genflow/outputs", w.Store.URL)
		require.Equal(t, config.S3{Region: "eu-west-1"}, w.Store.S3, "empty endpoint and keys: AWS S3 and the role")
		require.EqualValues(t, 512<<20, w.Store.MaxBytes)
		require.Equal(t, w.Store.S3, s.S3)
	})

	t.Run("Cloudflare R2", func(t *testing.T) {
		w, s, _ := load(t, map[string]string{
			config.EnvStoreURL:         "s3://genflow-outputs/",
			config.EnvStoreS3Endpoint:  "https://0123456789abcdef.r2.cloudflarestorage.com",
			config.EnvStoreS3Region:    "auto",
			config.EnvStoreS3AccessKey: "r2-key",
			config.EnvStoreS3SecretKey: "r2-secret",
		})
		require.Equal(t, config.S3{
			Endpoint: "https://0123456789abcdef.r2.cloudflarestorage.com", Region: "auto",
			AccessKey: "r2-key", SecretKey: "r2-secret",
		}, w.Store.S3)
		require.Equal(t, w.Store.S3, s.S3)
	})
}

// tmpfsSize reads size=N[kmg] from tmpfs mount options, in bytes.
func tmpfsSize(t *testing.T, opts string) int64 {
	t.Helper()
	for _, o := range strings.Split(opts, ",") {
		v, ok := strings.CutPrefix(o, "size=")
		if !ok {
			continue
		}
		mult := int64(1)
		switch v[len(v)-1] {
		case 'k', 'K':
			mult, v = 1<<10, v[:len(v)-1]
		case 'm', 'M':
			mult, v = 1<<20, v[:len(v)-1]
		case 'g', 'G':
			mult, v = 1<<30, v[:len(v)-1]
		}
		n, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, opts)
		return n * mult
	}
	t.Fatalf("no size in tmpfs options %q", opts)
	return 0
}
