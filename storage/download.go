package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DownloadOptions tune Download.
type DownloadOptions struct {
	// Attempts, RetryDelay and IdleTimeout are as in Copier.
	Attempts    int
	RetryDelay  time.Duration
	IdleTimeout time.Duration
	// Progress, if not nil, hears the bytes written so far.
	Progress func(int64)
	// Root, if not nil, holds dest, which is then a path relative to it:
	// Download reads and writes nothing outside it, whatever "..", or
	// symbolic link in dest or its directories, points elsewhere
	// (os.Root). Default: dest is an ordinary path.
	Root *os.Root
}

// openFile and rename act in opts.Root when it is set.
func (o DownloadOptions) openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	if o.Root != nil {
		return o.Root.OpenFile(name, flag, perm)
	}
	return os.OpenFile(name, flag, perm)
}

func (o DownloadOptions) rename(from, to string) error {
	if o.Root != nil {
		return o.Root.Rename(from, to)
	}
	return os.Rename(from, to)
}

// Download fetches the stored object want into the file dest, through
// open (Backend.Open, or OpenLocation). The bytes go to dest.part first
// and dest appears only once their size and SHA-256 match want's. A
// broken read resumes where it stopped, and so does a later Download
// that finds the .part of an interrupted one. A dest that already holds
// want is left alone: skipped is then true.
func Download(ctx context.Context, open func(ctx context.Context, offset int64) (io.ReadCloser, error), want Object, dest string, opts DownloadOptions) (skipped bool, err error) {
	if want.SHA256 == "" {
		return false, fmt.Errorf("%s: no checksum recorded", want.Location)
	}
	if sum, n, err := hashFile(opts, dest); err == nil && n == want.Size && sum == want.SHA256 {
		return true, nil
	}
	part := dest + ".part"
	f, err := opts.openFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sp := newSpool(f)
	// Take up an interrupted download where it stopped.
	if n, err := io.Copy(sp.h, f); err != nil {
		return false, err
	} else if n > want.Size {
		if err := sp.reset(); err != nil {
			return false, err
		}
	} else {
		sp.n = n
	}
	p := newRetryPolicy(opts.Attempts, opts.RetryDelay, opts.IdleTimeout)
	stored := func(ctx context.Context, offset int64) (io.ReadCloser, int64, int64, string, error) {
		rc, err := open(ctx, offset)
		if errors.Is(err, ErrNotFound) {
			err = &PermanentError{err}
		}
		return rc, offset, want.Size, want.ContentType, err
	}
	for pass := 0; ; pass++ {
		if _, err := transfer(ctx, stored, sp, 0, p, opts.Progress); err != nil {
			return false, fmt.Errorf("download %s: %w", want.Location, err)
		}
		if sum := sp.sum(); sp.n == want.Size && sum == want.SHA256 {
			break
		} else if pass == 0 {
			// A stale .part, or a copy that changed: once more from
			// the start.
			if err := sp.reset(); err != nil {
				return false, err
			}
			continue
		} else {
			return false, fmt.Errorf("download %s: got %d bytes with SHA-256 %s, the stored copy has %d bytes with %s",
				want.Location, sp.n, sum, want.Size, want.SHA256)
		}
	}
	if err := f.Sync(); err != nil {
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return false, opts.rename(part, dest)
}

// hashFile returns the SHA-256 and size of the file at path (in
// opts.Root when set).
func hashFile(opts DownloadOptions, path string) (string, int64, error) {
	f, err := opts.openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sp := newSpool(f)
	n, err := io.Copy(sp.h, f)
	if err != nil {
		return "", 0, err
	}
	return sp.sum(), n, nil
}
