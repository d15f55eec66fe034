// Package s3test gives tests an S3 server: gofakes3, a maintained S3
// protocol server, in memory on loopback, and, when
// GENFLOW_TEST_S3_ENDPOINT is set (scripts/s3-check.sh sets it and starts
// SeaweedFS's S3 gateway), a real S3-compatible server.
package s3test

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/genflow/genflow/storage"
)

// Environment naming a real S3-compatible server.
const (
	EnvEndpoint  = "GENFLOW_TEST_S3_ENDPOINT"
	EnvAccessKey = "GENFLOW_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "GENFLOW_TEST_S3_SECRET_KEY"
)

// Fake starts gofakes3 over HTTP until the test ends.
func Fake(t testing.TB) storage.S3Options {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return storage.S3Options{Endpoint: srv.URL, Region: "us-east-1", AccessKey: "genflow", SecretKey: "genflow-secret"}
}

// FakeTLS is Fake over HTTPS, where minio-go sends unsigned payloads
// (over plain HTTP it signs each chunk, which gofakes3 decodes for single
// PUTs but not for the parts of a multipart upload).
func FakeTLS(t testing.TB) storage.S3Options {
	t.Helper()
	srv := httptest.NewTLSServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return storage.S3Options{Endpoint: srv.URL, Transport: srv.Client().Transport,
		Region: "us-east-1", AccessKey: "genflow", SecretKey: "genflow-secret"}
}

// Real is the real S3-compatible server EnvEndpoint names, if it is set.
func Real() (storage.S3Options, bool) {
	endpoint := os.Getenv(EnvEndpoint)
	if endpoint == "" {
		return storage.S3Options{}, false
	}
	return storage.S3Options{Endpoint: endpoint, Region: "us-east-1",
		AccessKey: os.Getenv(EnvAccessKey), SecretKey: os.Getenv(EnvSecretKey)}, true
}

// RealOrFake is Real when it is set, else Fake.
func RealOrFake(t testing.TB) storage.S3Options {
	if opts, ok := Real(); ok {
		return opts
	}
	return Fake(t)
}
