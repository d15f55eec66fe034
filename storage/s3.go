package storage

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options reach an S3-compatible store.
type S3Options struct {
	// Endpoint is the store's URL, as http://minio:9000. Empty means
	// AWS S3 (https://s3.amazonaws.com).
	Endpoint string
	// Region, where the store wants one. Empty lets the client find it.
	Region string
	// AccessKey and SecretKey. Empty: the AWS_* / MINIO_* environment
	// variables, then the instance's IAM role.
	AccessKey, SecretKey string
	// Transport carries the requests; nil is http.DefaultTransport.
	Transport http.RoundTripper
}

// S3 keeps objects in a bucket, under an optional prefix. The checksum
// and the source URL travel as user metadata (x-amz-meta-sha256,
// x-amz-meta-source); a PUT is atomic in S3, so Stat never sees half an
// object.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or "dir/"
	region string
}

// Part size of multipart uploads: memory per upload, and 10,000 parts of
// it (156 GiB) is the largest object.
const s3PartSize = 16 << 20

// NewS3 opens bucket (under prefix) on the store opts names. It makes no
// request: EnsureBucket checks the bucket, and Put creates it if it is
// missing.
func NewS3(bucket, prefix string, opts S3Options) (*S3, error) {
	client, err := newMinio(opts)
	if err != nil {
		return nil, err
	}
	if prefix != "" {
		prefix = strings.Trim(prefix, "/") + "/"
	}
	return &S3{client: client, bucket: bucket, prefix: prefix, region: opts.Region}, nil
}

// EnsureBucket creates the bucket if it is missing.
func (s *S3) EnsureBucket(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 bucket %s at %s: %w", s.bucket, s.client.EndpointURL(), err)
	}
	if exists {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if code := minio.ToErrorResponse(err).Code; err != nil && code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
		return fmt.Errorf("s3 bucket %s at %s is missing and could not be created: %w", s.bucket, s.client.EndpointURL(), err)
	}
	return nil
}

func newMinio(opts S3Options) (*minio.Client, error) {
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("s3 endpoint %q is not an http(s)://host[:port] URL", opts.Endpoint)
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.IAM{},
	})
	if opts.AccessKey != "" || opts.SecretKey != "" {
		creds = credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, "")
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds: creds, Secure: u.Scheme == "https", Region: opts.Region, Transport: opts.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 endpoint %s: %w", endpoint, err)
	}
	return client, nil
}

// Location is s3://bucket/prefix/key.
func (s *S3) Location(key string) string {
	return "s3://" + s.bucket + "/" + s.prefix + key
}

// Put uploads r; objects over 16 MiB go up in 16 MiB parts. A missing
// bucket is created, once, and the upload tried again.
func (s *S3) Put(ctx context.Context, r io.Reader, obj Object) (Object, error) {
	put := func(r io.Reader) error {
		_, err := s.client.PutObject(ctx, s.bucket, s.prefix+obj.Key, r, obj.Size, minio.PutObjectOptions{
			ContentType:  obj.ContentType,
			UserMetadata: map[string]string{"sha256": obj.SHA256, "source": obj.Source},
			PartSize:     s3PartSize,
		})
		return err
	}
	err := put(r)
	if minio.ToErrorResponse(err).Code == "NoSuchBucket" {
		if seeker, ok := r.(io.Seeker); ok {
			if err = s.EnsureBucket(ctx); err == nil {
				if _, err = seeker.Seek(0, io.SeekStart); err == nil {
					err = put(r)
				}
			}
		}
	}
	if err != nil {
		return Object{}, fmt.Errorf("put %s: %w", s.Location(obj.Key), err)
	}
	obj.Location = s.Location(obj.Key)
	return obj, nil
}

// Stat reads the object's size, type and metadata.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	info, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		if isS3NotFound(err) {
			return Object{}, fmt.Errorf("%s: %w", s.Location(key), ErrNotFound)
		}
		return Object{}, fmt.Errorf("stat %s: %w", s.Location(key), err)
	}
	return Object{
		Key: key, Location: s.Location(key), Size: info.Size, ContentType: info.ContentType,
		SHA256: userMeta(info, "sha256"), Source: userMeta(info, "source"),
	}, nil
}

// Open reads the object from offset on.
func (s *S3) Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	return openS3(ctx, s.client, s.bucket, s.prefix+key, offset)
}

func openS3(ctx context.Context, client *minio.Client, bucket, name string, offset int64) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if offset > 0 {
		if err := opts.SetRange(offset, 0); err != nil {
			return nil, err
		}
	}
	obj, err := client.GetObject(ctx, bucket, name, opts)
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, name, err)
	}
	// GetObject is lazy: Stat makes the request, so a missing object
	// fails here and not on the first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if isS3NotFound(err) {
			return nil, fmt.Errorf("s3://%s/%s: %w", bucket, name, ErrNotFound)
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, name, err)
	}
	return obj, nil
}

func isS3NotFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey"
}

// userMeta reads x-amz-meta-<name> whatever its case.
func userMeta(info minio.ObjectInfo, name string) string {
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return info.Metadata.Get("X-Amz-Meta-" + name)
}

// OpenLocation reads a stored Location (file:// or s3://) from offset on,
// for clients that have the location but not the worker's backend: the
// starter's result --download. s3 locations use opts for the endpoint
// and credentials.
func OpenLocation(ctx context.Context, loc string, offset int64, opts S3Options) (io.ReadCloser, error) {
	scheme, bucket, key, err := ParseLocation(loc)
	if err != nil {
		return nil, err
	}
	if scheme == "file" {
		return openFileAt(key, offset)
	}
	client, err := newMinio(opts)
	if err != nil {
		return nil, err
	}
	return openS3(ctx, client, bucket, key, offset)
}
