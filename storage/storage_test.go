package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/egress"
	"github.com/genflow/genflow/internal/s3test"
	"github.com/genflow/genflow/storage"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// newS3 opens bucket/prefix on an S3 protocol server (gofakes3).
func newS3(t *testing.T, bucket, prefix string) (*storage.S3, storage.S3Options) {
	t.Helper()
	return openS3(t, bucket, prefix, s3test.Fake(t))
}

func openS3(t *testing.T, bucket, prefix string, opts storage.S3Options) (*storage.S3, storage.S3Options) {
	t.Helper()
	s, err := storage.NewS3(bucket, prefix, opts)
	require.NoError(t, err)
	require.NoError(t, s.EnsureBucket(context.Background()), "the server at %s", opts.Endpoint)
	return s, opts
}

// realS3 opens a new bucket on the real S3-compatible server that
// s3test.EnvEndpoint names, if it is set.
func realS3(t *testing.T, prefix string) (*storage.S3, storage.S3Options, bool) {
	t.Helper()
	opts, ok := s3test.Real()
	if !ok {
		return nil, storage.S3Options{}, false
	}
	s, opts := openS3(t, "genflow-test-"+strconv.FormatUint(rand.Uint64(), 36), prefix, opts)
	return s, opts, true
}

// backend is a backend under test, with the S3 options that reach it
// (zero for the local one).
type backend struct {
	storage.Backend
	s3 storage.S3Options
}

// backends are a local directory, an S3 protocol server (gofakes3) and,
// when s3test.EnvEndpoint is set, a real S3-compatible server.
func backends(t *testing.T) map[string]backend {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	s3, opts := newS3(t, "outputs", "genflow")
	out := map[string]backend{"local": {Backend: local}, "s3": {s3, opts}}
	if real, opts, ok := realS3(t, "genflow"); ok {
		out["real-s3"] = backend{real, opts}
	}
	return out
}

func TestKey(t *testing.T) {
	cases := []struct {
		track, link, want string
		index             int
	}{
		{"abc", "https://pub.r2.dev/generations/0-c01.png?token=x", "abc/0-0-c01.png", 0},
		{"pipe_step_2", "https://cdn/x/video.mp4", "pipe_step_2/3-video.mp4", 3},
		{"a/../b", "https://cdn/", "a%2F..%2Fb/1-output", 1},
		{"..", "https://cdn/..", "%2E./0-%2E.", 0},
		{".hidden", "https://cdn/.env", "%2Ehidden/0-%2Eenv", 0},
		{"sp ace", "not a url\x7f", "sp%20ace/0-output", 0},
	}
	for _, c := range cases {
		require.Equal(t, c.want, storage.Key(c.track, c.index, c.link), "%q %q", c.track, c.link)
	}
}

func TestParseLocation(t *testing.T) {
	scheme, bucket, key, err := storage.ParseLocation("s3://outputs/genflow/abc/0-x.png")
	require.NoError(t, err)
	require.Equal(t, []string{"s3", "outputs", "genflow/abc/0-x.png"}, []string{scheme, bucket, key})
	_, _, key, err = storage.ParseLocation("s3://outputs/t/1-100%25.png")
	require.NoError(t, err)
	require.Equal(t, "t/1-100%25.png", key, "s3 keys are taken as written")
	scheme, _, key, err = storage.ParseLocation("file:///var/lib/genflow/abc/0-x.png")
	require.NoError(t, err)
	require.Equal(t, []string{"file", "/var/lib/genflow/abc/0-x.png"}, []string{scheme, key})
	for _, bad := range []string{"http://x/y", "s3://bucket", "file:rel/x", "::"} {
		_, _, _, err := storage.ParseLocation(bad)
		require.Error(t, err, bad)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for url, want := range map[string]string{
		"":                "no storage URL",
		"ftp://x/y":       "not file or s3",
		"file://host/x":   "absolute path",
		"file:relative/x": "absolute path",
		"s3:///prefix":    "names its bucket",
	} {
		_, err := storage.New(storage.Config{URL: url})
		require.ErrorContains(t, err, want, url)
	}
	_, err := storage.New(storage.Config{URL: "s3://b", S3: storage.S3Options{Endpoint: "minio:9000"}})
	require.ErrorContains(t, err, "not an http(s)://host[:port] URL")
}

func TestBackendRoundTrip(t *testing.T) {
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			_, err := b.Stat(ctx, "t1/0-a.png")
			require.ErrorIs(t, err, storage.ErrNotFound)

			data := randomBytes(100_000)
			put, err := b.Put(ctx, bytes.NewReader(data), storage.Object{
				Key: "t1/0-a.png", Size: int64(len(data)), ContentType: "image/png", SHA256: sum(data), Source: "https://cdn/a.png",
			})
			require.NoError(t, err)
			require.Equal(t, b.Location("t1/0-a.png"), put.Location)

			got, err := b.Stat(ctx, "t1/0-a.png")
			require.NoError(t, err)
			require.Equal(t, put, got)

			rc, err := b.Open(ctx, "t1/0-a.png", 99_000)
			require.NoError(t, err)
			tail, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			require.Equal(t, data[99_000:], tail)

			_, err = b.Open(ctx, "t1/missing", 0)
			require.ErrorIs(t, err, storage.ErrNotFound)
		})
	}
}

