package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Local keeps objects as files under a directory: the key's path, with
// the metadata beside it in .genflow/<name>.json. A file is written to a
// temporary name, synced and renamed, then its metadata the same way, so
// Stat (which needs both, of the same size) never sees half an object.
type Local struct {
	dir string
}

// metaDir holds the metadata of the files in its parent directory.
const metaDir = ".genflow"

// NewLocal opens (and creates) the directory dir.
func NewLocal(dir string) (*Local, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("storage directory %q is not an absolute path", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage directory: %w", err)
	}
	return &Local{dir: filepath.Clean(dir)}, nil
}

func (l *Local) paths(key string) (data, meta string, err error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return "", "", fmt.Errorf("bad key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || seg == metaDir {
			return "", "", fmt.Errorf("bad key %q", key)
		}
	}
	data = filepath.Join(l.dir, filepath.FromSlash(key))
	meta = filepath.Join(filepath.Dir(data), metaDir, filepath.Base(data)+".json")
	return data, meta, nil
}

// Location is file:// and the file's absolute path.
func (l *Local) Location(key string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(l.dir, filepath.FromSlash(key)))}).String()
}

// Put writes r to the key's file and obj's metadata beside it.
func (l *Local) Put(ctx context.Context, r io.Reader, obj Object) (Object, error) {
	data, meta, err := l.paths(obj.Key)
	if err != nil {
		return Object{}, err
	}
	n, err := writeAtomic(data, ctxReader{ctx, r})
	if err != nil {
		return Object{}, err
	}
	if obj.Size != n {
		return Object{}, fmt.Errorf("put %s: wrote %d bytes, expected %d", obj.Key, n, obj.Size)
	}
	obj.Location = l.Location(obj.Key)
	body, err := json.Marshal(obj)
	if err != nil {
		return Object{}, err
	}
	if _, err := writeAtomic(meta, strings.NewReader(string(body))); err != nil {
		return Object{}, err
	}
	return obj, nil
}

// writeAtomic writes r to a temporary file beside path, syncs it and
// renames it to path.
func writeAtomic(path string, r io.Reader) (int64, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, nil
}

// Stat reads the key's metadata and checks the file is there and whole.
func (l *Local) Stat(_ context.Context, key string) (Object, error) {
	data, meta, err := l.paths(key)
	if err != nil {
		return Object{}, err
	}
	body, err := os.ReadFile(meta)
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return Object{}, err
	}
	var obj Object
	if err := json.Unmarshal(body, &obj); err != nil {
		return Object{}, fmt.Errorf("%s: metadata: %w", meta, err)
	}
	fi, err := os.Stat(data)
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() != obj.Size {
		// Metadata of an earlier copy whose file is gone or was
		// replaced: not a whole object.
		return Object{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return Object{}, err
	}
	obj.Key, obj.Location = key, l.Location(key)
	return obj, nil
}

// Open opens the key's file at offset.
func (l *Local) Open(_ context.Context, key string, offset int64) (io.ReadCloser, error) {
	data, _, err := l.paths(key)
	if err != nil {
		return nil, err
	}
	return openFileAt(data, offset)
}

func openFileAt(path string, offset int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
