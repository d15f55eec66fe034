package storage_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/genflow/genflow/storage"
)

// BenchmarkCopy copies a 64 MiB output from a loopback HTTP server into a
// local store: throughput (MB/s) and the memory one copy allocates, which
// stays at the buffers whatever the size (the bytes go through a spool
// file, never all in memory).
func BenchmarkCopy(b *testing.B) {
	for _, size := range []int{1 << 20, 64 << 20} {
		b.Run(strconv.Itoa(size>>20)+"MiB", func(b *testing.B) {
			data := bytes.Repeat([]byte("genflow!"), size/8)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
			}))
			defer srv.Close()
			local, err := storage.NewLocal(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			c := &storage.Copier{Backend: local, TempDir: b.TempDir(), HTTP: loopbackClient}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := c.Copy(context.Background(), "t/"+strconv.Itoa(i), []string{srv.URL + "/v.mp4"}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