func TestLocalRejectsEscapingKeys(t *testing.T) {
	l, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	for _, key := range []string{"../x", "/etc/passwd", "a/../../x", "a//b", "", "a/.genflow/b"} {
		_, err := l.Put(context.Background(), strings.NewReader("x"), storage.Object{Key: key, Size: 1})
		require.ErrorContains(t, err, "bad key", key)
	}
	_, err = storage.NewLocal("relative/dir")
	require.ErrorContains(t, err, "not an absolute path")
}

// A file whose metadata is there but whose bytes were replaced is not a
// stored copy: Stat must not report it.
func TestLocalStatChecksTheFile(t *testing.T) {
	dir := t.TempDir()
	l, err := storage.NewLocal(dir)
	require.NoError(t, err)
	_, err = l.Put(context.Background(), strings.NewReader("hello"), storage.Object{Key: "t/0-x", Size: 5, SHA256: sum([]byte("hello"))})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t", "0-x"), []byte("hi"), 0o644))
	_, err = l.Stat(context.Background(), "t/0-x")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// Put creates a bucket that is missing (deleted, or never made because
// the store was down when the worker started).
func TestS3PutCreatesAMissingBucket(t *testing.T) {
	_, opts := newS3(t, "first", "")
	s, err := storage.NewS3("second", "x", opts)
	require.NoError(t, err)
	obj, err := s.Put(context.Background(), strings.NewReader("abc"), storage.Object{Key: "t/0", Size: 3})
	require.NoError(t, err)
	require.Equal(t, "s3://second/x/t/0", obj.Location)
	_, err = s.Stat(context.Background(), "t/0")
	require.NoError(t, err)
}

func TestOpenLocation(t *testing.T) {
	s3, opts := newS3(t, "outputs", "p")
	ctx := context.Background()
	obj, err := s3.Put(ctx, strings.NewReader("stored"), storage.Object{Key: "t/0-x", Size: 6})
	require.NoError(t, err)
	require.Equal(t, "s3://outputs/p/t/0-x", obj.Location)
	rc, err := storage.OpenLocation(ctx, obj.Location, 2, opts)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "ored", string(b))

	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	obj, err = local.Put(ctx, strings.NewReader("kept"), storage.Object{Key: "t/0-y", Size: 4})
	require.NoError(t, err)
	rc, err = storage.OpenLocation(ctx, obj.Location, 0, storage.S3Options{})
	require.NoError(t, err)
	b, _ = io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "kept", string(b))
}

// origin serves files with faults: a fault is a function of the request's
// number (from 1) that may break the answer.
type origin struct {
	mu       sync.Mutex
	requests []*http.Request
	files    map[string][]byte
	types    map[string]string
	// fault, if set, handles request n instead of the file server when
	// it returns true.
	fault func(n int, w http.ResponseWriter, r *http.Request, data []byte) bool
}

func newOrigin(t *testing.T, o *origin) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.requests = append(o.requests, r.Clone(context.Background()))
		n := len(o.requests)
		o.mu.Unlock()
		data, ok := o.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if o.fault != nil && o.fault(n, w, r, data) {
			return
		}
		if ct := o.types[r.URL.Path]; ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (o *origin) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.requests)
}

func (o *origin) rangeOf(i int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[i].Header.Get("Range")
}

// breakAfter writes the first n bytes of data with the full
// Content-Length, then cuts the connection.
func breakAfter(w http.ResponseWriter, data []byte, n int) {
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data[:n])
	w.(http.Flusher).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// loopbackClient is the outbound policy's client with loopback allowed:
// the tests' origins listen there.
var loopbackClient = egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}.Client()

