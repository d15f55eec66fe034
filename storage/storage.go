// Package storage keeps durable copies of generation outputs: the
// provider's links expire (temporary links after 24 hours), the copies do
// not.
//
// A Backend holds objects under keys: Local, a directory, or S3, any
// S3-compatible object store (AWS, MinIO, R2, ...) through minio-go. A
// Copier downloads an output to a spool file (streamed, resumed with HTTP
// Range after a broken connection, hashed with SHA-256, capped at a size
// limit) and puts it under a key derived from the track_id, so copying
// the same output again finds the stored copy and stores nothing.
// Download fetches a stored copy back to a local file, resumed the same
// way and checked against its checksum.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Object describes one stored copy.
type Object struct {
	// Key is the object's name in its backend.
	Key string `json:"key"`
	// Location is where it is, as a URL: file:///dir/key or
	// s3://bucket/prefix/key.
	Location string `json:"location"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// ContentType is its media type.
	ContentType string `json:"content_type,omitempty"`
	// SHA256 is the hex SHA-256 of its bytes.
	SHA256 string `json:"sha256"`
	// Source is the URL it was copied from.
	Source string `json:"source,omitempty"`
}

// Backend holds objects. Put must be atomic: no reader sees a partial
// object, and an object that Stat finds is whole.
type Backend interface {
	// Put stores size bytes from r under obj.Key with obj's metadata
	// (content type, checksum, source) and returns it with its Location.
	Put(ctx context.Context, r io.Reader, obj Object) (Object, error)
	// Stat returns the object under key, or an error wrapping
	// ErrNotFound.
	Stat(ctx context.Context, key string) (Object, error)
	// Open reads the object under key from offset on.
	Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
	// Location is the URL of key.
	Location(key string) string
}

// ErrNotFound says there is no object under that key.
var ErrNotFound = errors.New("not found")

// PermanentError is a failure no retry can mend: the output is over the
// size limit, or every link to it answers 4xx (expired or never there) or
// is refused by the outbound policy (ErrRefused).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is, or wraps, a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// Config says where stored outputs go and how to reach them.
type Config struct {
	// URL is the destination: file:///abs/dir (or a plain absolute path)
	// or s3://bucket[/prefix].
	URL string
	// S3 is the S3 endpoint and credentials, for s3:// URLs.
	S3 S3Options
}

// New opens the backend that cfg.URL names. It makes no network request
// (see S3.EnsureBucket).
func New(cfg Config) (Backend, error) {
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "file":
		return NewLocal(u.Path)
	default: // "s3"
		return NewS3(u.Host, strings.Trim(u.Path, "/"), cfg.S3)
	}
}

// CheckURL says whether raw is a storage URL New accepts.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

// parseURL accepts file:///abs, /abs and s3://bucket[/prefix].
func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no storage URL (file:///dir or s3://bucket/prefix)")
	}
	if strings.HasPrefix(raw, "/") {
		return &url.URL{Scheme: "file", Path: path.Clean(raw)}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" || !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("%q: a file URL needs an absolute path, as file:///var/lib/genflow/outputs", raw)
		}
		u.Path = path.Clean(u.Path)
		return u, nil
	case "s3":
		if u.Host == "" {
			return nil, fmt.Errorf("%q: an s3 URL names its bucket, as s3://bucket/prefix", raw)
		}
		return u, nil
	default:
		return nil, fmt.Errorf("%q: the scheme is not file or s3", raw)
	}
}

// ParseLocation splits a Location into the backend URL that holds it and
// the key, for OpenLocation.
func ParseLocation(loc string) (scheme, bucket, key string, err error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", "", fmt.Errorf("stored location %q: %w", loc, err)
	}
	switch u.Scheme {
	case "file":
		if !strings.HasPrefix(u.Path, "/") {
			return "", "", "", fmt.Errorf("stored location %q: not an absolute file URL", loc)
		}
		return "file", "", u.Path, nil
	case "s3":
		// S3 locations are not URL-escaped (as the AWS CLI writes
		// them): the key is the raw text after the bucket.
		_, key, _ := strings.Cut(strings.TrimPrefix(loc, "s3://"), "/")
		if u.Host == "" || key == "" {
			return "", "", "", fmt.Errorf("stored location %q: not s3://bucket/key", loc)
		}
		return "s3", u.Host, key, nil
	}
	return "", "", "", fmt.Errorf("stored location %q: the scheme is not file or s3", loc)
}

// Key is the key of the index'th output of the generation trackID, copied
// from source: "<track_id>/<index>-<file name>". Both parts are escaped
// so any track_id and URL give a safe, distinct key.
func Key(trackID string, index int, source string) string {
	name := "output"
	if u, err := url.Parse(source); err == nil {
		if base := path.Base(u.Path); base != "." && base != "/" && base != "" {
			name = base
		}
	}
	name = escape(name)
	if len(name) > 120 {
		name = name[len(name)-120:]
	}
	return escape(trackID) + "/" + strconv.Itoa(index) + "-" + name
}

// escape makes s one safe path segment: PathEscape leaves no "/", and a
// leading dot is escaped so "." and ".." cannot occur.
func escape(s string) string {
	e := url.PathEscape(s)
	if strings.HasPrefix(e, ".") {
		e = "%2E" + e[1:]
	}
	if e == "" {
		e = "_"
	}
	return e
}
