package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"time"
)

// opener opens a source at offset. The body starts at start: offset, or
// 0 when the source cannot resume (an HTTP server that ignores Range).
// total is the whole source's size, -1 when unknown.
type opener func(ctx context.Context, offset int64) (body io.ReadCloser, start, total int64, contentType string, err error)

// spool is a file being filled from offset 0, hashed as it goes.
type spool struct {
	f *os.File
	h hash.Hash
	n int64
}

func newSpool(f *os.File) *spool { return &spool{f: f, h: sha256.New()} }

// reset empties the spool, for a source that starts over.
func (s *spool) reset() error {
	if err := s.f.Truncate(0); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.h.Reset()
	s.n = 0
	return nil
}

func (s *spool) sum() string { return hex.EncodeToString(s.h.Sum(nil)) }

// retryPolicy is how a transfer retries within one call.
type retryPolicy struct {
	// attempts is the number of tries, resuming where the last stopped.
	attempts int
	// delay is the pause before the second try, doubled after each.
	delay time.Duration
	// idle gives up on a try that received nothing for this long.
	idle time.Duration
}

// newRetryPolicy fills in the defaults of zero values: 4 tries, 1 s
// before the second, 1 min of silence before a try is given up.
func newRetryPolicy(attempts int, delay, idle time.Duration) retryPolicy {
	p := retryPolicy{attempts: attempts, delay: delay, idle: idle}
	if p.attempts <= 0 {
		p.attempts = 4
	}
	if p.delay <= 0 {
		p.delay = time.Second
	}
	if p.idle <= 0 {
		p.idle = time.Minute
	}
	return p
}

// ErrTooLarge says the source is over the size limit.
var ErrTooLarge = errors.New("over the size limit")

// transfer fills sp from open, resuming after a broken read at the byte
// where it broke, up to p.attempts tries, and returns the source's
// content type. max > 0 caps the size: a larger source is a
// PermanentError wrapping ErrTooLarge, as is any error open marks
// permanent.
func transfer(ctx context.Context, open opener, sp *spool, max int64, p retryPolicy, progress func(int64)) (string, error) {
	delay := p.delay
	for try := 1; ; try++ {
		ctype, err := transferOnce(ctx, open, sp, max, p.idle, progress)
		if err == nil {
			return ctype, nil
		}
		if IsPermanent(err) || ctx.Err() != nil || try >= p.attempts {
			if try > 1 && !IsPermanent(err) {
				err = fmt.Errorf("%w (after %d tries)", err, try)
			}
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// transferOnce is one try: open at sp.n and copy until the end or an
// error, giving up when nothing arrives for idle.
func transferOnce(ctx context.Context, open opener, sp *spool, max int64, idle time.Duration, progress func(int64)) (string, error) {
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errIdle := fmt.Errorf("nothing received for %s", idle)
	watchdog := time.AfterFunc(idle, func() { cancel(errIdle) })
	defer watchdog.Stop()
	// The watchdog's cancellation surfaces as a context error: say why.
	why := func(err error) error {
		if context.Cause(tctx) == errIdle {
			return errIdle
		}
		return err
	}

	body, start, total, ctype, err := open(tctx, sp.n)
	if err != nil {
		return "", why(err)
	}
	defer body.Close()
	if start != sp.n {
		if start != 0 {
			return "", fmt.Errorf("asked to resume at byte %d, got byte %d", sp.n, start)
		}
		if err := sp.reset(); err != nil {
			return "", err
		}
	}
	if max > 0 && total > max {
		return "", &PermanentError{fmt.Errorf("%s is %w of %s", FormatSize(total), ErrTooLarge, FormatSize(max))}
	}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			watchdog.Reset(idle)
			if max > 0 && sp.n+int64(n) > max {
				return "", &PermanentError{fmt.Errorf("more than %s: %w", FormatSize(max), ErrTooLarge)}
			}
			if _, err := sp.f.Write(buf[:n]); err != nil {
				return "", err
			}
			sp.h.Write(buf[:n])
			sp.n += int64(n)
			if progress != nil {
				progress(sp.n)
			}
		}
		if rerr == io.EOF {
			if total >= 0 && sp.n != total {
				return "", fmt.Errorf("ended at byte %d of %d", sp.n, total)
			}
			return ctype, nil
		}
		if rerr != nil {
			return "", fmt.Errorf("broken at byte %d: %w", sp.n, why(rerr))
		}
	}
}

// FormatSize prints n bytes for people: "98 B", "9.8 KiB", "1.5 GiB".
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}