func fastCopier(b storage.Backend) *storage.Copier {
	return &storage.Copier{Backend: b, RetryDelay: time.Millisecond, IdleTimeout: 2 * time.Second, HTTP: loopbackClient}
}

func TestCopyResumesABrokenDownload(t *testing.T) {
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			data := randomBytes(3 << 20)
			o := &origin{files: map[string][]byte{"/v/clip.mp4": data}, types: map[string]string{"/v/clip.mp4": "video/mp4"}}
			o.fault = func(n int, w http.ResponseWriter, r *http.Request, data []byte) bool {
				if n == 1 {
					breakAfter(w, data, 1<<20)
					return true
				}
				return false
			}
			srv := newOrigin(t, o)
			var seen int64
			obj, reused, err := fastCopier(b).Copy(context.Background(), "t/0-clip.mp4", []string{srv.URL + "/v/clip.mp4"},
				func(n int64) { seen = n })
			require.NoError(t, err)
			require.False(t, reused)
			require.Equal(t, 2, o.count())
			require.Equal(t, "", o.rangeOf(0))
			require.Equal(t, "bytes=1048576-", o.rangeOf(1), "the second try resumes where the first broke")
			require.Equal(t, int64(len(data)), seen)
			require.Equal(t, storage.Object{
				Key: "t/0-clip.mp4", Location: b.Location("t/0-clip.mp4"), Size: int64(len(data)),
				ContentType: "video/mp4", SHA256: sum(data), Source: srv.URL + "/v/clip.mp4",
			}, obj)
			rc, err := b.Open(context.Background(), obj.Key, 0)
			require.NoError(t, err)
			got, _ := io.ReadAll(rc)
			rc.Close()
			require.True(t, bytes.Equal(data, got), "stored bytes differ")

			// Copying again stores nothing and asks the origin nothing.
			again, reused, err := fastCopier(b).Copy(context.Background(), "t/0-clip.mp4", []string{srv.URL + "/v/clip.mp4"}, nil)
			require.NoError(t, err)
			require.True(t, reused)
			require.Equal(t, obj, again)
			require.Equal(t, 2, o.count())
		})
	}
}

// A server that ignores Range sends the whole file again: the copy
// starts over instead of appending it.
func TestCopyRestartsWhenRangeIsIgnored(t *testing.T) {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	data := randomBytes(500_000)
	o := &origin{files: map[string][]byte{"/a.png": data}}
	o.fault = func(n int, w http.ResponseWriter, r *http.Request, data []byte) bool {
		if n == 1 {
			breakAfter(w, data, 200_000)
		} else {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(data) // 200, whatever the Range
		}
		return true
	}
	srv := newOrigin(t, o)
	obj, _, err := fastCopier(local).Copy(context.Background(), "t/0-a.png", []string{srv.URL + "/a.png"}, nil)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), obj.Size)
	require.Equal(t, sum(data), obj.SHA256)
	require.Equal(t, "bytes=200000-", o.rangeOf(1))
}

// A server that sends headers and a few bytes and then nothing is given
// up after the idle timeout, and the copy resumes.
func TestCopyGivesUpOnAStalledRead(t *testing.T) {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	data := randomBytes(100_000)
	release := make(chan struct{})
	defer close(release)
	o := &origin{files: map[string][]byte{"/a.bin": data}}
	o.fault = func(n int, w http.ResponseWriter, r *http.Request, data []byte) bool {
		if n != 1 {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data[:1000])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	}
	srv := newOrigin(t, o)
	c := fastCopier(local)
	c.IdleTimeout = 200 * time.Millisecond
	obj, _, err := c.Copy(context.Background(), "t/0-a.bin", []string{srv.URL + "/a.bin"}, nil)
	require.NoError(t, err)
	require.Equal(t, sum(data), obj.SHA256)
	require.Equal(t, "bytes=1000-", o.rangeOf(1))
	require.Equal(t, "application/octet-stream", obj.ContentType, "sniffed: random bytes")
}

func TestCopyFallsBackToTheProxyLink(t *testing.T) {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	png := []byte("\x89PNG\r\n\x1a\n0000000000000000")
	o := &origin{files: map[string][]byte{"/proxy/x.png": png}, types: map[string]string{"/proxy/x.png": "application/octet-stream"}}
	srv := newOrigin(t, o)
	obj, _, err := fastCopier(local).Copy(context.Background(), "t/0-x.png",
		[]string{srv.URL + "/expired/x.png?sig=secret", srv.URL + "/proxy/x.png"}, nil)
	require.NoError(t, err)
	require.Equal(t, srv.URL+"/proxy/x.png", obj.Source)
	require.Equal(t, "image/png", obj.ContentType, "from the extension when the server says octet-stream")
	require.Equal(t, 2, o.count())
}

func TestCopyPermanentFailures(t *testing.T) {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	big := randomBytes(10_000)
	o := &origin{files: map[string][]byte{"/big": big, "/chunked": big}}
	o.fault = func(_ int, w http.ResponseWriter, r *http.Request, data []byte) bool {
		if r.URL.Path == "/chunked" {
			_, _ = w.Write(data[:5000]) // no Content-Length: chunked
			w.(http.Flusher).Flush()
			_, _ = w.Write(data[5000:])
			return true
		}
		return false
	}
	srv := newOrigin(t, o)
	c := fastCopier(local)
	c.MaxBytes = 8000

	_, _, err = c.Copy(context.Background(), "t/0", []string{srv.URL + "/big"}, nil)
	require.True(t, storage.IsPermanent(err), "%v", err)
	require.ErrorIs(t, err, storage.ErrTooLarge)
	require.ErrorContains(t, err, "9.8 KiB is over the size limit of 7.8 KiB")

	_, _, err = c.Copy(context.Background(), "t/1", []string{srv.URL + "/chunked"}, nil)
	require.ErrorIs(t, err, storage.ErrTooLarge)

	_, _, err = c.Copy(context.Background(), "t/2", []string{srv.URL + "/gone.png?X-Amz-Signature=abc", srv.URL + "/also-gone"}, nil)
	require.True(t, storage.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "/gone.png?… answered 404 Not Found; ")
	require.NotContains(t, err.Error(), "abc", "signed query strings stay out of errors")

	_, _, err = c.Copy(context.Background(), "t/3", nil, nil)
	require.True(t, storage.IsPermanent(err))

	_, err = local.Stat(context.Background(), "t/0")
	require.ErrorIs(t, err, storage.ErrNotFound, "nothing stored")
}

func TestCopyServerErrorsAreRetryable(t *testing.T) {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	o := &origin{files: map[string][]byte{"/x": []byte("x")}}
	o.fault = func(_ int, w http.ResponseWriter, _ *http.Request, _ []byte) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	srv := newOrigin(t, o)
	_, _, err = fastCopier(local).Copy(context.Background(), "t/0", []string{srv.URL + "/x"}, nil)
	require.Error(t, err)
	require.False(t, storage.IsPermanent(err))
	require.ErrorContains(t, err, "answered 503 Service Unavailable (after 4 tries)")
	require.Equal(t, 4, o.count())
}

func TestCopyStopsWhenCancelled(t *testing.T) {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	o := &origin{files: map[string][]byte{"/x": randomBytes(1000)}}
	o.fault = func(_ int, w http.ResponseWriter, r *http.Request, data []byte) bool {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write(data[:10])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	}
	srv := newOrigin(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = fastCopier(local).Copy(ctx, "t/0", []string{srv.URL + "/x"}, nil)
	require.Error(t, err)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.Equal(t, 1, o.count(), "no retry after the context ended")
}

// flaky opens a stored object and breaks the first read after n bytes.
func flaky(b storage.Backend, key string, n int64) (func(context.Context, int64) (io.ReadCloser, error), *[]int64) {
	var offsets []int64
	return func(ctx context.Context, offset int64) (io.ReadCloser, error) {
		offsets = append(offsets, offset)
		rc, err := b.Open(ctx, key, offset)
		if err != nil || len(offsets) > 1 {
			return rc, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(io.LimitReader(rc, n), iotestErr{}), rc}, nil
	}, &offsets
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDownload(t *testing.T) {
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			data := randomBytes(1 << 20)
			obj, err := b.Put(ctx, bytes.NewReader(data), storage.Object{Key: "t/0-v.mp4", Size: int64(len(data)), SHA256: sum(data)})
			require.NoError(t, err)
			dest := filepath.Join(t.TempDir(), "v.mp4")
			opts := storage.DownloadOptions{RetryDelay: time.Millisecond}

			open, offsets := flaky(b, obj.Key, 300_000)
			skipped, err := storage.Download(ctx, open, obj, dest, opts)
			require.NoError(t, err)
			require.False(t, skipped)
			require.Equal(t, []int64{0, 300_000}, *offsets, "resumed after the broken read")
			got, err := os.ReadFile(dest)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got))
			require.NoFileExists(t, dest+".part")

			// Again: already there.
			skipped, err = storage.Download(ctx, open, obj, dest, opts)
			require.NoError(t, err)
			require.True(t, skipped)

			// An interrupted earlier run left a .part: it is continued.
			require.NoError(t, os.Remove(dest))
			require.NoError(t, os.WriteFile(dest+".part", data[:700_000], 0o644))
			var from []int64
			_, err = storage.Download(ctx, func(ctx context.Context, off int64) (io.ReadCloser, error) {
				from = append(from, off)
				return b.Open(ctx, obj.Key, off)
			}, obj, dest, opts)
			require.NoError(t, err)
			require.Equal(t, []int64{700_000}, from)
			got, _ = os.ReadFile(dest)
			require.True(t, bytes.Equal(data, got))
		})
	}
}

func TestDownloadRejectsABadChecksum(t *testing.T) {
	local, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	obj, err := local.Put(ctx, strings.NewReader("real"), storage.Object{Key: "t/0", Size: 4, SHA256: sum([]byte("real"))})
	require.NoError(t, err)
	obj.SHA256 = sum([]byte("fake"))
	dest := filepath.Join(t.TempDir(), "x")
	_, err = storage.Download(ctx, func(ctx context.Context, off int64) (io.ReadCloser, error) {
		return local.Open(ctx, obj.Key, off)
	}, obj, dest, storage.DownloadOptions{})
	require.ErrorContains(t, err, "the stored copy has 4 bytes with "+obj.SHA256)
	require.NoFileExists(t, dest)

	obj.Key = "t/missing"
	_, err = storage.Download(ctx, func(ctx context.Context, off int64) (io.ReadCloser, error) {
		return local.Open(ctx, obj.Key, off)
	}, obj, dest, storage.DownloadOptions{})
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// Keys with escapes survive the trip through a Location, for both
// backends: what the worker stored, the starter can open.
func TestLocationsOfEscapedKeys(t *testing.T) {
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			key := storage.Key("batch 1/item", 0, "https://cdn/100%25%20done.png")
			require.Equal(t, "batch%201%2Fitem/0-100%25%20done.png", key)
			obj, err := b.Put(context.Background(), strings.NewReader("x"), storage.Object{Key: key, Size: 1})
			require.NoError(t, err)
			_, err = b.Stat(context.Background(), key)
			require.NoError(t, err)
			rc, err := storage.OpenLocation(context.Background(), obj.Location, 0, b.s3)
			require.NoError(t, err)
			got, _ := io.ReadAll(rc)
			rc.Close()
			require.Equal(t, "x", string(got))
		})
	}
}

// An output over the 16 MiB part size goes up to S3 as a multipart
// upload, straight from the spool file, and comes back whole.
func TestCopyLargeOutputToS3(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 20 MiB")
	}
	s3, _ := openS3(t, "outputs", "", s3test.FakeTLS(t))
	if real, _, ok := realS3(t, ""); ok {
		s3 = real // over plain HTTP too: a real server decodes signed chunks in parts
	}
	data := randomBytes(20 << 20)
	srv := newOrigin(t, &origin{files: map[string][]byte{"/v.mp4": data}})
	obj, _, err := fastCopier(s3).Copy(context.Background(), "t/0-v.mp4", []string{srv.URL + "/v.mp4"}, nil)
	require.NoError(t, err)
	require.Equal(t, sum(data), obj.SHA256)
	got, err := s3.Stat(context.Background(), "t/0-v.mp4")
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), got.Size)
	require.Equal(t, "video/mp4", got.ContentType)
	dest := filepath.Join(t.TempDir(), "v.mp4")
	_, err = storage.Download(context.Background(), func(ctx context.Context, off int64) (io.ReadCloser, error) {
		return s3.Open(ctx, "t/0-v.mp4", off)
	}, obj, dest, storage.DownloadOptions{})
	require.NoError(t, err)
}

func TestRemoveStaleSpools(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "genflow-output-123")
	fresh := filepath.Join(dir, "genflow-output-456")
	other := filepath.Join(dir, "someone-else")
	for _, f := range []string{old, fresh, other} {
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o600))
	}
	long := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(old, long, long))
	require.NoError(t, os.Chtimes(other, long, long))

	n, err := storage.RemoveStaleSpools(dir, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoFileExists(t, old)
	require.FileExists(t, fresh, "a copy in progress is spared")
	require.FileExists(t, other, "only spool files are touched")
}
